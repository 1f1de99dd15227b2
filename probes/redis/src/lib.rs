//! The `redis` probe: is Redis up, what role does it play, how much memory does it use,
//! and (optionally) what does a key hold?
//!
//! It speaks RESP2 over one connection (plain `redis://`, or TLS with `rediss://` and
//! the public web PKI roots): `AUTH` with the URL's user and password when given,
//! `SELECT` the URL's database, `PING`, `INFO replication`, `INFO memory`, and `GET`
//! of `key`. `ca` (a PEM file) replaces the web roots for `rediss://`. A server error reply (`NOAUTH`, `LOADING`, a renamed `INFO`) is a fact:
//! `pong = false` or a null fact, with `error` holding the server's message. The URL's
//! password is a secret and is masked in every report.
//!
//! ```toml
//! [[item]]
//! id = "infra.redis"
//! probe = "redis"
//! url = "${env:REDIS_URL}"
//! expect = ["pong", "role == 'master'", "used_memory < 2 * 1024 * 1024 * 1024"]
//! ```

mod resp;

use std::sync::Arc;
use std::time::{Duration, Instant};

use preflight_core::probe::{BoxFuture, OptionProblem, parse_options};
use preflight_core::{Facts, Failure, Observer, Options, Probe, ProbeDescriptor};
use resp::{Reply, RespError};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, BufReader};
use tokio::net::TcpStream;
use url::Url;

/// A `GET` value is kept up to this many bytes (`value_truncated` says when cut).
pub const VALUE_CAP: usize = 1024 * 1024;

static DESCRIPTOR: ProbeDescriptor = ProbeDescriptor {
    name: "redis",
    options: &["url", "key", "ca"],
    facts: &[
        "pong",
        "role",
        "connected_slaves",
        "used_memory",
        "latency_ms",
        "value",
        "value_truncated",
        "error",
    ],
    secret_options: &[],
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RedisOptions {
    url: String,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    ca: Option<String>,
}

/// Where and how to connect, from the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    tls: bool,
    host: String,
    port: u16,
    user: Option<String>,
    password: Option<String>,
    db: u32,
}

fn parse_url(text: &str) -> Result<Target, String> {
    // Never echo the URL: it may hold a password.
    let url = Url::parse(text).map_err(|e| format!("url is not a valid Redis URL: {e}"))?;
    let tls = match url.scheme() {
        "redis" => false,
        "rediss" => true,
        other => {
            return Err(format!(
                "unsupported URL scheme \"{other}\" (use redis:// or rediss://)"
            ));
        }
    };
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("url has no host")?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let user = Some(decode(url.username())).filter(|u| !u.is_empty());
    let password = url.password().map(decode).filter(|p| !p.is_empty());
    let path = url.path().trim_matches('/');
    let db = if path.is_empty() {
        0
    } else {
        path.parse::<u32>()
            .map_err(|_| format!("url path \"/{path}\" is not a database number"))?
    };
    Ok(Target {
        tls,
        host,
        port: url.port().unwrap_or(6379),
        user,
        password,
        db,
    })
}

/// The Redis probe.
#[derive(Debug, Default)]
pub struct RedisProbe;

impl RedisProbe {
    /// A new probe.
    pub fn new() -> RedisProbe {
        RedisProbe
    }
}

impl Probe for RedisProbe {
    fn descriptor(&self) -> &'static ProbeDescriptor {
        &DESCRIPTOR
    }

    fn check(&self, options: &Options) -> Vec<OptionProblem> {
        let opts: RedisOptions = match parse_options(options) {
            Ok(o) => o,
            Err(p) => return vec![p],
        };
        if !opts.url.contains("${")
            && let Err(message) = parse_url(&opts.url)
        {
            return vec![OptionProblem {
                key: Some("url".into()),
                message,
            }];
        }
        Vec::new()
    }

    fn default_expect(&self, _: &Options) -> Vec<String> {
        vec!["pong".into()]
    }

    fn secrets(&self, options: &Options) -> Vec<String> {
        // The generic rules mask URL passwords; also mask the decoded form.
        parse_options::<RedisOptions>(options)
            .ok()
            .and_then(|o| parse_url(&o.url).ok())
            .and_then(|t| t.password)
            .into_iter()
            .collect()
    }

    fn prepare(&self, options: &Options) -> Result<Arc<dyn Observer>, String> {
        let opts: RedisOptions = parse_options(options).map_err(|p| p.message)?;
        let target = parse_url(&opts.url)?;
        let tls = if target.tls {
            Some(tls_connector(opts.ca.as_deref())?)
        } else {
            None
        };
        Ok(Arc::new(RedisObserver {
            target,
            key: opts.key,
            tls,
        }))
    }
}

