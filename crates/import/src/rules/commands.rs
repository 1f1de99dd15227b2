//! Commands a line names (in a code span or a fenced block under it): what to run
//! is exactly what the checklist says, if it only reads. Writes stay manual.

use super::*;

/// Splits a command line into words (simple shell quoting).
pub(super) fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                any = true;
            }
            None if c.is_whitespace() => {
                if !cur.is_empty() || any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            None => cur.push(c),
        }
    }
    if !cur.is_empty() || any {
        out.push(cur);
    }
    out
}

/// `"$DATABASE_URL"` / `${REDIS_URL}` in a command → `DATABASE_URL`.
pub(super) fn env_ref(word: &str) -> Option<String> {
    static E: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^\$\{?([A-Z][A-Z0-9_]*)\}?$").expect("valid regex"));
    E.captures(word).map(|c| c[1].to_string())
}

pub(super) fn write_command(_: &Unit<'_>, line: &str, _: &mut Context) -> Option<Verdict> {
    let w = words(line);
    // A known read-only invocation is never a write (`manage.py check --deploy`).
    if read_only(&w) && !line.contains('>') {
        return None;
    }
    let lower: Vec<String> = w.iter().map(|x| x.to_lowercase()).collect();
    let has = |x: &str| lower.iter().any(|y| y == x);
    let tool = lower.first()?.as_str();
    let sub = lower.get(1).map_or("", String::as_str);
    let sub2 = lower.get(2).map_or("", String::as_str);
    let write = match tool {
        "curl" => {
            lower.windows(2).any(|p| {
                matches!(p[0].as_str(), "-x" | "--request")
                    && matches!(p[1].as_str(), "post" | "put" | "patch" | "delete")
            }) || lower.iter().any(|x| {
                x.starts_with("-xpost")
                    || x.starts_with("-xput")
                    || x.starts_with("-xdelete")
                    || matches!(x.as_str(), "-d" | "--data" | "--data-raw" | "-f" | "--form")
            })
        }
        "kubectl" | "oc" => lower.iter().any(|x| {
            matches!(
                x.as_str(),
                "apply"
                    | "delete"
                    | "set"
                    | "scale"
                    | "patch"
                    | "edit"
                    | "create"
                    | "replace"
                    | "annotate"
                    | "label"
                    | "drain"
                    | "cordon"
                    | "uncordon"
                    | "exec"
                    | "cp"
                    | "undo"
                    | "restart"
                    | "pause"
                    | "resume"
                    | "run"
                    | "expose"
            )
        }),
        "helm" => matches!(
            sub,
            "upgrade" | "install" | "uninstall" | "rollback" | "delete"
        ),
        "terraform" => matches!(sub, "apply" | "destroy" | "import" | "taint"),
        "argocd" => matches!(sub2, "sync" | "delete" | "set" | "rollback" | "create"),
        "psql" => {
            let l = line.to_lowercase();
            [
                "insert ",
                "update ",
                "delete ",
                "drop ",
                "alter ",
                "create ",
                "truncate ",
                "grant ",
            ]
            .iter()
            .any(|k| l.contains(k))
        }
        "git" => matches!(sub, "push" | "tag" | "merge" | "commit"),
        "npm" | "yarn" | "pnpm" => {
            let script = if sub == "run" { sub2 } else { sub };
            ["deploy", "migrate", "release", "seed", "publish", "db:"]
                .iter()
                .any(|k| script.contains(k))
        }
        _ => lower.iter().any(|x| {
            x.contains("migrate") && !has("info") && !has("status") && !has("list")
                || x.contains("deploy") && !x.contains("verify")
                || x.contains("backup")
                || x.contains("restore")
                || x.contains("rollback")
                || matches!(x.as_str(), "apply" | "push" | "publish" | "seed" | "reset")
        }),
    };
    write.then(|| {
        Verdict::Manual(format!(
            "runs `{}`, which changes things: import only writes read-only checks",
            w.iter().take(3).cloned().collect::<Vec<_>>().join(" ")
        ))
    })
}

pub(super) static STATUS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:\b(?:returns?|responds?(?:\s+with)?|answers?(?:\s+with)?|gives?|gets?|status(?:\s+code)?|expect(?:ed)?:?|with an?|with)|→|->|=+)\s*:?\s*(?:http(?:/[\d.]+)?\s*)?([1-5][0-9][0-9])\b|\b([1-5][0-9][0-9])\s+(?:ok|created|no content|moved|found|unauthorized|forbidden|not found|too many)\b|\(\*{0,2}([1-5][0-9][0-9])\*{0,2}\)|\*\*([1-5][0-9][0-9])\*\*|\bexpect(?:s|ing)?\s+(?:an?\s+)?([1-5][0-9][0-9])\b",
    )
});

