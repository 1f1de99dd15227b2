//! The dns probe's mail and DNSSEC facts against real servers on loopback: the
//! testbed's hickory-server zones `mail.test.` (SPF, DMARC, DKIM, Null MX) and the
//! signed `signed.test.`, and Debian's `unbound` as a validating resolver that trusts
//! the testbed's key.

use std::time::Duration;

use preflight_core::{AnyProbe, Context, Facts, Failure, Options, Probe};
use preflight_probe_dns::{DnsProbe, Error};
use preflight_testbed::dns::DnsServers;
use preflight_testbed::mailzone::SIGNED_ADDR;
use preflight_testbed::trial;
use serde_json::{Value, json};

async fn observe(options: Value) -> Result<Facts, Failure> {
    trial::attempt(
        &DnsProbe::new(),
        options,
        &Context::new(Duration::from_secs(10)),
    )
    .await
}

async fn ask(dns: &DnsServers, extra: Value) -> Facts {
    let mut o = json!({"resolvers": [dns.primary().to_string()]});
    for (k, v) in extra.as_object().expect("object") {
        o[k] = v.clone();
    }
    observe(o.clone())
        .await
        .unwrap_or_else(|e| panic!("{o}: {}", e.reason()))
}

#[tokio::test]
async fn spf_is_read_and_counted_through_includes() {
    let dns = DnsServers::start().await.expect("dns");
    let f = ask(&dns, json!({"name": "mail.test", "type": "TXT"})).await;
    assert_eq!(
        f["spf"],
        json!({
            "records": 1,
            "all": "~all",
            "mechanisms": ["mx", "a:out.mail.test", "ip4:192.0.2.0/24", "include:_spf.mail.test", "~all"],
            "includes": ["_spf.mail.test", "_spf2.mail.test"],
            "redirect": null,
            "lookups": 5,
            "lookups_exceeded": false,
            "errors": []
        })
    );
    assert_eq!(
        f["answers"].as_array().map(Vec::len),
        Some(2),
        "both TXT records stay answers"
    );
    assert!(!f.contains_key("dmarc") && !f.contains_key("mx"), "{f:?}");

    let f = ask(&dns, json!({"name": "many.mail.test", "type": "TXT"})).await;
    assert_eq!(f["spf"]["lookups"], 11);
    assert_eq!(f["spf"]["lookups_exceeded"], true);

    let f = ask(&dns, json!({"name": "loop.mail.test", "type": "TXT"})).await;
    assert_eq!(
        f["spf"]["errors"],
        json!(["include loop: loop.mail.test → loop2.mail.test → loop.mail.test"])
    );

    let f = ask(&dns, json!({"name": "two.mail.test", "type": "TXT"})).await;
    assert_eq!(f["spf"]["records"], 2);

    let f = ask(&dns, json!({"name": "redirect.mail.test", "type": "TXT"})).await;
    assert_eq!(
        (
            f["spf"]["all"].as_str(),
            f["spf"]["redirect"].as_str(),
            f["spf"]["lookups"].as_u64()
        ),
        (Some("-all"), Some("_spf.mail.test"), Some(3))
    );

    let f = ask(&dns, json!({"name": "dangling.mail.test", "type": "TXT"})).await;
    assert_eq!(
        f["spf"]["errors"],
        json!(["include:nothing.mail.test: no SPF record there"])
    );
    let f = ask(&dns, json!({"name": "open.mail.test", "type": "TXT"})).await;
    assert_eq!(f["spf"]["all"], "+all");

    // A TXT name without SPF: the fact is there, null.
    let f = ask(&dns, json!({"name": "nothing.mail.test", "type": "TXT"})).await;
    assert_eq!(f["spf"], Value::Null);
    // An include the resolver cannot answer (outside its zones): REFUSED, an error.
    let f = ask(&dns, json!({"name": "demo.test", "type": "TXT"})).await;
    assert_eq!(
        f["spf"]["errors"],
        json!([
            "include:_spf.google.com: REFUSED",
            "include:amazonses.com: REFUSED"
        ])
    );
}

