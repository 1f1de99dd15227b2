//! Launch readiness: `import` (then `check`), `attest` and the verdict, Markdown and
//! JUnit reports, and the real examples in `config/examples/`.

use std::path::{Path, PathBuf};

use crate::support::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `preflight import IN -o OUT`, then `preflight check OUT`; both must succeed.
fn import_and_check(input: &Path, out: &Path) -> String {
    import_and_check_with(input, out, &[])
}

/// The same, with more `import` arguments.
fn import_and_check_with(input: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = vec!["import", path_str(input), "-o", path_str(out), "--force"];
    args.extend_from_slice(extra);
    let o = preflight(&args, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "import {}: {}",
        input.display(),
        stderr(&o)
    );
    let c = preflight(&["check", path_str(out)], &[]);
    assert_eq!(
        c.status.code(),
        Some(0),
        "check of imported {}: {}\n{}",
        input.display(),
        stderr(&c),
        std::fs::read_to_string(out).unwrap_or_default()
    );
    stderr(&o)
}

/// `shared/checklists` next to the repository or one of its ancestors (the three
/// third-party checklists are not in the repository).
fn shared_checklists() -> Option<PathBuf> {
    let repo = repo().canonicalize().ok()?;
    repo.ancestors()
        .map(|a| a.join("shared/checklists"))
        .find(|p| p.is_dir())
}

#[test]
#[expect(clippy::print_stderr, reason = "says why the test is skipped")]
fn import_then_check_every_shared_checklist() {
    let Some(shared) = shared_checklists() else {
        eprintln!(
            "skipped: no shared/checklists folder next to the repository (CI has only the repo)"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let mut seen = 0;
    for entry in std::fs::read_dir(&shared).expect("shared checklists") {
        let input = entry.expect("entry").path();
        if input.extension().is_none_or(|e| e != "md") {
            continue;
        }
        seen += 1;
        let out = dir.path().join("out.toml");
        let err = import_and_check(&input, &out);
        let summary = err.lines().next().unwrap_or_default();
        assert!(
            summary.starts_with("imported ") && summary.contains(" automated, "),
            "{err}"
        );
        let text = std::fs::read_to_string(&out).expect("output");
        assert!(text.contains("# imported from: \""), "{text}");
        assert!(text.contains("# manual: "), "{text}");
    }
    assert!(seen >= 3, "the three shared checklists");
    // The streamer checklist's smoke test is the canonical example: readable id, http.
    let streamer = shared.join("streamer-app-launch.md");
    let out = dir.path().join("streamer.toml");
    let err = import_and_check(&streamer, &out);
    let text = std::fs::read_to_string(&out).expect("output");
    assert!(
        text.contains("id = \"smoke-tests.get-api-health\""),
        "{text}"
    );
    assert!(err.contains("vars defaulted from the source"), "{err}");
    // Refuses to overwrite without --force.
    let again = preflight(&["import", path_str(&streamer), "-o", path_str(&out)], &[]);
    assert_eq!(again.status.code(), Some(2));
}

/// Our own labelled checklists (labels removed): every one imports into a checklist
/// that `check` accepts with the probes of this build.
#[test]
fn import_then_check_every_corpus_checklist() {
    let dir = tempfile::tempdir().expect("tmp");
    let corpus = repo().join("crates/import/tests/corpus");
    let mut seen = 0;
    for entry in std::fs::read_dir(&corpus).expect("corpus") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "md") || path.ends_with("README.md") {
            continue;
        }
        seen += 1;
        let text: String = std::fs::read_to_string(&path)
            .expect("read")
            .lines()
            .map(|l| match l.find("<!-- pf:") {
                Some(i) => format!("{}\n", &l[..i]),
                None => format!("{l}\n"),
            })
            .collect();
        let name = path.file_name().expect("name");
        let input = dir.path().join(name);
        std::fs::write(&input, text).expect("write");
        import_and_check(&input, &dir.path().join("out.toml"));
    }
    assert!(seen >= 8, "at least eight styles");
}