/// The status the text expects, if it names one.
pub(super) fn status_in(text: &str) -> Option<String> {
    STATUS.captures(text).and_then(|c| {
        c.get(1)
            .or(c.get(2))
            .or(c.get(3))
            .or(c.get(4))
            .or(c.get(5))
            .map(|m| m.as_str().to_string())
    })
}

pub(super) fn curl(u: &Unit<'_>, line: &str, cx: &mut Context) -> Option<Verdict> {
    let w = words(line);
    let found = urls(line).into_iter().next()?;
    let mut vars = vec![];
    let url = url_of(&found, cx, &mut vars);
    let mut d =
        Draft::new("http", "curl", format!("runs `curl` on {}", found.host)).opt("url", s(&url));
    if w.iter()
        .any(|x| x == "-I" || x == "--head" || x.starts_with("-sI") || x == "-Is")
    {
        d.set("method", s("HEAD"));
    }
    if !w
        .iter()
        .any(|x| x == "-L" || x.contains('L') && x.starts_with('-') && !x.starts_with("--"))
    {
        d.set("follow_redirects", Value::Boolean(false));
    }
    let hints = format!("{} {} {}", u.text, u.code.join(" "), u.scope);
    if let Some(st) = status_in(&hints) {
        d.push_expect(format!("status == {st}"));
    }
    probe(d.with_vars(vars))
}

pub(super) fn dig(u: &Unit<'_>, line: &str, cx: &mut Context) -> Option<Verdict> {
    let w = words(line);
    let mut name = None;
    let mut ty = None;
    let mut resolvers = vec![];
    for x in w.iter().skip(1) {
        let up = x.to_uppercase();
        if let Some(r) = x.strip_prefix('@') {
            resolvers.push(r.to_string());
        } else if matches!(
            up.as_str(),
            "A" | "AAAA" | "CNAME" | "TXT" | "MX" | "NS" | "CAA" | "SOA" | "SRV"
        ) {
            ty = Some(up);
        } else if x.starts_with('-') || x.starts_with('+') {
        } else if name.is_none() && x.contains('.') {
            name = Some(x.trim_end_matches('.').to_string());
        }
    }
    let name = name?;
    let mut vars = vec![];
    let host = if hosts(&name).first() == Some(&name) {
        cx.host_var(&name, &mut vars)
    } else {
        name.clone()
    };
    let mut d = Draft::new("dns", "dig", format!("runs `dig` for {name}")).opt("name", s(&host));
    if let Some(t) = ty {
        d.set("type", s(&t));
    }
    let ips = ip_addresses(u.text);
    for ip in ips {
        d.push_expect(format!("answers.exists(a, a == {})", cel_str(&ip)));
    }
    if !resolvers.is_empty() {
        d.set("resolvers", list(&resolvers));
    }
    probe(d.with_vars(vars))
}

pub(super) fn ip_addresses(text: &str) -> Vec<String> {
    static IP: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\b((?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3})\b")
            .expect("valid regex")
    });
    IP.captures_iter(text).map(|c| c[1].to_string()).collect()
}

pub(super) fn openssl(u: &Unit<'_>, line: &str, cx: &mut Context) -> Option<Verdict> {
    let w = words(line);
    let mut connect = None;
    let mut sni = None;
    let mut starttls = None;
    let mut it = w.iter();
    while let Some(x) = it.next() {
        match x.as_str() {
            "-connect" => connect = it.next().cloned(),
            "-servername" => sni = it.next().cloned(),
            "-starttls" => starttls = it.next().cloned(),
            _ => {}
        }
    }
    let connect = connect?;
    let (host, port) = match connect.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse::<i64>().ok()),
        None => (connect.clone(), None),
    };
    let mut vars = vec![];
    let h = cx.host_var(&host, &mut vars);
    let mut d = Draft::new(
        "tls",
        "openssl",
        format!("runs `openssl s_client` on {host}"),
    )
    .opt("host", s(&h));
    if let Some(p) = port.filter(|p| *p != 443) {
        d.set("port", Value::Integer(p));
    }
    if let Some(st) = starttls {
        d.set("starttls", s(&st));
        d = d.uses("tls.starttls");
    }
    if let Some(sni) = sni.filter(|x| *x != host) {
        d.set("sni", s(&sni));
    }
    tls_expect(&mut d, u.text);
    probe(d.with_vars(vars))
}

