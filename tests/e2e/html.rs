//! The HTML report (`--format html`) of real runs against the testbed, opened in
//! headless Chromium: no console errors, no network requests, the verdict and every
//! item id visible, with and without JavaScript, at 1280 px and 390 px — screenshots
//! (whole page and first screen), the pages and a printed PDF are kept in
//! `target/html-report/` for a person to look at. Markup
//! from a target and from the checklist stays text; secrets stay `****`.
//!
//! Skipped, saying so, where Chromium is not installed — unless
//! `PREFLIGHT_REQUIRE_BROWSER` is set (`scripts/test.sh` installs Debian's `chromium`
//! and sets it), where a missing browser fails the test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use serde_json::Value;

use crate::browser::Browser;
use crate::support::*;

/// One browser test at a time: their timings should not measure each other.
static BROWSER: Mutex<()> = Mutex::new(());

const TOKEN: &str = "s3cr3t-e2e-token-7731";
/// [`launch_checklist`] with markup in it.
const HOSTILE: bool = true;

/// The browser, or `None` (and a message) where it cannot be had.
#[expect(clippy::print_stderr, reason = "a skipped test says so")]
fn browser() -> Option<Browser> {
    if let Some(b) = Browser::launch() {
        return Some(b);
    }
    assert!(
        std::env::var_os("PREFLIGHT_REQUIRE_BROWSER").is_none(),
        "PREFLIGHT_REQUIRE_BROWSER is set but Chromium is missing (/usr/bin/chromium or $PREFLIGHT_CHROMIUM)"
    );
    eprintln!(
        "SKIPPED: the HTML browser test needs Chromium at /usr/bin/chromium (or $PREFLIGHT_CHROMIUM); \
         scripts/test.sh installs Debian's chromium package"
    );
    None
}

/// `target/html-report/`, where pages and screenshots are kept.
fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("html-report");
    std::fs::create_dir_all(&d).expect("create target/html-report");
    d
}

fn run(env: &Env, file: &Path, extra: &[&str]) -> Output {
    Command::new(bin())
        .arg("run")
        .arg(file)
        .args(env.var_args())
        .args(extra)
        .arg("--no-progress")
        .env("PREFLIGHT_E2E_TOKEN", TOKEN)
        .env_remove("PREFLIGHT_STORE")
        .output()
        .expect("run preflight")
}

fn cmd(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env_remove("PREFLIGHT_STORE")
        .output()
        .expect("run preflight")
}

