//! Databases, caches, ports and secrets: Postgres migrations and objects, Redis,
//! TCP ports, environment variables.

use super::*;

pub(super) fn pg() -> Draft {
    Draft::new("postgres", "", "").opt("dsn", s("${env:DATABASE_URL}"))
}

pub(super) static SQL_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z_][a-z0-9_]*$").expect("valid regex"));

/// Migration conventions: (words, table, dir).
pub(super) const FRAMEWORKS: &[(&str, &str, &str)] = &[
    ("rails", "schema_migrations", "db/migrate"),
    ("django", "django_migrations", ""),
    ("prisma", "_prisma_migrations", "prisma/migrations"),
    ("alembic", "alembic_version", "migrations/versions"),
    ("flyway", "flyway_schema_history", "db/migration"),
    ("goose", "goose_db_version", "migrations"),
    ("sqlx", "_sqlx_migrations", "migrations"),
    ("knex", "knex_migrations", "migrations"),
    ("diesel", "__diesel_schema_migrations", "migrations"),
    ("liquibase", "databasechangelog", "db/changelog"),
];

pub(super) fn migrations(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    static STATE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"\b(appl(y|ied)|current|pending|up[- ]to[- ]date|count|installed|at head|head|lists? every|none pending|no failed|shows? no|matches|has today's)\b|≥|>=",
        )
    });
    if !STATE.is_match(text) {
        return None;
    }
    static TABLE_NAME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\bfrom\s+([A-Za-z_][A-Za-z0-9_.]*)|\b([A-Za-z_][A-Za-z0-9_]*_[A-Za-z0-9_]+|_[A-Za-z0-9_]+)\s*\)?\s*(?:table|lists|shows|up|matches)\b|\(\s*([A-Za-z_][A-Za-z0-9_]*)\s+table\b|`([a-z_]*(?:migrations|version|history|schema_versions)[a-z_]*)`").expect("valid regex")
    });
    static GLOB: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"([A-Za-z0-9_./-]*(?:migrations?|migrate|versions)[A-Za-z0-9_./-]*)/(\*[A-Za-z0-9_.*]*)").expect("valid regex")
    });
    let mut m = toml::map::Map::new();
    let mut notes = vec![];
    let lower = format!("{} {}", text, u.code.join(" ")).to_lowercase();
    let hay = format!("{} {}", text, u.code.join(" "));
    let framework = FRAMEWORKS
        .iter()
        .find(|(w, t, _)| lower.contains(w) || lower.contains(t))
        .or_else(|| FRAMEWORKS.iter().find(|(w, _, _)| cx.mentions(w)));
    let mut vars = vec![];
    if let Some(g) = GLOB.captures(&hay) {
        m.insert("dir".into(), s(g[1].trim_start_matches("./")));
        m.insert("glob".into(), s(&g[2]));
    } else {
        let default = framework.map_or("", |f| f.2);
        vars.push(VarNeed {
            name: "migrations_dir".into(),
            default: default.to_string(),
            hint: if default.is_empty() {
                "folder of the migration files".into()
            } else {
                "folder of the migration files (framework default)".into()
            },
        });
        m.insert("dir".into(), s("${migrations_dir}"));
        notes.push("set migrations_dir to the folder of your migration files".to_string());
    }
    let table_name = TABLE_NAME
        .captures(&hay)
        .and_then(|t| {
            t.get(1)
                .or(t.get(2))
                .or(t.get(3))
                .or(t.get(4))
                .map(|x| x.as_str().to_string())
        })
        .filter(|n| {
            n.contains("migration")
                || n.contains("version")
                || n.contains("history")
                || n.starts_with('_')
        })
        .or_else(|| framework.map(|f| f.1.to_string()));
    if let Some(n) = table_name {
        m.insert("table".into(), s(&n));
    }
    let mut d = pg().opt("migrations", Value::Table(m)).with_vars(vars);
    d.why = "migrations applied: the tracking table against the files".into();
    d.notes = notes;
    probe(d)
}