/// Expectations a TLS line states: days left, chain, versions.
pub(super) fn tls_expect(d: &mut Draft, text: &str) {
    let lower = text.to_lowercase();
    if let Some(b) = bound(text, U::Days) {
        let (op, n) = match b.op {
            // "not expiring within 21 days": at least 21 left.
            "<=" | "<" if lower.contains("not") || lower.contains("no ") => (">=", b.num()),
            op => (op, b.num()),
        };
        d.push_expect("chain_valid && hostname_matches");
        d.push_expect(format!("days_left {op} {n}"));
    }
    if lower.contains("chain")
        && (lower.contains("complete") || lower.contains("valid"))
        && !d.expect.iter().any(|e| e.contains("chain_valid"))
    {
        d.push_expect("chain_valid");
    }
    if lower.contains("ocsp") {
        d.push_expect("ocsp_stapled");
    }
}

pub(super) fn psql(u: &Unit<'_>, line: &str, cx: &mut Context) -> Option<Verdict> {
    let w = words(line);
    let mut dsn = None;
    let mut query = None;
    let mut it = w.iter().skip(1);
    while let Some(x) = it.next() {
        if x == "-c" || x == "--command" {
            query = it.next().cloned();
        } else if let Some(e) = env_ref(x) {
            dsn = Some(e);
        } else if x.starts_with("postgres://") || x.starts_with("postgresql://") {
            dsn = Some("DATABASE_URL".into());
        }
    }
    let _ = cx;
    let env = dsn.unwrap_or_else(|| "DATABASE_URL".into());
    let mut d =
        Draft::new("postgres", "psql", "runs `psql`").opt("dsn", s(&format!("${{env:{env}}}")));
    if let Some(q) = query {
        if !read_only_sql(&q) {
            return Some(Verdict::Manual(
                "a query that writes: import only writes read-only checks".into(),
            ));
        }
        d.set("query", s(q.trim().trim_end_matches(';')));
        d.why = "runs the line's `psql -c` query".into();
        value_expect(&mut d, u.text);
    }
    probe(d)
}

pub(super) fn read_only_sql(q: &str) -> bool {
    let l = q.trim().to_lowercase();
    (l.starts_with("select")
        || l.starts_with("with")
        || l.starts_with("show")
        || l.starts_with("explain"))
        && !l.trim_end_matches(';').contains(';')
        && ![
            " insert ",
            " update ",
            " delete ",
            " drop ",
            " alter ",
            " truncate ",
            " grant ",
            "into ",
        ]
        .iter()
        .any(|k| format!(" {l} ").contains(k))
}

/// "returns 0", "≥ 1", "is empty" → an expectation on `value`.
pub(super) fn value_expect(d: &mut Draft, text: &str) {
    static RET: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"\b(?:returns?|is|=|==|equals?|shows?|gives?)\s+(-?\d+(?:\.\d+)?)\b|\b(?:returns?|is)\s+(zero|no rows|nothing|empty)\b",
        )
    });
    if let Some(c) = RET.captures(text) {
        match (c.get(1), c.get(2)) {
            (Some(n), _) => d.push_expect(format!("value == {}", n.as_str())),
            (None, Some(_)) => d.push_expect("rows.size() == 0 || value == 0"),
            _ => {}
        }
    } else if let Some(b) = bounds(text)
        .into_iter()
        .find(|b| b.unit == U::Count && b.op != "==")
    {
        d.push_expect(b.expr("value"));
    }
}

pub(super) fn sql(u: &Unit<'_>, line: &str, _: &mut Context) -> Option<Verdict> {
    if !read_only_sql(line) {
        return None;
    }
    let env = u
        .code
        .iter()
        .flat_map(|l| words(l))
        .find_map(|w| env_ref(&w))
        .unwrap_or_else(|| "DATABASE_URL".into());
    let mut d = Draft::new("postgres", "sql", "runs the SQL under the line")
        .opt("dsn", s(&format!("${{env:{env}}}")))
        .opt("query", s(line.trim().trim_end_matches(';')));
    value_expect(&mut d, u.text);
    probe(d)
}

pub(super) fn redis_cli(u: &Unit<'_>, line: &str, _: &mut Context) -> Option<Verdict> {
    let w = words(line);
    let mut url = "${env:REDIS_URL}".to_string();
    let mut it = w.iter().skip(1);
    let mut key = None;
    while let Some(x) = it.next() {
        if x == "-u" {
            if let Some(e) = it.next().and_then(|v| env_ref(v)) {
                url = format!("${{env:{e}}}");
            }
        } else if x.eq_ignore_ascii_case("get") {
            key = it.next().cloned();
        }
    }
    let mut d = Draft::new("redis", "redis-cli", "runs `redis-cli`").opt("url", s(&url));
    if let Some(k) = key {
        d.set("key", s(&k));
    }
    redis_expect(&mut d, u.text);
    probe(d)
}

