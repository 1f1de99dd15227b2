//! The `tcp` probe: can a TCP connection to `host:port` be opened, how long did it
//! take, and what does the server say first?
//!
//! A refused or unreachable port is a fact (`connected = false`, with `error` naming
//! why), not a probe failure, so a checklist can also assert that a port is *closed*
//! (`expect = ["!connected"]`). The banner is whatever the server sends within
//! 200 ms of the connection, up to 1 KiB, as text (invalid UTF-8 replaced).
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

use preflight_core::probe::{BoxFuture, OptionProblem, parse_options};
use preflight_core::{Facts, Failure, Observer, Options, Probe, ProbeDescriptor};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// How long the probe waits for a banner after connecting.
pub const BANNER_WAIT: Duration = Duration::from_millis(200);
/// At most this many banner bytes are kept.
pub const BANNER_CAP: usize = 1024;

static DESCRIPTOR: ProbeDescriptor = ProbeDescriptor {
    name: "tcp",
    options: &["host", "port"],
    facts: &["connected", "latency_ms", "banner", "error", "address"],
    secret_options: &[],
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TcpOptions {
    host: String,
    port: Value,
}

/// A port written as a number, or as a string (e.g. from `${var}`).
fn resolve_port(port: &Value) -> Result<u16, String> {
    let n = match port {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("port {n} is not a whole number"))?,
        Value::String(t) => t
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("port \"{t}\" is not a number"))?,
        other => return Err(format!("port must be a number, not {other}")),
    };
    u16::try_from(n)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("port {n} is out of range (1 to 65535)"))
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
    fn descriptor(&self) -> &'static ProbeDescriptor {
        &DESCRIPTOR
    }

    fn check(&self, options: &Options) -> Vec<OptionProblem> {
        let opts: TcpOptions = match parse_options(options) {
            Ok(o) => o,
            Err(p) => return vec![p],
        };
        let mut problems = Vec::new();
        let literal = !matches!(&opts.port, Value::String(t) if t.contains("${"));
        if literal && let Err(e) = resolve_port(&opts.port) {
            problems.push(OptionProblem {
                key: Some("port".into()),
                message: e,
            });
        }
        if opts.host.trim().is_empty() {
            problems.push(OptionProblem {
                key: Some("host".into()),
                message: "host is empty".into(),
            });
        }
        problems
    }

    fn default_expect(&self, _: &Options) -> Vec<String> {
        vec!["connected".into()]
    }

    fn prepare(&self, options: &Options) -> Result<Arc<dyn Observer>, String> {
        let opts: TcpOptions = parse_options(options).map_err(|p| p.message)?;
        let port = resolve_port(&opts.port)?;
        let host = opts
            .host
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if host.is_empty() {
            return Err("host is empty".into());
        }
        Ok(Arc::new(TcpObserver { host, port }))
    }
}

struct TcpObserver {
    host: String,
    port: u16,
}

impl Observer for TcpObserver {
    fn host(&self) -> Option<String> {
        Some(format!("{}:{}", self.host, self.port))
    }

    fn observe(&self) -> BoxFuture<'_, Result<Facts, Failure>> {
        Box::pin(async move {
            let t0 = Instant::now();
            let mut facts = Facts::new();
            let connected = TcpStream::connect((self.host.as_str(), self.port)).await;
            let latency = t0.elapsed();
            facts.insert("latency_ms".into(), json!(ms(latency)));
            match connected {
                Err(e) => {
                    facts.insert("connected".into(), json!(false));
                    facts.insert("address".into(), Value::Null);
                    facts.insert("banner".into(), Value::Null);
                    facts.insert("error".into(), json!(describe(&e)));
                }
                Ok(mut stream) => {
                    let address = stream.peer_addr().ok().map(|a| a.to_string());
                    let banner = read_banner(&mut stream).await;
                    facts.insert("connected".into(), json!(true));
                    facts.insert("address".into(), json!(address));
                    facts.insert("banner".into(), json!(banner));
                    facts.insert("error".into(), Value::Null);
                }
            }
            Ok(facts)
        })
    }
}

/// Whatever arrives within [`BANNER_WAIT`], up to [`BANNER_CAP`] bytes; `None` if nothing.
async fn read_banner(stream: &mut TcpStream) -> Option<String> {
    let deadline = tokio::time::Instant::now() + BANNER_WAIT;
    let mut buf = vec![0u8; BANNER_CAP];
    let mut len = 0;
    while len < BANNER_CAP {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf[len..])).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => len += n,
        }
    }
    (len > 0).then(|| String::from_utf8_lossy(&buf[..len]).into_owned())
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
        let obs = TcpProbe::new()
            .prepare(&options(json!({"host": host, "port": port})))
            .expect("prepare");
        obs.observe().await.expect("facts")
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
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
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
    fn check_rejects_bad_ports() {
        let p = TcpProbe::new();
        for bad in [json!(0), json!(70000), json!("http")] {
            let problems = p.check(&options(json!({"host": "h", "port": bad})));
            assert_eq!(problems.len(), 1, "{bad}");
            assert_eq!(problems[0].key.as_deref(), Some("port"));
        }
        assert!(
            p.check(&options(json!({"host": "h", "port": "${p}"})))
                .is_empty()
        );
        assert!(
            p.check(&options(json!({"host": "h", "port": "5432"})))
                .is_empty()
        );
        let problems = p.check(&options(json!({"host": "h"})));
        assert_eq!(problems.len(), 1);
    }
}
