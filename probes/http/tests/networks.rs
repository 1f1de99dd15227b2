//! The http probe in the networks teams have (issue #19), against real servers on
//! loopback: Debian's tinyproxy as the forward proxy (its log proves which requests
//! went through it), a CA that exists only in a temporary `SSL_CERT_FILE`, the
//! testbed's mutual-TLS API, and IPv6 on `::1`.

use std::sync::Arc;
use std::time::Duration;

use preflight_core::network::{Network, Trust};
use preflight_core::{AnyProbe, Blame, Context, Facts, Failure, Options, Probe};
use preflight_probe_http::HttpProbe;
use preflight_testbed::Testbed;
use preflight_testbed::networks::has_ipv6_loopback;
use preflight_testbed::proxy::ForwardProxy;
use preflight_testbed::trial;
use preflight_testbed::web::NODES_NAME;
use serde_json::{Value, json};

/// The run's network settings, with `vars` as the process environment.
fn network(vars: &[(&str, String)], proxy: Option<&str>, trust: Trust) -> Arc<Network> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let env = move |n: &str| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    Arc::new(Network::new(proxy.map(str::to_string), None, trust, &env))
}

fn context(net: &Arc<Network>) -> Context {
    Context::new(Duration::from_secs(10)).with_network(net.clone())
}

async fn attempt(probe: &HttpProbe, net: &Arc<Network>, v: Value) -> Result<Facts, Failure> {
    trial::attempt(probe, v, &context(net)).await
}

fn proxy() -> ForwardProxy {
    ForwardProxy::start().expect("tinyproxy must be installed (apt-get install tinyproxy)")
}

#[tokio::test]
async fn requests_go_through_the_environments_proxy_and_no_proxy_bypasses_it() {
    let bed = Testbed::start().await.expect("testbed");
    let tp = proxy();
    let ca = bed.ca_path().display().to_string();
    let plain = format!("{}/api/health", bed.http_url());
    let tls = format!("{}/api/health", bed.https_url());
    let p = HttpProbe::new();
    let net = network(
        &[("HTTPS_PROXY", tp.url()), ("http_proxy", tp.url())],
        None,
        Trust::Webpki,
    );

    // http://: forwarded, the proxy logs the absolute URL.
    let f = attempt(&p, &net, json!({"url": plain}))
        .await
        .expect("facts");
    assert_eq!(f["status"], 200, "{f:?}");
    assert!(
        tp.saw(&format!("GET {plain} "), Duration::from_secs(2)),
        "{:?}",
        tp.requests()
    );
    // https://: a CONNECT tunnel; TLS is still checked end to end against the CA.
    let f = attempt(&p, &net, json!({"url": tls, "ca": ca}))
        .await
        .expect("facts");
    assert_eq!(f["status"], 200, "{f:?}");
    // reqwest does not report the TLS session of a tunnelled connection (documented).
    assert_eq!(f["tls_version"], Value::Null, "{f:?}");
    let connect = format!("CONNECT 127.0.0.1:{} ", bed.https_addr().port());
    assert!(
        tp.saw(&connect, Duration::from_secs(2)),
        "{:?}",
        tp.requests()
    );

    // NO_PROXY (curl's rules: an IP, a CIDR range) sends them straight to the target.
    let before = tp.requests().len();
    for no in ["127.0.0.1", "127.0.0.0/8", "localhost, 127.0.0.1"] {
        let net = network(
            &[
                ("HTTPS_PROXY", tp.url()),
                ("HTTP_PROXY", tp.url()),
                ("NO_PROXY", no.to_string()),
            ],
            None,
            Trust::Webpki,
        );
        let f = attempt(&p, &net, json!({"url": plain}))
            .await
            .expect("facts");
        assert_eq!(f["status"], 200);
        let f = attempt(&p, &net, json!({"url": tls, "ca": ca}))
            .await
            .expect("facts");
        assert_eq!(f["status"], 200);
    }
    // The item's `proxy = "none"` does too, whatever the environment says.
    let f = attempt(&p, &net, json!({"url": plain, "proxy": "none"}))
        .await
        .expect("facts");
    assert_eq!(f["status"], 200);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(tp.requests().len(), before, "{:?}", tp.requests());

    // `[checklist] proxy` replaces the variables; the item's own proxy wins over both.
    let off = network(&[("HTTP_PROXY", tp.url())], Some("none"), Trust::Webpki);
    attempt(&p, &off, json!({"url": plain}))
        .await
        .expect("direct");
    assert_eq!(tp.requests().len(), before);
    let item = json!({"url": format!("{plain}?via=item"), "proxy": tp.url()});
    attempt(&p, &off, item).await.expect("via the item's proxy");
    assert!(
        tp.saw("?via=item", Duration::from_secs(2)),
        "{:?}",
        tp.requests()
    );
    let set = network(&[], Some(&tp.url()), Trust::Webpki);
    attempt(&p, &set, json!({"url": format!("{plain}?via=checklist")}))
        .await
        .expect("via [checklist] proxy");
    assert!(tp.saw("?via=checklist", Duration::from_secs(2)));
}

