//! The probe against the testbed's real receivers on loopback (each verifies its scheme
//! with code written from the provider's docs, independent of [`crate::scheme`]).

use std::time::Duration;

use preflight_core::expect::{Expectation, Judgement};
use preflight_core::probe::conformance;
use preflight_core::{AnyProbe, Catalog};
use preflight_testbed::{Testbed, webhooks};
use serde_json::{Value, json};

use super::*;

fn options(v: Value) -> Options {
    serde_json::from_value(v).expect("options are an object")
}

fn prepare(opts: &Options) -> Arc<dyn Observer> {
    let p = WebhookProbe::new();
    assert!(p.check(opts).is_empty(), "{:?}", p.check(opts));
    AnyProbe::prepare(&p, opts, &Context::new(Duration::from_secs(10))).expect("prepare")
}

/// One attempt; facts are checked against [`WebhookProbe::FACTS`].
async fn observe(opts: &Options) -> Result<Facts, Failure> {
    let r = tokio::time::timeout(Duration::from_secs(10), prepare(opts).observe())
        .await
        .expect("an attempt against the testbed ends quickly");
    if let Ok(facts) = &r {
        let problems = conformance(WebhookProbe::FACTS, facts);
        assert!(problems.is_empty(), "{problems:?} in {facts:?}");
        for (name, response) in facts {
            assert!(response["status"].is_u64(), "{name}: {response}");
            assert!(response["latency_ms"].is_number(), "{name}: {response}");
            assert_eq!(response.as_object().map(|o| o.len()), Some(2), "{name}");
        }
    }
    r
}

/// Judges the probe's default expectations; `Ok` or the first failing reason.
fn judge_defaults(opts: &Options, facts: &Facts) -> Result<(), String> {
    for src in <WebhookProbe as Probe>::default_expect(opts) {
        match Expectation::compile(&src).expect("compiles").judge(facts) {
            Judgement::Holds => {}
            Judgement::Fails(r) | Judgement::Unjudgeable(r) => return Err(r),
        }
    }
    Ok(())
}

fn status(facts: &Facts, which: &str) -> u64 {
    facts[which]["status"].as_u64().expect("status")
}

async fn scheme_passes(bed: &Testbed, route: &str, extra: Value) {
    let mut v = json!({"url": format!("{}/wh/{route}", bed.http_url())});
    for (k, x) in extra.as_object().expect("object") {
        v[k] = x.clone();
    }
    let opts = options(v);
    let facts = observe(&opts).await.expect("facts");
    assert_eq!(status(&facts, "signed"), 200, "{route}: {facts:?}");
    assert!(
        (400..500).contains(&status(&facts, "unsigned")),
        "{route}: {facts:?}"
    );
    assert!(
        (400..500).contains(&status(&facts, "tampered")),
        "{route}: {facts:?}"
    );
    assert!(facts["signed"]["latency_ms"].as_f64().is_some());
    assert_eq!(judge_defaults(&opts, &facts), Ok(()), "{route}");
}

#[tokio::test]
async fn every_scheme_passes_against_its_verifier() {
    let bed = Testbed::start().await.expect("testbed");
    scheme_passes(
        &bed,
        "stripe",
        json!({"scheme": "stripe", "secret": webhooks::STRIPE_SECRET}),
    )
    .await;
    scheme_passes(
        &bed,
        "github",
        json!({"scheme": "github", "secret": webhooks::GITHUB_SECRET}),
    )
    .await;
    scheme_passes(
        &bed,
        "standard",
        json!({"scheme": "standard-webhooks", "secret": webhooks::STANDARD_SECRET}),
    )
    .await;
    scheme_passes(
        &bed,
        "sumsub",
        json!({"scheme": "sumsub", "secret": webhooks::SUMSUB_SECRET}),
    )
    .await;
    scheme_passes(
        &bed,
        "hmac",
        json!({"scheme": "hmac-sha256", "secret": webhooks::HMAC_SECRET}),
    )
    .await;
    scheme_passes(
        &bed,
        "hmac-b64",
        json!({"scheme": "hmac-sha256", "secret": webhooks::HMAC_SECRET,
               "header": "X-Webhook-Signature", "encoding": "base64", "prefix": "sha256="}),
    )
    .await;
}

#[tokio::test]
async fn custom_payload_is_sent_and_signed() {
    let bed = Testbed::start().await.expect("testbed");
    for payload in [
        json!("{\"type\":\"checkout.session.completed\",\"livemode\":false}"),
        json!({"type": "invoice.paid", "data": {"amount": 0}}),
    ] {
        let opts = options(json!({"url": format!("{}/wh/stripe", bed.http_url()),
            "scheme": "stripe", "secret": webhooks::STRIPE_SECRET, "payload": payload}));
        let facts = observe(&opts).await.expect("facts");
        assert_eq!(judge_defaults(&opts, &facts), Ok(()));
    }
}