/// A launch checklist with a secret header, manual items (attested, expired,
/// pending) and items that change with `--var`s and phases; when `hostile`, also
/// markup in its own text and a target that answers with markup.
fn launch_checklist(env: &Env, hostile: bool) -> PathBuf {
    let text = r#"[checklist]
name = "NAME"
pass_score = 60
timeout = "5s"

[vars]
api = ""
ca = ""
api_plain = ""
hang = ""
closed = ""
api_port = ""
checkout = "200"
cache = "200"
delay = "1"

[[item]]
id = "smoke.health"
title = "GET /api/health returns 200 and reports healthy"
section = "1. Smoke tests"
severity = "critical"
owner = "SRE"
probe = "http"
url = "${api_plain}/api/health"
expect = ["status == 200", "json.status == 'healthy'"]

[[item]]
id = "smoke.checkout"
title = "Checkout answers 200"
section = "1. Smoke tests"
severity = "critical"
owner = "Payments"
probe = "http"
url = "${api_plain}/status/${checkout}"
expect = ["status == 200"]

[[item]]
id = "smoke.cache"
title = "Cache warm-up endpoint answers 200"
section = "1. Smoke tests"
probe = "http"
url = "${api_plain}/status/${cache}"
expect = ["status == 200"]

[[item]]
id = "smoke.search"
title = "Search answers within 2 s"
section = "1. Smoke tests"
owner = "Search"
probe = "http"
url = "${api_plain}/delay/${delay}"
expect = ["latency_ms < 2000"]

[[item]]
id = "smoke.warmup"
title = "Pre-launch warm-up page"
section = "1. Smoke tests"
phases = ["pre-launch", "launch"]
probe = "http"
url = "${api_plain}/api/health"

[[item]]
id = "post.errors"
title = "Error budget page answers"
section = "1. Smoke tests"
phases = ["post-launch"]
severity = "advisory"
probe = "http"
url = "${api_plain}/api/health"

HOSTILE_ITEM
[[item]]
id = "web.token"
title = "The API accepts our token"
section = "SECTION"
probe = "http"
url = "${api_plain}/echo"
headers = { authorization = "Bearer ${env:PREFLIGHT_E2E_TOKEN}" }
expect = ["status == 200", "json.headers.authorization.startsWith('Bearer')"]

[[item]]
id = "legal.privacy"
title = "Privacy Policy published"
section = "3. Sign-off"
severity = "critical"
manual = true

[[item]]
id = "legal.terms"
title = "Terms of Service published"
section = "3. Sign-off"
manual = true

[[item]]
id = "ops.pager"
title = "On-call rota set for launch week"
section = "3. Sign-off"
owner = "SRE"
manual = true
"#;
    let hostile_item = r#"[[item]]
id = "web.hostile"
title = "Partner widget </td><script>window.__pwned=6</script> \"quoted\" & 'single'"
section = "SECTION"
owner = "<b onmouseover=\"window.__pwned=7\">web</b>"
probe = "http"
url = "${api_plain}/hostile"
expect = ["headers['x-hostile'] == 'safe'", "body.contains('healthy')"]
"#;
    let (name, item, section, by) = if hostile {
        (
            "Streamer App — launch <script>window.__pwned=5</script>",
            hostile_item,
            "2. Partner content </table>",
            "ann <script>window.__pwned=8</script>",
        )
    } else {
        (
            "Streamer App — production launch",
            "",
            "2. Partner API",
            "ann",
        )
    };
    let text = text
        .replace("NAME", name)
        .replace("HOSTILE_ITEM", item)
        .replace("SECTION", section);
    let f = env.write("launch.toml", &text);
    // One valid attestation, one that expired, none for ops.pager.
    let attest = r#"[[attestation]]
id = "legal.privacy"
by = "BY"
at = "2026-05-14T17:00:00Z"
note = "NOTE"

[[attestation]]
id = "legal.terms"
by = "bob"
at = "2026-01-10T09:00:00Z"
note = "v3 signed off"
expires = "2026-02-10T09:00:00Z"
"#;
    let note = if hostile {
        "page live, LEGAL-12 </td>"
    } else {
        "page live, LEGAL-12"
    };
    env.write(
        "launch.attest.toml",
        &attest.replace("BY", by).replace("NOTE", note),
    );
    f
}

/// Every item id of a JSON report.
fn ids(report: &Value) -> Vec<String> {
    report["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_string())
        .collect()
}

/// Opens `page` at 1280 px and 390 px (and once at 1280 px without JavaScript):
/// no errors, no requests but the page, the verdict in the first screen, every id
/// in the visible text, nothing wider than a phone. Saves `NAME-1280.png` and
/// `NAME-390.png`.
fn check_page(b: &mut Browser, page: &Path, name: &str, verdict: &str, ids: &[String]) {
    let url = format!("file://{}", page.display());
    for (width, mobile, js) in [(1280, false, true), (390, true, true), (1280, false, false)] {
        let tab = b.tab(width, mobile, js);
        let load = b.load(&tab, page);
        let what = format!(
            "{name} at {width} px{}",
            if js { "" } else { ", JavaScript off" }
        );
        assert!(load.errors.is_empty(), "{what}: {:#?}", load.errors);
        assert_eq!(load.requests, vec![url.clone()], "{what}: requests");
        let v = b.eval(
            &tab,
            "(() => { const w = document.querySelector('#verdict .word');
                      const r = w.getBoundingClientRect();
                      return {text: w.innerText, bottom: r.bottom, width: r.width,
                              vh: innerHeight, vw: innerWidth,
                              scroll: document.documentElement.scrollWidth,
                              body: document.body.innerText,
                              filters: !document.getElementById('filters').hidden}; })()",
        );
        assert_eq!(v["text"], verdict, "{what}: verdict");
        assert!(
            v["width"].as_f64() > Some(0.0) && v["bottom"].as_f64() <= v["vh"].as_f64(),
            "{what}: the verdict is in the first screen: {v}"
        );
        assert!(
            v["scroll"].as_f64() <= v["vw"].as_f64().map(|w| w + 1.0),
            "{what}: the page is wider than the screen: {} > {}",
            v["scroll"],
            v["vw"]
        );
        assert_eq!(
            v["filters"], js,
            "{what}: the filters show only with JavaScript"
        );
        let body = v["body"].as_str().expect("innerText");
        let missing: Vec<&String> = ids
            .iter()
            .filter(|id| !body.contains(id.as_str()))
            .collect();
        assert!(missing.is_empty(), "{what}: ids not visible: {missing:?}");
        if js {
            // The whole page (up to 6,000 px), and the first screen a person sees.
            b.screenshot(&tab, &out_dir().join(format!("{name}-{width}.png")), 6000);
            let first = if mobile { 844 } else { 1300 };
            b.screenshot(
                &tab,
                &out_dir().join(format!("{name}-{width}-top.png")),
                first,
            );
        }
        b.close(&tab);
    }
}