#[tokio::test]
async fn proxy_credentials_are_sent_and_never_shown() {
    let bed = Testbed::start().await.expect("testbed");
    let tp = ForwardProxy::start_with_auth("ci-robot", "pr0xy-s3cret").expect("tinyproxy");
    let ca = bed.ca_path().display().to_string();
    let p = HttpProbe::new();
    let url = format!("{}/api/health", bed.https_url());

    let net = network(&[("HTTPS_PROXY", tp.url())], None, Trust::Webpki);
    let f = attempt(&p, &net, json!({"url": url, "ca": ca}))
        .await
        .expect("facts");
    assert_eq!(f["status"], 200, "{f:?}");
    assert!(tp.saw("CONNECT 127.0.0.1:", Duration::from_secs(2)));
    assert!(!Value::Object(f).to_string().contains("pr0xy-s3cret"));

    // Without credentials the proxy answers 407: the reason says so and names the
    // proxy without credentials.
    let net = network(&[("HTTPS_PROXY", tp.bare_url())], None, Trust::Webpki);
    let e = attempt(&p, &net, json!({"url": url, "ca": ca}))
        .await
        .expect_err("407");
    assert_eq!(e.blame(), Blame::Target);
    assert!(
        e.reason().starts_with(&format!(
            "proxy {} (HTTPS_PROXY) wants credentials",
            tp.bare_url()
        )),
        "{e}"
    );
    // A plain-HTTP request is forwarded: the 407 is the answer (a fact).
    let net = network(&[("HTTP_PROXY", tp.bare_url())], None, Trust::Webpki);
    let f = attempt(
        &p,
        &net,
        json!({"url": format!("{}/api/health", bed.http_url())}),
    )
    .await
    .expect("facts");
    assert_eq!(f["status"], 407);
}

#[tokio::test]
async fn a_dead_proxy_is_named_as_the_proxy() {
    let bed = Testbed::start().await.expect("testbed");
    let dead = format!("http://{}", bed.closed_addr());
    let net = network(&[("HTTPS_PROXY", dead.clone())], None, Trust::Webpki);
    let e = attempt(
        &HttpProbe::new(),
        &net,
        json!({"url": format!("{}/api/health", bed.https_url())}),
    )
    .await
    .expect_err("refused");
    assert_eq!(
        e.reason(),
        format!("connection refused by proxy {dead} (HTTPS_PROXY)")
    );
    // Options a proxy would silently undo are item errors.
    for (key, value) in [
        ("family", json!("ipv4")),
        ("resolve", json!("127.0.0.1")),
        ("addresses", json!("all")),
    ] {
        let mut o = json!({"url": format!("{}/api/health", bed.https_url())});
        o[key] = value;
        let opts: Options = serde_json::from_value(o).expect("object");
        let e = AnyProbe::prepare(&HttpProbe::new(), &opts, &context(&net))
            .err()
            .expect("an options problem");
        assert_eq!(e.blame(), Blame::Checker, "{e}");
        assert!(
            e.reason().contains("cannot be kept through the proxy"),
            "{key}: {e}"
        );
    }
}

