//! The dns probe against real DNS servers on loopback (the testbed's hickory-server
//! zone `demo.test.`): answers, rcodes, consistency, authoritative checks, silence.

use std::time::{Duration, Instant};

use preflight_core::{Context, Facts, Failure};
use preflight_probe_dns::{DnsProbe, Error, Server, Silence, Unanswered};
use preflight_testbed::dns::{API_ADDR, API_ADDR_STALE, DnsServers};
use preflight_testbed::trial;
use serde_json::{Value, json};

/// Checks, prepares and observes like the runner; facts, whenever there are some,
/// match [`DnsProbe::FACTS`].
async fn observe(options: Value) -> Result<Facts, Failure> {
    trial::attempt(
        &DnsProbe::new(),
        options,
        &Context::new(Duration::from_secs(10)),
    )
    .await
}

async fn facts(dns: &DnsServers, name: &str, rtype: &str) -> Facts {
    observe(json!({"name": name, "type": rtype, "resolvers": [dns.primary().to_string()]}))
        .await
        .unwrap_or_else(|e| panic!("{name} {rtype}: {e:?}"))
}

fn answers(f: &Facts) -> Vec<String> {
    serde_json::from_value(f["answers"].clone()).expect("answers is a list of strings")
}

#[tokio::test]
async fn answers_in_presentation_format() {
    let dns = DnsServers::start().await.expect("dns servers");
    let a = facts(&dns, "demo.test", "A").await;
    assert_eq!(a["rcode"], "NOERROR");
    assert_eq!(answers(&a), ["203.0.113.7"]);
    assert_eq!(a["ttl"], 300);
    assert!(a["latency_ms"].as_f64().expect("latency") >= 0.0);
    assert_eq!(a["consistent"], true);

    let aaaa = facts(&dns, "demo.test.", "AAAA").await;
    assert_eq!(answers(&aaaa), ["2001:db8::7"]);

    let cname = facts(&dns, "app.demo.test", "CNAME").await;
    assert_eq!(answers(&cname), ["demo-app.pages.dev."]);

    let mut txt = answers(&facts(&dns, "demo.test", "TXT").await);
    txt.sort();
    assert_eq!(
        txt,
        [
            "google-site-verification=demo-testbed",
            "v=spf1 include:_spf.google.com include:amazonses.com -all"
        ]
    );
    let dkim = answers(&facts(&dns, "google._domainkey.demo.test", "TXT").await);
    assert_eq!(
        dkim,
        [
            "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtestbedDemoKeyMaterialNotARealKeyIDAQAB"
        ]
    );
    let dmarc = answers(&facts(&dns, "_dmarc.demo.test", "txt").await);
    assert_eq!(dmarc, ["v=DMARC1; p=reject; rua=mailto:dmarc@demo.test"]);

    let mut mx = answers(&facts(&dns, "demo.test", "MX").await);
    mx.sort();
    assert_eq!(mx, ["10 mx1.demo.test.", "20 mx2.demo.test."]);

    let mut caa = answers(&facts(&dns, "demo.test", "CAA").await);
    caa.sort();
    assert_eq!(caa, ["0 issue \"letsencrypt.org\"", "0 issuewild \";\""]);

    let mut ns = answers(&facts(&dns, "demo.test", "NS").await);
    ns.sort();
    assert_eq!(ns, ["ns1.demo.test.", "ns2.demo.test."]);

    let soa = answers(&facts(&dns, "demo.test", "SOA").await);
    assert_eq!(
        soa,
        ["ns1.demo.test. hostmaster.demo.test. 2026111502 3600 600 86400 300"]
    );

    let srv = answers(&facts(&dns, "_sip._tcp.demo.test", "SRV").await);
    assert_eq!(srv, ["10 5 5060 sip.demo.test."]);
}

#[tokio::test]
async fn an_a_question_on_a_cname_reports_only_addresses() {
    let dns = DnsServers::start().await.expect("dns servers");
    // The authoritative server knows only the CNAME: no A records of its own.
    let f = facts(&dns, "app.demo.test", "A").await;
    assert_eq!(f["rcode"], "NOERROR");
    assert_eq!(answers(&f), Vec::<String>::new());
    assert_eq!(f["ttl"], Value::Null);
}

#[tokio::test]
async fn nxdomain_and_servfail_are_facts() {
    let dns = DnsServers::start().await.expect("dns servers");
    let nx = facts(&dns, "nope.demo.test", "A").await;
    assert_eq!(nx["rcode"], "NXDOMAIN");
    assert_eq!(answers(&nx), Vec::<String>::new());

    let nodata = facts(&dns, "www.demo.test", "MX").await;
    assert_eq!(nodata["rcode"], "NOERROR");
    assert_eq!(answers(&nodata), Vec::<String>::new());

    let servfail = facts(&dns, "db.broken.demo.test", "A").await;
    assert_eq!(servfail["rcode"], "SERVFAIL");

    // Not this server's zone: it refuses.
    let refused = facts(&dns, "example.org", "A").await;
    assert_eq!(refused["rcode"], "REFUSED");
}

