//! `starttls` against real servers on loopback: Debian's exim, the testbed's
//! PostgreSQL cluster, and the testbed's IMAP/POP3/SMTP responders.

use std::time::Duration;

use preflight_core::AnyProbe;
use preflight_core::probe::conformance;
use serde_json::{Value, json};

use super::*;

async fn observe(o: Value) -> Result<Facts, Failure> {
    let options: Options = serde_json::from_value(o).expect("object");
    let facts = AnyProbe::prepare(
        &TlsProbe::new(),
        &options,
        &Context::new(Duration::from_secs(10)),
    )
    .expect("prepare")
    .observe()
    .await?;
    let problems = conformance(TlsProbe::FACTS, &facts);
    assert!(problems.is_empty(), "{problems:?} in {facts:?}");
    Ok(facts)
}

fn item(port: u16, starttls: &str, ca: &std::path::Path) -> Value {
    json!({"host": "127.0.0.1", "port": port, "sni": "localhost", "ca": ca, "starttls": starttls})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_starttls_against_exim_reports_the_certificate() {
    let exim = tokio::task::spawn_blocking(preflight_testbed::exim::Exim::start)
        .await
        .expect("join")
        .expect("exim (Debian's exim4-daemon-light)");
    let mut o = item(exim.addr().port(), "smtp", &exim.ca_path());
    o["versions"] = json!(true);
    let f = observe(o)
        .await
        .unwrap_or_else(|e| panic!("{}\n{}", e.reason(), exim.log()));
    assert_eq!(f["chain_valid"], true, "{f:?}");
    assert_eq!(f["hostname_matches"], true);
    assert_eq!(f["subject"], "CN=localhost");
    assert!(
        (58..=60).contains(&f["days_left"].as_i64().expect("days")),
        "{f:?}"
    );
    assert!(
        f["protocol"]
            .as_str()
            .is_some_and(|p| p.starts_with("TLSv1.")),
        "{f:?}"
    );
    assert_eq!(
        f["alpn"],
        Value::Null,
        "no HTTP ALPN is offered to a mail server"
    );
    // The test instance is configured for TLS 1.1 to 1.3: both the rustls and the
    // hand-built ClientHello paths speak SMTP first.
    assert_eq!(
        f["accepts"],
        json!({"tls1_0": false, "tls1_1": true, "tls1_2": true, "tls1_3": true}),
        "{f:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_starttls_fails_with_that_reason() {
    let exim = tokio::task::spawn_blocking(preflight_testbed::exim::Exim::start_without_tls)
        .await
        .expect("join")
        .expect("exim");
    let port = exim.addr().port();
    let e = observe(item(port, "smtp", &exim.ca_path()))
        .await
        .expect_err("no STARTTLS");
    assert!(e.is_target(), "{e:?}");
    assert_eq!(
        e.reason(),
        format!(
            "127.0.0.1:{port} does not offer STARTTLS (smtp: STARTTLS is not among the EHLO extensions)"
        )
    );
    assert!(matches!(
        e.downcast_ref::<Error>(),
        Some(Error::StartTlsNotOffered { .. })
    ));

    let bed = preflight_testbed::Testbed::start().await.expect("testbed");
    let m = bed.mail();
    let e = observe(item(m.smtp_plain.port(), "smtp", &bed.ca_path()))
        .await
        .expect_err("no STARTTLS");
    assert!(
        e.reason().contains("does not offer STARTTLS (smtp"),
        "{e:?}"
    );
    let e = observe(item(m.postgres_nossl.port(), "postgres", &bed.ca_path()))
        .await
        .expect_err("ssl = off");
    assert!(
        e.reason().contains(
            "does not offer STARTTLS (postgres: the server answered the SSLRequest with N"
        ),
        "{e:?}"
    );
    // A TLS-only port spoken to as SMTP: its silence is not a greeting; a port that
    // talks something else is named.
    let e = observe(item(bed.tls().garbage.port(), "smtp", &bed.ca_path()))
        .await
        .expect_err("not SMTP");
    assert!(
        e.reason()
            .contains("answered the smtp greeting unexpectedly: SSH-2.0"),
        "{e:?}"
    );
    let e = observe(item(m.pop3.port(), "imap", &bed.ca_path()))
        .await
        .expect_err("POP3 is not IMAP");
    assert!(
        e.reason().contains("imap greeting unexpectedly: +OK"),
        "{e:?}"
    );
    let e = observe(item(bed.closed_addr().port(), "smtp", &bed.ca_path()))
        .await
        .expect_err("closed");
    assert!(e.reason().starts_with("connection refused by"), "{e:?}");
}

#[tokio::test]
async fn imap_pop3_and_smtp_responders_upgrade() {
    let bed = preflight_testbed::Testbed::start().await.expect("testbed");
    let m = bed.mail();
    for (port, protocol) in [
        (m.imap.port(), "imap"),
        (m.pop3.port(), "pop3"),
        (m.smtp.port(), "smtp"),
    ] {
        let mut o = item(port, protocol, &bed.ca_path());
        o["versions"] = json!(true);
        let f = observe(o)
            .await
            .unwrap_or_else(|e| panic!("{protocol}: {}", e.reason()));
        assert_eq!(f["chain_valid"], true, "{protocol}: {f:?}");
        assert_eq!(f["protocol"], "TLSv1.3", "{protocol}");
        assert_eq!(
            f["accepts"],
            json!({"tls1_0": false, "tls1_1": false, "tls1_2": true, "tls1_3": true}),
            "{protocol}: every version probe speaks {protocol} first"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_ssl_request_against_the_testbed_cluster() {
    let pg = tokio::task::spawn_blocking(preflight_testbed::postgres::Cluster::start)
        .await
        .expect("join")
        .expect("PostgreSQL (Debian's postgresql)");
    let f = observe(item(pg.port(), "postgres", &pg.ca_path()))
        .await
        .unwrap_or_else(|e| panic!("{}", e.reason()));
    assert_eq!(f["chain_valid"], true, "{f:?}");
    assert_eq!(f["hostname_matches"], true);
    assert!(
        (88..=90).contains(&f["days_left"].as_i64().expect("days")),
        "{f:?}"
    );
}

#[test]
fn ports_default_to_the_protocols() {
    let p = TlsProbe::new();
    let context = Context::new(Duration::from_secs(1));
    for (protocol, port) in [
        ("smtp", 25),
        ("imap", 143),
        ("pop3", 110),
        ("postgres", 5432),
    ] {
        let options: Options =
            serde_json::from_value(json!({"host": "127.0.0.1", "starttls": protocol})).expect("o");
        let o = AnyProbe::prepare(&p, &options, &context).expect("prepare");
        assert_eq!(o.host(), Some(format!("127.0.0.1:{port}")), "{protocol}");
    }
    let options: Options =
        serde_json::from_value(json!({"host": "127.0.0.1", "starttls": "smtp", "port": 587}))
            .expect("o");
    let o = AnyProbe::prepare(&p, &options, &context).expect("prepare");
    assert_eq!(o.host().as_deref(), Some("127.0.0.1:587"));
    let options: Options =
        serde_json::from_value(json!({"host": "x.test", "starttls": "ftp"})).expect("o");
    let problems = p.check(&options);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].key.as_deref(), Some("starttls"));
}
