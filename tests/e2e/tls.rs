//! The `tls` probe end to end: the binary against the testbed's TLS listeners.

use crate::support::*;

/// One tls item against `127.0.0.1:${port_var}`, SNI `api.demo.test`, `extra` lines appended.
fn item_toml(id: &str, port_var: &str, extra: &str) -> String {
    format!(
        "[[item]]\nid = \"{id}\"\nprobe = \"tls\"\nhost = \"127.0.0.1\"\nport = \"${{{port_var}}}\"\nsni = \"api.demo.test\"\n{extra}\n"
    )
}

const WITH_CA: &str = "ca = \"${ca}\"";

/// Runs a checklist of `items` and returns (exit code, JSON report).
fn run(env: &Env, items: &str) -> (Option<i32>, serde_json::Value) {
    let f = env.write("tls.toml", &format!("{HEADER}{items}"));
    let o = env.run(&f, &["--format", "json"]);
    assert!(!stderr(&o).contains("panicked"), "no panic: {}", stderr(&o));
    (o.status.code(), json(&o))
}

#[test]
fn valid_chain_passes_with_default_expectations() {
    let env = Env::start();
    let (code, r) = run(&env, &item_toml("t", "tls_valid_port", WITH_CA));
    let t = item(&r, "t");
    assert_eq!(t["status"], "pass", "{t}");
    assert_eq!(code, Some(0));
    assert_eq!(
        t["expectations"][0]["expr"],
        "chain_valid && hostname_matches && days_left >= 14"
    );
    let f = &t["facts"];
    assert_eq!(f["protocol"], "TLSv1.3");
    assert_eq!(f["chain_valid"], true);
    assert_eq!(f["hostname_matches"], true);
    assert_eq!(f["ocsp_stapled"], true, "the valid listener staples");
    assert_eq!(f["chain"].as_array().map(Vec::len), Some(2));
    assert!(
        f["sans"]
            .as_array()
            .expect("sans")
            .contains(&"api.demo.test".into())
    );
}

#[test]
fn expiring_soon_fails_with_the_number_in_the_reason() {
    let env = Env::start();
    let (code, r) = run(&env, &item_toml("t", "tls_expiring_port", WITH_CA));
    let t = item(&r, "t");
    assert_eq!(t["status"], "fail", "{t}");
    assert_eq!(code, Some(1));
    let reason = t["reason"].as_str().expect("reason");
    assert!(reason.contains("days_left was 10"), "{reason}");
    assert_eq!(t["facts"]["days_left"], 10);
    assert_eq!(t["facts"]["chain_valid"], true);
}

#[test]
fn expired_fails_with_facts() {
    let env = Env::start();
    let (_, r) = run(&env, &item_toml("t", "tls_expired_port", WITH_CA));
    let t = item(&r, "t");
    assert_eq!(t["status"], "fail", "{t}");
    assert_eq!(t["facts"]["chain_valid"], false);
    assert_eq!(t["facts"]["chain_error"], "certificate expired");
    assert_eq!(t["facts"]["hostname_matches"], true);
    assert!(t["facts"]["days_left"].as_i64().expect("days_left") < 0);
    assert!(
        t["reason"]
            .as_str()
            .expect("reason")
            .contains("chain_valid was false")
    );
}

#[test]
fn wrong_host_does_not_match_the_name() {
    let env = Env::start();
    let (_, r) = run(&env, &item_toml("t", "tls_wronghost_port", WITH_CA));
    let t = item(&r, "t");
    assert_eq!(t["status"], "fail", "{t}");
    assert_eq!(t["facts"]["hostname_matches"], false);
    assert_eq!(t["facts"]["chain_valid"], true);
    assert_eq!(
        t["facts"]["sans"],
        serde_json::json!(["wrong-host.demo.test"])
    );
}

#[test]
fn self_signed_without_ca_has_an_invalid_chain() {
    let env = Env::start();
    let (_, r) = run(
        &env,
        &format!(
            "{}{}",
            item_toml("selfsigned", "tls_selfsigned_port", ""),
            item_toml("valid-no-ca", "tls_valid_port", "")
        ),
    );
    for id in ["selfsigned", "valid-no-ca"] {
        let t = item(&r, id);
        assert_eq!(t["status"], "fail", "{t}");
        assert_eq!(t["facts"]["chain_valid"], false, "{t}");
        assert_eq!(t["facts"]["hostname_matches"], true, "{t}");
    }
}

#[test]
fn versions_report_what_each_listener_accepts() {
    let env = Env::start();
    let expect = "versions = true\nexpect = [\"!accepts.tls1_0 && !accepts.tls1_1\", \"accepts.tls1_2 && accepts.tls1_3\"]";
    let (_, r) = run(
        &env,
        &format!(
            "{}{}",
            item_toml("modern", "tls_valid_port", &format!("{WITH_CA}\n{expect}")),
            item_toml("legacy", "tls_legacy_port", &format!("{WITH_CA}\n{expect}"))
        ),
    );
    let modern = item(&r, "modern");
    assert_eq!(modern["status"], "pass", "{modern}");
    let legacy = item(&r, "legacy");
    assert_eq!(legacy["status"], "fail", "{legacy}");
    assert_eq!(
        legacy["facts"]["accepts"],
        serde_json::json!({"tls1_0": false, "tls1_1": true, "tls1_2": true, "tls1_3": true})
    );
    assert_eq!(legacy["facts"]["ocsp_stapled"], false);
    assert_eq!(modern["facts"]["ocsp_stapled"], true);
    assert!(
        legacy["reason"]
            .as_str()
            .expect("reason")
            .contains("accepts.tls1_1 was true")
    );
}