/// Documents stitched from checklist fragments (every style, every mapping, hostile
/// text): import then check must succeed with this build's catalog, whatever it
/// lacks of the planned probes.
#[test]
fn import_then_check_succeeds_on_stitched_documents() {
    const FRAGMENTS: &[&str] = &[
        "# T\n",
        "## Web\n",
        "### DNS\n",
        "- [ ] ",
        "* [x] ",
        "1. [ ] ",
        "☐ ",
        "✅ ",
        "> - [ ] ",
        "1.4 ",
        "\n",
        "  - ",
        "| [ ] | Check | Owner |\n|---|---|---|\n| [ ] | ",
        " | Ann |\n",
        "API: https://api.shop.example\n",
        "---\nsite_url: https://shop.example\n---\n",
        "GET /api/health returns 200",
        "HSTS enabled",
        "TLS 1.0 disabled",
        "CORS no wildcard",
        "cookies Secure HttpOnly",
        "WebSocket wss://rt.shop.example/ws connects",
        "SPF -all",
        "DMARC p=reject",
        "DKIM selector s1",
        "DNSSEC",
        "domain expires in 60 days",
        "mx1.shop.example STARTTLS port 25",
        "p99 ≤ 250 ms on /v1/quotes",
        "error rate < 1%",
        "No critical alerts firing",
        "migrations applied (schema_migrations)",
        "Redis PING",
        "`SECRET_KEY_BASE` at least 64 characters",
        "All environment variables set",
        "security headers grade A",
        "no noindex",
        "robots.txt",
        "Log in (POST /login), then GET /me returns 200",
        "`kubectl -n x get deploy api -o json`",
        "`curl -sI https://shop.example/`",
        "`psql \"$DATABASE_URL\" -c 'SELECT 1'`",
        "`openssl s_client -connect shop.example:443`",
        "```\nkubectl rollout status deploy/api\n```\n",
        "HPA minimum of 3 replicas for api (kubectl)",
        "${x} $${y} ${env:HOME} \"q\" '''",
        "Sentry configured",
        "Support briefed",
    ];
    let dir = tempfile::tempdir().expect("tmp");
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..40 {
        let len = 10 + (next() % 50) as usize;
        let doc: String = (0..len)
            .map(|_| FRAGMENTS[(next() % FRAGMENTS.len() as u64) as usize])
            .collect();
        let input = dir.path().join(format!("r{round}.md"));
        std::fs::write(&input, &doc).expect("write");
        import_and_check(&input, &dir.path().join(format!("r{round}.toml")));
    }
}

#[test]
fn import_explain_prints_each_box_per_section() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = dir.path().join("launch.md");
    std::fs::write(
        &input,
        "# Launch\nAPI: https://api.shop.example\n## Web\n- [ ] **HTTPS enforced**\n  - HSTS enabled\n- [ ] WebSocket handshake to wss://rt.shop.example/ws\n## People\n- [ ] Support briefed\n",
    )
    .expect("write");
    let out = dir.path().join("launch.toml");
    let err = import_and_check_with(&input, &out, &["--explain"]);
    assert!(err.contains("Web — 2 of 2 automated"), "{err}");
    assert!(
        err.contains("web.https-enforced/hsts: http (rule hsts)"),
        "{err}"
    );
    assert!(err.contains("(rule websocket: "), "{err}");
    assert!(err.contains("People — 0 of 1 automated"), "{err}");
    let text = std::fs::read_to_string(&out).expect("output");
    assert!(
        text.contains("needs = [\"web.https-enforced/hsts\"]"),
        "{text}"
    );
    assert!(text.contains("# manual: names people"), "{text}");
}