pub(super) fn nc(u: &Unit<'_>, line: &str, cx: &mut Context) -> Option<Verdict> {
    let w: Vec<String> = words(line)
        .into_iter()
        .filter(|x| !x.starts_with('-'))
        .collect();
    let host = w.get(1)?.clone();
    let port: i64 = w.get(2)?.parse().ok()?;
    let mut vars = vec![];
    let h = if hosts(&host).first() == Some(&host) {
        cx.host_var(&host, &mut vars)
    } else {
        host.clone()
    };
    let mut d = Draft::new("tcp", "nc", format!("runs `nc -z` on {host}:{port}"))
        .opt("host", s(&h))
        .opt("port", Value::Integer(port));
    if closed_words(u.text) {
        d.push_expect("!connected");
    }
    probe(d.with_vars(vars))
}

pub(super) fn closed_words(text: &str) -> bool {
    static C: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"\b(not|never|no longer)\s+(reachable|open|exposed|accessible|listening)|\b(closed|blocked|filtered|firewalled)\b",
        )
    });
    C.is_match(text)
}

/// Read-only invocations of the tools a checklist names.
pub(super) fn read_only(w: &[String]) -> bool {
    let l: Vec<String> = w.iter().map(|x| x.to_lowercase()).collect();
    let sub = l.get(1).map_or("", String::as_str);
    let sub2 = l.get(2).map_or("", String::as_str);
    let any = |xs: &[&str]| l.iter().any(|x| xs.contains(&x.as_str()));
    match l.first().map_or("", String::as_str) {
        "kubectl" | "oc" => {
            any(&[
                "get", "describe", "logs", "top", "wait", "version", "auth", "explain",
            ]) || sub == "rollout" && sub2 == "status"
                || l.windows(2).any(|p| p[0] == "rollout" && p[1] == "status")
        }
        "helm" => {
            matches!(
                sub,
                "status" | "list" | "ls" | "get" | "history" | "lint" | "test" | "template"
            ) || any(&["status", "list", "history"])
        }
        "argocd" => matches!(sub2, "get" | "list" | "wait" | "diff" | "history"),
        "terraform" => matches!(sub, "plan" | "validate" | "fmt" | "show" | "output"),
        "gh" | "glab" => {
            matches!(sub, "run" | "pr" | "api" | "release" | "ci")
                && !any(&["merge", "create", "delete", "rerun", "cancel"])
        }
        "npm" | "yarn" | "pnpm" => {
            matches!(sub, "audit" | "test" | "ls" | "outdated" | "t")
                || sub == "run"
                    && [
                        "test",
                        "lint",
                        "check",
                        "typecheck",
                        "build",
                        "smoke",
                        "verify",
                        "e2e",
                    ]
                    .iter()
                    .any(|k| sub2.contains(k))
        }
        "npx" => {
            matches!(
                sub,
                "tsc"
                    | "eslint"
                    | "prettier"
                    | "jest"
                    | "vitest"
                    | "playwright"
                    | "audit-ci"
                    | "depcheck"
            ) && !any(&["--write", "--fix"])
        }
        "k6" => sub == "run",
        "trivy" => matches!(sub, "image" | "fs" | "repo" | "config" | "rootfs" | "sbom"),
        "hugo" => sub.is_empty() || sub.starts_with('-') || sub == "check",
        "pytest" | "jq" | "test" | "grep" => true,
        "go" => matches!(sub, "test" | "vet" | "build"),
        "cargo" => matches!(
            sub,
            "test" | "audit" | "check" | "clippy" | "deny" | "build"
        ),
        "dbt" => matches!(sub, "test" | "compile" | "ls" | "debug" | "source"),
        "airflow" => {
            matches!(sub, "dags" | "tasks" | "jobs" | "config")
                && any(&["list", "list-import-errors", "state", "check", "list-runs"])
        }
        "sqlx" | "alembic" | "flyway" => {
            any(&["info", "status", "current", "validate", "check", "heads"])
        }
        "rails" | "bundle" => any(&["db:migrate:status", "db:version"]) || sub == "audit",
        "make" => ["test", "check", "lint", "verify", "smoke"]
            .iter()
            .any(|k| sub.contains(k)),
        "systemctl" => matches!(sub, "is-active" | "is-enabled" | "status"),
        "docker" => matches!(sub, "ps" | "inspect" | "images" | "version"),
        "aws" | "gcloud" | "az" | "doctl" => l.iter().skip(2).any(|x| {
            x.starts_with("describe")
                || x.starts_with("get-")
                || x.starts_with("list")
                || x == "show"
                || x == "get"
        }),
        "flyctl" | "fly" | "heroku" | "vercel" | "netlify" => {
            matches!(
                sub,
                "status" | "checks" | "ps" | "info" | "inspect" | "ls" | "list"
            ) || sub == "certs" && matches!(sub2, "show" | "list" | "check")
        }
        "nomad" => {
            matches!(sub, "status" | "job" | "node" | "alloc" | "server")
                && any(&["status", "members", "inspect"])
        }
        "consul" => {
            matches!(sub, "catalog" | "members" | "info" | "operator" | "kv")
                && !any(&["put", "delete", "leave", "force-leave"])
        }
        "nats" => {
            matches!(sub, "stream" | "consumer" | "server" | "account" | "kv")
                && any(&["info", "ls", "list", "check", "ping", "report"])
        }
        "vault" => matches!(sub, "status" | "version"),
        "php" => {
            sub == "artisan"
                && (sub2.ends_with(":status")
                    || matches!(
                        sub2,
                        "about" | "route:list" | "config:show" | "queue:monitor" | "schedule:list"
                    ))
        }
        "dotnet" => {
            matches!(sub, "test" | "build" | "--version" | "list")
                || sub == "ef" && l.iter().any(|x| x == "list")
        }
        "python" | "python3" => {
            sub == "manage.py" && matches!(sub2, "check" | "showmigrations" | "test")
        }
        x if x.starts_with("kafka-topics") => any(&["--describe", "--list"]),
        x if x.starts_with("./") || x.starts_with("bin/") => [
            "verify", "check", "smoke", "test", "health", "validate", "lint",
        ]
        .iter()
        .any(|k| x.contains(k)),
        _ => false,
    }
}