#[tokio::test]
async fn system_trust_reads_a_ca_that_exists_only_in_ssl_cert_file() {
    let bed = Testbed::start().await.expect("testbed");
    // A temporary file holding only the testbed's CA: no other trust store knows it.
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("only-this-ca.pem");
    std::fs::write(&file, &bed.pki().ca_pem).expect("write");
    let cert_file = file.display().to_string();
    let url = format!("{}/api/health", bed.https_url());
    let p = HttpProbe::new();
    for trust in [Trust::System, Trust::Both] {
        let net = network(&[("SSL_CERT_FILE", cert_file.clone())], None, trust);
        let f = attempt(&p, &net, json!({"url": url}))
            .await
            .expect("trusted");
        assert_eq!(f["status"], 200, "{trust:?}");
    }
    // The Mozilla roots alone do not know it; SSL_CERT_FILE is read only for system.
    let net = network(&[("SSL_CERT_FILE", cert_file.clone())], None, Trust::Webpki);
    let e = attempt(&p, &net, json!({"url": url}))
        .await
        .expect_err("unknown CA");
    assert!(e.reason().contains("UnknownIssuer"), "{e}");
    // `[checklist] ca` adds to the roots; an item's own `ca` replaces them.
    let env = |_: &str| None;
    let with_ca = Arc::new(Network::new(
        None,
        Some(cert_file.clone()),
        Trust::Webpki,
        &env,
    ));
    attempt(&p, &with_ca, json!({"url": url}))
        .await
        .expect("[checklist] ca");
    let other = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::write(
        other.path(),
        &preflight_testbed::TestPki::generate().expect("pki").ca_pem,
    )
    .expect("write");
    let e = attempt(
        &p,
        &with_ca,
        json!({"url": url, "ca": other.path().display().to_string()}),
    )
    .await
    .expect_err("the item's ca wins");
    assert!(e.reason().contains("TLS handshake"), "{e}");
    // A store that does not exist is the checker's problem.
    let net = network(
        &[("SSL_CERT_FILE", "/nonexistent/ca.pem".into())],
        None,
        Trust::System,
    );
    let e = attempt(&p, &net, json!({"url": url}))
        .await
        .expect_err("no store");
    assert_eq!(e.blame(), Blame::Checker, "{e}");
    assert!(e.reason().contains("system trust store"), "{e}");
}

