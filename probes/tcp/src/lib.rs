//! The `tcp` probe: can a TCP connection to `host:port` be opened, how long did it
//! take, and what does the server say first?
//!
//! A refused or unreachable port is a fact (`connected = false`, with `error` naming
//! why), not a probe failure, so a checklist can also assert that a port is *closed*
//! (`expect = ["!connected"]`). The banner is whatever the server sends within
//! 200 ms of the connection, up to 1 KiB, as text (invalid UTF-8 replaced).
//!
//! A server that closes or resets the connection within those 200 ms accepted it
//! without serving it (a proxy with nothing behind it, a server out of slots): that
//! is `closed = true` with `error` saying so, and the default expectation fails.
//!
//! ```toml
//! [[item]]
//! id = "infra.smtp"
//! probe = "tcp"
//! host = "mail.internal"
//! port = 25
//! expect = ["connected", "banner.startsWith('220')"]
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use preflight_core::network::Family;
use preflight_core::probe::{BoxFuture, Egress, OptionProblem};
use preflight_core::{Context, Fact, FactType, Facts, Failure, Observer, Options, Probe};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use preflight_client::connect::connect_tcp;

/// How long the probe waits for a banner after connecting.
pub const BANNER_WAIT: Duration = Duration::from_millis(200);
/// At most this many banner bytes are kept.
pub const BANNER_CAP: usize = 1024;

/// Options of a `tcp` item.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpOptions {
    /// Host name or IP address to connect to (IPv6 in brackets or bare).
    pub host: String,
    /// TCP port.
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// Connect over `ipv4` only, `ipv6` only, or `any` (default) of the host's addresses;
    /// a name without an address of the family is `connected = false`.
    #[serde(default)]
    pub family: Family,
}

/// The TCP probe.
#[derive(Debug, Default)]
pub struct TcpProbe;

impl TcpProbe {
    /// A new probe.
    pub fn new() -> TcpProbe {
        TcpProbe
    }
}

impl Probe for TcpProbe {
    type Options = TcpOptions;
    const NAME: &'static str = "tcp";
    const SUMMARY: &'static str =
        "Opens a TCP connection: connected, latency and the banner the server sends first.";
    const FACTS: &'static [Fact] = &[
        Fact::new(
            "connected",
            FactType::Bool,
            "a TCP connection was established",
        ),
        Fact::new("latency_ms", FactType::Number, "time to connect, in ms"),
        Fact::new(
            "banner",
            FactType::String,
            "what the server sent within 200 ms of connecting (up to 1 KiB)",
        )
        .nullable(),
        Fact::new(
            "closed",
            FactType::Bool,
            "the server closed or reset the connection within 200 ms of accepting it",
        ),
        Fact::new(
            "error",
            FactType::String,
            "why the connection failed (connection refused, …), or that the server closed or reset it while the banner was read; null when neither",
        )
        .nullable(),
        Fact::new(
            "address",
            FactType::String,
            "the address connected to, ip:port",
        )
        .nullable(),
    ];
    const EXAMPLE: &'static str = r#"[[item]]
id = "infra.smtp"
title = "Mail relay answers with an SMTP greeting"
probe = "tcp"
host = "127.0.0.1"
port = 25
expect = ["connected", "banner.startsWith('220')"]
"#;

    fn default_expect(_: &Options) -> Vec<String> {
        vec!["connected && error == null".into()]
    }

    fn validate(options: &TcpOptions) -> Vec<OptionProblem> {
        let mut problems = Vec::new();
        if bare_host(&options.host).is_empty() {
            problems.push(OptionProblem::at("host", "host is empty"));
        }
        if options.port == 0 {
            problems.push(OptionProblem::at(
                "port",
                "port 0 is out of range (1 to 65535)",
            ));
        }
        if let Err(e) = options.family.check_host(&options.host) {
            problems.push(OptionProblem::at("family", e));
        }
        problems
    }

    fn egress(options: &TcpOptions) -> Option<Egress> {
        Some(Egress {
            family: options.family,
            ..Egress::default()
        })
    }

    fn prepare(&self, options: TcpOptions, _: &Context) -> Result<Arc<dyn Observer>, Failure> {
        Ok(Arc::new(TcpObserver {
            host: bare_host(&options.host).to_string(),
            port: options.port,
            family: options.family,
        }))
    }
}

/// `[::1]` and `::1` both name the IPv6 loopback.
fn bare_host(host: &str) -> &str {
    host.trim().trim_start_matches('[').trim_end_matches(']')
}

struct TcpObserver {
    host: String,
    port: u16,
    family: Family,
}

impl Observer for TcpObserver {
    fn host(&self) -> Option<String> {
        Some(preflight_client::connect::host_port(&self.host, self.port))
    }

