//! Networks teams really have (issue #19), end to end: `preflight check` shows each
//! item's proxy and trust roots; `preflight run` goes through Debian's tinyproxy on
//! loopback (its log proves it; `NO_PROXY` bypasses it) with credentials that never
//! reach a report, trusts a CA that exists only in a temporary `SSL_CERT_FILE`, opens
//! the testbed's mutual-TLS API with a client certificate, and sends its notification
//! through the same proxy.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use preflight_testbed::proxy::ForwardProxy;

use crate::postlaunch::Receiver;
use crate::support::{Env, bin, stderr, stdout};

/// Variables a developer's shell may have that would change what these tests see.
const CLEARED: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "PREFLIGHT_STORE",
];

fn preflight(env: &Env, cmd: &str, file: &Path, extra: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut c = Command::new(bin());
    c.arg(cmd).arg(file).args(env.var_args()).args(extra);
    if cmd == "run" {
        c.arg("--no-progress");
    }
    for k in CLEARED {
        c.env_remove(k);
    }
    for (k, v) in vars {
        c.env(k, v);
    }
    c.output().expect("run preflight")
}

const CHECKLIST: &str = r#"[checklist]
name = "networks"
trust = "system"

[[item]]
id = "api.health"
severity = "critical"
probe = "http"
url = "${api}/api/health"

[[item]]
id = "api.mtls"
severity = "critical"
probe = "http"
url = "${mtls}/api/health"
client_cert = "${client_cert}"
client_key = "${client_key}"

[[item]]
id = "api.plain"
probe = "http"
url = "${api_plain}/api/health"
proxy = "none"

[[item]]
id = "tls.api"
probe = "tls"
host = "127.0.0.1"
port = "${api_port}"
"#;

#[test]
fn check_shows_each_items_proxy_and_trust_roots_without_credentials() {
    let env = Env::start();
    let f = env.write("net.toml", CHECKLIST);
    let vars = [
        ("HTTPS_PROXY", "http://ci-robot:pr0xy-s3cret@127.0.0.1:3128"),
        ("NO_PROXY", ".internal"),
        ("SSL_CERT_FILE", "/tmp/company-ca.pem"),
    ];
    let o = preflight(&env, "check", &f, &[], &vars);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("network: proxy from the environment: HTTPS_PROXY=http://****:****@127.0.0.1:3128, NO_PROXY=.internal; trust system (system store: SSL_CERT_FILE /tmp/company-ca.pem)"),
        "{out}"
    );
    let line = |id: &str| -> String {
        let lines: Vec<&str> = out.lines().collect();
        let i = lines
            .iter()
            .position(|l| l.trim_start().starts_with(id))
            .unwrap_or_else(|| panic!("{id} in {out}"));
        lines[i + 1].trim().to_string()
    };
    assert_eq!(
        line("api.health"),
        "proxy: via http://127.0.0.1:3128 (HTTPS_PROXY); trust: system store (SSL_CERT_FILE /tmp/company-ca.pem)"
    );
    let mtls = line("api.mtls");
    assert!(mtls.contains("; client cert: "), "{mtls}");
    assert!(
        !out.contains("client.key"),
        "the key's path never prints: {out}"
    );
    assert_eq!(
        line("api.plain"),
        "proxy: direct (the item's proxy = \"none\")"
    );
    assert_eq!(
        line("tls.api"),
        "trust: system store (SSL_CERT_FILE /tmp/company-ca.pem)"
    );
    for secret in ["pr0xy-s3cret", "ci-robot"] {
        assert!(!out.contains(secret), "{secret} leaked: {out}");
    }
}

