//! The http probe's web checks (issue #18) against the testbed's site behind its own
//! name server (`web.test.`): cookies, redirect hops, security headers and grade, CORS
//! preflights, meta robots, every address of a name (one node serving an old
//! certificate), and hostile answers. Every observation is checked against FACTS.

use std::time::{Duration, Instant};

use preflight_core::{AnyProbe, Context, Facts, Failure, Options};
use preflight_probe_http::{Error, HttpProbe};
use preflight_testbed::Testbed;
use preflight_testbed::trial;
use preflight_testbed::web::{ALLOWED_ORIGIN, NODES_NAME, OLD_NODE, OLD_NODE_DAYS};
use serde_json::{Value, json};

/// An item's context for these tests: a 10 s timeout, no proxy, the Mozilla roots.
fn context() -> Context {
    Context::new(Duration::from_secs(10))
}

async fn observe(v: Value) -> Facts {
    trial::observe(&HttpProbe::new(), v, &context()).await
}

async fn fails(v: Value) -> Failure {
    trial::fails(&HttpProbe::new(), v, &context()).await
}

/// Options for `https://web.test:PORT{path}` through the testbed's name server.
fn site(bed: &Testbed, path: &str) -> Value {
    json!({
        "url": format!("https://web.test:{}{path}", bed.web().https_port()),
        "resolvers": [bed.web().dns().to_string()],
        "ca": bed.ca_path().display().to_string(),
    })
}

fn with(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().expect("object") {
        base[k] = v.clone();
    }
    base
}

#[tokio::test]
async fn cookies_are_one_entry_each_and_never_garbled() {
    let bed = Testbed::start().await.expect("testbed");
    let f = observe(site(&bed, "/")).await;
    assert_eq!(f["status"], 200);
    let cookies = f["cookies"].as_array().expect("cookies");
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert_eq!(
        cookies[0],
        json!({"name": "__Host-session", "secure": true, "http_only": true, "same_site": "Lax",
            "domain": null, "path": "/", "expires": null, "max_age": null})
    );
    // The Expires date holds a comma; it stays whole.
    assert_eq!(cookies[1]["name"], "theme");
    assert_eq!(cookies[1]["expires"], "Wed, 21 Oct 2037 07:28:00 GMT");
    assert_eq!(cookies[1]["same_site"], "Strict");
    // Values are never reported in `cookies`; the raw header joins with newlines.
    assert!(!f["cookies"].to_string().contains("7f3a9c"));
    assert_eq!(
        f["headers"]["set-cookie"]
            .as_str()
            .map(|s| s.lines().count()),
        Some(2)
    );

    let f = observe(site(&bed, "/staging")).await;
    let c = f["cookies"].as_array().expect("cookies");
    assert_eq!(c[0]["secure"], false);
    assert_eq!(c[0]["same_site"], Value::Null);
    assert_eq!(c[1]["domain"], "web.test");
    assert_eq!(c[1]["max_age"], 31536000);
}

