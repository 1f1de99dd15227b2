//! The redis probe against Debian's real `redis-server`, started on a free loopback port
//! in a temp dir, plus hostile fake servers.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use preflight_core::probe::conformance;
use preflight_core::{AnyProbe, Blame, Context, Facts, Failure, Options, Probe};
use preflight_probe_redis::{Error, RedisProbe};
use preflight_testbed::trial;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A `redis-server` process, killed on drop.
struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Starts redis-server; fails the test when the binary is missing.
async fn start(extra: &[&str]) -> Server {
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
            &dir.path().display().to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server must be installed (apt-get install redis-server)");
    let mut server = Server {
        child,
        port,
        _dir: dir,
    };
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("redis-server exited at start: {status}");
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "redis-server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server
}

/// Sends raw RESP commands and waits for `n` replies' worth of bytes (test setup only).
async fn raw(port: u16, commands: &str) {
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    s.write_all(commands.as_bytes()).await.expect("write");
    let mut buf = [0u8; 256];
    let _ = tokio::time::timeout(Duration::from_millis(300), s.read(&mut buf)).await;
}

/// One observation, checked, prepared and held to the probe's FACTS as core does.
async fn observe(v: Value) -> Result<Facts, Failure> {
    trial::attempt(&RedisProbe::new(), v, &Context::new(Duration::from_secs(5))).await
}

/// A failure the target is to blame for, with its typed error.
fn target_failure(e: &Failure) -> &Error {
    assert_eq!(e.blame(), Blame::Target, "{e:?}");
    assert!(!e.is_timeout(), "{e:?}");
    e.downcast_ref::<Error>().expect("the redis probe's error")
}

#[tokio::test]
async fn ping_role_memory_and_key() {
    let srv = start(&[]).await;
    raw(
        srv.port,
        "*3\r\n$3\r\nSET\r\n$12\r\nrelease:live\r\n$5\r\n1.4.2\r\n",
    )
    .await;
    let f =
        observe(json!({"url": format!("redis://127.0.0.1:{}", srv.port), "key": "release:live"}))
            .await
            .expect("facts");
    assert_eq!(f["pong"], true, "{f:?}");
    assert_eq!(f["role"], "master");
    assert_eq!(f["connected_slaves"], 0);
    assert!(f["used_memory"].as_u64().expect("bytes") > 100_000, "{f:?}");
    assert!(f["latency_ms"].as_f64().expect("ms") < 1000.0);
    assert_eq!(f["value"], "1.4.2");
    assert_eq!(f["value_truncated"], false);
    assert_eq!(f["error"], Value::Null);

    // A missing key is null, not an error.
    let f = observe(json!({"url": format!("redis://127.0.0.1:{}/0", srv.port), "key": "nope"}))
        .await
        .expect("facts");
    assert_eq!(f["value"], Value::Null);
    assert_eq!(f["pong"], true);
}

#[tokio::test]
async fn selects_the_database_of_the_url() {
    let srv = start(&[]).await;
    raw(
        srv.port,
        "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\nin-3\r\n",
    )
    .await;
    let url = |db: u32| format!("redis://127.0.0.1:{}/{db}", srv.port);
    let f = observe(json!({"url": url(3), "key": "k"}))
        .await
        .expect("facts");
    assert_eq!(f["value"], "in-3");
    let f = observe(json!({"url": url(0), "key": "k"}))
        .await
        .expect("facts");
    assert_eq!(f["value"], Value::Null);
    // A database that does not exist is reported by the server, as a fact.
    let f = observe(json!({"url": url(99), "key": "k"}))
        .await
        .expect("facts");
    assert!(
        f["error"].as_str().expect("error").contains("SELECT 99"),
        "{f:?}"
    );
}

