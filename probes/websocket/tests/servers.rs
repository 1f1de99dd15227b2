//! The websocket probe against the testbed's real WebSocket servers on loopback (ws://
//! and wss:// with the testbed CA), a plain HTTP server that refuses the upgrade, a
//! server that never completes the handshake and servers that flood. Every
//! observation's facts are checked against `WebSocketProbe::FACTS`.

use std::time::{Duration, Instant};

use preflight_core::{Context, Facts, Failure};
use preflight_probe_websocket::{Error, WebSocketProbe};
use preflight_testbed::Testbed;
use preflight_testbed::trial;
use preflight_testbed::websocket::{GREETING, SUBPROTOCOL, TOKEN};
use serde_json::{Value, json};

async fn observe(v: Value) -> Facts {
    trial::observe(
        &WebSocketProbe::new(),
        v,
        &Context::new(Duration::from_secs(10)),
    )
    .await
}

async fn fails_within(v: Value, timeout: Duration) -> Failure {
    trial::fails(&WebSocketProbe::new(), v, &Context::new(timeout)).await
}

#[tokio::test]
async fn echo_greeting_and_subprotocol_over_ws_and_wss() {
    let bed = Testbed::start().await.expect("testbed");
    let ws = bed.websocket();
    let f = observe(
        json!({"url": format!("{}/echo", ws.ws_url()), "send": "ping",
        "expect_message": "2s", "subprotocols": ["chat.v3", SUBPROTOCOL]}),
    )
    .await;
    assert_eq!(f["connected"], true);
    assert_eq!(f["status"], 101);
    assert_eq!(f["subprotocol"], SUBPROTOCOL);
    assert_eq!(f["message"], "ping");
    // We close normally; the server answers with 1000.
    assert_eq!(f["close_code"], 1000);
    assert!(f["latency_ms"].as_f64().is_some_and(|l| l < 2000.0));

    let ca = bed.ca_path().display().to_string();
    let f = observe(json!({"url": format!("{}/greet", ws.wss_url()), "ca": ca,
        "expect_message": "2s"}))
    .await;
    assert_eq!(f["connected"], true);
    assert_eq!(f["message"], GREETING);
    assert_eq!(f["subprotocol"], Value::Null);

    // Without expect_message nothing is awaited.
    let f = observe(json!({"url": format!("{}/greet", ws.wss_url()), "ca": ca})).await;
    assert_eq!(f["message"], Value::Null);

    // `resolve` connects to the address, the certificate is checked for the host.
    let port = ws
        .wss_url()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string();
    let f = observe(
        json!({"url": format!("wss://api.demo.test:{port}/echo"), "ca": ca,
        "resolve": "127.0.0.1"}),
    )
    .await;
    assert_eq!(f["connected"], true);
}

#[tokio::test]
async fn refused_upgrades_are_facts() {
    let bed = Testbed::start().await.expect("testbed");
    // A plain HTTP API answers the upgrade request with 200.
    let api = bed.http_url().replacen("http://", "ws://", 1);
    let f = observe(json!({"url": format!("{api}/api/health")})).await;
    assert_eq!(f["connected"], false);
    assert_eq!(f["status"], 200);
    assert_eq!(f["message"], Value::Null);
    // A WebSocket path that wants a token, and one that does not exist.
    let ws = bed.websocket();
    let f = observe(json!({"url": format!("{}/private", ws.ws_url())})).await;
    assert_eq!(
        (f["connected"].clone(), f["status"].clone()),
        (json!(false), json!(401))
    );
    let f = observe(json!({"url": format!("{}/private", ws.ws_url()),
        "headers": {"authorization": format!("Bearer {TOKEN}")}}))
    .await;
    assert_eq!(f["connected"], true);
    // An upgrade that picks none of the offered subprotocols.
    let f = observe(
        json!({"url": format!("{}/greet", ws.ws_url()), "subprotocols": ["chat.v2"],
        "expect_message": "1s"}),
    )
    .await;
    assert_eq!(
        (f["connected"].clone(), f["subprotocol"].clone()),
        (json!(true), Value::Null)
    );
    assert_eq!(f["message"], Value::Null);
    let f = observe(json!({"url": format!("{}/nowhere", ws.ws_url())})).await;
    assert_eq!(f["status"], 404);
    // A server that accepts, then closes with 1008.
    let f =
        observe(json!({"url": format!("{}/policy", ws.ws_url()), "expect_message": "2s"})).await;
    assert_eq!(f["connected"], true);
    assert_eq!(f["close_code"], 1008);
    assert_eq!(f["message"], Value::Null);
}

#[tokio::test]
async fn unreachable_untrusted_and_stalled_servers_fail_in_time() {
    let bed = Testbed::start().await.expect("testbed");
    let closed = bed.closed_addr();
    let f = fails_within(
        json!({"url": format!("ws://{closed}/")}),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(f.reason(), format!("connection refused by {closed}"));

    // The public roots do not trust the testbed CA.
    let ws = bed.websocket();
    let f = fails_within(
        json!({"url": format!("{}/echo", ws.wss_url())}),
        Duration::from_secs(5),
    )
    .await;
    assert!(
        f.reason().starts_with("TLS handshake with 127.0.0.1:"),
        "{f}"
    );
    assert!(f.reason().contains("UnknownIssuer"), "{f}");

    // Half a 101 and then silence; and a port that never says anything.
    for url in [
        format!("{}/echo", ws.stall_url()),
        format!("ws://{}/", bed.hang_addr()),
    ] {
        let t0 = Instant::now();
        let f = fails_within(json!({"url": url}), Duration::from_millis(800)).await;
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
        assert!(f.reason().ends_with("did not complete within 800ms"), "{f}");
        assert!(f.is_timeout());
        assert!(matches!(
            f.downcast_ref::<Error>(),
            Some(Error::HandshakeTimeout { .. })
        ));
    }
}

#[tokio::test]
async fn floods_are_bounded() {
    let bed = Testbed::start().await.expect("testbed");
    let ws = bed.websocket();
    // One message that never ends: cut off at 1 MiB, the item fails.
    let t0 = Instant::now();
    let f = fails_within(
        json!({"url": format!("{}/flood", ws.ws_url()), "expect_message": "3s"}),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        f.reason(),
        "failed to read a message: the server sent a message longer than 1 MiB"
    );
    assert!(t0.elapsed() < Duration::from_secs(5));
    // Endless small messages: the first one is the fact, the rest is not read.
    let f =
        observe(json!({"url": format!("{}/chatter", ws.ws_url()), "expect_message": "2s"})).await;
    assert_eq!(f["message"], "tick 1");
}
