//! TLS benchmark: 200 `tls` items with `versions = true` against the testbed's TLS
//! listeners, through the release `preflight` binary. Each item makes five
//! connections (the main handshake, TLS 1.2 and 1.3 alone with rustls, TLS 1.0 and
//! 1.1 alone with the hand-built ClientHello).
//!
//! Run: `cargo bench -p preflight-cli --bench tls_sweep` (the figure goes in the README).
//! Reports the CPU time of the `preflight` process (user + sys, from
//! `getrusage(RUSAGE_CHILDREN)`, so the in-process testbed servers are not counted)
//! divided by the number of items, best and median of 5 runs. Target: ≤ 5 ms per item.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

#[allow(dead_code, reason = "this bench reads its CPU time itself")]
mod measure;

use std::process::Command;
use std::time::{Duration, Instant};

const ITEMS: usize = 200;
const RUNS: usize = 5;

fn checklist() -> String {
    let mut s = String::from(
        "[checklist]\nname = \"tls bench\"\ntimeout = \"10s\"\n\n[vars]\nca = \"\"\ntls_valid_port = \"\"\ntls_legacy_port = \"\"\n\n",
    );
    for i in 0..ITEMS {
        // Half on the rustls listener, half on the one that also answers TLS 1.1.
        let port = if i % 2 == 0 {
            "tls_valid_port"
        } else {
            "tls_legacy_port"
        };
        s.push_str(&format!(
            "[[item]]\nid = \"tls.{i}\"\nprobe = \"tls\"\nhost = \"127.0.0.1\"\nport = \"${{{port}}}\"\nsni = \"api.demo.test\"\nca = \"${{ca}}\"\nversions = true\nexpect = [\"chain_valid && hostname_matches && days_left >= 14\", \"accepts.tls1_2 && accepts.tls1_3 && !accepts.tls1_0\"]\n\n"
        ));
    }
    s
}

/// CPU time (user + sys) of every waited-for child so far.
fn children_cpu() -> Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    use nix::sys::time::TimeValLike;
    let u = getrusage(UsageWho::RUSAGE_CHILDREN).expect("getrusage");
    let micros = u.user_time().num_microseconds() + u.system_time().num_microseconds();
    Duration::from_micros(u64::try_from(micros).unwrap_or(0))
}

fn main() {
    let bed = measure::Bed::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("tls-bench.toml");
    std::fs::write(&file, checklist()).expect("write checklist");
    let vars = bed.var_args();

    let mut per_item = Vec::new();
    let mut walls = Vec::new();
    for _ in 0..RUNS {
        let before = children_cpu();
        let t0 = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_preflight"))
            .arg("run")
            .arg(&file)
            .args(&vars)
            .args(["--format", "json", "--no-progress"])
            .output()
            .expect("run preflight");
        walls.push(t0.elapsed());
        let cpu = children_cpu() - before;
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
        assert_eq!(
            report["counts"]["pass"],
            ITEMS,
            "every item passes: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        per_item.push(cpu.as_secs_f64() * 1000.0 / ITEMS as f64);
    }
    per_item.sort_by(f64::total_cmp);
    walls.sort();
    println!(
        "tls sweep: {ITEMS} items, versions = true (5 connections each), {RUNS} runs\n  CPU per item: best {:.2} ms, median {:.2} ms (user + sys of the preflight process)\n  wall: best {:?}, median {:?}",
        per_item[0],
        per_item[RUNS / 2],
        walls[0],
        walls[RUNS / 2]
    );
    drop(bed);
}
