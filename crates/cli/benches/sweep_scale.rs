//! Sweeps that grow: 1,000, 10,000 and 100,000 http items (one `for_each` template
//! over a data file) at 1,024 in flight (`concurrency = per_host = 1024`) against the
//! testbed with a 100 ms server delay, through the release `preflight` binary, with
//! the JSON report written to a file and the run recorded in the SQLite history.
//! Also times `preflight check` of each file. Never in the CI test script: the big
//! run takes a while and needs the machine to itself.
//!
//! Run: `cargo bench -p preflight-cli --bench sweep_scale` (figures go in
//! docs/performance.md). `SWEEP_SIZES=1000,10000` picks the sizes; `SWEEP_RUNS`
//! the runs per size (default 3); `SWEEP_FORM=tables` writes one `[[item]]` table
//! per item instead of a template (how a build without `for_each` is measured). Peak RSS comes from GNU time (`/usr/bin/time -f
//! %M`, Debian package `time`).

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

#[allow(dead_code, reason = "this bench passes one var only")]
mod measure;

use std::path::Path;

use measure::{median, timed_run};
use std::process::Command;
use std::time::{Duration, Instant};

const IN_FLIGHT: usize = 1024;
const DELAY_MS: u64 = 100;

fn checklist(n: usize, tables: bool) -> String {
    if tables {
        let mut s = format!(
            "[checklist]\nname = \"sweep bench\"\nconcurrency = {IN_FLIGHT}\nper_host = {IN_FLIGHT}\ntimeout = \"30s\"\n\n[vars]\napi_plain = \"\"\n\n"
        );
        for i in 0..n {
            s.push_str(&format!(
                "[[item]]\nid = \"health.{i}\"\ntitle = \"health {i}\"\nsection = \"sweep\"\nprobe = \"http\"\n\
                 url = \"${{api_plain}}/api/health?delay_ms={DELAY_MS}&i={i}\"\n\
                 expect = [\"status == 200\", \"json.status == 'healthy'\"]\n\n"
            ));
        }
        return s;
    }
    format!(
        "[checklist]\nname = \"sweep bench\"\nconcurrency = {IN_FLIGHT}\nper_host = {IN_FLIGHT}\ntimeout = \"30s\"\n\n\
         [vars]\napi_plain = \"\"\n\n\
         [[item]]\nid = \"health\"\ntitle = \"health ${{row.value}}\"\nsection = \"sweep\"\nprobe = \"http\"\n\
         url = \"${{api_plain}}/api/health?delay_ms={DELAY_MS}&i=${{row.value}}\"\n\
         for_each = \"ids.txt\"\nexpect = [\"status == 200\", \"json.status == 'healthy'\"]\n"
    )
}

fn main() {
    let bin = Path::new(env!("CARGO_BIN_EXE_preflight"));
    let sizes: Vec<usize> = std::env::var("SWEEP_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000]);
    let runs: usize = std::env::var("SWEEP_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let bed = measure::Bed::start();
    let plain = bed
        .testbed
        .vars()
        .into_iter()
        .find(|(k, _)| k == "api_plain")
        .map(|(_, v)| v)
        .expect("api_plain");
    println!(
        "| items | floor | wall (best / median of {runs}) | wall ÷ floor | peak RSS | per item | `preflight check` (best of 5) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for n in sizes {
        let dir = tempfile::tempdir().expect("tmp");
        let ids: String = (0..n).map(|i| format!("{i}\n")).collect();
        std::fs::write(dir.path().join("ids.txt"), ids).expect("write rows");
        let file = dir.path().join("sweep.toml");
        let tables = std::env::var("SWEEP_FORM").is_ok_and(|f| f == "tables");
        std::fs::write(&file, checklist(n, tables)).expect("write checklist");
        let var = format!("api_plain={plain}");
        let mut checks = Vec::new();
        for _ in 0..5 {
            let t0 = Instant::now();
            let o = Command::new(bin)
                .args(["check", &file.display().to_string(), "--var", &var])
                .output()
                .expect("check");
            checks.push(t0.elapsed());
            assert_eq!(
                o.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let mut walls = Vec::new();
        let mut peak = 0;
        for r in 0..runs {
            let store = dir.path().join(format!("history-{r}.db"));
            let args = vec![
                "run".to_string(),
                file.display().to_string(),
                "--var".into(),
                var.clone(),
                "--no-progress".into(),
                "--format".into(),
                "json".into(),
                "--output".into(),
                dir.path().join("report.json").display().to_string(),
                "--store".into(),
                store.display().to_string(),
            ];
            let t = timed_run(bin, &args);
            assert!(
                t.go,
                "the bench sweep must be GO (every item passes): {}",
                t.stderr
            );
            walls.push(t.wall);
            peak = peak.max(t.rss_kib.unwrap_or(0));
        }
        walls.sort();
        checks.sort();
        let waves = n.div_ceil(IN_FLIGHT) as u64;
        let floor = Duration::from_millis(waves * DELAY_MS);
        let best = walls[0];
        println!(
            "| {n} | {} ms | {} / {} ms | {:.2} | {:.0} MB | {:.2} KB | {} ms |",
            floor.as_millis(),
            best.as_millis(),
            median(walls.clone()).as_millis(),
            best.as_secs_f64() / floor.as_secs_f64(),
            peak as f64 / 1024.0,
            peak as f64 / n as f64,
            checks[0].as_millis()
        );
    }
    drop(bed);
}