#[test]
fn run_goes_through_the_proxy_trusts_ssl_cert_file_and_opens_mutual_tls() {
    let env = Env::start();
    let tp = ForwardProxy::start_with_auth("ci-robot", "pr0xy-s3cret")
        .expect("tinyproxy must be installed (apt-get install tinyproxy)");
    let rx = Receiver::start();
    let ca_only = env.dir.path().join("only-this-ca.pem");
    std::fs::write(&ca_only, &env.bed.pki().ca_pem).expect("write");
    let text = format!(
        "{CHECKLIST}\n[notify]\njson_webhook = \"http://127.0.0.1:{}/hook\"\non = \"always\"\n",
        rx.port
    );
    let f = env.write("net.toml", &text);
    let proxy = tp.url();
    let ca = ca_only.display().to_string();
    let vars = [
        ("HTTPS_PROXY", proxy.as_str()),
        ("HTTP_PROXY", proxy.as_str()),
        ("SSL_CERT_FILE", ca.as_str()),
    ];
    let o = preflight(
        &env,
        "run",
        &f,
        &["--format", "json", "--no-history"],
        &vars,
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&out).expect("json");
    for item in report["items"].as_array().expect("items") {
        assert_eq!(item["status"], "pass", "{item}");
    }
    let all = format!("{out}{}", stderr(&o));
    for secret in ["pr0xy-s3cret", "ci-robot", "client.key"] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }
    let api = env.bed.https_addr().port();
    let mtls = env.bed.networks().mtls_addr().port();
    for seen in [
        format!("CONNECT 127.0.0.1:{api} "),
        format!("CONNECT 127.0.0.1:{mtls} "),
        format!("POST http://127.0.0.1:{}/hook ", rx.port),
    ] {
        assert!(
            tp.saw(&seen, Duration::from_secs(2)),
            "{seen}: {:?}",
            tp.requests()
        );
    }
    assert_eq!(rx.requests().len(), 1, "the notification arrived once");
    // `api.plain` (proxy = "none") never reached the proxy.
    assert!(
        !tp.requests()
            .iter()
            .any(|r| r.contains("/api/health HTTP") && r.starts_with("GET http://")),
        "{:?}",
        tp.requests()
    );

    // NO_PROXY covers the testbed: nothing more goes through the proxy.
    let before = tp.requests().len();
    let mut bypass = vars.to_vec();
    bypass.push(("NO_PROXY", "127.0.0.1"));
    let o = preflight(
        &env,
        "run",
        &f,
        &["--format", "json", "--no-history"],
        &bypass,
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(tp.requests().len(), before, "{:?}", tp.requests());
    assert_eq!(rx.requests().len(), 2);

    // Without SSL_CERT_FILE the system store does not know the testbed CA; without
    // its certificate the mutual-TLS API refuses the handshake.
    let text = CHECKLIST.replace(
        "client_cert = \"${client_cert}\"\nclient_key = \"${client_key}\"\n",
        "",
    );
    let f = env.write("net2.toml", &text);
    let o = preflight(&env, "run", &f, &["--format", "json", "--no-history"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let reason = |id: &str| {
        report["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["id"] == id)
            .map(|i| i["reason"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    assert!(reason("api.health").contains("UnknownIssuer"), "{report}");
    assert!(
        reason("api.mtls").contains("TLS handshake with 127.0.0.1:"),
        "{report}"
    );
}

#[test]
#[expect(clippy::print_stderr, reason = "a skipped part says so")]
fn the_example_config_runs_against_the_testbed() {
    let env = Env::start();
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/networks.toml");
    let ca = env.bed.ca_path().display().to_string();
    let o = preflight(
        &env,
        "run",
        &file,
        &["--format", "json", "--no-history"],
        &[("SSL_CERT_FILE", ca.as_str())],
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(report["verdict"], "go", "{report}");
    for item in report["items"].as_array().expect("items") {
        let ipv6 = item["id"] == "ipv6.health";
        if ipv6 && !preflight_testbed::networks::has_ipv6_loopback() {
            eprintln!("ipv6.health not required: this machine has no IPv6 loopback");
            continue;
        }
        assert_eq!(item["status"], "pass", "{item}");
    }
}