#[tokio::test]
async fn password_and_acl_user_from_the_url() {
    let srv = start(&[
        "--requirepass",
        "p@ss w0rd-default",
        "--user",
        "app",
        "on",
        ">app-s3cret",
        "~*",
        "&*",
        "+@all",
    ])
    .await;
    let port = srv.port;
    let ok = observe(json!({"url": format!("redis://:p%40ss%20w0rd-default@127.0.0.1:{port}")}))
        .await
        .expect("facts");
    assert_eq!(ok["pong"], true, "{ok:?}");
    let ok = observe(json!({"url": format!("redis://app:app-s3cret@127.0.0.1:{port}")}))
        .await
        .expect("facts");
    assert_eq!(ok["pong"], true, "{ok:?}");

    let wrong = observe(json!({"url": format!("redis://app:wrong-guess@127.0.0.1:{port}")}))
        .await
        .expect("facts");
    assert_eq!(wrong["pong"], false);
    let e = wrong["error"].as_str().expect("error");
    assert!(e.contains("WRONGPASS"), "{e}");
    assert!(!e.contains("wrong-guess"), "{e}");

    let none = observe(json!({"url": format!("redis://127.0.0.1:{port}")}))
        .await
        .expect("facts");
    assert_eq!(none["pong"], false);
    assert!(
        none["error"].as_str().expect("error").contains("NOAUTH"),
        "{none:?}"
    );
    assert_eq!(none["role"], Value::Null);
}

/// Judges facts with the probe's default expectations, as an item without `expect`.
fn default_verdict(facts: &Facts) -> (preflight_core::Status, Option<String>) {
    let expect: Vec<_> = <RedisProbe as Probe>::default_expect(&Options::new())
        .iter()
        .map(|e| preflight_core::expect::Expectation::compile(e).expect("compiles"))
        .collect();
    let (status, reason, _) =
        preflight_core::verdict::judge(&expect, facts, &serde_json::Map::new());
    (status, reason)
}