#[test]
fn import_of_odd_inputs_always_passes_check() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut table = String::from("# Big\n| # | Task | Owner | Status |\n|---|---|---|---|\n");
    for i in 0..3000 {
        table.push_str(&format!("| {i} | Task {i} `x` | O | ✅ |\n"));
    }
    let deep: String = (0..100)
        .map(|i| format!("{}- [ ] level {i} GET /l{i} returns 200\n", "  ".repeat(i)))
        .collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("no-checkboxes", b"# Notes\n\nJust prose.\n- a bullet\n".to_vec()),
        ("deep", deep.into_bytes()),
        ("table", table.into_bytes()),
        (
            "hostile",
            "# ${env:HOME} \"q\" '''\n## [[item]]\n- [ ] ${x} $${y} \u{7}\n- [x] - [ ] - [ ]\n- [ ] GET /${evil} returns 200\n- [ ] tls for bad..host..com\n"
                .as_bytes()
                .to_vec(),
        ),
    ];
    for (name, bytes) in cases {
        let input = dir.path().join(format!("{name}.md"));
        std::fs::write(&input, &bytes).expect("write");
        import_and_check(&input, &dir.path().join(format!("{name}.toml")));
    }
    let bad = dir.path().join("latin1.md");
    std::fs::write(&bad, b"# Caf\xe9\n- [ ] ok\n").expect("write");
    let o = preflight(&["import", path_str(&bad)], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not UTF-8 text (invalid byte at line 1"),
        "{}",
        stderr(&o)
    );
}

const ATTEST_LIST: &str = "[[item]]\nid = \"smoke.health\"\ntitle = \"GET /api/health returns 200\"\nsection = \"1. Smoke\"\nprobe = \"http\"\nurl = \"${api_plain}/api/health\"\n\n[[item]]\nid = \"legal.privacy\"\ntitle = \"Privacy Policy published\"\nsection = \"2. Legal\"\nseverity = \"critical\"\nmanual = true\n";