#[tokio::test]
async fn client_certificates_open_mutual_tls() {
    let bed = Testbed::start().await.expect("testbed");
    let n = bed.networks();
    let ca = bed.ca_path().display().to_string();
    let url = format!("{}/api/health", n.mtls_url());
    let p = HttpProbe::new();
    let net = Arc::new(Network::default());
    let with = |cert: &std::path::Path, key: &std::path::Path| {
        json!({"url": url, "ca": ca,
               "client_cert": cert.display().to_string(),
               "client_key": key.display().to_string()})
    };
    let f = attempt(&p, &net, with(n.client_cert(), n.client_key()))
        .await
        .expect("accepted");
    assert_eq!(f["status"], 200, "{f:?}");

    let e = attempt(&p, &net, json!({"url": url, "ca": ca}))
        .await
        .expect_err("no certificate");
    assert_eq!(e.blame(), Blame::Target);
    let port = n.mtls_addr().port();
    assert!(
        e.reason()
            .starts_with(&format!("TLS handshake with 127.0.0.1:{port} failed")),
        "{e}"
    );
    assert!(e.reason().contains("CertificateRequired"), "{e}");

    let e = attempt(&p, &net, with(n.stranger_cert(), n.stranger_key()))
        .await
        .expect_err("a certificate of another CA");
    assert!(e.reason().starts_with("TLS handshake with"), "{e}");

    // A key that cannot be read: an item error that never names the key's path.
    let missing = "/nonexistent/secret-dir/client.key";
    let opts: Options = serde_json::from_value(json!({"url": url,
        "client_cert": n.client_cert().display().to_string(), "client_key": missing}))
    .expect("object");
    let e = AnyProbe::prepare(&p, &opts, &context(&net))
        .err()
        .expect("unreadable key");
    assert_eq!(e.blame(), Blame::Checker);
    assert!(e.reason().starts_with("failed to read client_key"), "{e}");
    assert!(!e.reason().contains("secret-dir"), "{e}");
    // Half a pair is a checklist problem.
    let half: Options = serde_json::from_value(json!({"url": url,
        "client_cert": n.client_cert().display().to_string()}))
    .expect("object");
    let problems = p.check(&half);
    assert_eq!(
        problems[0].key.as_deref(),
        Some("client_cert"),
        "{problems:?}"
    );
    assert!(HttpProbe::SECRET_OPTIONS.contains(&"client_key"));
}

#[tokio::test]
#[expect(clippy::print_stderr, reason = "a skipped part says so")]
async fn family_keeps_one_ip_version_and_ipv6_literals_work() {
    if !has_ipv6_loopback() {
        eprintln!("skipped: this machine has no IPv6 loopback (`ip -6 addr show lo` shows no ::1)");
        return;
    }
    let bed = Testbed::start().await.expect("testbed");
    let ca = bed.ca_path().display().to_string();
    let p = HttpProbe::new();
    let net = Arc::new(Network::default());
    let api6 = bed.networks().api6_url().expect("api on ::1");
    for family in ["any", "ipv6"] {
        let f = attempt(
            &p,
            &net,
            json!({"url": format!("{api6}/api/health"), "ca": ca, "family": family}),
        )
        .await
        .expect("over ::1");
        assert_eq!(f["status"], 200);
        assert!(
            f["url"]
                .as_str()
                .is_some_and(|u| u.starts_with("https://[::1]:"))
        );
    }
    // A literal of the other family is a checklist problem.
    let opts: Options =
        serde_json::from_value(json!({"url": format!("{api6}/"), "family": "ipv4"})).expect("o");
    let problems = p.check(&opts);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].message.contains("::1 is an IPv6 address"),
        "{problems:?}"
    );

    // A name with both kinds of addresses (the testbed's own DNS): each family alone.
    let web = bed.web();
    let url = format!("https://{NODES_NAME}:{}/", web.nodes_port());
    let dns = web.dns().to_string();
    let all = |family: &str| json!({"url": url, "resolvers": [dns], "ca": ca, "addresses": "all", "family": family});
    let f = attempt(&p, &net, all("ipv6")).await.expect("v6");
    let keys: Vec<&String> = f["addresses"].as_object().expect("map").keys().collect();
    assert_eq!(keys, ["::1"]);
    let f = attempt(&p, &net, all("ipv4")).await.expect("v4");
    let keys: Vec<&String> = f["addresses"].as_object().expect("map").keys().collect();
    assert_eq!(keys, ["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
    let one = json!({"url": url, "resolvers": [dns], "ca": ca, "family": "ipv6"});
    assert_eq!(attempt(&p, &net, one).await.expect("v6")["status"], 200);
    // `half.web.test` has A records only.
    let half = json!({"url": format!("https://half.web.test:{}/", web.nodes_port()),
                      "resolvers": [dns], "insecure": true, "family": "ipv6"});
    let e = attempt(&p, &net, half).await.expect_err("no AAAA");
    assert!(
        e.reason().contains("half.web.test has no IPv6 address"),
        "{e}"
    );
}
