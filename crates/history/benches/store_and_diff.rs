//! Storing a 1,000-item run in the SQLite store and diffing two of them.
//!
//! `cargo bench -p preflight-history` prints the median and worst of 30 rounds; the
//! README quotes the figures (the budget is 50 ms each).
#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::time::{Duration, Instant};

use preflight_core::Redactor;
use preflight_history::{LatencyThreshold, Location, Mode, Store, diff};
use preflight_model::Report;
use serde_json::json;

const ITEMS: usize = 1_000;
const ROUNDS: usize = 30;

fn report(fail_every: usize) -> Report {
    let items: Vec<serde_json::Value> = (0..ITEMS)
        .map(|i| {
            let fail = fail_every > 0 && i % fail_every == 0;
            json!({
                "id": format!("section{}.item{i}", i % 12),
                "title": format!("GET /api/{i} returns 200 within 500 ms"),
                "section": format!("{}. Smoke tests", i % 12),
                "severity": if i % 5 == 0 { "critical" } else { "normal" },
                "probe": "http",
                "status": if fail { "fail" } else { "pass" },
                "reason": if fail { Some("status == 200 — status was 503") } else { None },
                "duration_ms": 40 + i % 17,
                "attempts": 1,
                "expectations": [{"expr": "status == 200", "ok": !fail}, {"expr": "latency_ms < 500", "ok": true}],
                "facts": {
                    "status": if fail { 503 } else { 200 },
                    "latency_ms": 38.2 + (i % 13) as f64,
                    "headers": {"content-type": "application/json", "strict-transport-security": "max-age=31536000"},
                    "body": "{\"status\":\"healthy\",\"db\":{\"latency_ms\":3},\"version\":\"1.4.2\"}",
                    "json": {"status": "healthy", "db": {"latency_ms": 3}, "version": "1.4.2"},
                    "url": format!("https://api.example.io/api/{i}"),
                    "redirects": [],
                    "http_version": "HTTP/2.0",
                    "tls_version": "TLSv1.3",
                },
            })
        })
        .collect();
    serde_json::from_value(json!({
        "schema": 1, "checklist": "bench", "environment": "production", "phase": "post-launch",
        "started_at": "2026-05-15T09:00:00Z", "duration_ms": 842, "verdict": "no-go",
        "score": 90, "pass_score": 95, "counts": {"pass": 900, "fail": 100, "error": 0, "skip": 0, "manual": 0},
        "failing_critical": [], "items": items,
    }))
    .expect("bench report")
}

fn stats(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<40} median {:>7.2} ms   worst {:>7.2} ms   ({} rounds)",
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
        times.len()
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let loc = Location::Sqlite(dir.path().join(".preflight/history.db"));
    let a = report(0);
    let b = report(10);
    let redactor = {
        let mut r = Redactor::default();
        r.add("hunter2-secret");
        r
    };
    rt.block_on(async {
        let mut store = Store::open(&loc, Mode::ReadWrite).await.expect("open");
        let mut store_times = Vec::new();
        let mut ids = Vec::new();
        for round in 0..ROUNDS {
            let r = if round % 2 == 0 { &a } else { &b };
            let t = Instant::now();
            ids.push(
                store
                    .record(r, "sha256:bench", &redactor)
                    .await
                    .expect("record"),
            );
            store_times.push(t.elapsed());
        }
        stats("store a 1,000-item run (SQLite)", store_times);
        let mut diff_times = Vec::new();
        let mut regressions = 0;
        for pair in ids.windows(2).take(ROUNDS) {
            let t = Instant::now();
            let ra = store.report(pair[0]).await.expect("load a");
            let rb = store.report(pair[1]).await.expect("load b");
            let d = diff(
                (&ra, Some(pair[0])),
                (&rb, Some(pair[1])),
                LatencyThreshold::default(),
            );
            diff_times.push(t.elapsed());
            regressions += d.regressed.len();
        }
        stats("load two 1,000-item runs and diff them", diff_times);
        let mut pure = Vec::new();
        for _ in 0..ROUNDS {
            let t = Instant::now();
            let d = diff((&a, None), (&b, None), LatencyThreshold::default());
            pure.push(t.elapsed());
            assert_eq!(d.regressed.len(), 100);
        }
        stats("diff only (in memory)", pure);
        drop(store);
        let size =
            std::fs::metadata(dir.path().join(".preflight/history.db")).map_or(0, |m| m.len());
        let mut opens = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            drop(Store::open(&loc, Mode::ReadWrite).await.expect("reopen"));
            opens.push(t.elapsed());
        }
        stats(
            &format!("open with checks ({ROUNDS} runs, {} MiB)", size / (1 << 20)),
            opens,
        );
        assert!(regressions > 0);
    });
}