    fn observe(&self) -> BoxFuture<'_, Result<Facts, Failure>> {
        Box::pin(async move {
            let t0 = Instant::now();
            let mut facts = Facts::new();
            let connected = connect_tcp(&self.host, self.port, self.family).await;
            let latency = t0.elapsed();
            facts.insert("latency_ms".into(), json!(ms(latency)));
            match connected {
                Err(e) => {
                    facts.insert("connected".into(), json!(false));
                    facts.insert("address".into(), Value::Null);
                    facts.insert("banner".into(), Value::Null);
                    facts.insert("closed".into(), json!(false));
                    facts.insert("error".into(), json!(describe(&e)));
                }
                Ok(mut stream) => {
                    let address = stream.peer_addr().ok().map(|a| a.to_string());
                    let (banner, end) = read_banner(&mut stream).await;
                    let error = end.map(|e| e.describe(banner.is_some()));
                    facts.insert("connected".into(), json!(true));
                    facts.insert("address".into(), json!(address));
                    facts.insert("banner".into(), json!(banner));
                    facts.insert("closed".into(), json!(error.is_some()));
                    facts.insert("error".into(), json!(error));
                }
            }
            Ok(facts)
        })
    }
}

/// How the server ended a connection while the banner was read.
enum End {
    /// An orderly close (EOF).
    Closed,
    /// A reset or another read error.
    Failed(std::io::Error),
}

impl End {
    fn describe(&self, had_banner: bool) -> String {
        let when = if had_banner {
            "after its banner"
        } else {
            "right after accepting it, before sending anything"
        };
        match self {
            End::Closed => format!("the server closed the connection {when}"),
            End::Failed(e) => format!("{} {when}", describe(e)),
        }
    }
}

/// Whatever arrives within [`BANNER_WAIT`], up to [`BANNER_CAP`] bytes (`None` if
/// nothing), and how the server ended the connection meanwhile, if it did.
async fn read_banner(stream: &mut TcpStream) -> (Option<String>, Option<End>) {
    let deadline = tokio::time::Instant::now() + BANNER_WAIT;
    let mut buf = vec![0u8; BANNER_CAP];
    let mut len = 0;
    let mut end = None;
    while len < BANNER_CAP {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf[len..])).await {
            Ok(Ok(0)) => {
                end = Some(End::Closed);
                break;
            }
            Ok(Err(e)) => {
                end = Some(End::Failed(e));
                break;
            }
            Err(_) => break,
            Ok(Ok(n)) => len += n,
        }
    }
    let banner = (len > 0).then(|| String::from_utf8_lossy(&buf[..len]).into_owned());
    (banner, end)
}

