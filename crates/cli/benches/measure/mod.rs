//! What the sweep benches measure a `preflight` process with: its wall time, its
//! peak RSS (GNU time, `/usr/bin/time -f %M`, Debian package `time`) and its exit.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// One measured run.
pub struct Timed {
    /// From start to exit, process start included.
    pub wall: Duration,
    /// Peak resident set in KiB, when GNU time printed it.
    pub rss_kib: Option<u64>,
    /// Exit 0 (GO).
    pub go: bool,
    /// The process's stderr, GNU time's line last.
    pub stderr: String,
}

/// Runs `bin` with `args` under GNU time.
pub fn timed_run(bin: &Path, args: &[String]) -> Timed {
    let t0 = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg(bin)
        .args(args)
        .output()
        .expect("run /usr/bin/time");
    let wall = t0.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let rss_kib = stderr
        .lines()
        .last()
        .and_then(|l| l.trim().parse::<u64>().ok());
    Timed {
        wall,
        rss_kib,
        go: out.status.code() == Some(0),
        stderr,
    }
}

/// The median of `v` (the upper one of an even count).
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The testbed, served from this process on a runtime of its own, as the benches
/// sweep it.
pub struct Bed {
    /// The servers (dropped before the runtime they run on).
    pub testbed: preflight_testbed::Testbed,
    _runtime: tokio::runtime::Runtime,
}

impl Bed {
    /// Starts it.
    pub fn start() -> Bed {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let testbed = runtime
            .block_on(preflight_testbed::Testbed::start())
            .expect("testbed");
        Bed {
            testbed,
            _runtime: runtime,
        }
    }

    /// `--var NAME=VALUE` for each of its addresses.
    pub fn var_args(&self) -> Vec<String> {
        self.testbed
            .vars()
            .into_iter()
            .flat_map(|(k, v)| ["--var".to_string(), format!("{k}={v}")])
            .collect()
    }
}