#[tokio::test]
async fn https_receiver_with_the_testbed_ca() {
    let bed = Testbed::start().await.expect("testbed");
    let opts = options(json!({"url": format!("{}/wh/github", bed.https_url()),
        "scheme": "github", "secret": webhooks::GITHUB_SECRET,
        "ca": bed.ca_path().display().to_string()}));
    let facts = observe(&opts).await.expect("facts");
    assert_eq!(judge_defaults(&opts, &facts), Ok(()));
    // Without the CA the certificate is not trusted: the item fails, naming TLS.
    let opts = options(json!({"url": format!("{}/wh/github", bed.https_url()),
        "scheme": "github", "secret": webhooks::GITHUB_SECRET}));
    match observe(&opts).await {
        Err(f) if f.is_target() => {
            assert!(
                f.reason().starts_with("signed request: TLS handshake"),
                "{f}"
            );
            assert!(matches!(
                f.downcast_ref::<Error>(),
                Some(Error::Request {
                    sent: Sent::Signed,
                    ..
                })
            ));
        }
        other => panic!("expected a TLS failure, got {other:?}"),
    }
}

#[tokio::test]
async fn wrong_secret_fails_because_the_signed_event_is_rejected() {
    let bed = Testbed::start().await.expect("testbed");
    let opts = options(json!({"url": format!("{}/wh/stripe", bed.http_url()),
        "scheme": "stripe", "secret": "whsec_not_the_receivers_secret"}));
    let facts = observe(&opts).await.expect("facts");
    assert_eq!(status(&facts, "signed"), 400);
    let reason = judge_defaults(&opts, &facts).expect_err("fails");
    assert_eq!(
        reason,
        "signed.status >= 200 && signed.status < 300 — signed.status was 400"
    );
}

#[tokio::test]
async fn careless_receiver_fails_on_unsigned() {
    let bed = Testbed::start().await.expect("testbed");
    let opts = options(json!({"url": format!("{}/wh/careless", bed.http_url()),
        "scheme": "github", "secret": "anything-at-all"}));
    let facts = observe(&opts).await.expect("facts");
    assert_eq!(status(&facts, "unsigned"), 200);
    let reason = judge_defaults(&opts, &facts).expect_err("fails");
    assert_eq!(
        reason,
        "unsigned.status >= 400 && unsigned.status < 500 — unsigned.status was 200"
    );
}

#[tokio::test]
async fn send_signed_false_sends_only_the_forgeries() {
    let bed = Testbed::start().await.expect("testbed");
    let opts = options(json!({"url": format!("{}/wh/sumsub", bed.http_url()),
        "scheme": "sumsub", "secret": "not-needed-for-forgeries", "send_signed": false}));
    let facts = observe(&opts).await.expect("facts");
    assert!(!facts.contains_key("signed"), "{facts:?}");
    assert_eq!(status(&facts, "unsigned"), 401);
    assert_eq!(status(&facts, "tampered"), 401);
    assert_eq!(<WebhookProbe as Probe>::default_expect(&opts).len(), 2);
    assert_eq!(judge_defaults(&opts, &facts), Ok(()));
}

#[tokio::test]
async fn unreachable_url_fails_as_target() {
    let bed = Testbed::start().await.expect("testbed");
    let opts = options(
        json!({"url": format!("http://{}/wh/stripe", bed.closed_addr()),
        "scheme": "stripe", "secret": webhooks::STRIPE_SECRET}),
    );
    match observe(&opts).await {
        Err(f) if f.is_target() => {
            assert_eq!(
                f.reason(),
                format!(
                    "signed request: connection refused by {}",
                    bed.closed_addr()
                )
            );
            assert!(!f.is_timeout());
        }
        other => panic!("expected a target failure, got {other:?}"),
    }
    // Without the signed request, the first one sent names itself.
    let opts = options(
        json!({"url": format!("http://{}/wh/stripe", bed.closed_addr()),
        "scheme": "stripe", "secret": webhooks::STRIPE_SECRET, "send_signed": false}),
    );
    let f = observe(&opts).await.expect_err("refused");
    assert!(
        f.reason()
            .starts_with("unsigned request: connection refused"),
        "{f}"
    );
}

#[tokio::test]
async fn slow_receiver_is_cut_by_the_attempt_timeout() {
    let bed = Testbed::start().await.expect("testbed");
    let opts = options(json!({"url": format!("{}/wh/slow", bed.http_url()),
        "scheme": "stripe", "secret": webhooks::STRIPE_SECRET}));
    let o = prepare(&opts);
    let t0 = std::time::Instant::now();
    let r = tokio::time::timeout(Duration::from_millis(500), o.observe()).await;
    assert!(r.is_err(), "the slow receiver answered: {r:?}");
    assert!(t0.elapsed() < Duration::from_secs(2));
}