#[test]
fn attestation_flow_changes_the_verdict() {
    let env = Env::start();
    let file = env.write("launch.toml", &format!("{HEADER}{ATTEST_LIST}"));
    let f = path_str(&file);

    let r = json(&env.run(&file, &["--format", "json"]));
    assert_eq!(r["verdict"], "no-go");
    assert_eq!(item(&r, "legal.privacy")["status"], "manual");
    assert_eq!(r["failing_critical"][0], "legal.privacy");

    // Unknown ids and probe items are refused; nothing is written.
    let o = preflight(&["attest", f, "legal.privcy", "--by", "ann"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean \"legal.privacy\""),
        "{}",
        stderr(&o)
    );
    let o = preflight(&["attest", f, "smoke.health", "--by", "ann"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("only manual items"), "{}", stderr(&o));
    let log = env.dir.path().join("launch.attest.toml");
    assert!(!log.exists());

    let o = preflight(
        &[
            "attest",
            f,
            "legal.privacy",
            "--by",
            "ann",
            "--note",
            "page is live, LEGAL-12",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = json(&env.run(&file, &["--format", "json"]));
    assert_eq!(r["verdict"], "go", "{r}");
    let privacy = item(&r, "legal.privacy");
    assert_eq!(privacy["status"], "pass");
    assert_eq!(privacy["attested"]["by"], "ann");
    assert_eq!(privacy["attested"]["note"], "page is live, LEGAL-12");
    assert!(
        privacy["attested"]["at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    // A later attestation that expires: once expired the item is pending again.
    let o = preflight(
        &[
            "attest",
            f,
            "legal.privacy",
            "--by",
            "bob",
            "--expires",
            "1s",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let history = std::fs::read_to_string(&log).expect("log");
    assert_eq!(
        history.matches("[[attestation]]").count(),
        2,
        "append-only: {history}"
    );
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let o = env.run(&file, &["--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let r = json(&o);
    let privacy = item(&r, "legal.privacy");
    assert_eq!(privacy["status"], "manual");
    assert!(
        privacy["reason"]
            .as_str()
            .is_some_and(|t| t.contains("attestation by bob expired")),
        "{privacy}"
    );

    // A hand-damaged history is an error naming the file, not a silent pass.
    std::fs::write(
        &log,
        "[[attestation]]\nid = \"legal.privacy\"\nby = \"x\"\nat = \"soon\"\n",
    )
    .expect("write");
    let o = env.run(&file, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("launch.attest.toml"), "{}", stderr(&o));
}

/// Replaces run-dependent values (ports, paths, times, durations) for snapshots.
fn redact_run(text: &str, env: &Env) -> String {
    let mut t = text.to_string();
    for (k, v) in env.bed.vars() {
        if !v.is_empty() {
            t = t.replace(&v, &format!("[{k}]"));
        }
    }
    let rules = [
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "[time]"),
        (r"\b\d+ ms\b", "[ms]"),
        (r#"time="[0-9.]+""#, r#"time="[s]""#),
    ];
    for (pattern, with) in rules {
        t = regex::Regex::new(pattern)
            .expect("valid regex")
            .replace_all(&t, with)
            .into_owned();
    }
    t
}

#[test]
fn markdown_junit_and_json_in_one_run() {
    let env = Env::start();
    let list = format!(
        "{HEADER}{ATTEST_LIST}\n[[item]]\nid = \"smoke.degraded\"\ntitle = \"Degraded endpoint returns 200\"\nsection = \"1. Smoke\"\nprobe = \"http\"\nurl = \"${{api_plain}}/api/degraded\"\nexpect = [\"status == 200\"]\n\n[[item]]\nid = \"smoke.after\"\ntitle = \"Runs after the degraded one\"\nsection = \"1. Smoke\"\nneeds = [\"smoke.degraded\"]\nprobe = \"http\"\nurl = \"${{api_plain}}/api/health\"\n\n[[item]]\nid = \"db.url\"\ntitle = \"Needs an unset secret\"\nsection = \"3. Data\"\nprobe = \"http\"\nurl = \"${{env:PREFLIGHT_E2E_UNSET}}/x\"\n"
    );
    let file = env.write("report.toml", &list);
    let md = env.dir.path().join("r.md");
    let xml = env.dir.path().join("r.xml");
    let js = env.dir.path().join("r.json");
    let inferred = env.dir.path().join("inferred.md");
    let o = env.run(
        &file,
        &[
            "--phase",
            "launch",
            "--format",
            "markdown",
            "--output",
            path_str(&md),
            "--format",
            "junit",
            "--output",
            path_str(&xml),
            "--format",
            "json",
            "--output",
            path_str(&js),
            "--output",
            path_str(&inferred),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).is_empty(),
        "every report went to a file: {}",
        stdout(&o)
    );

    let markdown = std::fs::read_to_string(&md).expect("markdown");
    assert_eq!(
        markdown,
        std::fs::read_to_string(&inferred).expect(".md → markdown")
    );
    assert!(
        markdown.contains("- [x] GET /api/health returns 200 `smoke.health`"),
        "{markdown}"
    );
    assert!(markdown.contains("- [ ] Degraded endpoint returns 200 `smoke.degraded` — **fail**: status == 200 — status was 503"), "{markdown}");
    insta::assert_snapshot!("launch_markdown", redact_run(&markdown, &env));

    let junit = std::fs::read_to_string(&xml).expect("junit");
    insta::assert_snapshot!("launch_junit", redact_run(&junit, &env));
    let parsed = quick_junit::Report::deserialize_from_str(&junit).expect("valid JUnit");
    let suites: Vec<(&str, usize, usize, usize, usize)> = parsed
        .test_suites
        .iter()
        .map(|s| (s.name.as_str(), s.tests, s.failures, s.errors, s.skipped))
        .collect();
    assert_eq!(
        suites,
        vec![
            ("1. Smoke", 3, 1, 0, 1),
            ("2. Legal", 1, 0, 0, 1),
            ("3. Data", 1, 0, 1, 0)
        ]
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&js).expect("json")).expect("json");
    assert_eq!(report["counts"]["fail"], 1);
    assert_eq!(report["phase"], "launch");
}

#[test]
fn example_checklist_runs_against_the_testbed() {
    let env = Env::start();
    let example = repo().join("config/examples/hustlexp-launch.toml");
    // The example's smoke subset, pointed at the testbed's API (mounted under /api).
    let o = preflight(
        &[
            "run",
            path_str(&example),
            "--phase",
            "launch",
            "--only",
            "smoke.health",
            "--only",
            "smoke.readiness",
            "--only",
            "go.p99",
            "--var",
            &format!("api={}/api", env.bed.http_url()),
            "--format",
            "json",
            "--no-progress",
        ],
        &[],
    );
    let r = json(&o);
    assert_eq!(item(&r, "smoke.health")["status"], "pass", "{r}");
    assert_eq!(item(&r, "go.p99")["status"], "pass", "{r}");
    // The testbed has no /health/readiness: that item fails with a reason, and
    // as a critical item it makes the run NO-GO.
    assert_eq!(item(&r, "smoke.readiness")["status"], "fail", "{r}");
    assert_eq!(r["verdict"], "no-go");
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn every_config_file_passes_check() {
    let mut files = vec![];
    let mut dirs = vec![repo().join("config")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("config dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "toml")
                && !p.to_string_lossy().ends_with(".attest.toml")
            {
                files.push(p);
            }
        }
    }
    assert!(files.len() >= 4, "{files:?}");
    let mut failures = vec![];
    for f in &files {
        let o = preflight(&["check", path_str(f)], &[]);
        if o.status.code() != Some(0) {
            failures.push(format!("{}:\n{}", f.display(), stderr(&o)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn secrets_stay_out_of_markdown_and_junit() {
    let env = Env::start();
    let secret = "e2e-launch-secret-3f9a1c";
    let list = format!(
        "{HEADER}[[item]]\nid = \"leaky\"\ntitle = \"Token in the URL\"\nsection = \"S\"\nprobe = \"http\"\nurl = \"${{api_plain}}/status/500?token=${{env:PREFLIGHT_E2E_TOKEN}}\"\nheaders = {{ authorization = \"Bearer ${{env:PREFLIGHT_E2E_TOKEN}}\" }}\nexpect = [\"status == 200\", \"url.contains('token')\"]\n\n[[item]]\nid = \"m\"\ntitle = \"Manual\"\nsection = \"S\"\nmanual = true\n"
    );
    let file = env.write("secret.toml", &list);
    let f = path_str(&file);
    let o = preflight(
        &[
            "attest",
            f,
            "m",
            "--by",
            "ann",
            "--note",
            &format!("token {secret}"),
        ],
        &[("PREFLIGHT_E2E_TOKEN", secret)],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let md = env.dir.path().join("s.md");
    let xml = env.dir.path().join("s.xml");
    let mut args: Vec<String> = vec!["run".into(), f.into(), "--no-progress".into()];
    args.extend(env.var_args());
    // The i-th --output takes the i-th --format; the unpaired json goes to stdout.
    args.extend(
        [
            "--format",
            "markdown",
            "--output",
            path_str(&md),
            "--format",
            "junit",
            "--output",
            path_str(&xml),
            "--format",
            "json",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = preflight(&args, &[("PREFLIGHT_E2E_TOKEN", secret)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let markdown = std::fs::read_to_string(&md).expect("md");
    let junit = std::fs::read_to_string(&xml).expect("xml");
    assert!(markdown.contains("**fail**: status == 200"), "{markdown}");
    assert!(junit.contains("<failure"), "{junit}");
    for (name, text) in [
        ("markdown", markdown.as_str()),
        ("junit", junit.as_str()),
        ("json", &stdout(&o)),
        ("stderr", &stderr(&o)),
    ] {
        assert!(!text.contains(secret), "{name} leaks the secret:\n{text}");
    }
}
