//! No false GO (issue #11): in every probe, a step that fails while later steps
//! succeed fails the item by default, with a reason naming the step. Each test runs
//! the binary against a real server on loopback with the probe's default expectations
//! (no `expect`), as a new user would write the item.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use preflight_testbed::postgres::Cluster;

use crate::support::*;

const TOP: &str = "[checklist]\nname = \"steps\"\ntimeout = \"5s\"\n\n";

/// Runs the checklist `text` (written to a temp dir) with `--format json` and extra
/// environment; returns the report.
fn run_json(text: &str, envs: &[(&str, &str)]) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("steps.toml");
    std::fs::write(&f, text).expect("write");
    let mut cmd = Command::new(bin());
    cmd.arg("run")
        .arg(&f)
        .args(["--no-progress", "--no-history", "--format", "json"]);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let o = cmd.output().expect("run preflight");
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    json(&o)
}

/// The item's status and reason.
fn verdict(report: &serde_json::Value, id: &str) -> (String, String) {
    let i = item(report, id);
    (
        i["status"].as_str().expect("status").to_string(),
        i["reason"].as_str().unwrap_or_default().to_string(),
    )
}

/// Asserts the item failed and its reason holds every one of `words`.
fn fails_naming(report: &serde_json::Value, id: &str, words: &[&str]) -> String {
    let (status, reason) = verdict(report, id);
    assert_eq!(status, "fail", "{id}: {reason}\n{report}");
    for w in words {
        assert!(reason.contains(w), "{id}: {w:?} not in {reason:?}");
    }
    reason
}

/// A process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