/// A command draft for a line of shell, with the expectations the text states.
pub(super) fn command_draft(u: &Unit<'_>, lines: &[&str], why: String) -> Option<Draft> {
    let mut all = vec![];
    for l in lines {
        let w = words(l);
        if w.is_empty() || !read_only(&w) {
            return None;
        }
        all.push((l.trim().to_string(), w));
    }
    let mut d = Draft::new("command", "command", why);
    let shelly = |l: &str| {
        l.contains('|') || l.contains('>') || l.contains('$') || l.contains('&') || l.contains(';')
    };
    let lower = u.text.to_lowercase();
    // `kubectl get pods` exits 0 whatever the pods do: "all running" reads the STATUS column.
    if all.len() == 1
        && all[0].1.iter().any(|x| x == "get")
        && all[0].1.iter().any(|x| x == "pods" || x == "po")
        && lower.contains("running")
        && !all[0].0.contains('|')
        && !all[0]
            .1
            .iter()
            .any(|x| x == "-o" || x.starts_with("-o") || x.starts_with("--output"))
    {
        d.set(
            "shell",
            s(&format!(
                "{} --no-headers | awk '$3 != \"Running\" && $3 != \"Completed\" {{ bad = 1 }} END {{ exit bad }}'",
                all[0].0
            )),
        );
        return Some(d);
    }
    if all.len() == 1 && !shelly(&all[0].0) {
        d.set("argv", list(&all[0].1));
    } else {
        d.set(
            "shell",
            s(&all
                .iter()
                .map(|(l, _)| l.clone())
                .collect::<Vec<_>>()
                .join(" && ")),
        );
    }
    let tool = all[0].1[0].as_str();
    if matches!(
        tool,
        "k6" | "trivy"
            | "pytest"
            | "hugo"
            | "dbt"
            | "npm"
            | "npx"
            | "yarn"
            | "cargo"
            | "go"
            | "terraform"
            | "make"
    ) || tool.starts_with("./")
    {
        d.timeout = Some("5m");
    }
    // `terraform plan` exits 0 with changes pending unless asked not to.
    if tool == "terraform"
        && all[0].1.iter().any(|x| x == "plan")
        && !all[0].1.iter().any(|x| x == "-detailed-exitcode")
    {
        return None;
    }
    stdout_expect(&mut d, u.text);
    if all.iter().any(|(_, w)| w.iter().any(|x| x == "logs"))
        && rx!(r"(?i)\b(no|free of|without|for) errors?\b").is_match(u.text)
    {
        d.push_expect("exit_code == 0");
        d.push_expect("!stdout.matches('(?i)\\berror\\b')");
    }
    let joined = all
        .iter()
        .map(|(l, _)| l.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    if rx!(r"(?i)migrat\w*[: ]+(info|status|list)|showmigrations|migrations list").is_match(&joined)
        && rx!(r"(?i)\b(no|none|every|all)\b.*\b(pending|applied|installed)|\b(applied|installed|up to date)\b").is_match(u.scope)
    {
        d.push_expect("exit_code == 0");
        d.push_expect("!stdout.matches('(?i)pending')");
    }
    Some(d)
}

/// "prints nothing", "ends with `:1.2`", "shows Synced" → stdout expectations.
pub(super) fn stdout_expect(d: &mut Draft, text: &str) {
    static ENDS: LazyLock<Regex> = LazyLock::new(|| re(r"\bends? with\s+`?([^`\s]+)`?"));
    static SHOWS: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"\b(?:shows?|prints?|contains?|reports?|lists?|outputs?|says)\s+`([^`]+)`|(?:→|->)\s*`?([A-Za-z][A-Za-z0-9_:.-]{1,40})`?\s*$",
        )
    });
    let lower = text.to_lowercase();
    if lower.contains("prints nothing")
        || lower.contains("no output")
        || lower.contains("empty output")
    {
        d.push_expect("exit_code == 0");
        d.push_expect("stdout.size() == 0");
    }
    if let Some(c) = ENDS.captures(text) {
        d.push_expect("exit_code == 0");
        d.push_expect(format!("stdout.trim().endsWith({})", cel_str(&c[1])));
    }
    if let Some(c) = SHOWS.captures(text)
        && let Some(m) = c.get(1).or(c.get(2))
    {
        d.push_expect("exit_code == 0");
        d.push_expect(format!("stdout.contains({})", cel_str(m.as_str())));
    }
    for q in quoted(text) {
        if q.len() <= 30 && !q.contains(' ') {
            d.push_expect("exit_code == 0");
            d.push_expect(format!("stdout.contains({})", cel_str(&q)));
        }
    }
    for word in [
        "Synced", "Healthy", "Running", "Ready", "Bound", "deployed", "success",
    ] {
        if text.contains(word) && !d.expect.iter().any(|e| e.contains(word)) && d.expect.len() < 4 {
            let cmd = d
                .get("argv")
                .or(d.get("shell"))
                .map(Value::to_string)
                .unwrap_or_default();
            let json_out = cmd.contains("json") || cmd.contains("yaml");
            let noun = text.contains(&format!("{word} replicas"))
                || text.contains(&format!("{word} pods"));
            if (cmd.contains("get")
                || cmd.contains("status")
                || cmd.contains("list")
                || cmd.contains("show"))
                && !noun
                && !(json_out && word == "Ready")
            {
                d.push_expect("exit_code == 0");
                d.push_expect(format!("stdout.contains({})", cel_str(word)));
            }
        }
    }
    // trim() is not CEL: keep endsWith on the raw output (jsonpath prints no newline).
    for e in &mut d.expect {
        *e = e.replace("stdout.trim().endsWith", "stdout.endsWith");
    }
}

