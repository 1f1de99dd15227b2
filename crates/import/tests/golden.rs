//! Golden tests: the importer on each real checklist in `tests/fixtures/` (copies of
//! `../shared/checklists/`), as insta snapshots, plus odd inputs.

use preflight_import::{ImportOptions, Imported, import};

/// Every probe of the final build, so snapshots do not depend on what is registered.
const PROBES: &[&str] = &[
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
];

fn run(name: &str, bytes: &[u8]) -> Imported {
    import(
        bytes,
        &ImportOptions {
            name,
            available: &|p| PROBES.contains(&p),
        },
    )
    .expect("imports")
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}.md", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn summary(out: &Imported) -> String {
    format!(
        "{} items: {} automated, {} manual, {} ticked; vars {:?}; env {:?}",
        out.items,
        out.automated,
        out.manual,
        out.ticked,
        out.vars.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        out.env
    )
}

#[test]
fn streamer_app_launch() {
    let out = run("streamer-app-launch", &fixture("streamer-app-launch"));
    insta::assert_snapshot!("streamer_summary", summary(&out));
    insta::assert_snapshot!("streamer", out.toml);
}

#[test]
fn hustlexp_launch() {
    let out = run("hustlexp-launch", &fixture("hustlexp-launch"));
    insta::assert_snapshot!("hustlexp_summary", summary(&out));
    insta::assert_snapshot!("hustlexp", out.toml);
}

#[test]
fn creatorbridge_deploy() {
    let out = run("creatorbridge-deploy", &fixture("creatorbridge-deploy"));
    insta::assert_snapshot!("creatorbridge_summary", summary(&out));
    insta::assert_snapshot!("creatorbridge", out.toml);
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
