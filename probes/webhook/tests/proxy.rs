//! The webhook probe behind a forward proxy (issue #19): Debian's tinyproxy on
//! loopback logs all three requests; `NO_PROXY` and `proxy = "none"` bypass it; the
//! run's `[checklist] ca` is trusted for https.

use std::sync::Arc;
use std::time::Duration;

use preflight_core::network::{Network, Trust};
use preflight_core::{Context, Facts, Failure};
use preflight_probe_webhook::WebhookProbe;
use preflight_testbed::proxy::ForwardProxy;
use preflight_testbed::trial;
use preflight_testbed::{Testbed, webhooks};
use serde_json::{Value, json};

fn network(vars: &[(&str, String)], ca: Option<String>) -> Arc<Network> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let env = move |n: &str| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    Arc::new(Network::new(None, ca, Trust::Webpki, &env))
}

async fn attempt(net: &Arc<Network>, v: Value) -> Result<Facts, Failure> {
    let cx = Context::new(Duration::from_secs(10)).with_network(net.clone());
    trial::attempt(&WebhookProbe::new(), v, &cx).await
}

#[tokio::test]
async fn the_three_requests_go_through_the_proxy() {
    let bed = Testbed::start().await.expect("testbed");
    let tp =
        ForwardProxy::start().expect("tinyproxy must be installed (apt-get install tinyproxy)");
    let url = format!("{}/wh/stripe", bed.http_url());
    let item = json!({"url": url, "scheme": "stripe", "secret": webhooks::STRIPE_SECRET});
    let f = attempt(&network(&[("HTTP_PROXY", tp.url())], None), item.clone())
        .await
        .expect("facts");
    assert_eq!(f["signed"]["status"], 200, "{f:?}");
    assert_eq!(f["unsigned"]["status"], 400, "{f:?}");
    let posts = tp
        .requests()
        .iter()
        .filter(|r| r.starts_with(&format!("POST {url} ")))
        .count();
    assert_eq!(posts, 3, "{:?}", tp.requests());

    let before = tp.requests().len();
    let bypass = network(
        &[("HTTP_PROXY", tp.url()), ("NO_PROXY", "127.0.0.1".into())],
        None,
    );
    attempt(&bypass, item.clone()).await.expect("facts");
    let mut direct = item;
    direct["proxy"] = json!("none");
    attempt(&network(&[("HTTP_PROXY", tp.url())], None), direct)
        .await
        .expect("facts");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(tp.requests().len(), before, "{:?}", tp.requests());

    // https through the tunnel, trusting the testbed CA from `[checklist] ca`.
    let tls = json!({"url": format!("{}/wh/github", bed.https_url()), "scheme": "github",
                     "secret": webhooks::GITHUB_SECRET});
    let net = network(
        &[("HTTPS_PROXY", tp.url())],
        Some(bed.ca_path().display().to_string()),
    );
    let f = attempt(&net, tls).await.expect("facts");
    assert_eq!(f["signed"]["status"], 200, "{f:?}");
    assert!(tp.saw(
        &format!("CONNECT 127.0.0.1:{} ", bed.https_addr().port()),
        Duration::from_secs(2)
    ));
}
