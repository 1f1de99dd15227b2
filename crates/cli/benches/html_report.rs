//! The HTML report of 1,000 http items: how long `render_html` takes, and how long
//! headless Chromium takes from navigation to the load event with layout done.
//! Targets: render well under a second; load < 1 s on the 2-core dev machine.
//!
//! Run: `cargo bench -p preflight-cli --bench html_report` (figures go in
//! docs/performance.md). Needs Debian's `chromium` (or `$PREFLIGHT_CHROMIUM`) for
//! the load figure; without it only the render is measured.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark reports on stdout"
)]

#[path = "../../../tests/e2e/browser.rs"]
#[allow(
    dead_code,
    reason = "the tests' browser client; the bench loads pages only"
)]
mod browser;
#[allow(dead_code, reason = "this bench times in process, not a child")]
mod measure;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use measure::median;

const ITEMS: usize = 1000;
const RUNS: usize = 10;

fn checklist() -> String {
    let mut text = String::from(
        "[checklist]\nname = \"A thousand items\"\nconcurrency = 256\nper_host = 256\n\n[vars]\napi_plain = \"\"\n\n",
    );
    for i in 0..ITEMS {
        let fail = i % 97 == 5;
        text.push_str(&format!(
            "[[item]]\nid = \"svc{s:02}.check{i:04}\"\ntitle = \"Service {s} endpoint {i} answers 200\"\nsection = \"{s:02}. Service {s}\"\nowner = \"team-{o}\"\nprobe = \"http\"\nurl = \"${{api_plain}}/status/{code}\"\nexpect = [\"status == 200\"]\n\n",
            s = i / 50,
            o = i % 7,
            code = if fail { 503 } else { 200 },
        ));
    }
    text
}

fn main() {
    let bin = Path::new(env!("CARGO_BIN_EXE_preflight"));
    let bed = measure::Bed::start();
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("big.toml");
    std::fs::write(&file, checklist()).expect("write checklist");
    let json = dir.path().join("big.json");
    let page = dir.path().join("big.html");
    let out = Command::new(bin)
        .arg("run")
        .arg(&file)
        .args([
            "--no-history",
            "--no-progress",
            "--format",
            "json",
            "--output",
        ])
        .arg(&json)
        .args(["--format", "html", "--output"])
        .arg(&page)
        .args(bed.var_args())
        .output()
        .expect("run preflight");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the sweep is NO-GO (some items fail)"
    );
    let report: preflight_report::Report =
        serde_json::from_slice(&std::fs::read(&json).expect("report")).expect("a report");
    assert_eq!(report.items.len(), ITEMS);

    let mut renders = Vec::new();
    let mut size = 0;
    for _ in 0..RUNS {
        let t0 = Instant::now();
        let html =
            preflight_report::render_html(&report, &preflight_report::HtmlContext::default());
        renders.push(t0.elapsed());
        size = html.len();
    }
    let best = *renders.iter().min().expect("runs");
    println!(
        "html report of {ITEMS} items ({} KiB)\n  render_html            best {:>4} ms, median {:>4} ms ({RUNS} runs)",
        size / 1024,
        best.as_millis(),
        median(renders).as_millis()
    );

    let Some(mut b) = browser::Browser::launch() else {
        eprintln!(
            "  chromium load          skipped: no Chromium at /usr/bin/chromium or $PREFLIGHT_CHROMIUM"
        );
        return;
    };
    let tab = b.tab(1280, false, true);
    let mut loads: Vec<Duration> = Vec::new();
    for _ in 0..RUNS {
        let load = b.load(&tab, &page);
        assert!(
            load.errors.is_empty(),
            "the page loads cleanly: {:?}",
            load.errors
        );
        loads.push(load.wall);
    }
    let first = loads[0];
    let best = *loads.iter().min().expect("runs");
    println!(
        "  chromium load          best {:>4} ms, median {:>4} ms, first {:>4} ms ({RUNS} loads; navigation to load event with layout done)",
        best.as_millis(),
        median(loads).as_millis(),
        first.as_millis()
    );
    b.close(&tab);
    drop(bed);
}