/// What the page holds that must be text, not markup; and its facts, which must be
/// the JSON report's, redacted the same way.
fn check_inert(b: &mut Browser, page: &Path, json_report: &Value) {
    let tab = b.tab(1280, false, true);
    let load = b.load(&tab, page);
    assert!(load.errors.is_empty(), "{:#?}", load.errors);
    let v = b.eval(
        &tab,
        "(() => ({
            pwned: typeof window.__pwned,
            scripts: document.scripts.length,
            images: document.images.length,
            links: Array.from(document.querySelectorAll('[href]')).map(e => e.getAttribute('href'))
                .filter(h => !h.startsWith('#')),
            handlers: Array.from(document.querySelectorAll('*'))
                .flatMap(e => Array.from(e.attributes)).filter(a => a.name.startsWith('on'))
                .map(a => a.name),
            text: document.body.textContent,
            facts: Array.from(document.querySelectorAll('tr[id] pre.facts')).map(p =>
                [p.closest('tr').querySelector('.c-id code').textContent, p.textContent]),
        }))()",
    );
    assert_eq!(v["pwned"], "undefined", "no injected script ran");
    assert_eq!(v["scripts"], 1, "only the report's own script");
    assert_eq!(v["images"], 0, "no injected <img>");
    assert_eq!(v["links"], serde_json::json!([]), "no link leaves the page");
    assert_eq!(
        v["handlers"],
        serde_json::json!([]),
        "no event handler attributes"
    );
    let text = v["text"].as_str().expect("text");
    for shown in [
        "<script>window.__pwned=5</script>",
        "Partner widget </td><script>window.__pwned=6</script> \"quoted\" & 'single'",
        "<b onmouseover=\"window.__pwned=7\">web</b>",
        "ann <script>window.__pwned=8</script>",
        "2. Partner content </table>",
    ] {
        assert!(text.contains(shown), "shown as text: {shown}");
    }
    assert!(!text.contains(TOKEN), "the secret is redacted");
    // Facts: the same JSON as the JSON report's, hostile body and header included.
    let facts = v["facts"].as_array().expect("facts");
    let mut seen = 0;
    for pair in facts {
        let id = pair[0].as_str().expect("id");
        let shown: Value =
            serde_json::from_str(pair[1].as_str().expect("pre")).expect("facts JSON");
        assert_eq!(shown, item(json_report, id)["facts"], "facts of {id}");
        seen += 1;
    }
    assert!(seen >= 6, "facts on demand for every probe item: {seen}");
    let hostile = &item(json_report, "web.hostile")["facts"];
    assert_eq!(hostile["body"], preflight_testbed::HOSTILE_BODY);
    assert_eq!(
        hostile["headers"]["x-hostile"],
        preflight_testbed::HOSTILE_HEADER
    );
    b.close(&tab);
}