#[tokio::test]
async fn a_refused_auth_stops_before_the_default_user_answers() {
    // The default user needs no password (as on a fresh server), and `app` has one.
    let srv = start(&["--user", "app", "on", ">app-s3cret", "~*", "&*", "+@all"]).await;
    let port = srv.port;
    raw(port, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv0\r\n").await;

    let wrong =
        observe(json!({"url": format!("redis://app:wrong-guess@127.0.0.1:{port}"), "key": "k"}))
            .await
            .expect("facts");
    assert_eq!(wrong["authenticated"], false, "{wrong:?}");
    // Nothing after AUTH is asked: the default user's PONG and value never show.
    assert_eq!(wrong["pong"], false, "{wrong:?}");
    assert_eq!(wrong["value"], Value::Null, "{wrong:?}");
    assert_eq!(wrong["latency_ms"], Value::Null, "{wrong:?}");
    let (status, reason) = default_verdict(&wrong);
    assert_eq!(status, preflight_core::Status::Fail);
    let reason = reason.expect("reason");
    assert!(reason.contains("authenticated was false"), "{reason}");
    assert!(reason.contains("AUTH: WRONGPASS"), "{reason}");
    assert!(!reason.contains("wrong-guess"), "{reason}");

    // A user without a password logs in as that user too, and is refused here.
    let bare = observe(json!({"url": format!("redis://app@127.0.0.1:{port}")}))
        .await
        .expect("facts");
    assert_eq!(bare["authenticated"], false, "{bare:?}");

    let ok =
        observe(json!({"url": format!("redis://app:app-s3cret@127.0.0.1:{port}"), "key": "k"}))
            .await
            .expect("facts");
    assert_eq!(
        (&ok["authenticated"], &ok["pong"], &ok["value"]),
        (&json!(true), &json!(true), &json!("v0")),
        "{ok:?}"
    );
    assert_eq!(default_verdict(&ok), (preflight_core::Status::Pass, None));

    let anonymous = observe(json!({"url": format!("redis://127.0.0.1:{port}")}))
        .await
        .expect("facts");
    assert_eq!(anonymous["authenticated"], Value::Null, "{anonymous:?}");
    assert_eq!(
        default_verdict(&anonymous),
        (preflight_core::Status::Pass, None)
    );

    // A database that does not exist stops there too: no key of database 0 stands in.
    let db = observe(json!({"url": format!("redis://127.0.0.1:{port}/99"), "key": "k"}))
        .await
        .expect("facts");
    assert_eq!(db["value"], Value::Null, "{db:?}");
    assert_eq!(db["pong"], false, "{db:?}");
    let (status, reason) = default_verdict(&db);
    assert_eq!(status, preflight_core::Status::Fail);
    assert!(reason.expect("reason").contains("SELECT 99: ERR"));
}

#[tokio::test]
async fn refused_garbage_and_closing_servers_fail_the_item() {
    // Bound but not listening: refused, and the port stays out of other tests' hands.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind(([127, 0, 0, 1], 0).into()).expect("bind");
    let closed = socket.local_addr().expect("addr").port();
    let e = observe(json!({"url": format!("redis://127.0.0.1:{closed}")}))
        .await
        .expect_err("refused");
    assert!(matches!(target_failure(&e), Error::Refused { .. }), "{e:?}");
    assert_eq!(
        e.reason(),
        format!("connection refused by 127.0.0.1:{closed}")
    );

    // An HTTP server where Redis should be.
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = l.local_addr().expect("addr").port();
    let http = tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let _ = s
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    let e = observe(json!({"url": format!("redis://127.0.0.1:{port}")}))
        .await
        .expect_err("garbage");
    assert!(
        matches!(target_failure(&e), Error::NotRedis { .. }),
        "{e:?}"
    );
    assert!(e.reason().contains("not a Redis server"), "{e:?}");
    http.abort();

    // A server that accepts and closes at once.
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = l.local_addr().expect("addr").port();
    let closer = tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            drop(s);
        }
    });
    let e = observe(json!({"url": format!("redis://127.0.0.1:{port}")}))
        .await
        .expect_err("closed");
    assert!(matches!(target_failure(&e), Error::Io { .. }), "{e:?}");
    closer.abort();
}

#[tokio::test]
async fn a_bulk_flood_is_bounded() {
    // Claims a 1 GiB bulk reply: refused without allocating it.
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = l.local_addr().expect("addr").port();
    let liar = tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let _ = s.write_all(b"$1073741824\r\n").await;
            let junk = vec![b'a'; 64 * 1024];
            while s.write_all(&junk).await.is_ok() {}
        }
    });
    let e = observe(json!({"url": format!("redis://127.0.0.1:{port}")}))
        .await
        .expect_err("too big");
    assert!(
        matches!(target_failure(&e), Error::NotRedis { .. }),
        "{e:?}"
    );
    assert!(e.reason().contains("bulk string"), "{e:?}");
    liar.abort();
}

#[tokio::test]
async fn a_silent_server_leaves_the_timeout_to_the_runner() {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = l.local_addr().expect("addr").port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    let obs = trial::observer(
        &RedisProbe::new(),
        json!({"url": format!("redis://127.0.0.1:{port}")}),
        &Context::new(Duration::from_secs(5)),
    );
    // The runner drops the attempt at the item's timeout; dropping must be clean.
    let r = tokio::time::timeout(Duration::from_millis(300), obs.observe()).await;
    assert!(r.is_err(), "a silent server cannot produce facts");
    silent.abort();
}