#[tokio::test]
async fn dmarc_and_dkim_are_read_from_their_names() {
    let dns = DnsServers::start().await.expect("dns");
    let f = ask(
        &dns,
        json!({"name": "mail.test", "type": "MX", "dmarc": true, "dkim_selector": "sel"}),
    )
    .await;
    assert_eq!(
        f["dmarc"],
        json!({"records": 1, "p": "quarantine", "sp": "reject", "pct": 50,
               "rua": ["mailto:dmarc@mail.test", "mailto:agg@report.test"],
               "ruf": ["mailto:forensic@mail.test"], "adkim": "s", "aspf": "r"})
    );
    assert_eq!(
        f["dkim"],
        json!({"present": true, "revoked": false, "key_type": "rsa", "key_bits": 2048})
    );
    assert_eq!(
        f["mx"],
        json!([{"preference": 10, "exchange": "mx1.mail.test."}])
    );
    assert_eq!(f["null_mx"], false);
    assert_eq!(
        f["answers"],
        json!(["10 mx1.mail.test."]),
        "strings stay as they were"
    );
    assert!(!f.contains_key("spf"), "spf only for TXT questions");

    // The record's own name, asked directly.
    let f = ask(
        &dns,
        json!({"name": "_dmarc.none.mail.test", "type": "TXT"}),
    )
    .await;
    assert_eq!(f["dmarc"]["p"], "none");
    let f = ask(
        &dns,
        json!({"name": "ed._domainkey.mail.test", "type": "TXT"}),
    )
    .await;
    assert_eq!(
        (
            f["dkim"]["key_type"].as_str(),
            f["dkim"]["key_bits"].as_u64()
        ),
        (Some("ed25519"), Some(256))
    );

    for (selector, want) in [
        (
            "old",
            json!({"present": true, "revoked": false, "key_type": "rsa", "key_bits": 1024}),
        ),
        (
            "revoked",
            json!({"present": false, "revoked": true, "key_type": "rsa", "key_bits": null}),
        ),
        (
            "missing",
            json!({"present": false, "revoked": false, "key_type": null, "key_bits": null}),
        ),
    ] {
        let f = ask(
            &dns,
            json!({"name": "mail.test", "dkim_selector": selector}),
        )
        .await;
        assert_eq!(f["dkim"], want, "{selector}");
    }
    // No DMARC record: null (the name does not exist).
    let f = ask(
        &dns,
        json!({"name": "nomail.mail.test", "type": "MX", "dmarc": true}),
    )
    .await;
    assert_eq!(f["dmarc"], Value::Null);
    assert_eq!(f["mx"], json!([{"preference": 0, "exchange": "."}]));
    assert_eq!(f["null_mx"], true);
}

#[tokio::test]
async fn a_silent_resolver_during_an_extra_question_fails_the_item() {
    let dns = DnsServers::start().await.expect("dns");
    // The silent port never answers anything: the main question fails first.
    let e = observe(
        json!({"name": "mail.test", "dmarc": true, "resolvers": [dns.silent().to_string()]}),
    )
    .await
    .expect_err("silent");
    assert!(e.is_target(), "{e:?}");
    assert!(matches!(
        e.downcast_ref::<Error>(),
        Some(Error::Unanswered(_))
    ));
}

#[tokio::test]
async fn default_expectations_follow_the_options() {
    let o = |v: Value| -> Options { serde_json::from_value(v).expect("object") };
    let e = <DnsProbe as Probe>::default_expect(&o(
        json!({"name": "x.test", "type": "txt", "dmarc": true, "dkim_selector": "s", "dnssec": true}),
    ));
    assert_eq!(
        e,
        vec![
            "rcode == \"NOERROR\" && answers.size() > 0",
            "spf == null || (spf.records == 1 && spf.errors.size() == 0 && !spf.lookups_exceeded)",
            "dmarc != null",
            "dkim.present",
            "dnssec.ad",
        ]
    );
    let e = <DnsProbe as Probe>::default_expect(&o(json!({"name": "x.test", "dmarc": false})));
    assert_eq!(e.len(), 1);
    let problems = DnsProbe::new().check(&o(json!({"name": "x.test", "dkim_selector": "sel."})));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].key.as_deref(), Some("dkim_selector"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnssec_is_validated_by_a_resolver_that_trusts_the_zone() {
    let dns = DnsServers::start().await.expect("dns");
    let (primary, anchor) = (dns.primary(), dns.trust_anchor().to_string());
    let unbound = tokio::task::spawn_blocking(move || {
        preflight_testbed::unbound::Resolver::start(primary, &[&anchor])
    })
    .await
    .expect("join")
    .expect("unbound (Debian's unbound)");
    let resolver = unbound.addr().to_string();

    let f = observe(json!({"name": "www.signed.test", "dnssec": true, "resolvers": [resolver]}))
        .await
        .unwrap_or_else(|e| panic!("{}\n{}", e.reason(), unbound.log()));
    assert_eq!(
        f["answers"],
        json!([SIGNED_ADDR]),
        "{f:?}\n{}",
        unbound.log()
    );
    assert_eq!(
        f["dnssec"],
        json!({"ad": true, "rrsig": true}),
        "{}",
        unbound.log()
    );

    // The unsigned zone through the same resolver: insecure, no signatures.
    let f = observe(
        json!({"name": "mail.test", "type": "MX", "dnssec": true, "resolvers": [resolver]}),
    )
    .await
    .unwrap_or_else(|e| panic!("{}", e.reason()));
    assert_eq!(f["dnssec"], json!({"ad": false, "rrsig": false}));

    // The authoritative server itself signs but does not validate: rrsig without ad.
    let f = observe(json!({"name": "www.signed.test", "dnssec": true, "resolvers": [dns.primary().to_string()]}))
        .await
        .unwrap_or_else(|e| panic!("{}", e.reason()));
    assert_eq!(f["dnssec"], json!({"ad": false, "rrsig": true}));

    // A resolver with a wrong anchor: the answer is bogus, SERVFAIL, never AD.
    let primary = dns.primary();
    let wrong = tokio::task::spawn_blocking(move || {
        preflight_testbed::unbound::Resolver::start(
            primary,
            &["signed.test. DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="],
        )
    })
    .await
    .expect("join")
    .expect("unbound");
    let f = observe(
        json!({"name": "www.signed.test", "dnssec": true, "resolvers": [wrong.addr().to_string()]}),
    )
    .await
    .unwrap_or_else(|e| panic!("{}", e.reason()));
    assert_eq!(f["rcode"], "SERVFAIL", "{f:?}");
    assert_eq!(f["dnssec"]["ad"], false);
}