/// A short lower-case reason: "connection refused", "host not found: …".
fn describe(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => "connection refused".into(),
        ConnectionReset => "connection reset".into(),
        TimedOut => "connection timed out".into(),
        HostUnreachable => "host unreachable".into(),
        NetworkUnreachable => "network unreachable".into(),
        _ => {
            let text = e.to_string();
            if text.contains("lookup") || text.contains("resolve") || text.contains("Name") {
                format!("host not found: {text}")
            } else {
                text
            }
        }
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    fn options(v: Value) -> Options {
        serde_json::from_value(v).expect("options")
    }

    async fn observe(host: &str, port: u16) -> Facts {
        let obs = preflight_core::AnyProbe::prepare(
            &TcpProbe::new(),
            &options(json!({"host": host, "port": port})),
            &Context::new(Duration::from_secs(5)),
        )
        .expect("prepare");
        let facts = obs.observe().await.expect("facts");
        let problems = preflight_core::probe::conformance(TcpProbe::FACTS, &facts);
        assert!(problems.is_empty(), "{problems:?}");
        facts
    }

    /// Observes with a `family`.
    async fn observe_family(host: &str, port: u16, family: &str) -> Facts {
        let obs = preflight_core::AnyProbe::prepare(
            &TcpProbe::new(),
            &options(json!({"host": host, "port": port, "family": family})),
            &Context::new(Duration::from_secs(5)),
        )
        .expect("prepare");
        let facts = obs.observe().await.expect("facts");
        let problems = preflight_core::probe::conformance(TcpProbe::FACTS, &facts);
        assert!(problems.is_empty(), "{problems:?}");
        facts
    }

    #[tokio::test]
    #[expect(clippy::print_stderr, reason = "a skipped part says so")]
    async fn family_keeps_one_ip_version() {
        use preflight_core::AnyProbe;
        // A literal of the other family is a checklist problem.
        let problems = TcpProbe::new().check(&options(
            json!({"host": "[::1]", "port": 80, "family": "ipv4"}),
        ));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("is an IPv6 address"));
        // A name without an address of the family is a fact, not a probe failure.
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = l.local_addr().expect("addr").port();
        let f = observe_family("127.0.0.1", port, "ipv4").await;
        assert_eq!(f["connected"], true);
        assert_eq!(f["address"], format!("127.0.0.1:{port}"));
        let Ok(l6) = TcpListener::bind("[::1]:0").await else {
            eprintln!("skipped the ::1 part: no IPv6 loopback here (`ip -6 addr show lo`)");
            return;
        };
        let port6 = l6.local_addr().expect("addr").port();
        for host in ["::1", "[::1]"] {
            let f = observe_family(host, port6, "ipv6").await;
            assert_eq!(f["connected"], true, "{f:?}");
            assert_eq!(f["address"], format!("[::1]:{port6}"));
        }
        let o = AnyProbe::prepare(
            &TcpProbe::new(),
            &options(json!({"host": "::1", "port": port6})),
            &Context::new(Duration::from_secs(1)),
        )
        .expect("prepare");
        assert_eq!(o.host(), Some(format!("[::1]:{port6}")));
    }

    #[tokio::test]
    async fn connects_and_reads_a_banner() {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = l.local_addr().expect("addr").port();
        let server = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.expect("accept");
            s.write_all(b"220 mail ESMTP ready\r\n")
                .await
                .expect("write");
            tokio::time::sleep(Duration::from_secs(1)).await;
        });
        let f = observe("127.0.0.1", port).await;
        assert_eq!(f["connected"], true);
        assert_eq!(f["banner"], "220 mail ESMTP ready\r\n");
        assert_eq!(f["address"], format!("127.0.0.1:{port}"));
        assert!(f["latency_ms"].as_f64().expect("number") < 1000.0);
        server.abort();
    }

    #[tokio::test]
    async fn silent_server_has_no_banner_and_returns_quickly() {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = l.local_addr().expect("addr").port();
        let server = tokio::spawn(async move {
            let (_s, _) = l.accept().await.expect("accept");
            std::future::pending::<()>().await;
        });
        let t0 = Instant::now();
        let f = observe("127.0.0.1", port).await;
        assert_eq!(f["connected"], true);
        assert_eq!(f["banner"], Value::Null);
        assert_eq!((&f["closed"], &f["error"]), (&json!(false), &Value::Null));
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
        server.abort();
    }

    #[tokio::test]
    async fn a_server_that_closes_at_once_is_not_serving() {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = l.local_addr().expect("addr").port();
        let server = tokio::spawn(async move {
            // Accept and close, like a proxy with no backend behind it.
            while let Ok((s, _)) = l.accept().await {
                drop(s);
            }
        });
        let f = observe("127.0.0.1", port).await;
        assert_eq!(f["connected"], true);
        assert_eq!(f["closed"], true);
        assert_eq!(
            f["error"],
            "the server closed the connection right after accepting it, before sending anything"
        );
        server.abort();

        // A banner, then the door shut: an SMTP server out of slots.
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = l.local_addr().expect("addr").port();
        let server = tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let _ = s.write_all(b"421 too many connections\r\n").await;
            }
        });
        let f = observe("127.0.0.1", port).await;
        assert_eq!(f["banner"], "421 too many connections\r\n");
        assert_eq!(f["closed"], true);
        assert_eq!(
            f["error"],
            "the server closed the connection after its banner"
        );
        server.abort();
    }

    #[tokio::test]
    async fn flood_is_capped() {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = l.local_addr().expect("addr").port();
        let server = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.expect("accept");
            let junk = vec![0xffu8; 64 * 1024];
            while s.write_all(&junk).await.is_ok() {}
        });
        let f = observe("127.0.0.1", port).await;
        assert_eq!(f["connected"], true);
        // 1 KiB of invalid UTF-8, each byte replaced by U+FFFD.
        assert_eq!(
            f["banner"].as_str().expect("banner").chars().count(),
            BANNER_CAP
        );
        server.abort();
    }

    #[tokio::test]
    async fn closed_port_is_a_fact_not_a_failure() {
        // Bound but not listening: refused, and the port cannot be handed to another
        // test's server meanwhile.
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.bind(([127, 0, 0, 1], 0).into()).expect("bind");
        let port = socket.local_addr().expect("addr").port();
        let f = observe("127.0.0.1", port).await;
        assert_eq!(f["connected"], false);
        assert_eq!(f["error"], "connection refused");
    }

    #[test]
    fn check_rejects_bad_ports_and_hosts() {
        use preflight_core::AnyProbe;
        let p = TcpProbe::new();
        for bad in [json!(0), json!(70000), json!("http"), json!("5432")] {
            let problems = p.check(&options(json!({"host": "h", "port": bad})));
            assert_eq!(problems.len(), 1, "{bad}");
            assert_eq!(problems[0].key.as_deref(), Some("port"), "{bad}");
        }
        assert!(
            p.check(&options(json!({"host": "h", "port": 5432})))
                .is_empty()
        );
        let problems = p.check(&options(json!({"host": " ", "port": 1})));
        assert_eq!(problems, vec![OptionProblem::at("host", "host is empty")]);
        assert_eq!(p.check(&options(json!({"host": "h"}))).len(), 1);
    }
}