#[tokio::test]
async fn rediss_with_a_private_ca() {
    let pki = preflight_testbed::TestPki::generate().expect("pki");
    let now = time::OffsetDateTime::now_utc();
    let (cert, key) = pki
        .issue(
            &["127.0.0.1", "localhost"],
            now - time::Duration::days(1),
            now + time::Duration::days(30),
        )
        .expect("leaf");
    let files = tempfile::tempdir().expect("tmp");
    let path = |name: &str| files.path().join(name).display().to_string();
    std::fs::write(
        path("redis.crt"),
        pem::encode(&pem::Pem::new("CERTIFICATE", cert.to_vec())),
    )
    .expect("write");
    std::fs::write(
        path("redis.key"),
        pem::encode(&pem::Pem::new("PRIVATE KEY", key)),
    )
    .expect("write");
    std::fs::write(path("ca.pem"), &pki.ca_pem).expect("write");
    let tls_port = free_port();
    let srv = start(&[
        "--tls-port",
        &tls_port.to_string(),
        "--tls-cert-file",
        &path("redis.crt"),
        "--tls-key-file",
        &path("redis.key"),
        "--tls-ca-cert-file",
        &path("ca.pem"),
        "--tls-auth-clients",
        "no",
    ])
    .await;
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", tls_port)).await.is_err() {
        assert!(t0.elapsed() < Duration::from_secs(10), "no TLS port");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = format!("rediss://127.0.0.1:{tls_port}");
    let f = observe(json!({"url": url, "ca": path("ca.pem")}))
        .await
        .expect("facts");
    assert_eq!(f["pong"], true, "{f:?}");
    assert_eq!(f["role"], "master");

    // Without the private CA the web roots reject the certificate.
    let e = observe(json!({"url": url})).await.expect_err("untrusted");
    assert!(
        matches!(target_failure(&e), Error::Handshake { .. }),
        "{e:?}"
    );
    assert!(e.reason().contains("TLS handshake"), "{e:?}");
    // Plain RESP to the TLS port is not a Redis conversation.
    let e = observe(json!({"url": format!("redis://127.0.0.1:{tls_port}")}))
        .await
        .expect_err("plain to TLS");
    target_failure(&e);
    drop(srv);
}

#[tokio::test]
async fn the_example_loads_and_holds_against_a_real_server() {
    let srv = start(&[]).await;
    raw(
        srv.port,
        "*3\r\n$3\r\nSET\r\n$12\r\nrelease:live\r\n$5\r\n1.4.2\r\n",
    )
    .await;
    let text = RedisProbe::EXAMPLE.replace(":6379/", &format!(":{}/", srv.port));
    assert_ne!(text, RedisProbe::EXAMPLE, "the example names port 6379");
    let catalog = preflight_core::Catalog::new(vec![Arc::new(RedisProbe::new())]);
    let list = preflight_core::checklist::parse("example.toml", &text, &[], &catalog)
        .expect("the example loads");
    let preflight_core::Check::Probe {
        options, expect, ..
    } = &*list.items[0].check
    else {
        panic!("a probe item")
    };
    let facts = observe(Value::Object(options.clone()))
        .await
        .expect("facts");
    for e in expect {
        assert_eq!(
            e.judge(&facts),
            preflight_core::expect::Judgement::Holds,
            "{} over {facts:?}",
            e.source()
        );
    }
}

#[tokio::test]
async fn templated_urls_are_checked_once_interpolated() {
    let srv = start(&[]).await;
    let text = "[vars]\nport = \"6379\"\nscheme = \"redis\"\n\n[[item]]\nid = \"ok\"\nprobe = \"redis\"\nurl = \"${scheme}://127.0.0.1:${port}\"\n\n[[item]]\nid = \"bad\"\nprobe = \"redis\"\nurl = \"${scheme}s+x://127.0.0.1:${port}\"\n";
    let catalog = preflight_core::Catalog::new(vec![Arc::new(RedisProbe::new())]);
    let list = preflight_core::checklist::parse("t.toml", text, &[], &catalog)
        .expect("templated options load");
    let env = |_: &str| None;
    let mut req = preflight_core::PlanRequest::with_env(&env);
    req.vars = vec![("port".into(), srv.port.to_string())];
    let plan = preflight_core::plan::plan(&list, &catalog, &req).expect("plan");
    let ok = (*plan.items[0].options).clone().expect("resolved");
    let f = observe(Value::Object(ok)).await.expect("facts");
    assert_eq!(f["pong"], true, "{f:?}");
    let bad = (*plan.items[1].options).clone().expect_err("bad scheme");
    assert!(bad.contains("unsupported URL scheme \"rediss+x\""), "{bad}");
}

