//! The tls probe in the networks teams have (issue #19): the testbed's mutual-TLS
//! listener (a client certificate from the testbed CA is required), roots from a
//! temporary `SSL_CERT_FILE` with `[checklist] trust = "system"`, and IPv6 on `::1`.

use std::sync::Arc;
use std::time::Duration;

use preflight_core::network::{Network, Trust};
use preflight_core::{AnyProbe, Blame, Context, Facts, Failure, Options, Probe};
use preflight_probe_tls::TlsProbe;
use preflight_testbed::Testbed;
use preflight_testbed::networks::has_ipv6_loopback;
use preflight_testbed::trial;
use serde_json::{Value, json};

async fn attempt(net: &Arc<Network>, v: Value) -> Result<Facts, Failure> {
    let cx = Context::new(Duration::from_secs(10)).with_network(net.clone());
    trial::attempt(&TlsProbe::new(), v, &cx).await
}

#[tokio::test]
async fn a_server_that_requires_a_client_certificate() {
    let bed = Testbed::start().await.expect("testbed");
    let n = bed.networks();
    let net = Arc::new(Network::default());
    let port = n.mtls_addr().port();
    let ca = bed.ca_path().display().to_string();
    let base = json!({"host": "127.0.0.1", "port": port, "ca": ca});
    let mut with = base.clone();
    with["client_cert"] = json!(n.client_cert().display().to_string());
    with["client_key"] = json!(n.client_key().display().to_string());
    let f = attempt(&net, with.clone()).await.expect("accepted");
    assert_eq!(f["protocol"], "TLSv1.3");
    assert_eq!(f["chain_valid"], true);
    // Each version alone, with the certificate too.
    with["versions"] = json!(true);
    let f = attempt(&net, with).await.expect("accepted");
    assert_eq!(f["accepts"]["tls1_2"], true, "{f:?}");
    assert_eq!(f["accepts"]["tls1_3"], true, "{f:?}");

    let e = attempt(&net, base.clone())
        .await
        .expect_err("no certificate");
    assert_eq!(e.blame(), Blame::Target);
    assert!(
        e.reason()
            .starts_with(&format!("TLS handshake with 127.0.0.1:{port} failed")),
        "{e}"
    );
    assert!(e.reason().contains("CertificateRequired"), "{e}");

    let mut stranger = base;
    stranger["client_cert"] = json!(n.stranger_cert().display().to_string());
    stranger["client_key"] = json!(n.stranger_key().display().to_string());
    let e = attempt(&net, stranger)
        .await
        .expect_err("another CA's certificate");
    assert!(e.reason().starts_with("TLS handshake with"), "{e}");

    // A server that asks for no certificate is not kept waiting for a verdict.
    let t0 = std::time::Instant::now();
    let plain = json!({"host": "127.0.0.1", "port": bed.tls().valid.port(), "sni": "localhost",
                       "ca": bed.ca_path().display().to_string(),
                       "client_cert": n.client_cert().display().to_string(),
                       "client_key": n.client_key().display().to_string()});
    attempt(&net, plain).await.expect("facts");
    assert!(
        t0.elapsed() < Duration::from_millis(900),
        "{:?}",
        t0.elapsed()
    );
    assert!(TlsProbe::SECRET_OPTIONS.contains(&"client_key"));
}

#[tokio::test]
async fn chain_valid_follows_the_checklists_trust() {
    let bed = Testbed::start().await.expect("testbed");
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("only-this-ca.pem");
    std::fs::write(&file, &bed.pki().ca_pem).expect("write");
    let file = file.display().to_string();
    let item = json!({"host": "127.0.0.1", "port": bed.tls().valid.port(), "sni": "localhost"});
    let with_env = |trust: Trust, ca: Option<String>| {
        let file = file.clone();
        let env = move |n: &str| (n == "SSL_CERT_FILE").then(|| file.clone());
        Arc::new(Network::new(None, ca, trust, &env))
    };
    let f = attempt(&with_env(Trust::System, None), item.clone())
        .await
        .expect("facts");
    assert_eq!(f["chain_valid"], true, "{f:?}");
    let f = attempt(&with_env(Trust::Webpki, None), item.clone())
        .await
        .expect("facts");
    assert_eq!(f["chain_valid"], false);
    assert_eq!(
        f["chain_error"],
        "unknown issuer (no path to a trusted root)"
    );
    let f = attempt(&with_env(Trust::Webpki, Some(file.clone())), item.clone())
        .await
        .expect("facts");
    assert_eq!(f["chain_valid"], true, "[checklist] ca adds the CA: {f:?}");
}

#[tokio::test]
#[expect(clippy::print_stderr, reason = "a skipped part says so")]
async fn family_and_ipv6_literals() {
    let bed = Testbed::start().await.expect("testbed");
    let net = Arc::new(Network::default());
    let p = TlsProbe::new();
    let opts: Options =
        serde_json::from_value(json!({"host": "127.0.0.1", "family": "ipv6"})).expect("o");
    let problems = p.check(&opts);
    assert_eq!(problems[0].key.as_deref(), Some("family"), "{problems:?}");
    if !has_ipv6_loopback() {
        eprintln!("skipped the ::1 part: this machine has no IPv6 loopback (`ip -6 addr show lo`)");
        return;
    }
    let n = bed.networks();
    let port = n.api6_addr().expect("api on ::1").port();
    for host in ["::1", "[::1]"] {
        let f = attempt(
            &net,
            json!({"host": host, "port": port, "family": "ipv6",
                   "ca": bed.ca_path().display().to_string()}),
        )
        .await
        .expect("over ::1");
        assert_eq!(f["chain_valid"], true);
        assert_eq!(f["hostname_matches"], true, "the leaf has the IP SAN ::1");
    }
}