#[test]
fn check_reports_bad_literal_options() {
    let p = WebhookProbe::new();
    // An unknown scheme does not parse; the message lists the schemes.
    let problems = p.check(&options(
        json!({"url": "http://h/", "scheme": "paypal", "secret": "s"}),
    ));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].key.as_deref(), Some("scheme"));
    assert!(
        problems[0].message.contains("standard-webhooks"),
        "{problems:?}"
    );
    let problems = p.check(&options(
        json!({"url": "ftp://x", "scheme": "github", "secret": "s"}),
    ));
    let keys: Vec<_> = problems.iter().filter_map(|p| p.key.clone()).collect();
    assert_eq!(keys, vec!["url"]);

    let problems = p.check(&options(json!({"url": "http://h/", "scheme": "stripe",
        "secret": "whsec_x", "header": "X-Sig", "encoding": "hex"})));
    let keys: Vec<_> = problems.iter().filter_map(|p| p.key.clone()).collect();
    assert_eq!(keys, vec!["header", "encoding"]);

    let problems = p.check(&options(
        json!({"url": "http://h/", "scheme": "hmac-sha256",
        "secret": "k", "header": "bad header", "prefix": "a\nb"}),
    ));
    let keys: Vec<_> = problems.iter().filter_map(|p| p.key.clone()).collect();
    assert_eq!(keys, vec!["header", "prefix"]);
    for (key, bad) in [("encoding", json!("base32")), ("payload", json!(3))] {
        let mut v = json!({"url": "http://h/", "scheme": "hmac-sha256", "secret": "k"});
        v[key] = bad;
        let problems = p.check(&options(v));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key.as_deref(), Some(key), "{problems:?}");
    }
    for good in [json!("raw text"), json!({"type": "x"}), json!([1, 2])] {
        let v = json!({"url": "http://h/", "scheme": "github", "secret": "k", "payload": good});
        assert!(p.check(&options(v)).is_empty());
    }

    let secret = "whsec_%%%not-base64%%%";
    let problems = p.check(&options(
        json!({"url": "http://h/", "scheme": "standard-webhooks", "secret": secret}),
    ));
    assert_eq!(problems.len(), 1);
    assert!(!problems[0].message.contains("not-base64"), "{problems:?}");

    let problems = p.check(&options(json!({"url": "http://h/", "scheme": "github"})));
    assert_eq!(problems.len(), 1);
    assert!(problems[0].message.contains("secret"), "{problems:?}");
}

/// Loads `items` as a checklist; every problem as "message | hint".
fn load(items: &str) -> Result<preflight_core::Checklist, Vec<String>> {
    let catalog = Catalog::new(vec![Arc::new(WebhookProbe::new())]);
    let text =
        format!("[checklist]\nname = \"t\"\n\n[vars]\nwh = \"http://127.0.0.1:9\"\n\n{items}");
    preflight_core::checklist::parse("t.toml", &text, &[], &catalog).map_err(|e| {
        e.problems
            .iter()
            .map(|p| format!("{} | {}", p.message, p.hint.clone().unwrap_or_default()))
            .collect()
    })
}

#[test]
fn the_loader_checks_types_and_leaves_templates_to_the_plan() {
    let list = load(WebhookProbe::EXAMPLE).unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(list.items.len(), 1);
    // Templated values are judged once interpolated, not at load time.
    load("[[item]]\nid = \"a\"\nprobe = \"webhook\"\nurl = \"${wh}/x\"\nscheme = \"standard-webhooks\"\nsecret = \"${env:WH_SECRET}\"\n")
        .unwrap_or_else(|p| panic!("{p:?}"));
    let p = load("[[item]]\nid = \"a\"\nprobe = \"webhook\"\nurl = \"http://h/\"\nscheme = \"stripes\"\nsecret = \"k\"\nencoding = \"base32\"\npayload = 3\n")
        .expect_err("bad options")
        .join("\n");
    for want in [
        "unknown scheme \"stripes\" | did you mean \"stripe\"?",
        "unknown encoding \"base32\"",
        "expected a string or a table or an array of any values, found an integer",
    ] {
        assert!(p.contains(want), "missing {want:?} in\n{p}");
    }
}

#[test]
fn secret_is_a_secret_option() {
    let p = WebhookProbe::new();
    assert_eq!(AnyProbe::secret_options(&p), &["secret"]);
    let s = AnyProbe::secrets(
        &p,
        &options(
            json!({"url": "http://h/", "scheme": "standard-webhooks", "secret": "whsec_AAEC"}),
        ),
    );
    assert_eq!(s, vec!["AAEC".to_string()]);
}
