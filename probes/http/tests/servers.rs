//! The http probe against the testbed's real servers on loopback: HTTPS with its
//! generated CA, plain HTTP, redirects, large bodies, flaky endpoints, a closed port
//! and a port that never answers. Every observation's facts are checked against
//! `HttpProbe::FACTS`.

use std::sync::Arc;
use std::time::Duration;

use preflight_core::probe::conformance;
use preflight_core::{AnyProbe, Context, Facts, Failure, Observer, Options, Probe};
use preflight_probe_http::{Error, HttpProbe};
use preflight_testbed::Testbed;
use preflight_testbed::trial;
use serde_json::{Value, json};

/// An item's context for these tests: a 10 s timeout, no proxy, the Mozilla roots.
fn context() -> Context {
    Context::new(Duration::from_secs(10))
}

fn observer(v: Value) -> Arc<dyn Observer> {
    trial::observer(&HttpProbe::new(), v, &context())
}

async fn observe(v: Value) -> Facts {
    trial::observe(&HttpProbe::new(), v, &context()).await
}

async fn fails(v: Value) -> Failure {
    trial::fails(&HttpProbe::new(), v, &context()).await
}

#[tokio::test]
async fn https_with_the_testbed_ca() {
    let bed = Testbed::start().await.expect("testbed");
    let ca = bed.ca_path().display().to_string();
    let f = observe(json!({"url": format!("{}/api/health", bed.https_url()), "ca": ca})).await;
    assert_eq!(f["status"], 200);
    assert_eq!(f["json"]["status"], "healthy");
    assert_eq!(f["headers"]["content-type"], "application/json");
    assert_eq!(f["body_truncated"], false);
    assert_eq!(f["http_version"], "HTTP/2");
    assert!(
        matches!(f["tls_version"].as_str(), Some("TLSv1.3" | "TLSv1.2")),
        "{f:?}"
    );
    assert!(f["days_left"].as_i64().is_some_and(|d| d > 0), "{f:?}");
    assert_eq!(f["redirects"], json!([]));
    assert!(f.get("count").is_none() && f.get("latency").is_none());

    // The security headers of /secure, and a page that is not JSON.
    let f = observe(json!({"url": format!("{}/secure", bed.https_url()), "ca": ca})).await;
    assert!(
        f["headers"]["strict-transport-security"]
            .as_str()
            .is_some_and(|h| h.contains("max-age")),
        "{f:?}"
    );
    assert_eq!(f["json"], Value::Null);
    assert!(f["body"].as_str().is_some_and(|b| b.contains("<title>app")));

    // `insecure` skips the certificate check instead.
    let f =
        observe(json!({"url": format!("{}/api/health", bed.https_url()), "insecure": true})).await;
    assert_eq!(f["status"], 200);
}

