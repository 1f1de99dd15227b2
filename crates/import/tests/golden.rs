//! Golden tests: the importer on checklists of our own (`tests/corpus/`, labels
//! removed) as insta snapshots — the TOML and the `--explain` text — plus odd inputs
//! and fuzzing. The shared checklists are measured in `corpus.rs`, read from
//! `../shared/checklists` at test time, never copied here.

use preflight_import::{ImportOptions, Imported, import};

/// Every probe of this build plus the planned ones, so snapshots show every mapping.
const AVAILABLE: &[&str] = &[
    "http",
    "tls",
    "dns",
    "postgres",
    "webhook",
    "env",
    "tcp",
    "redis",
    "prometheus",
    "command",
    "websocket",
    "domain",
    "http.cors",
    "http.origin",
    "http.cookies",
    "http.security",
    "http.grade",
    "http.meta_robots",
    "dns.spf",
    "dns.dmarc",
    "dns.dkim",
    "dns.dnssec",
    "dns.ad",
    "tls.starttls",
    "command.json",
    "item.capture",
];

fn run(name: &str, bytes: &[u8]) -> Imported {
    import(
        bytes,
        &ImportOptions {
            name,
            available: &|p| AVAILABLE.contains(&p),
        },
    )
    .expect("imports")
}

/// A corpus file with its `<!-- pf: … -->` labels removed.
fn corpus(name: &str) -> String {
    let path = format!("{}/tests/corpus/{name}.md", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .map(|l| match l.find("<!-- pf:") {
            Some(i) => l[..i].trim_end(),
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn summary(out: &Imported) -> String {
    format!(
        "{} boxes, {} items: {} automated, {} manual, {} ticked; vars {:?}; env {:?}",
        out.boxes,
        out.items,
        out.automated,
        out.manual,
        out.ticked,
        out.vars.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        out.env
    )
}

macro_rules! golden {
    ($test:ident, $file:literal) => {
        #[test]
        fn $test() {
            let out = run($file, corpus($file).as_bytes());
            insta::assert_snapshot!(concat!($file, "_summary"), summary(&out));
            insta::assert_snapshot!(concat!($file, "_explain"), out.explain());
            insta::assert_snapshot!($file, out.toml);
        }
    };
}

golden!(bold_titles_with_details, "bold-nested");
golden!(tables_with_owner_and_status, "owner-status-table");
golden!(commands_under_items, "commands-under-items");
golden!(mail_and_domain, "mail-domain");
golden!(web_hardening, "web-hardening");

#[test]
fn a_probe_this_build_lacks_leaves_the_line_manual_with_the_reason() {
    let md = b"# X\nApp: https://chat.x.example\n- [ ] WebSocket handshake to wss://rt.x.example/socket succeeds\n- [ ] CORS: no wildcard origin on the API\n- [ ] mx1.x.example offers STARTTLS on port 25\n";
    let out = import(
        md,
        &ImportOptions {
            name: "x",
            available: &|p| ["http", "tls", "dns"].contains(&p),
        },
    )
    .expect("imports");
    let why: Vec<(Option<&str>, &str)> = out
        .explained
        .iter()
        .map(|e| (e.probe.as_deref(), e.why.as_str()))
        .collect();
    assert_eq!(why[0], (None, "needs the websocket probe"));
    // CORS falls back to a plain request with an Origin header.
    assert_eq!(why[1].0, Some("http"));
    assert!(
        why[2].1.contains("needs `starttls` in the tls probe"),
        "{:?}",
        why[2]
    );
    assert!(out.toml.contains("# manual: needs the websocket probe"));
    assert_eq!(out.unavailable, 2);
}

#[test]
fn output_is_valid_toml_for_odd_inputs() {
    let huge_table = {
        let mut t = String::from("| # | Task | Owner | Status |\n|---|---|---|---|\n");
        for i in 0..5000 {
            t.push_str(&format!(
                "| {i} | Task \"{i}\" with `code` \\| pipe | O{i} | ✅ |\n"
            ));
        }
        t
    };
    let deep: String = (0..200)
        .map(|i| format!("{}- [ ] level {i}\n", "  ".repeat(i)))
        .collect();
    let inputs: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("whitespace", " \n\n\t\n".into()),
        ("no checkboxes", "# Title\n\nJust prose.\n\n- a plain bullet\n".into()),
        ("deep", deep),
        ("huge table", huge_table),
        (
            "hostile",
            "# \"quotes\" ''' \\ ${x} $${y}\n## ${env:HOME}\n- [ ] \u{0}\u{7} bell ]] [[item]] \"\"\"\n- [x] GET /${evil} returns 200\n- [ ] 日本語のタスク\n- [ ]\n- [ ] - [ ] - [ ]\n| Task |\n|---|\n|\n".into(),
        ),
        ("crlf", "# T\r\n- [ ] one\r\n- [ ] two\r\n".into()),
        ("unclosed fence", "# T\n```\n# - [ ] inside\n".into()),
    ];
    for (name, text) in inputs {
        let out = run(name, text.as_bytes());
        let parsed: Result<toml::Table, _> = out.toml.parse();
        assert!(parsed.is_ok(), "{name}: {:?}\n{}", parsed.err(), out.toml);
        assert_eq!(out.items, out.automated + out.manual, "{name}");
    }
}

#[test]
fn non_utf8_is_refused_with_position() {
    let e = import(
        b"# T\n- [ ] \xff\xfe\n",
        &ImportOptions {
            name: "x",
            available: &|_| true,
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("not UTF-8"), "{e}");
}

/// Deterministic fuzzing: documents stitched from Markdown-ish fragments must import
/// into a checklist that core accepts (all manual: no probes in this catalog) and, with
/// every probe available, into valid TOML.
#[test]
fn fuzzed_documents_always_load() {
    const FRAGMENTS: &[&str] = &[
        "# ",
        "## ",
        "### ",
        "1. ",
        "- [ ] ",
        "- [x] ",
        "* [X] ",
        "  ",
        "\t",
        "- ",
        "\n",
        "\n\n",
        "| ",
        " |",
        "|---|",
        "| Task | Owner | Status |\n|---|---|---|\n",
        "```",
        "~~~",
        "GET /api/health returns 200",
        "/health returns { status: \"healthy\" }",
        "app.example.org",
        "TLS",
        "HSTS",
        "DNS",
        "webhook https://wh.example.org/x",
        "migrations applied",
        "P99 latency <500ms",
        "DATABASE_URL",
        "critical",
        "**bold**",
        "`code`",
        "${x}",
        "$${y}",
        "${env:HOME}",
        "\"",
        "'''",
        "\\",
        "[[item]]",
        "id = 1",
        "日本",
        "—",
        "→",
        "\r\n",
        "\u{0}",
        "\u{7f}",
        "\u{feff}",
        "emoji ✅",
        "_under_",
        "☐ ",
        "☑ ",
        "✅ ",
        "⏳ ",
        "> ",
        "1.4 ",
        "a) [ ] ",
        "| [ ] | Check | Owner |\n|---|---|---|\n",
        "| ☐ | ",
        "**Bold title**",
        "---\ntitle: x\nsite_url: https://a.example\n---\n",
        "Title\n=====\n",
        "<details><summary>Day</summary>",
        "```bash\n# Check pods\nkubectl get pods -n x\n```\n",
        "`curl -sI https://api.example.org/healthz`",
        "`dig +short app.example.org`",
        "`psql \"$DATABASE_URL\" -c 'SELECT 1'` returns 1",
        "`redis-cli ping`",
        "`openssl s_client -connect x.example.org:443 -starttls smtp`",
        "`kubectl get deploy api -o json`",
        "`helm upgrade x`",
        "Log in (POST /login), then GET /me returns 200",
        "wss://rt.example.org/socket",
        "CORS no wildcard",
        "cookies Secure HttpOnly",
        "SPF -all DKIM selector s1 DMARC p=reject",
        "DNSSEC",
        "domain expires in 30 days",
        "p95 ≤ 200 ms",
        "error rate < 1%",
        "No P0 alerts firing",
        "STARTTLS port 25 mx1.example.org",
        "HPA minimum 3 for api kubectl",
        "`SECRET_KEY` at least 32 characters",
        "All environment variables set (no placeholders)",
        "security headers grade A",
        "noindex",
        "api.example.org → api.prod.svc:80",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..400 {
        let len = (next() % 60) as usize;
        let doc: String = (0..len)
            .map(|_| FRAGMENTS[(next() % FRAGMENTS.len() as u64) as usize])
            .collect();
        let manual = import(
            doc.as_bytes(),
            &ImportOptions {
                name: "fuzz",
                available: &|_| false,
            },
        )
        .expect("utf-8 input imports");
        let loaded = preflight_core::checklist::parse(
            "fuzz.toml",
            &manual.toml,
            &[],
            &preflight_core::Catalog::default(),
        );
        assert!(
            loaded.is_ok(),
            "round {round}: {:?}\n--- input\n{doc}\n--- output\n{}",
            loaded.err().map(|e| e.plain()),
            manual.toml
        );
        let auto = run("fuzz", doc.as_bytes());
        assert!(
            auto.toml.parse::<toml::Table>().is_ok(),
            "round {round}\n{doc}"
        );
    }
}
