//! The domain probe against the testbed's RDAP server on loopback (RFC 9083 JSON):
//! registrations, a 404, garbage, a server that hangs, a closed port, and the
//! bootstrap registry cache against the testbed's bootstrap file.

use std::time::{Duration, Instant};

use preflight_core::probe::conformance;
use preflight_core::{AnyProbe, Context, Facts, Failure, Options, Probe};
use preflight_probe_domain::bootstrap;
use preflight_probe_domain::{DomainProbe, Error};
use preflight_testbed::rdap::{DEMO_DAYS, EXPIRING_DAYS, REGISTRAR};
use serde_json::{Value, json};

async fn observe_with(o: Value, timeout: Duration) -> Result<Facts, Failure> {
    let options: Options = serde_json::from_value(o).expect("object");
    let probe = DomainProbe::new();
    let problems = probe.check(&options);
    assert!(problems.is_empty(), "{problems:?}");
    let facts = AnyProbe::prepare(&probe, &options, &Context::new(timeout))
        .expect("prepare")
        .observe()
        .await?;
    let problems = conformance(DomainProbe::FACTS, &facts);
    assert!(problems.is_empty(), "{problems:?} in {facts:?}");
    Ok(facts)
}

async fn observe(name: &str, server: &str) -> Result<Facts, Failure> {
    observe_with(
        json!({"name": name, "server": server}),
        Duration::from_secs(5),
    )
    .await
}

#[tokio::test]
async fn a_registration_reads_into_facts() {
    let bed = preflight_testbed::Testbed::start().await.expect("testbed");
    let server = bed.rdap().base_url();
    let f = observe("demo.test", &server)
        .await
        .unwrap_or_else(|e| panic!("{}", e.reason()));
    assert_eq!(f["days_left"], DEMO_DAYS);
    assert!(
        f["expires"].as_str().is_some_and(|d| d.ends_with('Z')),
        "{f:?}"
    );
    assert_eq!(f["registrar"], REGISTRAR);
    assert_eq!(f["status"], json!(["client transfer prohibited", "active"]));
    assert_eq!(f["nameservers"], json!(["ns1.demo.test", "ns2.demo.test"]));
    assert_eq!(f["dnssec"], false);
    assert_eq!(f["server"], server);
    assert!(f["latency_ms"].as_f64().is_some_and(|l| l >= 0.0));

    let f = observe("Signed.Test.", server.trim_end_matches('/'))
        .await
        .expect("signed");
    assert_eq!(f["dnssec"], true);
    assert_eq!(f["days_left"], 400);
    let f = observe("expiring.test", &server).await.expect("expiring");
    assert_eq!(f["days_left"], EXPIRING_DAYS);
    let f = observe("expired.test", &server).await.expect("expired");
    assert_eq!(f["days_left"], -3);
    assert_eq!(f["status"], json!(["redemption period"]));
    let f = observe("noexpiry.test", &server).await.expect("no expiry");
    assert_eq!(
        (f["days_left"].is_null(), f["expires"].is_null()),
        (true, true)
    );
}

#[tokio::test]
async fn unknown_garbage_hanging_and_closed_servers_fail_with_a_reason() {
    let bed = preflight_testbed::Testbed::start().await.expect("testbed");
    let server = bed.rdap().base_url();
    let port = bed.rdap().base_url();
    let hostport = port.trim_start_matches("http://").trim_end_matches('/');

    let e = observe("unknown.test", &server).await.expect_err("404");
    assert!(e.is_target(), "{e:?}");
    assert_eq!(
        e.reason(),
        format!("RDAP server {hostport} has no record of unknown.test (404)")
    );
    assert!(matches!(
        e.downcast_ref::<Error>(),
        Some(Error::NotFound { .. })
    ));

    let e = observe("garbage.test", &server).await.expect_err("garbage");
    assert!(e.is_target());
    assert!(
        e.reason().starts_with(&format!(
            "RDAP server {hostport} did not answer with a domain object for garbage.test: not JSON"
        )),
        "{}",
        e.reason()
    );

    let t0 = Instant::now();
    let e = observe_with(
        json!({"name": "demo.test", "server": format!("http://{}/", bed.hang_addr())}),
        Duration::from_millis(500),
    )
    .await
    .expect_err("hangs");
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "the item's timeout bounds the request"
    );
    assert!(e.is_target() && e.is_timeout(), "{e:?}");
    assert!(e.reason().contains("timed out"), "{}", e.reason());

    let e = observe("demo.test", &format!("http://{}/", bed.closed_addr()))
        .await
        .expect_err("closed");
    assert_eq!(
        e.reason(),
        format!("connection refused by {}", bed.closed_addr())
    );
}

#[tokio::test]
async fn the_bootstrap_registry_is_cached_until_it_expires() {
    let bed = preflight_testbed::Testbed::start().await.expect("testbed");
    let url = format!("{}bootstrap/dns.json", bed.rdap().base_url());
    let dir = tempfile::tempdir().expect("dir");
    let cache = dir.path().join("preflight/rdap-dns.json");
    let client = preflight_client::http_client_builder(false, None)
        .expect("builder")
        .build()
        .expect("client");
    let now = 1_796_000_000;

    let r = bootstrap::registry(&client, &url, Some(&cache), now)
        .await
        .expect("fetched");
    assert_eq!(r.server_for("demo.test"), Some(bed.rdap().base_url()));
    assert_eq!(r.server_for("demo.invalid"), None);
    let stored: Value =
        serde_json::from_slice(&std::fs::read(&cache).expect("cache written")).expect("json");
    assert_eq!(
        stored["expires"],
        now + 3600,
        "max-age=3600 from the server"
    );

    let base = bed.rdap().base_url();
    drop(bed);
    // A new client: the old one keeps a pooled connection to the stopped server.
    let client = preflight_client::http_client_builder(false, None)
        .expect("builder")
        .build()
        .expect("client");
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Fresh: read from disk, the (now stopped) server is not asked.
    let r = bootstrap::registry(&client, &url, Some(&cache), now + 60)
        .await
        .expect("cached");
    assert_eq!(r.server_for("x.test"), Some(base.clone()));
    // Expired and the server gone: the stale copy still serves.
    let r = bootstrap::registry(&client, &url, Some(&cache), now + 7200)
        .await
        .expect("stale");
    assert_eq!(r.server_for("x.test"), Some(base));
    // No copy and no server: an error naming the registry.
    let e = bootstrap::registry(&client, &url, Some(&dir.path().join("none.json")), now)
        .await
        .expect_err("nothing");
    assert!(
        e.to_string()
            .starts_with("failed to get the RDAP bootstrap registry: connection refused"),
        "{e}"
    );
}
