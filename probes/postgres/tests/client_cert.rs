//! The postgres probe against a real PostgreSQL whose `pg_hba.conf` requires a client
//! certificate (`hostssl … clientcert=verify-full`, issue #19): `client_cert` +
//! `client_key` connect; without them the server refuses; the server's CA can come
//! from the run's `[checklist] ca` instead of `sslrootcert`.

use std::sync::Arc;
use std::time::Duration;

use preflight_core::network::{Network, Trust};
use preflight_core::{AnyProbe, Context, Facts, Failure, Options};
use preflight_probe_postgres::PostgresProbe;
use preflight_testbed::postgres::Cluster;
use serde_json::{Value, json};

fn attempt(v: Value, network: Arc<Network>) -> Result<Facts, Failure> {
    let opts: Options = serde_json::from_value(v).expect("object");
    let p = PostgresProbe::new();
    assert!(p.check(&opts).is_empty(), "{:?}", p.check(&opts));
    let cx = Context::new(Duration::from_secs(10)).with_network(network);
    let obs = AnyProbe::prepare(&p, &opts, &cx)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async { obs.observe().await })
}

#[test]
fn a_server_that_requires_a_client_certificate() {
    let pg = Cluster::start().unwrap_or_else(|e| {
        panic!("{e} — these tests need a real PostgreSQL (scripts/test.sh installs it)")
    });
    let (cert, key) = pg.require_client_certificates().expect("clientcert");
    let ca = pg.ca_path().display().to_string();
    let dsn = format!("{}?sslmode=verify-full&sslrootcert={ca}", pg.dsn());
    let none = Arc::new(Network::default());
    let f = attempt(
        json!({"dsn": dsn, "client_cert": cert.display().to_string(),
               "client_key": key.display().to_string()}),
        none.clone(),
    )
    .expect("connected");
    assert_eq!(f["connected"], true, "{f:?}");
    assert_eq!(f["ssl"], true);

    let e = attempt(json!({"dsn": dsn}), none).expect_err("no certificate");
    assert!(e.is_target(), "{e}");
    assert!(e.reason().contains("certificate"), "{e}");

    // The server's CA from `[checklist] ca` (no sslrootcert in the DSN).
    let env = |_: &str| None;
    let with_ca = Arc::new(Network::new(None, Some(ca.clone()), Trust::Webpki, &env));
    let f = attempt(
        json!({"dsn": format!("{}?sslmode=verify-full", pg.dsn()),
               "client_cert": cert.display().to_string(),
               "client_key": key.display().to_string()}),
        with_ca,
    )
    .expect("connected");
    assert_eq!(f["connected"], true, "{f:?}");
}