pub(super) fn command(u: &Unit<'_>, line: &str, _: &mut Context) -> Option<Verdict> {
    // Every command line of the same tool under the box: one check.
    let tool = words(line).first()?.clone();
    let lines: Vec<&str> = u
        .code
        .iter()
        .map(|l| l.trim())
        .filter(|l| words(l).first() == Some(&tool))
        .collect();
    let lines = if lines.is_empty() { vec![line] } else { lines };
    let d = command_draft(u, &lines, format!("runs `{tool}` as the line says"))?;
    probe(d)
}

pub(super) fn command_in_text(u: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    // "Test the flow", "Go live", "Make sure…": prose, not a command.
    if !text.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
        return None;
    }
    // The command is the text up to the first word that reads as prose.
    static PROSE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^(passes|pass|passing|succeeds?|works?|is|are|clean|green|returns?|shows?|prints?|against|in|on|with|for|and|should|must|—|-|–|\(.*)$",
        )
    });
    static GLUED: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(--?[A-Za-z][A-Za-z0-9-]*?)(clean|passes|succeeds|works|returns|green)$")
            .expect("valid regex")
    });
    let mut cmd = vec![];
    for w in text.split_whitespace() {
        if let Some(c) = GLUED.captures(w) {
            cmd.push(c[1].to_string());
            break;
        }
        if PROSE.is_match(w) {
            break;
        }
        cmd.push(w.to_string());
    }
    if cmd.len() < 2 {
        return None;
    }
    let line = cmd.join(" ");
    let d = command_draft(
        u,
        &[line.as_str()],
        format!("the line starts with the command `{}`", cmd[0]),
    )?;
    probe(d)
}