fn wait_for_port(port: u16, child: &mut Child) {
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the server exited at start: {status}");
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "no server on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn redis_wrong_password_or_database_fails_though_the_default_user_answers() {
    // A fresh server's `default` user needs no password; `app` has one. The wrong
    // password used to pass: AUTH was refused, then PING answered as `default`.
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let mut child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--dir", &dir.path().display().to_string()])
        .args(["--user", "app", "on", ">app-pw-2f81c0", "~*", "&*", "+@all"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server must be installed (scripts/test.sh installs it)");
    wait_for_port(port, &mut child);
    let _srv = Proc(child);
    let text = format!(
        "{TOP}[[item]]\nid = \"redis.wrong-password\"\nprobe = \"redis\"\nurl = \"redis://app:Wr0ngPassw0rd@127.0.0.1:{port}\"\n\n\
         [[item]]\nid = \"redis.wrong-db\"\nprobe = \"redis\"\nurl = \"redis://app:app-pw-2f81c0@127.0.0.1:{port}/99\"\n\n\
         [[item]]\nid = \"redis.ok\"\nprobe = \"redis\"\nurl = \"redis://app:app-pw-2f81c0@127.0.0.1:{port}/1\"\n"
    );
    let r = run_json(&text, &[]);
    let reason = fails_naming(
        &r,
        "redis.wrong-password",
        &["authenticated was false", "AUTH: WRONGPASS"],
    );
    assert!(!reason.contains("Wr0ngPassw0rd"), "{reason}");
    assert_eq!(
        item(&r, "redis.wrong-password")["facts"]["pong"],
        false,
        "nothing after the refused AUTH is asked"
    );
    fails_naming(&r, "redis.wrong-db", &["SELECT 99: ERR"]);
    assert_eq!(verdict(&r, "redis.ok").0, "pass", "{r}");
    assert!(!r.to_string().contains("app-pw-2f81c0"), "{r}");
}

#[test]
fn postgres_wrong_password_wrong_database_and_tls_required_of_a_plain_server() {
    let own = Cluster::start().expect("PostgreSQL starts (scripts/test.sh installs it)");
    own.psql("ALTER SYSTEM SET ssl = off").expect("ssl off");
    own.psql("SELECT pg_reload_conf()").expect("reload");
    let t0 = Instant::now();
    while own.psql("SHOW ssl").expect("show").trim() != "off" {
        assert!(t0.elapsed() < Duration::from_secs(10), "ssl stays on");
        std::thread::sleep(Duration::from_millis(50));
    }
    let good = own.dsn();
    let wrong_pw = good.replacen(own.password(), "N0tThePassw0rd", 1);
    let wrong_db = format!("{}/no_such_db", good.rsplit_once('/').expect("db").0);
    let text = format!(
        "{TOP}[[item]]\nid = \"db.wrong-password\"\nprobe = \"postgres\"\ndsn = \"${{env:PF_WRONG_PW}}\"\n\n\
         [[item]]\nid = \"db.wrong-database\"\nprobe = \"postgres\"\ndsn = \"${{env:PF_WRONG_DB}}\"\n\n\
         [[item]]\nid = \"db.tls-required\"\nprobe = \"postgres\"\ndsn = \"${{env:PF_GOOD}}\"\nsslmode = \"require\"\n\n\
         [[item]]\nid = \"db.plain\"\nprobe = \"postgres\"\ndsn = \"${{env:PF_GOOD}}\"\n"
    );
    let envs = [
        ("PF_WRONG_PW", wrong_pw.as_str()),
        ("PF_WRONG_DB", wrong_db.as_str()),
        ("PF_GOOD", good.as_str()),
    ];
    let r = run_json(&text, &envs);
    fails_naming(&r, "db.wrong-password", &["password authentication failed"]);
    fails_naming(
        &r,
        "db.wrong-database",
        &["database \"no_such_db\" does not exist"],
    );
    fails_naming(
        &r,
        "db.tls-required",
        &["error performing TLS handshake: server does not support TLS"],
    );
    // sslmode defaults to prefer: a plain session, and `ssl` says so.
    assert_eq!(verdict(&r, "db.plain").0, "pass", "{r}");
    assert_eq!(item(&r, "db.plain")["facts"]["ssl"], false);
    let all = r.to_string();
    assert!(
        !all.contains(own.password()) && !all.contains("N0tThePassw0rd"),
        "{all}"
    );
}

#[test]
fn http_tls_error_on_a_redirect_hop_and_failed_samples_fail() {
    let env = Env::start();
    let expired = env.bed.tls().expired;
    let text = format!(
        "{HEADER}[[item]]\nid = \"web.hop\"\nprobe = \"http\"\nurl = \"${{api_plain}}/redirect-to?url=https://127.0.0.1:{}/\"\nca = \"${{ca}}\"\n\n\
         [[item]]\nid = \"web.samples\"\nprobe = \"http\"\nurl = \"${{api_plain}}/flaky/steps-samples/2\"\nsamples = 8\n",
        expired.port()
    );
    let f = env.write("web.toml", &text);
    let o = env.run(&f, &["--format", "json", "--no-history"]);
    let r = json(&o);
    fails_naming(
        &r,
        "web.hop",
        &[&format!(
            "at redirect 1: TLS handshake with 127.0.0.1:{} failed",
            expired.port()
        )],
    );
    // Two of the eight samples got a 503: the answers that came back 200 do not hide them.
    fails_naming(
        &r,
        "web.samples",
        &["error_rate == 0.0 — error_rate was 0.25"],
    );
}

#[test]
fn webhook_signed_event_refused_while_forgeries_are_rejected_fails() {
    let env = Env::start();
    let text = format!(
        "{HEADER}[[item]]\nid = \"wh.refused\"\nprobe = \"webhook\"\nurl = \"${{api}}/wh/github\"\nca = \"${{ca}}\"\nscheme = \"github\"\nsecret = \"not-the-receivers-secret\"\n"
    );
    let f = env.write("wh.toml", &text);
    let r = json(&env.run(&f, &["--format", "json", "--no-history"]));
    fails_naming(&r, "wh.refused", &["signed.status", "was 401"]);
    let i = item(&r, "wh.refused");
    assert_eq!(i["facts"]["unsigned"]["status"], 401, "{i}");
    assert_eq!(i["facts"]["tampered"]["status"], 401, "{i}");
}

#[test]
fn prometheus_error_with_a_200_and_a_partial_answer_fail() {
    let env = Env::start();
    let text = format!(
        "{HEADER}[[item]]\nid = \"prom.error200\"\nprobe = \"prometheus\"\nurl = \"${{api_plain}}/prom/error200\"\nquery = \"up\"\n\n\
         [[item]]\nid = \"prom.partial\"\nprobe = \"prometheus\"\nurl = \"${{api_plain}}/prom/partial\"\nquery = \"up\"\n\n\
         [[item]]\nid = \"prom.whole\"\nprobe = \"prometheus\"\nurl = \"${{api_plain}}/prom/whole\"\nquery = \"up\"\n"
    );
    let f = env.write("prom.toml", &text);
    let r = json(&env.run(&f, &["--format", "json", "--no-history"]));
    fails_naming(
        &r,
        "prom.error200",
        &["Prometheus answered HTTP 200, execution: expanding series"],
    );
    fails_naming(
        &r,
        "prom.partial",
        &[
            "warnings.size() == 0",
            "partial response: store 10.0.0.3:10901",
        ],
    );
    assert_eq!(item(&r, "prom.partial")["facts"]["count"], 1);
    assert_eq!(verdict(&r, "prom.whole").0, "pass", "{r}");
}

#[test]
fn tcp_a_server_that_closes_right_after_accepting_fails() {
    // Accepts and closes at once, like a proxy with nothing behind it.
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            drop(s);
        }
    });
    let env = Env::start();
    let text = format!(
        "{HEADER}[[item]]\nid = \"tcp.closes\"\nprobe = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\n\n\
         [[item]]\nid = \"tcp.serves\"\nprobe = \"tcp\"\nhost = \"127.0.0.1\"\nport = {}\n",
        env.bed.https_addr().port()
    );
    let f = env.write("tcp.toml", &text);
    let r = json(&env.run(&f, &["--format", "json", "--no-history"]));
    fails_naming(
        &r,
        "tcp.closes",
        &[
            "connected was true",
            "the server closed the connection right after accepting it",
        ],
    );
    assert_eq!(verdict(&r, "tcp.serves").0, "pass", "{r}");
}

