//! The `dns` probe end to end: the binary against the testbed's DNS servers
//! (`${dns}` primary, `${dns_other}` stale secondary, `${dns_silent}` never answers).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::*;

/// One dns item; `extra` lines appended.
fn dns_item(id: &str, name: &str, extra: &str) -> String {
    format!("[[item]]\nid = \"{id}\"\nprobe = \"dns\"\nname = \"{name}\"\n{extra}\n\n")
}

fn run(env: &Env, items: &str) -> (Option<i32>, serde_json::Value) {
    let f = env.write("dns.toml", &format!("{HEADER}{items}"));
    let o = env.run(&f, &["--format", "json"]);
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    (o.status.code(), json(&o))
}

#[test]
fn example_checklist_passes_against_the_testbed() {
    let env = Env::start();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/dns.toml");
    let o = env.run(&example, &["--format", "json"]);
    let r = json(&o);
    for i in r["items"].as_array().expect("items") {
        assert_eq!(i["status"], "pass", "{i}");
    }
    assert_eq!(r["verdict"], "go");
    assert_eq!(o.status.code(), Some(0));
    let cname = item(&r, "dns.app-cname");
    assert_eq!(cname["facts"]["answers"][0], "demo-app.pages.dev.");
    let prop = item(&r, "dns.propagation");
    assert_eq!(prop["facts"]["consistent"], true);
    assert_eq!(
        prop["facts"]["resolvers"].as_object().expect("map").len(),
        4,
        "two resolvers and two name servers: {prop}"
    );
}

#[test]
fn default_expectation_fails_on_nxdomain_and_servfail_with_the_rcode() {
    let env = Env::start();
    let items = [
        dns_item("ok", "www.demo.test", "resolvers = [\"${dns}\"]"),
        dns_item("nx", "nope.demo.test", "resolvers = [\"${dns}\"]"),
        dns_item(
            "servfail",
            "db.broken.demo.test",
            "resolvers = [\"${dns}\"]",
        ),
        dns_item(
            "gone",
            "nope.demo.test",
            "resolvers = [\"${dns}\"]\nexpect = [\"rcode == 'NXDOMAIN'\"]",
        ),
    ]
    .concat();
    let (code, r) = run(&env, &items);
    assert_eq!(code, Some(1));
    assert_eq!(item(&r, "ok")["status"], "pass");
    assert_eq!(item(&r, "ok")["facts"]["answers"][0], "203.0.113.7");
    let nx = item(&r, "nx");
    assert_eq!(
        nx["status"], "fail",
        "NXDOMAIN is a fact judged by expect, not an error"
    );
    assert_eq!(nx["facts"]["rcode"], "NXDOMAIN");
    assert!(
        nx["reason"]
            .as_str()
            .expect("reason")
            .contains("rcode was \"NXDOMAIN\""),
        "{nx}"
    );
    let sf = item(&r, "servfail");
    assert_eq!(sf["status"], "fail");
    assert!(
        sf["reason"]
            .as_str()
            .expect("reason")
            .contains("rcode was \"SERVFAIL\""),
        "{sf}"
    );
    assert_eq!(item(&r, "gone")["status"], "pass");
}

#[test]
fn disagreeing_resolvers_are_inconsistent() {
    let env = Env::start();
    let items = [
        dns_item(
            "api",
            "api.demo.test",
            "resolvers = [\"${dns}\", \"${dns_other}\"]\nexpect = [\"consistent\"]",
        ),
        dns_item(
            "www",
            "www.demo.test",
            "resolvers = [\"${dns}\", \"${dns_other}\"]\nexpect = [\"consistent\"]",
        ),
        dns_item(
            "missing-key",
            "www.demo.test",
            "resolvers = [\"${dns}\"]\nexpect = [\"resolvers['192.0.2.1'].rcode == 'NOERROR'\"]",
        ),
    ]
    .concat();
    let (_, r) = run(&env, &items);
    let api = item(&r, "api");
    assert_eq!(api["status"], "fail");
    assert_eq!(api["reason"], "consistent — consistent was false");
    let other = env
        .bed
        .vars()
        .into_iter()
        .find(|(k, _)| k == "dns_other")
        .expect("dns_other var")
        .1;
    assert_eq!(
        api["facts"]["resolvers"][&other]["answers"][0],
        "198.51.100.10"
    );
    assert_eq!(
        api["facts"]["answers"][0], "203.0.113.10",
        "top level is the first resolver's"
    );
    assert_eq!(item(&r, "www")["status"], "pass");
    let missing = item(&r, "missing-key");
    assert_eq!(missing["status"], "fail");
    assert!(
        missing["reason"]
            .as_str()
            .expect("reason")
            .contains("192.0.2.1"),
        "{missing}"
    );
}

#[test]
fn authoritative_catches_a_stale_name_server() {
    let env = Env::start();
    let items = dns_item(
        "prop",
        "api.demo.test",
        "resolvers = [\"${dns}\"]\nauthoritative = true\nexpect = [\"consistent\"]",
    );
    let (_, r) = run(&env, &items);
    let prop = item(&r, "prop");
    assert_eq!(prop["status"], "fail");
    let keys: Vec<&String> = prop["facts"]["resolvers"]
        .as_object()
        .expect("map")
        .keys()
        .collect();
    assert_eq!(keys.len(), 3, "{prop}");
    assert!(
        keys[1].starts_with("ns1.demo.test. (127.0.0.1:"),
        "{keys:?}"
    );
    assert!(
        keys[2].starts_with("ns2.demo.test. (127.0.0.2:"),
        "{keys:?}"
    );
}

#[test]
fn a_silent_resolver_fails_within_the_item_timeout() {
    let env = Env::start();
    let items = [
        dns_item(
            "silent",
            "demo.test",
            "resolvers = [\"${dns_silent}\"]\ntimeout = \"5s\"",
        ),
        dns_item(
            "short",
            "demo.test",
            "resolvers = [\"${dns_silent}\"]\ntimeout = \"1s\"",
        ),
    ]
    .concat();
    let t0 = Instant::now();
    let (_, r) = run(&env, &items);
    let took = t0.elapsed();
    let silent = item(&r, "silent");
    assert_eq!(silent["status"], "fail");
    let reason = silent["reason"].as_str().expect("reason");
    assert!(
        reason.starts_with("resolver 127.0.0.1:") && reason.ends_with("did not answer within 3s"),
        "{reason}"
    );
    assert_eq!(item(&r, "short")["reason"], "timed out after 1s");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn bad_options_are_checklist_errors() {
    let env = Env::start();
    let items = dns_item(
        "bad",
        "demo.test",
        "type = \"PTR\"\nresolvers = [\"dns.example\"]",
    );
    let f = env.write("bad.toml", &format!("{HEADER}{items}"));
    let o = preflight(&["check", f.to_str().expect("utf8")], &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("unsupported record type \"PTR\""), "{err}");
    assert!(
        err.contains("\"dns.example\" is not an IP address"),
        "{err}"
    );
}