pub(super) fn kubectl_json(u: &Unit<'_>, line: &str, _: &mut Context) -> Option<Verdict> {
    let w = words(line);
    if !read_only(&w) {
        return None;
    }
    let kind = w.iter().skip_while(|x| *x != "get").nth(1)?.to_lowercase();
    let mut d = Draft::new(
        "command",
        "kubectl-json",
        "runs the line's `kubectl get -o json`",
    )
    .opt("argv", list(&w))
    .uses("command.json");
    let lower = u.text.to_lowercase();
    match kind.split('/').next().unwrap_or("") {
        "deploy" | "deployment" | "deployments" | "statefulset" | "sts" => {
            d.push_expect("exit_code == 0");
            d.push_expect("json.status.readyReplicas == json.spec.replicas");
        }
        "hpa" | "horizontalpodautoscaler" => {
            let n = bounds(u.text)
                .into_iter()
                .find(|b| b.unit == U::Count)
                .map_or("2".into(), |b| b.num());
            d.push_expect(format!("json.spec.minReplicas >= {n}"));
        }
        _ => d.push_expect("exit_code == 0"),
    }
    if lower.contains("image") {
        d = d.note("add the image tag you expect: json.spec.template.spec.containers[0].image.endsWith(':TAG')");
    }
    probe(d)
}

pub(super) fn argocd_json(u: &Unit<'_>, line: &str, _: &mut Context) -> Option<Verdict> {
    let w = words(line);
    let mut d = Draft::new(
        "command",
        "argocd-json",
        "runs the line's `argocd app get -o json`",
    )
    .opt("argv", list(&w))
    .uses("command.json");
    if u.text.contains("Synced") {
        d.push_expect("json.status.sync.status == 'Synced'");
    }
    if u.text.contains("Healthy") {
        d.push_expect("json.status.health.status == 'Healthy'");
    }
    if d.expect.is_empty() {
        d.push_expect("exit_code == 0");
    }
    probe(d)
}

pub(super) fn kubernetes(cx: &Context) -> bool {
    [
        "kubectl",
        "kubernetes",
        "k8s",
        "gke",
        "eks",
        "aks",
        "helm",
        "namespace",
    ]
    .iter()
    .any(|w| cx.mentions(w))
}