/// TLS with the public web roots, or only the CA certificates of a PEM file.
fn tls_connector(ca: Option<&str>) -> Result<tokio_rustls::TlsConnector, String> {
    let provider = preflight_client::provider();
    let roots = preflight_client::root_store(ca)?;
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(cfg)))
}

struct RedisObserver {
    target: Target,
    key: Option<String>,
    tls: Option<tokio_rustls::TlsConnector>,
}

impl Observer for RedisObserver {
    fn host(&self) -> Option<String> {
        Some(format!("{}:{}", self.target.host, self.target.port))
    }

    fn observe(&self) -> BoxFuture<'_, Result<Facts, Failure>> {
        Box::pin(async move {
            let t = &self.target;
            let addr = format!("{}:{}", t.host, t.port);
            let tcp = TcpStream::connect((t.host.as_str(), t.port))
                .await
                .map_err(|e| Failure::Target(connect_error(&e, &addr)))?;
            let _ = tcp.set_nodelay(true);
            match &self.tls {
                None => self.session(BufReader::new(tcp), &addr).await,
                Some(connector) => {
                    let name =
                        rustls::pki_types::ServerName::try_from(t.host.clone()).map_err(|_| {
                            Failure::Probe(format!("\"{}\" is not a valid TLS server name", t.host))
                        })?;
                    let tls = connector.connect(name, tcp).await.map_err(|e| {
                        Failure::Target(format!("TLS handshake with {addr} failed: {e}"))
                    })?;
                    self.session(BufReader::new(tls), &addr).await
                }
            }
        })
    }
}

fn connect_error(e: &std::io::Error, addr: &str) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => format!("connection refused by {addr}"),
        _ => format!("failed to connect to {addr}: {e}"),
    }
}

/// One connection's commands; replies that are server errors become facts.
struct Session<'a, S> {
    stream: S,
    addr: &'a str,
}

impl<S: AsyncRead + AsyncWrite + tokio::io::AsyncBufRead + Unpin + Send> Session<'_, S> {
    async fn call(&mut self, args: &[&[u8]]) -> Result<Reply, Failure> {
        let addr = self.addr;
        let wrap = |e: RespError| match e {
            RespError::Io(io) => Failure::Target(format!("connection to {addr} failed: {io}")),
            RespError::Protocol(p) => Failure::Target(format!(
                "{addr} is not a Redis server (not a Redis reply: {p})"
            )),
        };
        resp::send(&mut self.stream, args).await.map_err(wrap)?;
        resp::read(&mut self.stream).await.map_err(wrap)
    }
}