#[test]
fn dns_one_resolver_failing_among_several_fails() {
    let env = Env::start();
    let text = format!(
        "{TOP}[vars]\ndns = \"\"\ndns_other = \"\"\n\n[[item]]\nid = \"dns.fresh\"\nprobe = \"dns\"\nname = \"{}\"\ntype = \"A\"\nresolvers = [\"${{dns}}\", \"${{dns_other}}\"]\n\n\
         [[item]]\nid = \"dns.www\"\nprobe = \"dns\"\nname = \"www.demo.test\"\ntype = \"A\"\nresolvers = [\"${{dns}}\", \"${{dns_other}}\"]\n",
        preflight_testbed::dns::FRESH
    );
    let f = env.write("dns.toml", &text);
    let r = json(&env.run(&f, &["--format", "json", "--no-history"]));
    let secondary = env.bed.dns().secondary();
    // The first resolver answers; the stale secondary does not know the name yet.
    let i = item(&r, "dns.fresh");
    assert_eq!(i["facts"]["rcode"], "NOERROR", "{i}");
    fails_naming(
        &r,
        "dns.fresh",
        &[&format!("failing was [\"{secondary}: NXDOMAIN\"]")],
    );
    assert_eq!(verdict(&r, "dns.www").0, "pass", "{r}");
}

#[test]
fn command_killed_by_a_signal_fails_naming_it() {
    let text = format!(
        "{TOP}[[item]]\nid = \"cmd.killed\"\nprobe = \"command\"\nshell = \"echo started; kill -KILL $$\"\n\n\
         [[item]]\nid = \"cmd.ok\"\nprobe = \"command\"\nargv = [\"true\"]\n"
    );
    let r = run_json(&text, &[]);
    fails_naming(&r, "cmd.killed", &["exit_code was 137", "signal was 9"]);
    assert_eq!(verdict(&r, "cmd.ok").0, "pass", "{r}");
}