pub(super) fn kube_object(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    if !kubernetes(cx) {
        return None;
    }
    let lower = text.to_lowercase();
    let ns = rx!(r"\bnamespace\s+`?([a-z0-9-]+)`?|\b([a-z0-9-]+)\s+namespace\b")
        .captures(&lower)
        .and_then(|c| c.get(1).or(c.get(2)).map(|m| m.as_str().to_string()))
        .filter(|n| n != "the" && n != "every" && n != "each")
        .or_else(|| cx.namespace.clone());
    let nsarg = ns.map(|n| format!(" -n {n}")).unwrap_or_default();
    static NAME: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\bfor\s+`?([a-z][a-z0-9-]+)`?").expect("valid regex"));
    let name = NAME
        .captures(text)
        .map(|c| c[1].to_string())
        .filter(|n| !matches!(n.as_str(), "the" | "all" | "every"));
    let (shell, why, json): (String, &str, Option<String>) = if rx!(
        r"\b(hpa|horizontalpodautoscaler)\b"
    )
    .is_match(&lower)
    {
        let n = bounds(text)
            .into_iter()
            .find(|b| b.unit == U::Count)
            .map_or("2".to_string(), |b| b.num());
        match &name {
            Some(nm) => (
                format!("kubectl{nsarg} get hpa {nm} -o json"),
                "the HPA's minReplicas",
                Some(format!("json.spec.minReplicas >= {n}")),
            ),
            None => (
                format!("kubectl{nsarg} get hpa -o json"),
                "every HPA's minReplicas",
                Some(format!(
                    "json.items.size() > 0 && json.items.all(h, h.spec.minReplicas >= {n})"
                )),
            ),
        }
    } else if rx!(r"\b(pdb|poddisruptionbudget)\b").is_match(&lower) {
        match &name {
            Some(nm) => (
                format!("kubectl{nsarg} get pdb {nm}"),
                "the PodDisruptionBudget exists",
                None,
            ),
            None => (
                format!("kubectl{nsarg} get pdb -o name | grep -q ."),
                "a PodDisruptionBudget exists",
                None,
            ),
        }
    } else if rx!(r"\b(pvcs?|persistent volume claims?)\b").is_match(&lower) {
        (
            format!(
                "kubectl{nsarg} get pvc --no-headers | awk '$2 != \"Bound\" {{ bad = 1 }} END {{ exit bad }}'"
            ),
            "every PVC is Bound",
            None,
        )
    } else if lower.contains("cluster health")
        || lower.contains("kubernetes cluster")
        || rx!(r"\bnodes?\b.*\bready\b").is_match(&lower)
    {
        (
            "kubectl get nodes --no-headers | awk '$2 != \"Ready\" { bad = 1 } END { exit bad }'"
                .to_string(),
            "every node is Ready",
            None,
        )
    } else if rx!(r"\bpods\b.*\brunning\b|\ball pods\b").is_match(&lower) {
        (
            format!(
                "kubectl{nsarg} get pods --no-headers | awk '$3 != \"Running\" && $3 != \"Completed\" {{ bad = 1 }} END {{ exit bad }}'"
            ),
            "every pod is Running",
            None,
        )
    } else if lower.contains("helmrepository") || lower.contains("image polic") {
        (
            format!("kubectl{nsarg} get imagepolicy,helmrepository"),
            "the Flux objects exist",
            None,
        )
    } else if lower.contains("scheduledbackup") || lower.contains("backup resource") {
        (
            format!("kubectl{nsarg} get scheduledbackups.postgresql.cnpg.io -o name | grep -q ."),
            "the cnpg ScheduledBackup exists",
            None,
        )
    } else {
        return None;
    };
    let _ = u;
    let mut d = Draft::new("command", "", format!("kubectl shows it: {why}"));
    let simple = !shell.contains('|') && !shell.contains('\'');
    if simple {
        d.set("argv", list(shell.split_whitespace()));
    } else {
        d.set("shell", s(&shell));
    }
    if let Some(j) = json {
        d.push_expect(j);
        d = d.uses("command.json");
    }
    d = d.note("uses your current kubectl context");
    probe(d)
}

pub(super) fn vulnerabilities(_: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    if !(lower.contains("no ")
        || lower.contains("zero")
        || lower.contains("without")
        || lower.contains("0 "))
    {
        return None;
    }
    let level = if lower.contains("high") {
        "high"
    } else if lower.contains("moderate") {
        "moderate"
    } else {
        "critical"
    };
    let argv: Vec<String> = if cx.mentions("npm")
        || cx.mentions("npx")
        || cx.mentions("node")
        || cx.mentions("package.json")
    {
        vec![
            "npm".into(),
            "audit".into(),
            format!("--audit-level={level}"),
            "--omit=dev".into(),
        ]
    } else if cx.mentions("cargo") {
        vec!["cargo".into(), "audit".into()]
    } else if cx.mentions("pip")
        || cx.mentions("django")
        || cx.mentions("poetry")
        || cx.mentions("fastapi")
    {
        vec!["pip-audit".into()]
    } else {
        return None;
    };
    let mut d = Draft::new(
        "command",
        "",
        "a dependency audit exits non-zero on findings",
    )
    .opt("argv", list(&argv));
    d.timeout = Some("2m");
    probe(d)
}

pub(super) fn file_size(u: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    let c = rx!(r"(?i)(\d+)\s*(kb|mb|k|m)\b.*?\bin\s+`?([A-Za-z0-9_./-]+?)/?`?(?:[\s),]|$)")
        .captures(text)?;
    let unit = if c[2].to_lowercase().starts_with('m') {
        "M"
    } else {
        "k"
    };
    let dir = u
        .code
        .iter()
        .find(|x| x.contains('/') || !x.contains(' '))
        .map_or(c[3].to_string(), |x| x.trim_end_matches('/').to_string());
    let d = Draft::new("command", "", "file sizes are what `find` reports").opt(
        "shell",
        s(&format!(
            "! find {dir} -type f -size +{}{unit} | grep -q .",
            &c[1]
        )),
    );
    probe(d)
}

pub(super) fn file_setting(_: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    let c = rx!(r#"(?i)^edit\s+(\S+?\.(?:toml|ya?ml|json|env|ini|conf|cfg)):?\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.+)$"#).captures(text)?;
    let line = format!("{} = {}", &c[2], c[3].trim());
    let d = Draft::new(
        "command",
        "",
        "the file must hold the setting the line names",
    )
    .opt("argv", list(["grep", "-qF", line.as_str(), &c[1]]));
    probe(d)
}