pub(super) fn triggers(u: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    let mut names: Vec<String> = u
        .code
        .iter()
        .filter(|c| SQL_NAME.is_match(c))
        .cloned()
        .collect();
    for w in u
        .scope
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
    {
        if SQL_NAME.is_match(w) && w.contains('_') && !names.iter().any(|n| n == w) && w.len() > 3 {
            names.push(w.to_string());
        }
    }
    // Names from the box's words only for a database line that lists them
    // ("5 invariant triggers verified active:" with the names below).
    let db_line = text.trim_end().ends_with(':')
        || rx!(r"(?i)\b(invariant|database|db|postgres\w*|sql|tables?|functions?)\b")
            .is_match(text);
    if !db_line {
        names.retain(|n| u.code.contains(n));
    }
    if names.is_empty() {
        return None;
    }
    let mut d = pg().opt("require", table([("triggers", list(&names))]));
    d.why = "the triggers named under the line".into();
    probe(d)
}

pub(super) fn pg_objects(u: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    let kind = if lower.contains("extension") {
        "extensions"
    } else if rx!(r"\broles?\b").is_match(&lower) {
        "roles"
    } else if lower.contains("index") {
        "indexes"
    } else {
        "tables"
    };
    // Names: code spans, else snake_case words / words joined by `+` next to the kind.
    let mut names: Vec<String> = u
        .code
        .iter()
        .filter(|c| SQL_NAME.is_match(c) && c.len() > 2)
        .cloned()
        .collect();
    if names.is_empty() {
        static JOINED: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"\b([a-z][a-z0-9_]+)\s*(?:\+|,|and)\s*([a-z][a-z0-9_]+)\s+roles?\b|\b([a-z][a-z0-9_]*_[a-z0-9_]+)\b|\b([a-z][a-z0-9]+)\s+extension\b").expect("valid regex")
        });
        for c in JOINED.captures_iter(text) {
            for g in [1, 2, 3, 4] {
                if let Some(m) = c.get(g) {
                    names.push(m.as_str().to_string());
                }
            }
        }
    }
    names.retain(|n| !matches!(n.as_str(), "the" | "all" | "required" | "performance"));
    if names.is_empty() {
        return None;
    }
    if kind == "tables"
        && !(lower.contains("exist") || lower.contains("created") || lower.contains("present"))
    {
        return None;
    }
    if !(lower.contains("exist")
        || lower.contains("created")
        || lower.contains("present")
        || lower.contains("installed")
        || lower.contains("enabled")
        || lower.contains("create")
        || lower.contains("has"))
    {
        return None;
    }
    let mut d = pg().opt("require", table([(kind, list(&names))]));
    d.why = format!("required {kind} named in the line");
    probe(d)
}

pub(super) fn pg_tls(u: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    let lower = format!("{} {}", text, u.code.join(" ")).to_lowercase();
    let mode = ["verify-full", "verify-ca", "require"]
        .into_iter()
        .find(|m| lower.contains(m))
        .unwrap_or("require");
    let mut d = pg()
        .opt("sslmode", s(mode))
        .expect("connected")
        .expect("ssl");
    d.why = "TLS to the database is a session fact".into();
    probe(d)
}

pub(super) fn pg_replication(u: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    let _ = u;
    let mut d = match bound(text, U::Ms) {
        Some(b) => {
            let secs = crate::measure::num(b.value / 1000.0);
            pg().opt("query", s("SELECT coalesce(max(extract(epoch FROM replay_lag)), 0)::float AS lag_s FROM pg_stat_replication"))
                .expect(format!("value {} {secs}", b.op))
        }
        None => pg()
            .opt(
                "query",
                s("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"),
            )
            .expect("value >= 1"),
    };
    d.why = "replication state is in pg_stat_replication (on the primary)".into();
    d = d.note("run against the primary: pg_stat_replication lists its replicas");
    probe(d)
}

pub(super) fn pg_pool(_: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    let b = bound(text, U::Percent)?;
    let mut d = pg()
        .opt("query", s("SELECT count(*)::float / current_setting('max_connections')::float AS used FROM pg_stat_activity"))
        .expect(format!("value {} {}", b.op, b.fraction()));
    d.why = "connections in use against max_connections".into();
    probe(d)
}

