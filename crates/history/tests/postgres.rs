//! The PostgreSQL store against a real throwaway cluster on loopback
//! (`preflight_testbed::postgres::Cluster`; needs the Debian `postgresql` package).

use preflight_core::Redactor;
use preflight_history::{Filter, HistoryError, LatencyThreshold, Location, Mode, Store, diff};
use preflight_model::Report;
use preflight_testbed::postgres::Cluster;
use serde_json::json;

fn report(phase: &str, blip: &str) -> Report {
    serde_json::from_value(json!({
        "schema": 1, "checklist": "Streamer App", "environment": "production", "phase": phase,
        "started_at": "2026-05-15T09:00:00Z", "duration_ms": 10, "verdict": if blip == "pass" { "go" } else { "no-go" },
        "score": if blip == "pass" { 100 } else { 50 }, "pass_score": 100,
        "counts": {"pass": 1, "fail": 1, "error": 0, "skip": 0, "manual": 0},
        "failing_critical": [],
        "items": [
            {"id": "steady", "title": "t", "section": "s", "severity": "critical", "probe": "http",
             "status": "pass", "duration_ms": 3, "attempts": 1,
             "facts": {"status": 200, "latency_ms": 2.5, "headers": {"x": "token hunter2-pw"}}},
            {"id": "blip", "title": "t", "section": "s", "severity": "normal", "probe": "http",
             "status": blip, "reason": if blip == "pass" { None } else { Some("status == 200 — status was 503") },
             "duration_ms": 4, "attempts": 2, "facts": null}
        ]
    }))
    .expect("fixture")
}

fn cluster() -> Cluster {
    Cluster::start().expect("PostgreSQL test cluster (install the postgresql package)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_reads_back_lists_and_diffs() {
    let c = cluster();
    let loc = Location::parse(&c.dsn());
    assert!(!loc.shown().contains(c.password()));
    let mut store = Store::open(&loc, Mode::ReadWrite).await.expect("open");
    let mut red = Redactor::default();
    red.add("hunter2-pw");
    let a = store
        .record(&report("launch", "pass"), "sha256:1", &red)
        .await
        .expect("record");
    let b = store
        .record(&report("post-launch", "fail"), "sha256:1", &red)
        .await
        .expect("record");
    let back = store.report(b).await.expect("load");
    assert_eq!(
        back.items[1].reason.as_deref(),
        Some("status == 200 — status was 503")
    );
    assert_eq!(back.items[1].attempts, 2);
    assert_eq!(
        back.items[0].facts.as_ref().expect("facts")["headers"]["x"],
        "token ****"
    );
    let runs = store.runs(&Filter::default()).await.expect("runs");
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), vec![b, a]);
    let launch = store
        .latest(&Filter {
            phase: Some("launch".into()),
            ..Filter::default()
        })
        .await
        .expect("latest")
        .expect("a launch run");
    assert_eq!(launch.id, a);
    let d = diff(
        (&store.report(a).await.expect("a"), Some(a)),
        (&back, Some(b)),
        LatencyThreshold::default(),
    );
    assert_eq!(d.regressed[0].id, "blip");
    assert!(matches!(
        store.report(999).await,
        Err(HistoryError::UnknownRun { id: 999, .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_at_once_both_land() {
    let c = cluster();
    c.psql("CREATE DATABASE concurrent").expect("create db");
    let loc = Location::parse(&c.dsn_for("concurrent"));
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let loc = loc.clone();
            tokio::spawn(async move {
                // Both open a fresh database at once: schema creation must not race.
                let mut s = Store::open(&loc, Mode::ReadWrite).await.expect("open");
                for _ in 0..10 {
                    s.record(&report("launch", "pass"), "h", &Redactor::default())
                        .await
                        .expect("record");
                }
            })
        })
        .collect();
    for w in writers {
        w.await.expect("writer");
    }
    let s = Store::open(&loc, Mode::ReadOnly).await.expect("open");
    assert_eq!(s.runs(&Filter::default()).await.expect("runs").len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newer_schema_and_missing_store_are_refused() {
    let c = cluster();
    c.psql("CREATE DATABASE empty").expect("create db");
    let empty = Location::parse(&c.dsn_for("empty"));
    let e = Store::open(&empty, Mode::ReadOnly)
        .await
        .expect_err("missing");
    assert!(matches!(e, HistoryError::Missing { .. }), "{e}");
    assert!(!e.to_string().contains(c.password()));
    let loc = Location::parse(&c.dsn());
    drop(Store::open(&loc, Mode::ReadWrite).await.expect("create"));
    c.psql("UPDATE preflight_meta SET value = '7' WHERE key = 'schema_version'")
        .expect("bump");
    let e = Store::open(&loc, Mode::ReadWrite).await.expect_err("newer");
    assert!(
        matches!(e, HistoryError::NewerSchema { found: 7, .. }),
        "{e}"
    );
    assert!(e.is_store_problem());
    // Nothing was written: the version is still 7.
    let v = c.psql("SELECT value FROM preflight_meta").expect("read");
    assert!(v.contains('7'), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_modes_follow_sslmode() {
    let c = cluster();
    let ca = c.ca_path();
    // verify-full against the cluster's own CA: connects over TLS.
    let verified = Location::parse(&format!(
        "{}?sslmode=verify-full&sslrootcert={}",
        c.dsn(),
        ca.display()
    ));
    let mut s = Store::open(&verified, Mode::ReadWrite)
        .await
        .expect("verified TLS");
    s.record(&report("launch", "pass"), "h", &Redactor::default())
        .await
        .expect("record");
    // verify-full against the Mozilla roots: the test CA is unknown, so it fails.
    let unknown = Location::parse(&format!("{}?sslmode=verify-full", c.dsn()));
    let e = Store::open(&unknown, Mode::ReadOnly)
        .await
        .expect_err("untrusted");
    let msg = e.to_string();
    assert!(msg.contains("failed to connect to"), "{msg}");
    assert!(!msg.contains(c.password()), "{msg}");
    // disable and require both work against a server that offers TLS.
    for mode in ["disable", "require"] {
        let l = Location::parse(&format!("{}?sslmode={mode}", c.dsn()));
        let s = Store::open(&l, Mode::ReadOnly).await.expect(mode);
        assert_eq!(s.runs(&Filter::default()).await.expect("runs").len(), 1);
    }
}
