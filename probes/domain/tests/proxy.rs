//! The domain probe behind a forward proxy (issue #19): the RDAP request to the
//! testbed's server goes through Debian's tinyproxy (its log shows it) unless the
//! item says `proxy = "none"`.

use std::sync::Arc;
use std::time::Duration;

use preflight_core::network::{Network, Trust};
use preflight_core::{AnyProbe, Context, Options};
use preflight_probe_domain::DomainProbe;
use preflight_testbed::proxy::ForwardProxy;
use serde_json::{Value, json};

#[tokio::test]
async fn rdap_goes_through_the_proxy() {
    let bed = preflight_testbed::Testbed::start().await.expect("testbed");
    let tp =
        ForwardProxy::start().expect("tinyproxy must be installed (apt-get install tinyproxy)");
    let server = bed.rdap().base_url();
    let env_url = tp.url();
    let env = move |n: &str| (n == "HTTP_PROXY").then(|| env_url.clone());
    let net = Arc::new(Network::new(None, None, Trust::Webpki, &env));
    let cx = Context::new(Duration::from_secs(10)).with_network(net);
    let p = DomainProbe::new();
    let run = |o: Value| {
        let opts: Options = serde_json::from_value(o).expect("object");
        assert!(p.check(&opts).is_empty(), "{:?}", p.check(&opts));
        AnyProbe::prepare(&p, &opts, &cx).expect("prepare")
    };
    let f = run(json!({"name": "demo.test", "server": server}))
        .observe()
        .await
        .expect("facts");
    assert!(f["days_left"].as_i64().is_some(), "{f:?}");
    assert!(
        tp.saw("/domain/demo.test ", Duration::from_secs(2)),
        "{:?}",
        tp.requests()
    );
    let before = tp.requests().len();
    run(json!({"name": "demo.test", "server": server, "proxy": "none"}))
        .observe()
        .await
        .expect("facts");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(tp.requests().len(), before, "{:?}", tp.requests());
}