impl RedisObserver {
    async fn session<S>(&self, stream: S, addr: &str) -> Result<Facts, Failure>
    where
        S: AsyncRead + AsyncWrite + tokio::io::AsyncBufRead + Unpin + Send,
    {
        let mut s = Session { stream, addr };
        let t = &self.target;
        let mut facts = Facts::new();
        let mut errors: Vec<String> = Vec::new();
        for k in [
            "pong",
            "role",
            "connected_slaves",
            "used_memory",
            "latency_ms",
            "value",
            "value_truncated",
        ] {
            facts.insert(k.into(), Value::Null);
        }
        facts.insert("pong".into(), json!(false));
        if let Some(pw) = &t.password {
            let reply = match &t.user {
                Some(u) => {
                    s.call(&[b"AUTH".as_slice(), u.as_bytes(), pw.as_bytes()])
                        .await?
                }
                None => s.call(&[b"AUTH".as_slice(), pw.as_bytes()]).await?,
            };
            if let Reply::Error(e) = reply {
                errors.push(format!("AUTH: {e}"));
            }
        }
        if t.db != 0
            && let Reply::Error(e) = s
                .call(&[b"SELECT".as_slice(), t.db.to_string().as_bytes()])
                .await?
        {
            errors.push(format!("SELECT {}: {e}", t.db));
        }
        let t0 = Instant::now();
        let pong = s.call(&[b"PING"]).await?;
        facts.insert("latency_ms".into(), json!(ms(t0.elapsed())));
        match &pong {
            Reply::Status(p) if p == "PONG" => {
                facts.insert("pong".into(), json!(true));
            }
            Reply::Error(e) => errors.push(format!("PING: {e}")),
            other => errors.push(format!("PING answered {}", describe(other))),
        }
        match s.call(&[b"INFO", b"replication"]).await? {
            Reply::Error(e) => errors.push(format!("INFO replication: {e}")),
            reply => {
                let info = reply.text().unwrap_or_default();
                if let Some(role) = info_field(&info, "role") {
                    facts.insert("role".into(), json!(role));
                }
                if let Some(n) =
                    info_field(&info, "connected_slaves").and_then(|v| v.parse::<u64>().ok())
                {
                    facts.insert("connected_slaves".into(), json!(n));
                }
            }
        }
        match s.call(&[b"INFO", b"memory"]).await? {
            Reply::Error(e) => errors.push(format!("INFO memory: {e}")),
            reply => {
                let info = reply.text().unwrap_or_default();
                if let Some(n) =
                    info_field(&info, "used_memory").and_then(|v| v.parse::<u64>().ok())
                {
                    facts.insert("used_memory".into(), json!(n));
                }
            }
        }
        if let Some(key) = &self.key {
            match s.call(&[b"GET".as_slice(), key.as_bytes()]).await? {
                Reply::Bulk(Some(bytes)) => {
                    let cut = bytes.len() > VALUE_CAP;
                    let kept = &bytes[..bytes.len().min(VALUE_CAP)];
                    facts.insert("value".into(), json!(String::from_utf8_lossy(kept)));
                    facts.insert("value_truncated".into(), json!(cut));
                }
                Reply::Bulk(None) => {
                    facts.insert("value_truncated".into(), json!(false));
                }
                Reply::Error(e) => errors.push(format!("GET: {e}")),
                other => errors.push(format!("GET answered {}", describe(&other))),
            }
        }
        facts.insert(
            "error".into(),
            if errors.is_empty() {
                Value::Null
            } else {
                json!(errors.join("; "))
            },
        );
        Ok(facts)
    }
}

fn describe(r: &Reply) -> String {
    match r {
        Reply::Status(s) => format!("\"{s}\""),
        Reply::Error(e) => format!("an error: {e}"),
        Reply::Integer(i) => format!("the integer {i}"),
        Reply::Bulk(None) | Reply::Array(None) => "nil".into(),
        Reply::Bulk(Some(_)) => "a bulk string".into(),
        Reply::Array(Some(_)) => "an array".into(),
    }
}

/// `name:value` from an INFO text.
fn info_field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines()
        .filter_map(|l| l.trim_end_matches('\r').split_once(':'))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = parse_url("redis://app:p%40ss+word@cache.internal:6380/2").expect("url");
        assert_eq!(
            t,
            Target {
                tls: false,
                host: "cache.internal".into(),
                port: 6380,
                user: Some("app".into()),
                password: Some("p@ss+word".into()),
                db: 2,
            }
        );
        let t = parse_url("rediss://:tok@h").expect("url");
        assert!(t.tls);
        assert_eq!(
            (t.user, t.password.as_deref(), t.port, t.db),
            (None, Some("tok"), 6379, 0)
        );
        let t = parse_url("redis://[::1]:7000").expect("url");
        assert_eq!(t.host, "::1");
        for bad in ["http://h", "redis://h/x", "redis:///0", "not a url"] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
        // Errors never repeat the URL (it may hold a password).
        let e = parse_url("redis://u:hunter22@h/notadb").expect_err("bad db");
        assert!(!e.contains("hunter22"), "{e}");
    }

    #[test]
    fn info_fields() {
        let info = "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n";
        assert_eq!(info_field(info, "role"), Some("master"));
        assert_eq!(info_field(info, "connected_slaves"), Some("0"));
        assert_eq!(info_field(info, "used_memory"), None);
    }

    #[test]
    fn secrets_include_the_decoded_password() {
        let opts: Options =
            serde_json::from_value(json!({"url": "redis://:p%40ssw0rd@h"})).expect("opts");
        assert_eq!(
            RedisProbe::new().secrets(&opts),
            vec!["p@ssw0rd".to_string()]
        );
    }
}