#[test]
fn html_report_of_a_real_run_is_inert_and_readable_in_a_browser() {
    let _one = BROWSER.lock().unwrap_or_else(|p| p.into_inner());
    let Some(mut b) = browser() else { return };
    let env = Env::start();
    let f = launch_checklist(&env, HOSTILE);
    let page = env.dir.path().join("launch.html");
    let json_out = env.dir.path().join("launch.json");
    let o = run(
        &env,
        &f,
        &[
            "--phase",
            "launch",
            "--format",
            "html",
            "--output",
            page.to_str().expect("utf8"),
            "--output",
            json_out.to_str().expect("utf8"),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "GO: {}", stderr(&o));
    let report: Value =
        serde_json::from_slice(&std::fs::read(&json_out).expect("json")).expect("json report");
    let html = std::fs::read_to_string(&page).expect("html");
    assert!(!html.contains(TOKEN), "secret redacted in the file");
    std::fs::copy(&page, out_dir().join("launch.html")).expect("keep the page");
    check_page(&mut b, &page, "launch", "GO", &ids(&report));
    check_inert(&mut b, &page, &report);

    // Manual items: attested, expired (flagged), pending.
    let tab = b.tab(1280, false, true);
    b.load(&tab, &page);
    let manual = b.eval(
        &tab,
        "Array.from(document.querySelectorAll('#manual tbody tr')).map(r => r.innerText)",
    );
    let rows: Vec<&str> = manual
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(
        rows[0].contains("pass") && rows[0].contains("page live, LEGAL-12 </td>"),
        "{rows:?}"
    );
    assert!(
        rows[1].contains("manual") && rows[1].contains("expired") && rows[1].contains("bob"),
        "{rows:?}"
    );
    assert!(rows[2].contains("not attested yet"), "{rows:?}");
    // Run metadata: what the model knows about the run.
    let meta = b.eval(
        &tab,
        "Object.fromEntries(Array.from(document.querySelectorAll('#run .meta div'))
            .map(d => [d.querySelector('dt').textContent, d.querySelector('dd').textContent]))",
    );
    let hash = preflight_history::content_hash(&std::fs::read_to_string(&f).expect("checklist"));
    assert_eq!(meta["checklist file hash"], hash.as_str(), "{meta}");
    assert_eq!(meta["phase"], "launch", "{meta}");
    assert_eq!(meta["store run id"], "1", "{meta}");
    assert_eq!(meta["environment"], "default", "{meta}");
    assert_eq!(
        meta["preflight version"],
        env!("CARGO_PKG_VERSION"),
        "{meta}"
    );
    assert_eq!(
        report["checklist_hash"],
        hash.as_str(),
        "the JSON report has it too"
    );
    b.pdf(&tab, &out_dir().join("launch.pdf"));
    // The dark colour scheme, for a person to look at.
    b.call(
        Some(&tab),
        "Emulation.setEmulatedMedia",
        serde_json::json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
    );
    b.screenshot(&tab, &out_dir().join("launch-1280-dark-top.png"), 1300);
    b.close(&tab);
}

#[test]
fn html_report_of_a_thousand_items_loads_and_filters() {
    let _one = BROWSER.lock().unwrap_or_else(|p| p.into_inner());
    let Some(mut b) = browser() else { return };
    let env = Env::start();
    let mut text = String::from(HEADER).replace("name = \"e2e\"", "name = \"A thousand items\"");
    for i in 0..1000 {
        let fail = i % 97 == 5;
        text.push_str(&format!(
            "[[item]]\nid = \"svc{s:02}.check{i:04}\"\ntitle = \"Service {s} endpoint {i} answers 200\"\nsection = \"{s:02}. Service {s}\"\nseverity = \"{sev}\"\nowner = \"team-{o}\"\nprobe = \"http\"\nurl = \"${{api_plain}}/status/{code}\"\nexpect = [\"status == 200\"]\n\n",
            s = i / 50,
            sev = if i % 50 == 5 { "critical" } else { "normal" },
            o = i % 7,
            code = if fail { 503 } else { 200 },
        ));
    }
    let f = env.write("big.toml", &text);
    let page = env.dir.path().join("big.html");
    let o = run(
        &env,
        &f,
        &["--no-history", "--output", page.to_str().expect("utf8")],
    );
    assert_eq!(o.status.code(), Some(1), "NO-GO: {}", stderr(&o));
    let ids: Vec<String> = (0..1000)
        .map(|i| format!("svc{:02}.check{i:04}", i / 50))
        .collect();
    // How long it takes to load is measured by `cargo bench -p preflight-cli --bench
    // html_report`, never asserted here.
    check_page(&mut b, &page, "thousand", "NO-GO", &ids);
    let tab = b.tab(1280, false, true);
    let load = b.load(&tab, &page);
    assert!(load.errors.is_empty(), "{:?}", load.errors);
    // Filtering to the problems shows only the failing rows.
    b.eval(
        &tab,
        "(() => { const s = document.getElementById('f-status'); s.value = 'problems';
                  s.dispatchEvent(new Event('change')); })()",
    );
    let shown = b.eval(
        &tab,
        "document.querySelectorAll('table.items tbody tr:not(.hide)').length",
    );
    assert_eq!(shown, (0..1000).filter(|i| i % 97 == 5).count());
    std::fs::copy(&page, out_dir().join("thousand.html")).expect("keep the page");
    b.close(&tab);
}