#[test]
fn hostile_targets_fail_with_a_reason() {
    let env = Env::start();
    let closed = env.bed.closed_addr().port().to_string();
    let hang = env.bed.hang_addr().port().to_string();
    let items = format!(
        "{}{}{}{}",
        item_toml("closed", "closed_port", "versions = true"),
        item_toml("hang", "hang_port", "versions = true\ntimeout = \"1s\""),
        item_toml("garbage", "tls_garbage_port", "versions = true"),
        item_toml("garbage-plain", "tls_garbage_port", ""),
    );
    let f = env.write("tls.toml", &format!("{HEADER}{items}"));
    let started = std::time::Instant::now();
    let o = env.run(
        &f,
        &[
            "--format",
            "json",
            "--var",
            &format!("closed_port={closed}"),
            "--var",
            &format!("hang_port={hang}"),
        ],
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
    let r = json(&o);
    let reason = |id: &str| {
        let t = item(&r, id);
        assert_eq!(t["status"], "fail", "{t}");
        t["reason"].as_str().expect("reason").to_string()
    };
    assert!(reason("closed").contains("connection refused"));
    assert!(reason("hang").contains("timed out after 1s"));
    for id in ["garbage", "garbage-plain"] {
        let why = reason(id);
        assert!(why.contains("TLS handshake with 127.0.0.1:"), "{why}");
    }
}

#[test]
fn example_checklist_passes_against_the_testbed() {
    let env = Env::start();
    // A copy, so the run's history lands in the temp dir, not in config/.
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/tls.toml");
    let file = env.write(
        "tls-example.toml",
        &std::fs::read_to_string(example).expect("config/tls.toml"),
    );
    let o = env.run(&file, &["--format", "json"]);
    let r = json(&o);
    assert_eq!(o.status.code(), Some(0), "{r}");
    assert_eq!(r["counts"]["pass"], 4, "{r}");
}

#[test]
fn http_reports_certificate_days_left_for_https_only() {
    let env = Env::start();
    let items = "[[item]]\nid = \"https\"\nprobe = \"http\"\nurl = \"${api}/api/health\"\nca = \"${ca}\"\nexpect = [\"days_left >= 14\", \"tls_version == 'TLSv1.3'\"]\n\n[[item]]\nid = \"plain\"\nprobe = \"http\"\nurl = \"${api_plain}/api/health\"\nexpect = [\"days_left == null\"]\n";
    let (code, r) = run(&env, items);
    assert_eq!(code, Some(0), "{r}");
    let days = item(&r, "https")["facts"]["days_left"]
        .as_i64()
        .expect("days_left is a number for https");
    assert!((88..=90).contains(&days), "{days}");
    assert_eq!(
        item(&r, "plain")["facts"]["days_left"],
        serde_json::Value::Null
    );
}

#[test]
fn missing_accepts_without_versions_fails_naming_it() {
    let env = Env::start();
    let (_, r) = run(
        &env,
        &item_toml(
            "t",
            "tls_valid_port",
            &format!("{WITH_CA}\nexpect = [\"!accepts.tls1_0\"]"),
        ),
    );
    let t = item(&r, "t");
    assert_eq!(t["status"], "fail", "{t}");
    assert!(
        t["reason"]
            .as_str()
            .expect("reason")
            .contains("accepts.tls1_0 was missing"),
        "{t}"
    );
}

/// `openssl s_server` on a free loopback port, killed on drop.
struct OpensslServer {
    child: std::process::Child,
    port: u16,
}

impl OpensslServer {
    fn start(dir: &std::path::Path, extra: &[&str]) -> OpensslServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = std::process::Command::new("openssl")
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
            .args(["-cert", "cert.pem", "-key", "key.pem", "-www", "-quiet"])
            .args(extra)
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("openssl is installed (Debian package openssl)");
        let server = OpensslServer { child, port };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "s_server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        server
    }
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The hand-built TLS 1.0/1.1 ClientHello against an independent implementation:
/// OpenSSL accepts it when those versions are enabled and refuses it when they are not.
#[test]
fn legacy_versions_against_openssl_s_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args([
            "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "30",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ])
        .current_dir(dir.path())
        .output()
        .expect("openssl is installed (Debian package openssl)");
    assert!(made.status.success(), "{}", stderr(&made));
    let all_old = ["-cipher", "ALL:@SECLEVEL=0"];
    let cases: [(&[&str], [bool; 4]); 3] = [
        (&all_old, [true, true, true, true]),
        (
            &[&all_old[..], &["-no_tls1"]].concat(),
            [false, true, true, true],
        ),
        (&["-no_tls1", "-no_tls1_1"], [false, false, true, true]),
    ];
    for (extra, [v10, v11, v12, v13]) in cases {
        let server = OpensslServer::start(dir.path(), extra);
        let file = dir.path().join("openssl.toml");
        std::fs::write(
            &file,
            format!(
                "[checklist]\nname = \"openssl\"\ntimeout = \"5s\"\n\n[[item]]\nid = \"o\"\nprobe = \"tls\"\nhost = \"127.0.0.1\"\nport = {}\nsni = \"localhost\"\nca = \"{}\"\nversions = true\nexpect = [\"hostname_matches\"]\n",
                server.port,
                dir.path().join("cert.pem").display()
            ),
        )
        .expect("write checklist");
        let o = preflight(
            &[
                "run",
                file.to_str().expect("utf8"),
                "--format",
                "json",
                "--no-progress",
            ],
            &[],
        );
        let r = json(&o);
        let t = item(&r, "o");
        assert_eq!(t["status"], "pass", "{extra:?}: {t}");
        assert_eq!(
            t["facts"]["accepts"],
            serde_json::json!({"tls1_0": v10, "tls1_1": v11, "tls1_2": v12, "tls1_3": v13}),
            "{extra:?}"
        );
        drop(server);
    }
}