pub(super) fn pg_reachable(u: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    let env = rx!(r"\b([A-Z][A-Z0-9_]*DATABASE_URL|DATABASE_URL|[A-Z][A-Z0-9_]*_DSN)\b")
        .captures(&format!("{} {}", text, u.code.join(" ")))
        .map_or("DATABASE_URL".to_string(), |c| c[1].to_string());
    let mut d = Draft::new("postgres", "", "a database that must accept connections")
        .opt("dsn", s(&format!("${{env:{env}}}")))
        .expect("connected");
    if text.to_lowercase().contains("read-only") || text.to_lowercase().contains("read only") {
        d.why = "every preflight session is read-only".into();
    }
    probe(d)
}

pub(super) fn redis_expect(d: &mut Draft, text: &str) {
    let lower = text.to_lowercase();
    d.push_expect("pong");
    if lower.contains("primary") || lower.contains("master") {
        d.push_expect("role == 'master'");
    }
    if rx!(r"\breplicas?\b.*\b(attached|connected|present)|\bwith (a )?replicas?\b")
        .is_match(&lower)
    {
        d.push_expect("connected_slaves >= 1");
    }
    if let Some(b) = bound(text, U::Bytes) {
        d.push_expect(format!("used_memory {} {}", b.op, b.num()));
    }
}

pub(super) fn redis(u: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    static STATE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"\b(healthy|reachable|provisioned|ping|pong|up|primary|master|replicas?|answers|connect\w*|available|running|cluster)\b",
        )
    });
    if !STATE.is_match(text) {
        return None;
    }
    let env = rx!(r"\b([A-Z][A-Z0-9_]*REDIS[A-Z0-9_]*URL|REDIS_URL|[A-Z][A-Z0-9_]*_REDIS)\b")
        .captures(&format!("{} {}", text, u.code.join(" ")))
        .map_or("REDIS_URL".to_string(), |c| c[1].to_string());
    let mut d = Draft::new("redis", "", "a Redis that must answer")
        .opt("url", s(&format!("${{env:{env}}}")));
    redis_expect(&mut d, text);
    probe(d)
}

pub(super) fn tcp_port(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    // Times (09:30) and years (on 2026) are not ports.
    static PORT: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"\bports?\s+(\d{2,5})\b|[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)*:(\d{2,5})\b|\bon\s+(\d{3,5})\b",
        )
    });
    let lower = text.to_lowercase();
    let ports: Vec<i64> = PORT
        .captures_iter(text)
        .filter_map(|c| {
            c.get(1)
                .or(c.get(2))
                .or(c.get(3))
                .and_then(|m| m.as_str().parse().ok())
        })
        .filter(|p| (1..=65535).contains(p) && !(1990..=2100).contains(p))
        .collect();
    let port = *ports.last()?;
    if port == 443 && !closed_words(text) && ports.len() > 1 {
        // "allows 443 only — port 22 not reachable": the closed one is the check.
    }
    let closed =
        closed_words(text) || lower.contains("**not**") || lower.contains(" not reachable");
    if !(closed
        || rx!(r"(?i)\b(reachable|open|answers?|listening|accepts?|banner|up|connect\w*)\b")
            .is_match(text))
    {
        return None;
    }
    let mut vars = vec![];
    let h = host_ref(u, cx, &mut vars)?;
    let mut d = Draft::new(
        "tcp",
        "",
        "a port that must (or must not) accept connections",
    )
    .opt("host", s(&h))
    .opt("port", Value::Integer(port));
    if closed {
        d.push_expect("!connected");
    }
    if let Some(c) = rx!(r"\b([1-5]\d\d) banner\b|banner\s+`?([1-5]\d\d)").captures(text) {
        let code = c.get(1).or(c.get(2)).map_or("", |m| m.as_str());
        d.push_expect("connected");
        d.push_expect(format!("banner.startsWith('{code}')"));
    }
    probe(d.with_vars(vars))
}