#[test]
fn html_report_with_history_shows_the_trend_and_the_diff() {
    let _one = BROWSER.lock().unwrap_or_else(|p| p.into_inner());
    let Some(mut b) = browser() else { return };
    let env = Env::start();
    let f = launch_checklist(&env, !HOSTILE);
    let f_s = f.to_str().expect("utf8");
    // pre-launch: checkout broken; launch: fixed, cache broken; T+: cache fixed;
    // later: checkout broken again and search slow.
    for (phase, vars) in [
        ("pre-launch", ["checkout=503", "cache=200", "delay=1"]),
        ("launch", ["checkout=200", "cache=500", "delay=1"]),
        ("post-launch", ["checkout=200", "cache=200", "delay=1"]),
        ("post-launch", ["checkout=503", "cache=200", "delay=250"]),
    ] {
        let mut args = vec!["--phase", phase];
        for v in &vars {
            args.extend(["--var", v]);
        }
        let o = run(&env, &f, &args);
        assert!(o.status.code().is_some_and(|c| c <= 1), "{}", stderr(&o));
    }
    // The latest run re-rendered with its history, against the launch run (default).
    let o = cmd(&["show", "last", "--checklist", f_s, "--format", "html"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let page = env.dir.path().join("history.html");
    std::fs::write(&page, &o.stdout).expect("write page");
    let o = cmd(&["show", "4", "--checklist", f_s, "--format", "json"]);
    let report = json(&o);
    check_page(&mut b, &page, "history", "NO-GO", &ids(&report));
    let tab = b.tab(1280, false, true);
    b.load(&tab, &page);
    let v = b.eval(
        &tab,
        "(() => ({
            points: document.querySelectorAll('#trend svg.wide g.pt').length,
            labels: Array.from(document.querySelectorAll('#trend svg.wide text.lbl')).map(t => t.textContent),
            diff: document.getElementById('diff').innerText,
        }))()",
    );
    assert_eq!(v["points"], 4, "{v}");
    let labels: Vec<&str> = v["labels"]
        .as_array()
        .expect("labels")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(labels[..2], ["pre-launch", "launch"], "{labels:?}");
    assert!(
        labels[2..].iter().all(|l| l.starts_with("T+")),
        "{labels:?}"
    );
    let diff = v["diff"].as_str().expect("diff text");
    for want in [
        "From run 2",
        "Regressions",
        "smoke.checkout",
        "Fixed",
        "smoke.cache",
        "New items",
        "post.errors",
        "Removed items",
        "smoke.warmup",
        "Latency growth",
        "smoke.search",
    ] {
        assert!(diff.contains(want), "{want:?} in the diff:\n{diff}");
    }
    b.close(&tab);
    std::fs::copy(&page, out_dir().join("history.html")).expect("keep the page");

    // `diff --format html`: the newer run's page with the diff first; exit 1 on a
    // regression, as in every format.
    let o = cmd(&["diff", "2", "4", "--checklist", f_s, "--format", "html"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let page = env.dir.path().join("diff.html");
    std::fs::write(&page, &o.stdout).expect("write page");
    check_page(&mut b, &page, "diff", "NO-GO", &ids(&report));
    std::fs::copy(&page, out_dir().join("diff.html")).expect("keep the page");

    // A run's own `--format html` has its run id and the trend up to it.
    let run_page = env.dir.path().join("run5.html");
    let o = run(
        &env,
        &f,
        &[
            "--phase",
            "post-launch",
            "--output",
            run_page.to_str().expect("utf8"),
        ],
    );
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", stderr(&o));
    let html = std::fs::read_to_string(&run_page).expect("page");
    assert!(html.contains("<dt>store run id</dt><dd>5</dd>"), "run id");
    assert_eq!(
        html.matches("<g class=\"pt").count(),
        2 * 5,
        "five runs in the trend, drawn for a desktop and a phone"
    );
}