#[tokio::test]
async fn hops_show_every_response_of_the_chain() {
    let bed = Testbed::start().await.expect("testbed");
    let web = bed.web();
    let dns = web.dns().to_string();
    let ca = bed.ca_path().display().to_string();
    // http → https on the same host in one 301.
    let f = observe(
        json!({"url": format!("http://web.test:{}/", web.http_port()),
        "resolvers": [dns], "ca": ca}),
    )
    .await;
    let hops = f["hops"].as_array().expect("hops");
    assert_eq!(hops.len(), 2, "{hops:?}");
    assert_eq!(hops[0]["status"], 301);
    assert_eq!(
        hops[0]["location"],
        format!("https://web.test:{}/", web.https_port())
    );
    assert_eq!(hops[1]["status"], 200);
    assert_eq!(hops[1]["location"], Value::Null);
    assert_eq!(f["redirects"].as_array().map(Vec::len), Some(1));
    assert_eq!(f["security"]["modifiers"]["redirection"]["points"], 0);

    // www → apex, then two 302s on a legacy path.
    let f = observe(
        json!({"url": format!("https://www.web.test:{}/", web.https_port()),
        "resolvers": [dns], "ca": ca}),
    )
    .await;
    assert_eq!(f["hops"][0]["status"], 301);
    assert_eq!(f["url"], format!("https://web.test:{}/", web.https_port()));
    let f = observe(
        json!({"url": format!("http://web.test:{}/old-home", web.http_port()),
        "resolvers": [dns], "ca": ca}),
    )
    .await;
    let statuses: Vec<_> = f["hops"]
        .as_array()
        .expect("hops")
        .iter()
        .map(|h| h["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!(302), json!(302), json!(200)]);
    assert_eq!(
        f["security"]["modifiers"]["redirection"]["test"],
        "redirection-not-to-https-on-initial-redirection"
    );

    // Not following: one hop, the redirect itself.
    let f = observe(
        json!({"url": format!("http://web.test:{}/", web.http_port()),
        "resolvers": [dns], "follow_redirects": false}),
    )
    .await;
    assert_eq!(f["hops"].as_array().map(Vec::len), Some(1));
    assert_eq!(f["status"], 301);
}

#[tokio::test]
async fn security_headers_are_parsed_and_graded() {
    let bed = Testbed::start().await.expect("testbed");
    let f = observe(site(&bed, "/")).await;
    let s = &f["security"];
    assert_eq!(
        s["hsts"],
        json!({"max_age": 63072000, "include_subdomains": true, "preload": true})
    );
    assert_eq!(s["csp"]["script-src"]["sources"], json!(["'self'"]));
    assert_eq!(s["csp"]["script-src"]["unsafe_inline"], false);
    assert_eq!(s["frame_options"], "DENY");
    assert_eq!(s["x_content_type_options"], "nosniff");
    assert_eq!(s["referrer_policy"], "strict-origin-when-cross-origin");
    assert_eq!(s["permissions_policy"]["camera"], json!([]));
    assert_eq!(s["cross_origin_resource_policy"], "same-origin");
    assert_eq!(s["cross_origin_opener_policy"], "same-origin");
    // 100 + hsts 5 + csp 5 + frame-ancestors 5 + referrer 5 + cookies 5.
    assert_eq!(s["score"], 125, "{s}");
    assert_eq!(s["grade"], "A+");
    assert_eq!(f["meta_robots"], "index, follow");

    let f = observe(site(&bed, "/staging")).await;
    let s = &f["security"];
    assert_eq!(s["hsts"], Value::Null);
    assert_eq!(s["csp"]["default-src"]["unsafe_inline"], true);
    assert_eq!(s["csp"]["default-src"]["unsafe_eval"], true);
    assert_eq!(s["csp"]["script-src"]["unsafe_eval"], false);
    assert_eq!(s["frame_options"], Value::Null);
    assert_eq!(s["grade"], "F", "{s}");
    assert_eq!(s["score"], 0);
    assert_eq!(f["meta_robots"], "noindex, nofollow");
    assert_eq!(f["headers"]["x-robots-tag"], "noindex, nofollow");

    // Not HTML: no meta robots.
    let f = observe(site(&bed, "/robots.txt")).await;
    assert_eq!(f["meta_robots"], Value::Null);
    assert!(
        f["body"]
            .as_str()
            .is_some_and(|b| b.contains("Disallow: /admin/"))
    );
}

#[tokio::test]
async fn cors_preflights_show_what_the_server_allows() {
    let bed = Testbed::start().await.expect("testbed");
    let f = observe(with(
        site(&bed, "/api/data"),
        json!({"origin": ALLOWED_ORIGIN, "request_method": "post",
            "request_headers": ["Content-Type"]}),
    ))
    .await;
    assert_eq!(
        f["cors"],
        json!({"allow_origin": ALLOWED_ORIGIN, "allow_credentials": true,
            "allow_methods": ["GET", "POST"], "allow_headers": ["content-type", "authorization"],
            "max_age": 600, "status": 204})
    );
    // The actual request is still made: its facts are the GET's.
    assert_eq!(f["status"], 200);
    // An unknown origin is not reflected.
    let f = observe(with(
        site(&bed, "/api/data"),
        json!({"origin": "https://evil.example"}),
    ))
    .await;
    assert_eq!(f["cors"]["allow_origin"], Value::Null);
    assert_eq!(f["cors"]["allow_credentials"], false);
    // Reflection, and `*` with credentials.
    let f = observe(with(
        site(&bed, "/api/open"),
        json!({"origin": "https://evil.example"}),
    ))
    .await;
    assert_eq!(f["cors"]["allow_origin"], "https://evil.example");
    assert_eq!(f["cors"]["allow_credentials"], true);
    let f = observe(with(
        site(&bed, "/api/wildcard"),
        json!({"origin": "https://evil.example"}),
    ))
    .await;
    assert_eq!(f["cors"]["allow_origin"], "*");
    assert_eq!(f["cors"]["allow_methods"], json!(["*"]));
    assert!(f["cors"]["max_age"].is_null());
}

#[tokio::test]
async fn every_address_is_requested_and_the_old_certificate_shows() {
    let bed = Testbed::start().await.expect("testbed");
    let web = bed.web();
    let f = observe(json!({
        "url": format!("https://{NODES_NAME}:{}/", web.nodes_port()),
        "resolvers": [web.dns().to_string()],
        "ca": bed.ca_path().display().to_string(),
        "addresses": "all",
    }))
    .await;
    let per = f["addresses"].as_object().expect("addresses");
    let keys: Vec<String> = per.keys().cloned().collect();
    let expected: Vec<String> = web.nodes().iter().map(|ip| ip.to_string()).collect();
    assert_eq!(keys, expected);
    for (ip, a) in per {
        assert_eq!(a["status"], 200, "{ip}: {a}");
        assert_eq!(a["error"], Value::Null, "{ip}");
        assert!(a["cert_sha256"].as_str().is_some_and(|h| h.len() == 64));
        assert!(a["latency_ms"].as_f64().is_some());
    }
    let old = &per[&OLD_NODE.to_string()];
    assert_eq!(old["days_left"], i64::from(OLD_NODE_DAYS));
    assert!(
        per["127.0.0.2"]["days_left"]
            .as_i64()
            .is_some_and(|d| d >= 89)
    );
    assert_eq!(f["consistent"], false);
    // The top-level facts are the first address's.
    assert_eq!(f["body"], "node 127.0.0.2");
    assert_eq!(f["days_left"], per["127.0.0.2"]["days_left"]);

    // One dead address: an error for it, facts from the live one.
    let f = observe(json!({
        "url": format!("https://half.web.test:{}/", web.nodes_port()),
        "resolvers": [web.dns().to_string()],
        "insecure": true,
        "addresses": "all",
    }))
    .await;
    assert_eq!(f["consistent"], false);
    let dead = &f["addresses"]["127.0.0.5"];
    assert_eq!(dead["status"], Value::Null);
    assert!(
        dead["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("connection refused by half.web.test:")),
        "{dead}"
    );
    assert_eq!(f["addresses"]["127.0.0.2"]["status"], 200);
    assert_eq!(f["status"], 200);

    // An IP literal is its own one address; alike with itself.
    let f = observe(json!({"url": format!("{}/", web.https_url()),
        "ca": bed.ca_path().display().to_string(), "addresses": "all"}))
    .await;
    assert_eq!(f["consistent"], true);
    assert_eq!(f["addresses"].as_object().map(|m| m.len()), Some(1));

    // A name the resolvers do not know fails the item.
    let f = fails(
        json!({"url": "https://nowhere.web.test/", "addresses": "all",
        "resolvers": [web.dns().to_string()]}),
    )
    .await;
    assert!(
        f.reason()
            .starts_with("failed to resolve nowhere.web.test:"),
        "{f}"
    );
}

#[test]
fn addresses_all_defaults_to_consistent() {
    let p = HttpProbe::new();
    let opts: Options =
        serde_json::from_value(json!({"url": "https://a.example/", "addresses": "all"}))
            .expect("options");
    assert_eq!(
        preflight_core::AnyProbe::default_expect(&p, &opts),
        vec![
            "status >= 200 && status < 300".to_string(),
            "consistent".into()
        ]
    );
    let problems = p.check(
        &serde_json::from_value(json!({"url": "https://a.example/", "addresses": "some",
            "resolve": "127.0.0.1", "resolvers": ["nope"], "origin": "https://a.example/path",
            "request_method": "GE T"}))
        .expect("options"),
    );
    let keys: Vec<_> = problems.iter().filter_map(|p| p.key.clone()).collect();
    assert!(keys.contains(&"addresses".to_string()), "{problems:?}");
    let problems = p.check(
        &serde_json::from_value(json!({"url": "https://a.example/", "resolve": "127.0.0.1",
            "resolvers": ["nope"], "origin": "https://a.example/path",
            "request_method": "GE T", "request_headers": ["bad name"], "addresses": "all"}))
        .expect("options"),
    );
    let keys: Vec<_> = problems.iter().filter_map(|p| p.key.clone()).collect();
    assert_eq!(
        keys,
        vec![
            "origin",
            "request_method",
            "request_headers",
            "resolvers",
            "resolvers",
            "addresses"
        ],
        "{problems:?}"
    );
    let problems = p.check(
        &serde_json::from_value(json!({"url": "https://a.example/", "request_method": "POST"}))
            .expect("options"),
    );
    assert_eq!(
        problems[0].message,
        "`request_method` needs `origin` (it belongs to the CORS preflight)"
    );
}

#[tokio::test]
async fn hostile_answers_fail_with_a_reason_quickly() {
    let bed = Testbed::start().await.expect("testbed");
    for path in ["/hostile/file", "/hostile/chain"] {
        let f = fails(site(&bed, path)).await;
        assert_eq!(
            f.reason(),
            "redirect to a file: URL \"file:///etc/passwd\" (only http and https redirects are followed)",
            "{path}"
        );
        assert!(matches!(
            f.downcast_ref::<Error>(),
            Some(Error::RedirectScheme { .. })
        ));
    }
    let f = fails(site(&bed, "/hostile/scheme")).await;
    assert!(f.reason().starts_with("redirect to a gopher: URL"), "{f}");

    // 10,000 Set-Cookie headers and a 1 MB CSP: the response head is refused, over
    // HTTP/2 (https) and HTTP/1.1 (plain), well within the timeout.
    let web = bed.web();
    for path in ["/hostile/cookies", "/hostile/csp"] {
        for (scheme, port) in [("https", web.https_port()), ("http", web.http_port())] {
            let t0 = Instant::now();
            let o = with(
                site(&bed, path),
                json!({"url": format!("{scheme}://web.test:{port}{path}")}),
            );
            let f = fails(o).await;
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "{scheme}{path}: {:?}",
                t0.elapsed()
            );
            assert!(
                f.reason().starts_with(&format!(
                    "the response headers from web.test:{port} are too large"
                )),
                "{scheme}{path}: {f}"
            );
        }
    }
}