pub(super) static ENV_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b").expect("valid regex"));

pub(super) fn env_constraints(d: &mut Draft, text: &str) {
    static PREFIX: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?:starts? with|prefix(?:ed)?(?: with)?|begins? with)\s+`?([A-Za-z0-9_:.-]{2,20})`?|\(?`?([a-z]{2,6}[:_])`?\s*prefix",
        )
    });
    if let Some(b) = bounds(text)
        .into_iter()
        .find(|b| b.op.starts_with('>') && (b.unit == U::Count || b.unit == U::Bytes))
    {
        d.set("min_length", Value::Integer(b.value as i64));
    } else if let Some(c) = rx!(r"(?i)\b(\d{2,3})[- ](?:byte|char)").captures(text)
        && let Ok(n) = c[1].parse::<i64>()
    {
        d.set("min_length", Value::Integer(n));
    }
    if let Some(c) = PREFIX.captures(text) {
        let p = c.get(1).or(c.get(2)).map_or("", |m| m.as_str());
        d.set("prefix", s(p));
    }
}

pub(super) fn env_names(u: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    let env_context = rx!(
        r"(?i)\b(env|environment|secrets?|variables?|vars?|credentials?|keys?|tokens?|config)\b"
    );
    let set_words = rx!(
        r"(?i)\b(set|present|defined|configured|stored|exists?|populated|not empty|at least|starts? with|prefix|byte|characters|rotate|fresh|random|points? at|is not)\b"
    );
    if !env_context.is_match(u.headings) && !env_context.is_match(text) && !set_words.is_match(text)
    {
        return None;
    }
    // The names lead the line ("`DATABASE_URL` — …"), or the line says they are set.
    let head: String = text
        .split(['—', '–', '(', ':'])
        .next()
        .unwrap_or("")
        .split(" - ")
        .next()
        .unwrap_or("")
        .to_string();
    let leading: Vec<String> = ENV_NAME
        .captures_iter(&head)
        .map(|c| c[1].to_string())
        .collect();
    let rest_ok = !leading.is_empty()
        && head
            .split(['/', ',', ' ', '+'])
            .filter(|w| !w.trim().is_empty())
            .all(|w| ENV_NAME.is_match(w.trim()) || matches!(w.trim(), "and" | "&"));
    let starts_with_name = ENV_NAME.find(text).is_some_and(|m| m.start() == 0);
    static LISTED: LazyLock<Regex> =
        LazyLock::new(|| re(r"\b(env(ironment)?\s+var(iable)?s?|variables|secrets)\b[^:]*:\s*\S"));
    let names: Vec<String> = if rest_ok || starts_with_name && set_words.is_match(text) {
        leading
    } else if set_words.is_match(text)
        || LISTED.is_match(text)
            && (env_context.is_match(text)
                || env_context.is_match(u.headings)
                || u.code.iter().any(|c| ENV_NAME.is_match(c)))
    {
        let mut v: Vec<String> = vec![];
        for c in ENV_NAME.captures_iter(text) {
            let n = c[1].to_string();
            let at = c.get(1).expect("group").end();
            if text[at..].starts_with('*') || text[at..].starts_with("_*") {
                continue;
            }
            if !v.contains(&n) {
                v.push(n);
            }
        }
        v
    } else {
        return None;
    };
    if names.is_empty() || head.contains('*') {
        return None;
    }
    let lower = text.to_lowercase();
    if lower.contains("if present") || lower.contains("(optional") {
        return None;
    }
    // A constraint right after one name is that name's ("`A` (64+ chars), `B`"); one
    // after the last name is every name's that has none of its own.
    let at: Vec<(usize, usize)> = names
        .iter()
        .filter_map(|n| text.find(n.as_str()).map(|i| (i, i + n.len())))
        .collect();
    let constraints = |seg: &str| {
        let mut d = Draft::new("env", "", "");
        env_constraints(&mut d, seg);
        d.options
    };
    let trailing = at
        .last()
        .map_or(text.to_string(), |(_, end)| text[*end..].to_string());
    // (constraints, names) pairs.
    type Group = (Vec<(String, toml::Value)>, Vec<String>);
    let mut groups: Vec<Group> = vec![];
    for (k, n) in names.iter().enumerate() {
        let own = match (at.get(k), at.get(k + 1)) {
            (Some((_, end)), Some((next, _))) if next > end => constraints(&text[*end..*next]),
            _ => vec![],
        };
        let c = if own.is_empty() {
            constraints(&trailing)
        } else {
            own
        };
        match groups.iter_mut().find(|(g, _)| *g == c) {
            Some((_, ns)) => ns.push(n.clone()),
            None => groups.push((c, vec![n.clone()])),
        }
    }
    static DOTENV: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?:^|[\s`(])(\.env(?:\.[a-z0-9_-]+)?|[a-z0-9_./-]+\.env)\b")
            .expect("valid regex")
    });
    let file = DOTENV
        .captures(&format!("{text} {}", u.code.join(" ")))
        .map(|c| c[1].to_string());
    let mut drafts = vec![];
    for (c, ns) in groups {
        let mut d = Draft::new("env", "", "environment variables named in the line")
            .opt("names", list(&ns));
        if let Some(f) = &file {
            d.set("file", s(f));
        }
        for (k, v) in c {
            d.set(&k, v);
        }
        let mut probe_notes = vec![];

        if rx!(r"(?i)not the stag|not reuse|rotate|fresh|not the stage").is_match(text) {
            probe_notes.push(
                "set same_as = \"…\" to the staging dotenv file to check values are not reused"
                    .to_string(),
            );
        }
        probe_notes.push(match &file {
            Some(f) => format!("reads {f} relative to where preflight runs (names only, never values)"),
            None => "checks the environment preflight runs in (names only, never values); set file = \"…\" to check a dotenv file".into(),
        });
        d.notes = probe_notes;
        drafts.push(d);
    }
    Some(Verdict::Probe(drafts))
}

pub(super) fn env_all(_: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    if !rx!(r"(?i)\b(set|present|defined|populated|placeholders?|configured|filled)\b")
        .is_match(text)
    {
        return None;
    }
    let mut d = Draft::new("env", "", "every variable the checklist names")
        .opt("names", list(&cx.env_names));
    d.all_env_names = true;
    d.notes.push("names: every environment variable the source and this checklist name; add the ones it does not".into());
    probe(d)
}

pub(super) fn env_vendor(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    let vendor = rx!(r"(?i)\b([a-z][a-z0-9]+)(?:/[a-z]+)?\s+(?:dsn|api keys?|secret keys?|tokens?|credentials|email service)?")
        .captures(&lower)?[1]
        .to_uppercase();
    if matches!(
        vendor.as_str(),
        "THE" | "ALL" | "API" | "PROD" | "PRODUCTION" | "NEW" | "OLD"
    ) {
        return None;
    }
    let prefix = format!("{vendor}_");
    let known: Vec<String> = cx
        .env_names
        .iter()
        .filter(|n| {
            n.starts_with(&prefix)
                && (n.contains("KEY")
                    || n.contains("SECRET")
                    || n.contains("DSN")
                    || n.contains("TOKEN"))
        })
        .cloned()
        .collect();
    let names = if !known.is_empty() {
        let pick: Vec<String> = known
            .iter()
            .filter(|n| !n.contains("WEBHOOK"))
            .cloned()
            .collect();
        if pick.is_empty() { known } else { pick }
    } else if lower.contains(" dsn") {
        vec![format!("{vendor}_DSN")]
    } else {
        return None;
    };
    let mut d = Draft::new(
        "env",
        "",
        format!(
            "{} credentials are environment variables",
            vendor.to_lowercase()
        ),
    )
    .opt("names", list(&names));
    if lower.contains("dsn") {
        d.set("prefix", s("https://"));
    }
    if lower.contains("live") && names.iter().any(|n| n.starts_with("STRIPE_SECRET")) {
        d.set("prefix", s("sk_live_"));
    }
    let _ = u;
    probe(d)
}
