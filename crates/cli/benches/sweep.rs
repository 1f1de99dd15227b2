//! Sweep benchmark: 1,000 HTTP items against the testbed with a 100 ms server delay,
//! at concurrency 256 and `per_host = 256`, through the release `preflight` binary.
//! Also times `preflight check` of the same file.
//!
//! Run: `cargo bench -p preflight-cli --bench sweep` (figures go in the README).
//! Prints wall time (best and median of 5 runs), the peak RSS of the sweeping process,
//! and the best and median time of `preflight check`. Peak RSS comes from GNU time
//! (`/usr/bin/time -f %M`, Debian package `time`).

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

mod measure;

use std::path::Path;

use measure::{median, timed_run};
use std::process::Command;
use std::time::Instant;

const ITEMS: usize = 1000;
const RUNS: usize = 5;

fn checklist(scheme_var: &str) -> String {
    let mut s = String::from(
        "[checklist]\nname = \"bench\"\nconcurrency = 256\nper_host = 256\ntimeout = \"10s\"\n\n[vars]\napi = \"\"\napi_plain = \"\"\nca = \"\"\n\n",
    );
    for i in 0..ITEMS {
        s.push_str(&format!(
            "[[item]]\nid = \"bench.{i}\"\ntitle = \"health {i}\"\nsection = \"s{}\"\nprobe = \"http\"\nurl = \"${{{scheme_var}}}/api/health?delay_ms=100&i={i}\"\nca = \"${{ca}}\"\nexpect = [\"status == 200\", \"json.status == 'healthy'\"]\n\n",
            i % 10
        ));
    }
    s
}

fn main() {
    let bin = Path::new(env!("CARGO_BIN_EXE_preflight"));
    let bed = measure::Bed::start();
    let dir = tempfile::tempdir().expect("tmp");
    let vars = bed.var_args();
    println!(
        "sweep of {ITEMS} http items, 100 ms server delay, concurrency 256, per_host 256 ({RUNS} runs each)"
    );
    let runs: [(&str, &str, bool); 3] = [
        ("http/1.1 plain", "api_plain", false),
        ("https (h2, TLS 1.3)", "api", false),
        ("http/1.1 + history", "api_plain", true),
    ];
    for (label, var, history) in runs {
        let file = dir.path().join(format!("bench-{var}.toml"));
        std::fs::write(&file, checklist(var)).expect("write checklist");
        let mut args = vec![
            "run".to_string(),
            file.display().to_string(),
            "--no-progress".into(),
            "--format".into(),
            "json".into(),
            "--output".into(),
            dir.path().join("out.json").display().to_string(),
        ];
        if !history {
            // The sweep itself; recording in the history store is measured by
            // `cargo bench -p preflight-history` and by the third line.
            args.push("--no-history".into());
        }
        args.extend(vars.iter().cloned());
        let mut walls = Vec::new();
        let mut peak = 0;
        for _ in 0..RUNS {
            let t = timed_run(bin, &args);
            assert!(
                t.go,
                "the bench sweep must be GO (every item passes): {}",
                t.stderr
            );
            walls.push(t.wall);
            peak = peak.max(t.rss_kib.unwrap_or(0));
        }
        let best = *walls.iter().min().expect("runs");
        println!(
            "  {label:<22} wall best {:>4} ms, median {:>4} ms, peak RSS {:.1} MB",
            best.as_millis(),
            median(walls).as_millis(),
            peak as f64 / 1024.0
        );
    }
    let file = dir.path().join("bench-api.toml");
    let mut args = vec!["check".to_string(), file.display().to_string()];
    args.extend(vars.iter().cloned());
    let mut walls = Vec::new();
    for _ in 0..10 {
        let t0 = Instant::now();
        let out = Command::new(bin).args(&args).output().expect("check");
        walls.push(t0.elapsed());
        assert_eq!(out.status.code(), Some(0));
    }
    let best = *walls.iter().min().expect("runs");
    println!(
        "  preflight check        best {:>4} ms, median {:>4} ms (1,000 items, process start included)",
        best.as_millis(),
        median(walls).as_millis()
    );
    drop(bed);
}
