//! The prometheus probe behind a forward proxy (issue #19): Debian's tinyproxy logs the
//! query; `NO_PROXY` bypasses it. The Prometheus API is the testbed's `/prom/ok`.

use std::sync::Arc;
use std::time::Duration;

use preflight_core::network::{Network, Trust};
use preflight_core::{AnyProbe, Context, Options};
use preflight_probe_prometheus::PrometheusProbe;
use preflight_testbed::Testbed;
use preflight_testbed::proxy::ForwardProxy;
use serde_json::json;

#[tokio::test]
async fn queries_go_through_the_proxy_unless_no_proxy_covers_the_host() {
    let bed = Testbed::start().await.expect("testbed");
    let tp =
        ForwardProxy::start().expect("tinyproxy must be installed (apt-get install tinyproxy)");
    let base = format!("{}/prom/ok", bed.http_url());
    let opts: Options =
        serde_json::from_value(json!({"url": base, "query": "up"})).expect("object");
    let p = PrometheusProbe::new();
    assert!(p.check(&opts).is_empty(), "{:?}", p.check(&opts));
    let run = |vars: Vec<(&'static str, String)>| {
        let env = move |n: &str| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone());
        let net = Arc::new(Network::new(None, None, Trust::Webpki, &env));
        Context::new(Duration::from_secs(10)).with_network(net)
    };
    let f = AnyProbe::prepare(&p, &opts, &run(vec![("HTTP_PROXY", tp.url())]))
        .expect("prepare")
        .observe()
        .await
        .expect("facts");
    assert_eq!(f["count"], 1, "{f:?}");
    assert!(
        tp.saw(
            &format!("GET {base}/api/v1/query?query=up "),
            Duration::from_secs(2)
        ),
        "{:?}",
        tp.requests()
    );
    let before = tp.requests().len();
    let cx = run(vec![
        ("HTTP_PROXY", tp.url()),
        ("NO_PROXY", "localhost,127.0.0.1".into()),
    ]);
    let f = AnyProbe::prepare(&p, &opts, &cx)
        .expect("prepare")
        .observe()
        .await
        .expect("facts");
    assert_eq!(f["count"], 1);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(tp.requests().len(), before);
}