/// `rediss://` against redis-server with `tls-auth-clients yes`: a client certificate
/// from the CA opens the session, none fails naming the handshake; the server's CA is
/// trusted from a temporary `SSL_CERT_FILE` with `[checklist] trust = "system"`.
#[tokio::test]
async fn rediss_with_a_client_certificate_and_system_trust() {
    let pki = preflight_testbed::TestPki::generate().expect("pki");
    let now = time::OffsetDateTime::now_utc();
    let (cert, key) = pki
        .issue(
            &["127.0.0.1", "localhost"],
            now - time::Duration::days(1),
            now + time::Duration::days(30),
        )
        .expect("leaf");
    let (client, client_key) = pki.issue_client("preflight client").expect("client");
    let files = tempfile::tempdir().expect("tmp");
    let path = |name: &str| files.path().join(name).display().to_string();
    let write = |name: &str, label: &str, der: Vec<u8>| {
        std::fs::write(path(name), pem::encode(&pem::Pem::new(label, der))).expect("write");
    };
    write("redis.crt", "CERTIFICATE", cert.to_vec());
    write("redis.key", "PRIVATE KEY", key);
    write("client.pem", "CERTIFICATE", client.to_vec());
    write("client.key", "PRIVATE KEY", client_key);
    std::fs::write(path("ca.pem"), &pki.ca_pem).expect("write");
    let tls_port = free_port();
    let srv = start(&[
        "--tls-port",
        &tls_port.to_string(),
        "--tls-cert-file",
        &path("redis.crt"),
        "--tls-key-file",
        &path("redis.key"),
        "--tls-ca-cert-file",
        &path("ca.pem"),
        "--tls-auth-clients",
        "yes",
    ])
    .await;
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", tls_port)).await.is_err() {
        assert!(t0.elapsed() < Duration::from_secs(10), "no TLS port");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let env_path = path("ca.pem");
    let env = move |n: &str| (n == "SSL_CERT_FILE").then(|| env_path.clone());
    let network = Arc::new(preflight_core::network::Network::new(
        None,
        None,
        preflight_core::network::Trust::System,
        &env,
    ));
    let cx = Context::new(Duration::from_secs(5)).with_network(network);
    let run = |v: Value| {
        let cx = cx.clone();
        async move {
            let opts: Options = serde_json::from_value(v).expect("options");
            let p = RedisProbe::new();
            assert!(p.check(&opts).is_empty(), "{:?}", p.check(&opts));
            let facts = AnyProbe::prepare(&p, &opts, &cx)?.observe().await?;
            let problems = conformance(RedisProbe::FACTS, &facts);
            assert!(problems.is_empty(), "{problems:?} in {facts:?}");
            Ok::<Facts, Failure>(facts)
        }
    };
    let url = format!("rediss://127.0.0.1:{tls_port}");
    let f = run(
        json!({"url": url, "client_cert": path("client.pem"), "client_key": path("client.key")}),
    )
    .await
    .expect("facts");
    assert_eq!(f["pong"], true, "{f:?}");

    let e = run(json!({"url": url})).await.expect_err("no certificate");
    assert!(
        matches!(target_failure(&e), Error::Handshake { .. }),
        "{e:?}"
    );
    assert!(
        e.reason()
            .starts_with(&format!("TLS handshake with 127.0.0.1:{tls_port} failed")),
        "{e}"
    );
    assert!(RedisProbe::SECRET_OPTIONS.contains(&"client_key"));
    drop(srv);
}