#[tokio::test]
async fn disagreeing_resolvers_are_not_consistent() {
    let dns = DnsServers::start().await.expect("dns servers");
    let primary = dns.primary().to_string();
    let other = dns.secondary().to_string();
    let f = observe(json!({"name": "api.demo.test", "resolvers": [primary, other]}))
        .await
        .expect("facts");
    assert_eq!(f["consistent"], false);
    assert_eq!(answers(&f), [API_ADDR], "top level is the first resolver's");
    assert_eq!(f["ttl"], 60);
    assert_eq!(f["resolvers"][&primary]["answers"], json!([API_ADDR]));
    assert_eq!(f["resolvers"][&other]["answers"], json!([API_ADDR_STALE]));
    assert_eq!(f["resolvers"][&other]["rcode"], "NOERROR");

    let f = observe(json!({"name": "www.demo.test", "resolvers": [primary, other]}))
        .await
        .expect("facts");
    assert_eq!(f["consistent"], true);
    assert_eq!(f["resolvers"].as_object().expect("map").len(), 2);
}

#[tokio::test]
async fn authoritative_asks_every_name_server_of_the_zone() {
    let dns = DnsServers::start().await.expect("dns servers");
    let port = dns.primary().port();
    let primary = dns.primary().to_string();
    let ns1 = format!("ns1.demo.test. (127.0.0.1:{port})");
    let ns2 = format!("ns2.demo.test. (127.0.0.2:{port})");

    // A name below the apex: the zone is found by walking up to demo.test.
    let f =
        observe(json!({"name": "www.demo.test", "resolvers": [primary], "authoritative": true}))
            .await
            .expect("facts");
    let keys: Vec<&String> = f["resolvers"].as_object().expect("map").keys().collect();
    assert_eq!(keys, [&primary, &ns1, &ns2]);
    assert_eq!(f["consistent"], true);

    // The stale name server still serves the old address: propagation not done.
    let f =
        observe(json!({"name": "api.demo.test", "resolvers": [primary], "authoritative": true}))
            .await
            .expect("facts");
    assert_eq!(f["consistent"], false);
    assert_eq!(f["resolvers"][&ns2]["answers"], json!([API_ADDR_STALE]));
    assert_eq!(f["resolvers"][&ns1]["answers"], json!([API_ADDR]));
}

#[tokio::test]
async fn a_silent_server_fails_the_item_with_its_address() {
    let dns = DnsServers::start().await.expect("dns servers");
    let silent = dns.silent().to_string();
    let t0 = Instant::now();
    let e = observe(json!({"name": "demo.test", "resolvers": [silent]}))
        .await
        .expect_err("no answer");
    let waited = t0.elapsed();
    assert!(e.is_target() && e.is_timeout(), "{e:?}");
    assert_eq!(
        e.reason(),
        format!("resolver {silent} did not answer within 3s")
    );
    match e.downcast_ref::<Error>() {
        Some(Error::Unanswered(all)) => assert_eq!(
            all,
            &[Unanswered {
                server: Server::Resolver(silent.clone()),
                silence: Silence::Timeout
            }]
        ),
        other => panic!("{other:?}"),
    }
    assert!(
        waited >= Duration::from_secs(3) && waited < Duration::from_secs(5),
        "{waited:?}"
    );

    // One silent resolver among answering ones still fails the item, naming it.
    let e = observe(json!({"name": "demo.test", "resolvers": [dns.primary().to_string(), silent]}))
        .await
        .expect_err("one resolver silent");
    assert!(e.is_target() && e.reason().contains(&silent), "{e:?}");
}

#[tokio::test]
async fn a_closed_port_fails_fast() {
    // 127.0.0.3: no testbed DNS server binds there, so the freed port stays closed.
    let closed = std::net::UdpSocket::bind("127.0.0.3:0")
        .and_then(|s| s.local_addr())
        .expect("free port");
    let t0 = Instant::now();
    let e = observe(json!({"name": "demo.test", "resolvers": [closed.to_string()]}))
        .await
        .expect_err("nothing listens");
    assert!(
        e.is_target() && e.reason().contains(&closed.to_string()),
        "{e:?}"
    );
    assert!(t0.elapsed() < Duration::from_secs(4));
}

/// A UDP server that answers every question with bytes that are not DNS.
async fn garbage_server() -> std::net::SocketAddr {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = socket.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            // Same ID as the question, then noise that does not parse.
            let mut reply = buf[..2.min(n)].to_vec();
            reply.extend_from_slice(&[0xff; 7]);
            let _ = socket.send_to(&reply, from).await;
            let _ = socket.send_to(b"\x00", from).await;
        }
    });
    addr
}

#[tokio::test]
async fn garbage_answers_fail_the_item_without_hanging() {
    let addr = garbage_server().await;
    let t0 = Instant::now();
    let e = observe(json!({"name": "demo.test", "resolvers": [addr.to_string()]}))
        .await
        .expect_err("garbage is no answer");
    assert!(
        e.is_target() && e.reason().starts_with(&format!("resolver {addr} ")),
        "{e:?}"
    );
    assert!(!e.is_timeout(), "{e:?}");
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
}
