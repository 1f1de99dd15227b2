//! Shared helpers for end-to-end tests: a testbed per test and a way to run the
//! `preflight` binary against it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use preflight_testbed::Testbed;

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_preflight"))
}

/// A started testbed plus a temp dir for checklists, on a runtime that keeps serving
/// while the (blocking) binary runs.
pub struct Env {
    pub bed: Testbed,
    pub dir: tempfile::TempDir,
    _rt: tokio::runtime::Runtime,
}

impl Env {
    pub fn start() -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let bed = rt.block_on(Testbed::start()).expect("testbed starts");
        let dir = tempfile::tempdir().expect("temp dir");
        Env { bed, dir, _rt: rt }
    }

    /// Writes a checklist into the temp dir and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).expect("write checklist");
        p
    }

    /// `--var` arguments pointing a checklist at this testbed.
    pub fn var_args(&self) -> Vec<String> {
        self.bed
            .vars()
            .into_iter()
            .flat_map(|(k, v)| ["--var".to_string(), format!("{k}={v}")])
            .collect()
    }

    /// Runs `preflight run FILE --var … extra…`.
    pub fn run(&self, file: &Path, extra: &[&str]) -> Output {
        let mut cmd = Command::new(bin());
        cmd.arg("run")
            .arg(file)
            .args(self.var_args())
            .args(extra)
            .arg("--no-progress");
        cmd.output().expect("run preflight")
    }
}

/// Runs the binary with arbitrary arguments and environment.
pub fn preflight(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run preflight")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Parses `--format json` stdout.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            stdout(o),
            stderr(o)
        )
    })
}

/// The item `id` of a JSON report.
pub fn item<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no item {id} in {report}"))
}

/// A checklist header for tests: CA var and short timeout.
pub const HEADER: &str = "[checklist]\nname = \"e2e\"\ntimeout = \"3s\"\n\n[vars]\napi = \"\"\nca = \"\"\napi_plain = \"\"\nhang = \"\"\nclosed = \"\"\napi_port = \"\"\n\n";