#[tokio::test]
async fn plain_http_redirects_bodies_and_methods() {
    let bed = Testbed::start().await.expect("testbed");
    let base = bed.http_url();
    let f = observe(json!({"url": format!("{base}/redirect/3")})).await;
    assert_eq!(f["status"], 200);
    assert_eq!(f["body"], "arrived");
    assert_eq!(f["url"], format!("{base}/redirect/0"));
    assert_eq!(f["redirects"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        (f["tls_version"].clone(), f["days_left"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(f["http_version"], "HTTP/1.1");

    let f = observe(json!({"url": format!("{base}/redirect/3"), "follow_redirects": false})).await;
    assert_eq!(f["status"], 302);
    assert_eq!(f["headers"]["location"], "/redirect/2");

    // An unhealthy answer is facts, not a failure: core judges the status.
    let f = observe(json!({"url": format!("{base}/api/degraded")})).await;
    assert_eq!(f["status"], 503);
    assert_eq!(f["json"]["status"], "degraded");

    let f = observe(json!({"url": format!("{base}/big/{}", 2 * 1024 * 1024)})).await;
    assert_eq!(f["body_truncated"], true);
    assert_eq!(
        f["body"].as_str().map(str::len),
        Some(preflight_probe_http::BODY_CAP)
    );

    let f = observe(json!({"url": format!("{base}/echo"), "method": "post",
        "json": {"hello": "world"}, "headers": {"x-preflight": "yes"}}))
    .await;
    assert_eq!(f["json"]["method"], "POST");
    assert_eq!(f["json"]["body"], "{\"hello\":\"world\"}");
    assert_eq!(f["json"]["headers"]["content-type"], "application/json");
    assert_eq!(f["json"]["headers"]["x-preflight"], "yes");

    // `resolve` connects to the given address whatever the host name says.
    let port = bed
        .http_url()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string();
    let f = observe(
        json!({"url": format!("http://api.shop.example:{port}/api/health"),
        "resolve": "127.0.0.1"}),
    )
    .await;
    assert_eq!(f["status"], 200);
}

#[tokio::test]
async fn samples_report_percentiles_and_errors() {
    let bed = Testbed::start().await.expect("testbed");
    let f = observe(json!({"url": format!("{}/api/health", bed.http_url()), "samples": 8})).await;
    assert_eq!(f["count"], 8);
    assert_eq!(f["error_rate"], 0.0);
    for p in ["p50", "p95", "p99"] {
        assert!(f["latency"][p].as_f64().is_some(), "{f:?}");
    }
    assert_eq!(f["status"], 200);
    // The first two requests answer 503: half of four.
    let f =
        observe(json!({"url": format!("{}/flaky/samples/2", bed.http_url()), "samples": 4})).await;
    assert_eq!(f["error_rate"], 0.5);
    // One sample is a plain request.
    let f = observe(json!({"url": format!("{}/api/health", bed.http_url()), "samples": 1})).await;
    assert!(f.get("count").is_none());
}

#[tokio::test]
async fn unreachable_untrusted_and_looping_targets_fail() {
    let bed = Testbed::start().await.expect("testbed");
    let closed = bed.closed_addr();
    let f = fails(json!({"url": format!("http://{closed}/")})).await;
    assert_eq!(f.reason(), format!("connection refused by {closed}"));
    assert!(matches!(
        f.downcast_ref::<Error>(),
        Some(Error::Request { timeout: false, .. })
    ));

    let f = fails(json!({"url": format!("http://{closed}/"), "samples": 3})).await;
    assert_eq!(
        f.reason(),
        format!("all 3 samples failed: connection refused by {closed}")
    );

    let f = fails(json!({"url": format!("{}/api/health", bed.https_url())})).await;
    let port = bed.https_addr().port();
    assert!(
        f.reason()
            .starts_with(&format!("TLS handshake with 127.0.0.1:{port} failed")),
        "{f}"
    );
    assert!(f.reason().contains("UnknownIssuer"), "{f}");

    let f = fails(json!({"url": format!("{}/redirect-loop", bed.http_url())})).await;
    assert!(
        f.reason().starts_with("too many redirects (more than 10)"),
        "{f}"
    );
    assert!(matches!(
        f.downcast_ref::<Error>(),
        Some(Error::TooManyRedirects { .. })
    ));

    // A server that never answers produces no facts; the runner's timeout cuts it.
    let hang = observer(json!({"url": format!("http://{}/", bed.hang_addr())}));
    assert!(
        tokio::time::timeout(Duration::from_millis(500), hang.observe())
            .await
            .is_err()
    );
}

/// Plans a checklist of http items with `vars`; each item's interpolated options (or
/// why they do not work).
fn planned(items: &str, vars: Vec<(String, String)>) -> Vec<Result<Options, String>> {
    let catalog = preflight_core::Catalog::new(vec![Arc::new(HttpProbe::new())]);
    let text = format!("[checklist]\nname = \"t\"\n\n[vars]\napi = \"\"\nn = \"1\"\n\n{items}");
    let list = preflight_core::checklist::parse("t.toml", &text, &[], &catalog)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let env = |_: &str| None;
    let mut req = preflight_core::PlanRequest::with_env(&env);
    req.vars = vars;
    preflight_core::plan::plan(&list, &catalog, &req)
        .expect("plan")
        .items
        .into_iter()
        .map(|i| (*i.options).clone())
        .collect()
}

#[tokio::test]
async fn templated_options_arrive_typed() {
    let bed = Testbed::start().await.expect("testbed");
    let item =
        "[[item]]\nid = \"a\"\nprobe = \"http\"\nurl = \"${api}/api/health\"\nsamples = \"${n}\"\n";
    let vars = |n: &str| vec![("api".into(), bed.http_url()), ("n".into(), n.into())];
    let opts = planned(item, vars("3")).remove(0).expect("options");
    assert_eq!(opts["samples"], 3);
    let p = HttpProbe::new();
    let obs =
        AnyProbe::prepare(&p, &opts, &Context::new(Duration::from_secs(10))).expect("prepare");
    let f = obs.observe().await.expect("facts");
    assert!(conformance(HttpProbe::FACTS, &f).is_empty());
    assert_eq!(f["count"], 3);
    // Checked once interpolated: the item errors, naming the option.
    let e = planned(item, vars("0"))
        .remove(0)
        .expect_err("out of range");
    assert_eq!(e, "option `samples`: samples must be from 1 to 10000");
}

#[test]
fn a_literal_string_for_a_number_is_a_load_error() {
    let catalog = preflight_core::Catalog::new(vec![Arc::new(HttpProbe::new())]);
    let text = "[checklist]\nname = \"t\"\n\n[[item]]\nid = \"a\"\nprobe = \"http\"\nurl = \"http://127.0.0.1/\"\nsamples = \"5\"\n";
    let e = preflight_core::checklist::parse("t.toml", text, &[], &catalog).expect_err("a string");
    assert_eq!(e.problems.len(), 1, "{e:?}");
    assert_eq!(
        e.problems[0].message,
        "item \"a\": `samples`: expected an integer from 1 to 10000, found a string"
    );
}
