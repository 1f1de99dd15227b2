//! Web checks and the websocket probe through the binary (issue #18): the demo shows a
//! pass and an informative failure for each new fact, and hostile targets fail their
//! items with a reason within their timeout.

use std::time::{Duration, Instant};

use crate::support::*;

/// Every new fact has a passing demo item and a failing one whose reason shows it.
#[test]
fn demo_shows_each_web_fact_passing_and_failing() {
    let o = preflight(&["demo", "--format", "json"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The verdict is not asserted here: it hangs on latency budgets of other items
    // (engine::demo_runs_the_testbed_sweep checks it).
    let r = json(&o);
    for id in [
        "site.https-redirect",
        "site.www-apex",
        "site.headers",
        "site.cookies",
        "site.cors",
        "site.cors-app",
        "site.robots",
        "site.indexable",
        "site.sitemap",
        "site.nodes",
        "ws.echo",
        "ws.greet",
    ] {
        assert_eq!(item(&r, id)["status"], "pass", "{id}: {}", item(&r, id));
    }
    let reason = |id: &str| {
        let it = item(&r, id);
        assert_eq!(it["status"], "fail", "{id}: {it}");
        it["reason"].as_str().unwrap_or_default().to_string()
    };
    let shows = [
        ("bad.web-hops", "hops[0].status was 302"),
        ("bad.web-headers", "security.grade was \"F\""),
        (
            "bad.web-cookies",
            "cookies was [{\"name\":\"session\",\"secure\":false",
        ),
        (
            "bad.web-cors-reflect",
            "cors.allow_origin was \"https://evil.example\"",
        ),
        ("bad.web-cors-wildcard", "cors.allow_credentials was true"),
        ("bad.web-noindex", "meta_robots was \"noindex, nofollow\""),
        ("bad.web-robots", "Disallow: /\\n"),
        ("bad.web-sitemap", "status was 404"),
        ("bad.web-nodes", "addresses['127.0.0.4'].days_left was 5"),
        ("bad.web-nodes", "consistent was false"),
        (
            "bad.web-file-redirect",
            "redirect to a file: URL \"file:///etc/passwd\"",
        ),
        (
            "bad.ws-refused",
            "connected was false; status == 101 — status was 301",
        ),
        ("bad.ws-subprotocol", "subprotocol was null"),
        ("bad.ws-subprotocol", "latency_ms was "),
        (
            "bad.ws-policy",
            "message was null; close_code == 1000 — close_code was 1008",
        ),
        ("bad.ws-flood", "a message longer than 1 MiB"),
    ];
    // The runner's timeout and the probe's handshake deadline are the same 1s.
    let stall = reason("bad.ws-stall");
    assert!(
        stall == "timed out after 1s" || stall.ends_with("did not complete within 1s"),
        "{stall}"
    );
    for (id, text) in shows {
        let why = reason(id);
        assert!(why.contains(text), "{id}: {why}");
    }
    // The facts behind them are in the report.
    let nodes = &item(&r, "site.nodes")["facts"]["addresses"];
    assert!(nodes.as_object().is_some_and(|m| m.len() >= 3), "{nodes}");
    assert_eq!(item(&r, "site.headers")["facts"]["security"]["grade"], "A+");
}

#[test]
fn hostile_web_targets_fail_within_their_timeout() {
    let env = Env::start();
    let web = env.bed.web();
    let item = |id: &str, probe: &str, url: String, extra: &str| {
        format!(
            "[[item]]\nid = \"{id}\"\nprobe = \"{probe}\"\nurl = \"{url}\"\ntimeout = \"2s\"\n{extra}\n"
        )
    };
    let site = |path: &str| format!("https://web.test:{}{path}", web.https_port());
    let res = format!(
        "resolvers = [\"{}\"]\nca = \"{}\"",
        web.dns(),
        env.bed.ca_path().display()
    );
    let ws = env.bed.websocket();
    let text = format!(
        "[checklist]\nname = \"hostile\"\n\n{}{}{}{}{}{}{}",
        item("cookies", "http", site("/hostile/cookies"), &res),
        item("csp", "http", site("/hostile/csp"), &res),
        item("file", "http", site("/hostile/file"), &res),
        item("gopher", "http", site("/hostile/scheme"), &res),
        item("stall", "websocket", format!("{}/echo", ws.stall_url()), ""),
        item(
            "flood",
            "websocket",
            format!("{}/flood", ws.ws_url()),
            "expect_message = \"1s\""
        ),
        item(
            "chatter",
            "websocket",
            format!("{}/chatter", ws.ws_url()),
            "expect_message = \"1s\""
        ),
    );
    let f = env.write("hostile.toml", &text);
    let t0 = Instant::now();
    let o = env.run(&f, &["--format", "json"]);
    assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
    let r = json(&o);
    let why = |id: &str| {
        let it = crate::support::item(&r, id);
        assert_eq!(it["status"], "fail", "{id}: {it}");
        assert!(
            it["duration_ms"].as_f64().is_some_and(|d| d < 3500.0),
            "{id}: {it}"
        );
        it["reason"].as_str().unwrap_or_default().to_string()
    };
    assert!(
        why("cookies").contains("are too large"),
        "{}",
        why("cookies")
    );
    assert!(why("csp").contains("are too large"), "{}", why("csp"));
    assert!(
        why("file").starts_with("redirect to a file: URL"),
        "{}",
        why("file")
    );
    assert!(
        why("gopher").starts_with("redirect to a gopher: URL"),
        "{}",
        why("gopher")
    );
    let stall = why("stall");
    assert!(
        stall.contains("did not complete within 2s") || stall == "timed out after 2s",
        "{stall}"
    );
    assert!(why("flood").contains("longer than 1 MiB"));
    // Endless small messages: the first is the fact, the item passes.
    let chatter = crate::support::item(&r, "chatter");
    assert_eq!(chatter["status"], "pass", "{chatter}");
}
