//! One throwaway PostgreSQL cluster per test binary, a fresh database per test, and a
//! way to run the probe the way the runner does (timeout, default expectations).

#![allow(dead_code)]

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use preflight_core::expect::Expectation;
use preflight_core::probe::conformance;
use preflight_core::verdict::judge;
use preflight_core::{AnyProbe, Context, Facts, Options, Probe, Status};
use preflight_probe_postgres::PostgresProbe;
use preflight_testbed::postgres::Cluster;
use serde_json::Value;

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// The shared cluster; PostgreSQL missing is a test failure, never a skip.
pub fn pg() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        Cluster::start().unwrap_or_else(|e| {
            panic!("{e} — these tests need a real PostgreSQL (scripts/test.sh installs it)")
        })
    })
}

/// A new database loaded with `sql`; returns its superuser DSN.
pub fn fresh_db(sql: &str) -> (String, String) {
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::SeqCst)
    );
    pg().create_database(&name).expect("create database");
    if !sql.trim().is_empty() {
        pg().psql_in(&name, sql).expect("load fixture");
    }
    (pg().dsn_for(&name), name)
}

/// What one attempt produced, judged like the runner does.
#[derive(Debug)]
pub struct Run {
    pub status: Status,
    pub reason: String,
    pub facts: Facts,
    pub elapsed: Duration,
    /// The probe's failure said it was a timeout.
    pub timed_out: bool,
}

pub fn options(v: Value) -> Options {
    v.as_object().expect("options object").clone()
}

/// Checks, prepares and observes one item with its default expectations. Facts,
/// whenever there are some, must match [`PostgresProbe::FACTS`].
pub fn probe(v: Value, timeout: Duration) -> Run {
    let opts = options(v);
    let p = PostgresProbe::new();
    let problems = p.check(&opts);
    assert!(problems.is_empty(), "check: {problems:?}");
    let expect: Vec<Expectation> = <PostgresProbe as Probe>::default_expect(&opts)
        .iter()
        .map(|e| Expectation::compile(e).expect("default expectation compiles"))
        .collect();
    let obs = AnyProbe::prepare(&p, &opts, &Context::new(timeout)).expect("prepare");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let t0 = Instant::now();
    let got = rt.block_on(async { tokio::time::timeout(timeout, obs.observe()).await });
    let elapsed = t0.elapsed();
    let (status, reason, facts, timed_out) = match got {
        Err(_) => (
            Status::Fail,
            format!("timed out after {timeout:?}"),
            Facts::new(),
            true,
        ),
        Ok(Err(f)) => {
            let status = if f.is_target() {
                Status::Fail
            } else {
                Status::Error
            };
            (status, f.reason(), Facts::new(), f.is_timeout())
        }
        Ok(Ok(facts)) => {
            let problems = conformance(PostgresProbe::FACTS, &facts);
            assert!(problems.is_empty(), "{problems:?} in {facts:?}");
            let (s, r, _) = judge(&expect, &facts, &serde_json::Map::new());
            (s, r.unwrap_or_default(), facts, false)
        }
    };
    Run {
        status,
        reason,
        facts,
        elapsed,
        timed_out,
    }
}

/// A folder of (relative path, content) files.
pub fn files(list: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("temp dir");
    for (p, text) in list {
        let p = d.path().join(p);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    d
}

pub const T: Duration = Duration::from_secs(5);
