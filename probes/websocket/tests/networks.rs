//! The websocket probe in the networks teams have (issue #19): a `CONNECT` tunnel
//! through Debian's tinyproxy (its log proves it), `NO_PROXY`, the testbed's
//! mutual-TLS WebSocket server, and IPv6 on `::1`.

use std::sync::Arc;
use std::time::Duration;

use preflight_core::network::{Network, Trust};
use preflight_core::{AnyProbe, Blame, Context, Facts, Failure, Options};
use preflight_probe_websocket::WebSocketProbe;
use preflight_testbed::Testbed;
use preflight_testbed::networks::has_ipv6_loopback;
use preflight_testbed::proxy::ForwardProxy;
use preflight_testbed::trial;
use preflight_testbed::websocket::GREETING;
use serde_json::{Value, json};

fn network(vars: &[(&str, String)]) -> Arc<Network> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let env = move |n: &str| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    Arc::new(Network::new(None, None, Trust::Webpki, &env))
}

async fn attempt(net: &Arc<Network>, v: Value) -> Result<Facts, Failure> {
    let cx = Context::new(Duration::from_secs(10)).with_network(net.clone());
    trial::attempt(&WebSocketProbe::new(), v, &cx).await
}

#[tokio::test]
async fn sockets_tunnel_through_the_proxy_and_no_proxy_bypasses_it() {
    let bed = Testbed::start().await.expect("testbed");
    let tp =
        ForwardProxy::start().expect("tinyproxy must be installed (apt-get install tinyproxy)");
    let ws = bed.websocket();
    let ca = bed.ca_path().display().to_string();
    let net = network(&[("HTTPS_PROXY", tp.url()), ("HTTP_PROXY", tp.url())]);
    for url in [ws.ws_url(), ws.wss_url()] {
        let f = attempt(
            &net,
            json!({"url": format!("{url}/greet"), "ca": ca, "expect_message": "2s"}),
        )
        .await
        .expect("facts");
        assert_eq!(f["connected"], true, "{url}: {f:?}");
        assert_eq!(f["message"], GREETING);
        let port = url.rsplit(':').next().expect("port");
        assert!(
            tp.saw(
                &format!("CONNECT 127.0.0.1:{port} "),
                Duration::from_secs(2)
            ),
            "{:?}",
            tp.requests()
        );
    }
    let before = tp.requests().len();
    let bypass = network(&[
        ("HTTPS_PROXY", tp.url()),
        ("HTTP_PROXY", tp.url()),
        ("NO_PROXY", "127.0.0.1".into()),
    ]);
    for url in [ws.ws_url(), ws.wss_url()] {
        let f = attempt(&bypass, json!({"url": format!("{url}/echo"), "ca": ca}))
            .await
            .expect("facts");
        assert_eq!(f["connected"], true);
    }
    let f = attempt(
        &net,
        json!({"url": format!("{}/echo", ws.ws_url()), "proxy": "none"}),
    )
    .await
    .expect("facts");
    assert_eq!(f["connected"], true);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(tp.requests().len(), before, "{:?}", tp.requests());

    // A dead proxy is named as such.
    let dead = format!("http://{}", bed.closed_addr());
    let e = attempt(
        &network(&[("HTTP_PROXY", dead.clone())]),
        json!({"url": format!("{}/echo", ws.ws_url())}),
    )
    .await
    .expect_err("refused");
    assert_eq!(e.blame(), Blame::Target);
    assert_eq!(
        e.reason(),
        format!("connection refused by proxy {dead} (HTTP_PROXY)")
    );
}

#[tokio::test]
async fn proxy_credentials_open_the_tunnel_and_stay_secret() {
    let bed = Testbed::start().await.expect("testbed");
    let tp = ForwardProxy::start_with_auth("ws-robot", "tunn3l-s3cret").expect("tinyproxy");
    let url = format!("{}/echo", bed.websocket().ws_url());
    let f = attempt(&network(&[("HTTP_PROXY", tp.url())]), json!({"url": url}))
        .await
        .expect("facts");
    assert_eq!(f["connected"], true);
    let e = attempt(
        &network(&[("HTTP_PROXY", tp.bare_url())]),
        json!({"url": url}),
    )
    .await
    .expect_err("407");
    assert!(
        e.reason().starts_with(&format!(
            "proxy {} (HTTP_PROXY) refused the tunnel to 127.0.0.1:",
            tp.bare_url()
        )),
        "{e}"
    );
    assert!(e.reason().contains("407"), "{e}");
    assert!(!e.reason().contains("tunn3l-s3cret"));
}

#[tokio::test]
async fn a_server_that_requires_a_client_certificate() {
    let bed = Testbed::start().await.expect("testbed");
    let n = bed.networks();
    let net = Arc::new(Network::default());
    let ca = bed.ca_path().display().to_string();
    let url = format!("{}/echo", n.mtls_wss_url());
    let f = attempt(
        &net,
        json!({"url": url, "ca": ca, "send": "hello", "expect_message": "2s",
               "client_cert": n.client_cert().display().to_string(),
               "client_key": n.client_key().display().to_string()}),
    )
    .await
    .expect("accepted");
    assert_eq!(f["connected"], true, "{f:?}");
    assert_eq!(f["message"], "hello");

    let e = attempt(&net, json!({"url": url, "ca": ca}))
        .await
        .expect_err("no certificate");
    assert_eq!(e.blame(), Blame::Target);
    assert!(
        e.reason().starts_with("TLS handshake with 127.0.0.1:"),
        "{e}"
    );
    assert!(e.reason().contains("CertificateRequired"), "{e}");
}

#[tokio::test]
#[expect(clippy::print_stderr, reason = "a skipped part says so")]
async fn family_and_ipv6_literals() {
    let p = WebSocketProbe::new();
    let opts: Options =
        serde_json::from_value(json!({"url": "ws://[::1]:1/", "family": "ipv4"})).expect("o");
    assert_eq!(
        p.check(&opts)[0].key.as_deref(),
        Some("family"),
        "{:?}",
        p.check(&opts)
    );
    if !has_ipv6_loopback() {
        eprintln!("skipped the ::1 part: this machine has no IPv6 loopback (`ip -6 addr show lo`)");
        return;
    }
    let bed = Testbed::start().await.expect("testbed");
    let url = bed.networks().ws6_url().expect("ws on ::1");
    let f = attempt(
        &Arc::new(Network::default()),
        json!({"url": format!("{url}/greet"), "family": "ipv6", "expect_message": "2s"}),
    )
    .await
    .expect("over ::1");
    assert_eq!(f["connected"], true);
    assert_eq!(f["message"], GREETING);
}
