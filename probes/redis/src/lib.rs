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
//! A failed `AUTH` or `SELECT` ends the conversation: nothing after it runs, so the
//! answers of another user (the `default` one) or another database never stand in for
//! the ones asked for. `authenticated` says how `AUTH` went, and the default
//! expectations need it not to be false and `error` to be null.
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

use preflight_core::network::Network;
use preflight_core::probe::{BoxFuture, Egress, OptionProblem};
use preflight_core::{
    Blame, Context, Fact, FactType, Facts, Failure, Observer, Options, Probe, ProbeError,
};
use resp::{Reply, RespError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, BufReader};
use tokio::net::TcpStream;
use url::Url;

/// A `GET` value is kept up to this many bytes (`value_truncated` says when cut).
pub const VALUE_CAP: usize = 1024 * 1024;

/// Options of a `redis` item.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedisOptions {
    /// Server URL, `redis://user:pass@host:port/db` (`rediss://` for TLS); port 6379
    /// and database 0 by default. The password is masked in every report.
    pub url: String,
    /// A key to read with `GET`; its value is the `value` fact.
    pub key: Option<String>,
    /// A PEM file of CA certificates trusted for `rediss://` instead of the roots of
    /// `[checklist] trust` (the Mozilla roots unless set) and `[checklist] ca`.
    pub ca: Option<String>,
    /// `rediss://`: PEM certificate (chain) presented when the server asks for one
    /// (`tls-auth-clients`); needs `client_key`.
    #[serde(default)]
    pub client_cert: Option<String>,
    /// PEM private key of `client_cert`; a secret: its path is masked in every report.
    #[serde(default)]
    pub client_key: Option<String>,
}

/// Why a Redis observation produced no facts. Server *error replies* are not errors
/// (they are the `error` fact); these are an unusable URL or CA file (the checker's
/// fault) and connections that fail or do not speak RESP (the target's).
///
/// Messages never repeat the URL: it may hold a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `url` does not parse.
    #[error("url is not a valid Redis URL: {0}")]
    Url(url::ParseError),
    /// `url` has a scheme other than `redis` / `rediss`.
    #[error("unsupported URL scheme \"{0}\" (use redis:// or rediss://)")]
    Scheme(String),
    /// `url` names no host.
    #[error("url has no host")]
    NoHost,
    /// The URL's path is not a database number.
    #[error("url path \"/{0}\" is not a database number")]
    Database(String),
    /// The `ca` file cannot be used, or TLS cannot be set up.
    #[error("{0}")]
    TlsSetup(String),
    /// The host cannot be a TLS server name.
    #[error("\"{0}\" is not a valid TLS server name")]
    ServerName(String),
    /// The server refused the connection.
    #[error("connection refused by {addr}")]
    Refused {
        /// `host:port`.
        addr: String,
    },
    /// The connection could not be opened for another reason.
    #[error("failed to connect to {addr}: {error}")]
    Connect {
        /// `host:port`.
        addr: String,
        /// Why.
        error: std::io::Error,
    },
    /// The TLS handshake failed.
    #[error("TLS handshake with {addr} failed: {error}")]
    Handshake {
        /// `host:port`.
        addr: String,
        /// Why.
        error: std::io::Error,
    },
    /// The connection failed or closed during the conversation.
    #[error("connection to {addr} failed: {error}")]
    Io {
        /// `host:port`.
        addr: String,
        /// Why.
        error: std::io::Error,
    },
    /// The server answered with something that is not RESP.
    #[error("{addr} is not a Redis server (not a Redis reply: {reason})")]
    NotRedis {
        /// `host:port`.
        addr: String,
        /// What was wrong with the reply.
        reason: String,
    },
}

impl ProbeError for Error {
    fn blame(&self) -> Blame {
        match self {
            Error::Url(_)
            | Error::Scheme(_)
            | Error::NoHost
            | Error::Database(_)
            | Error::TlsSetup(_)
            | Error::ServerName(_) => Blame::Checker,
            Error::Refused { .. }
            | Error::Connect { .. }
            | Error::Handshake { .. }
            | Error::Io { .. }
            | Error::NotRedis { .. } => Blame::Target,
        }
    }

    fn is_timeout(&self) -> bool {
        match self {
            Error::Connect { error, .. }
            | Error::Handshake { error, .. }
            | Error::Io { error, .. } => error.kind() == std::io::ErrorKind::TimedOut,
            _ => false,
        }
    }
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

fn parse_url(text: &str) -> Result<Target, Error> {
    // Never echo the URL: it may hold a password.
    let url = Url::parse(text).map_err(Error::Url)?;
    let tls = match url.scheme() {
        "redis" => false,
        "rediss" => true,
        other => return Err(Error::Scheme(other.to_string())),
    };
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or(Error::NoHost)?
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
            .map_err(|_| Error::Database(path.to_string()))?
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
    type Options = RedisOptions;
    const NAME: &'static str = "redis";
    const SUMMARY: &'static str =
        "Talks RESP to Redis: PING, role, replicas, memory, and optionally GET of a key.";
    const FACTS: &'static [Fact] = &[
        Fact::new("pong", FactType::Bool, "the server answered PING with PONG"),
        Fact::new(
            "role",
            FactType::String,
            "`master` or `slave`, from INFO replication",
        )
        .nullable(),
        Fact::new(
            "connected_slaves",
            FactType::Integer,
            "number of connected replicas, from INFO replication",
        )
        .nullable(),
        Fact::new(
            "used_memory",
            FactType::Integer,
            "memory in use, in bytes, from INFO memory",
        )
        .nullable(),
        Fact::new(
            "authenticated",
            FactType::Bool,
            "`AUTH` with the URL's user and password succeeded; false when the server refused it (nothing after it is asked); null when the URL holds no credentials",
        )
        .nullable(),
        Fact::new(
            "latency_ms",
            FactType::Number,
            "PING round trip, in ms; null when PING was not sent (AUTH or SELECT failed)",
        )
        .nullable(),
        Fact::new(
            "value",
            FactType::String,
            "the value of `key` as text, kept up to 1 MiB; null when the key does not exist or no `key` is given",
        )
        .nullable(),
        Fact::new(
            "value_truncated",
            FactType::Bool,
            "the value of `key` was longer than 1 MiB and was cut; null without `key`",
        )
        .nullable(),
        Fact::new(
            "error",
            FactType::String,
            "the server's error replies, naming the command (`AUTH: WRONGPASS …`, `SELECT 99: ERR …`, `PING: NOAUTH …`); null when none",
        )
        .nullable(),
    ];
    const SECRET_OPTIONS: &'static [&'static str] = &["client_key"];
    const EXAMPLE: &'static str = r#"[[item]]
id = "infra.redis"
title = "Redis is up and primary, and the live release is 1.4.2"
probe = "redis"
url = "redis://127.0.0.1:6379/0"
key = "release:live"
expect = ["pong", "role == 'master'", "used_memory < 1024 * 1024 * 1024", "value == '1.4.2'"]
"#;

    fn default_expect(_: &Options) -> Vec<String> {
        vec![
            "pong".into(),
            "authenticated != false".into(),
            "error == null".into(),
        ]
    }

    fn validate(options: &RedisOptions) -> Vec<OptionProblem> {
        let mut problems = match parse_url(&options.url) {
            Ok(_) => Vec::new(),
            Err(e) => vec![OptionProblem::at("url", e.to_string())],
        };
        if options.client_cert.is_some() != options.client_key.is_some() {
            let key = if options.client_cert.is_some() {
                "client_cert"
            } else {
                "client_key"
            };
            problems.push(OptionProblem::at(
                key,
                "give client_cert and client_key together",
            ));
        }
        problems
    }

    fn egress(options: &RedisOptions) -> Option<Egress> {
        let tls = parse_url(&options.url).is_ok_and(|t| t.tls);
        Some(Egress {
            tls,
            ca: options.ca.clone(),
            client_cert: options.client_cert.clone(),
            ..Egress::default()
        })
    }

    fn secrets(options: &RedisOptions) -> Vec<String> {
        // The generic rules mask URL passwords; also mask the decoded form.
        parse_url(&options.url)
            .ok()
            .and_then(|t| t.password)
            .into_iter()
            .collect()
    }

    fn prepare(&self, options: RedisOptions, cx: &Context) -> Result<Arc<dyn Observer>, Failure> {
        let target = parse_url(&options.url)?;
        let tls = if target.tls {
            Some(tls_connector(
                options.ca,
                options.client_cert,
                options.client_key,
                &cx.network,
            )?)
        } else {
            None
        };
        Ok(Arc::new(RedisObserver {
            target,
            key: options.key,
            tls,
        }))
    }
}

/// TLS with the run's roots (or only the CA certificates of `ca`), presenting the
/// client certificate when given.
fn tls_connector(
    ca: Option<String>,
    client_cert: Option<String>,
    client_key: Option<String>,
    network: &Arc<Network>,
) -> Result<tokio_rustls::TlsConnector, Error> {
    let cfg = preflight_client::TlsSettings::new(false, ca, network.clone())
        .with_client_cert(client_cert, client_key)
        .config()
        .map_err(Error::TlsSetup)?;
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
                .map_err(|e| connect_error(e, &addr))?;
            let _ = tcp.set_nodelay(true);
            match &self.tls {
                None => Ok(self.session(BufReader::new(tcp), &addr).await?),
                Some(connector) => {
                    let name = rustls::pki_types::ServerName::try_from(t.host.clone())
                        .map_err(|_| Error::ServerName(t.host.clone()))?;
                    let tls =
                        connector
                            .connect(name, tcp)
                            .await
                            .map_err(|error| Error::Handshake {
                                addr: addr.clone(),
                                error,
                            })?;
                    Ok(self.session(BufReader::new(tls), &addr).await?)
                }
            }
        })
    }
}

fn connect_error(error: std::io::Error, addr: &str) -> Error {
    let addr = addr.to_string();
    match error.kind() {
        std::io::ErrorKind::ConnectionRefused => Error::Refused { addr },
        _ => Error::Connect { addr, error },
    }
}

/// One connection's commands; replies that are server errors become facts.
struct Session<'a, S> {
    stream: S,
    addr: &'a str,
}

impl<S: AsyncRead + AsyncWrite + tokio::io::AsyncBufRead + Unpin + Send> Session<'_, S> {
    async fn call(&mut self, args: &[&[u8]]) -> Result<Reply, Error> {
        let addr = self.addr;
        let wrap = |e: RespError| match e {
            // A TLS 1.3 server judges the client certificate after the client's side of
            // the handshake: its alert arrives with the first reply.
            RespError::Io(error)
                if error
                    .get_ref()
                    .is_some_and(|i| i.downcast_ref::<rustls::Error>().is_some()) =>
            {
                Error::Handshake {
                    addr: addr.to_string(),
                    error,
                }
            }
            RespError::Io(error) => Error::Io {
                addr: addr.to_string(),
                error,
            },
            RespError::Protocol(reason) => Error::NotRedis {
                addr: addr.to_string(),
                reason,
            },
        };
        resp::send(&mut self.stream, args).await.map_err(wrap)?;
        resp::read(&mut self.stream).await.map_err(wrap)
    }
}

impl RedisObserver {
    /// The commands of one observation; server error replies are collected in `error`.
    async fn session<S>(&self, stream: S, addr: &str) -> Result<Facts, Error>
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
            "authenticated",
            "error",
        ] {
            facts.insert(k.into(), Value::Null);
        }
        facts.insert("pong".into(), json!(false));
        // A user alone is still a login as that user (`AUTH user ""`): never the
        // default user's session in its place.
        if t.password.is_some() || t.user.is_some() {
            let pw = t.password.as_deref().unwrap_or("");
            let reply = match &t.user {
                Some(u) => {
                    s.call(&[b"AUTH".as_slice(), u.as_bytes(), pw.as_bytes()])
                        .await?
                }
                None => s.call(&[b"AUTH".as_slice(), pw.as_bytes()]).await?,
            };
            let refused = matches!(reply, Reply::Error(_));
            facts.insert("authenticated".into(), json!(!refused));
            if let Reply::Error(e) = reply {
                facts.insert("error".into(), json!(format!("AUTH: {e}")));
                return Ok(facts);
            }
        }
        if t.db != 0
            && let Reply::Error(e) = s
                .call(&[b"SELECT".as_slice(), t.db.to_string().as_bytes()])
                .await?
        {
            facts.insert("error".into(), json!(format!("SELECT {}: {e}", t.db)));
            return Ok(facts);
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
        for bad in [
            "redis://u:hunter22@h/notadb",
            "http://u:hunter22@h",
            "redis://u:hunter22@:1",
            "redis://u:hunter22@h:99999",
        ] {
            let e = parse_url(bad).expect_err("bad url").to_string();
            assert!(!e.contains("hunter22"), "{e}");
        }
        assert_eq!(
            parse_url("http://h").expect_err("scheme").to_string(),
            "unsupported URL scheme \"http\" (use redis:// or rediss://)"
        );
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
            preflight_core::AnyProbe::secrets(&RedisProbe::new(), &opts),
            vec!["p@ssw0rd".to_string()]
        );
    }

    #[test]
    fn check_validates_literal_urls_and_types() {
        use preflight_core::AnyProbe;
        let p = RedisProbe::new();
        let opts = |v: Value| -> Options { serde_json::from_value(v).expect("options") };
        assert!(
            p.check(&opts(json!({"url": "redis://127.0.0.1:6379/0"})))
                .is_empty()
        );
        for bad in ["http://h", "redis://h/x", "not a url", "redis://:pw@"] {
            let problems = p.check(&opts(json!({"url": bad})));
            assert_eq!(problems.len(), 1, "{bad}");
            assert_eq!(problems[0].key.as_deref(), Some("url"), "{bad}");
        }
        for bad in [
            json!({}),
            json!({"url": 6379}),
            json!({"url": "redis://h", "key": 1}),
            json!({"url": "redis://h", "kee": "k"}),
        ] {
            assert_eq!(p.check(&opts(bad.clone())).len(), 1, "{bad}");
        }
    }

    #[test]
    fn url_and_ca_problems_are_the_checkers_connections_the_targets() {
        use preflight_core::ProbeError;
        assert_eq!(Error::NoHost.blame(), Blame::Checker);
        assert_eq!(
            Error::TlsSetup("ca file x holds no PEM certificate".into()).blame(),
            Blame::Checker
        );
        assert_eq!(Error::Refused { addr: "h:1".into() }.blame(), Blame::Target);
        let slow = Error::Io {
            addr: "h:1".into(),
            error: std::io::ErrorKind::TimedOut.into(),
        };
        assert!(slow.is_timeout() && slow.blame() == Blame::Target);
    }

    #[test]
    fn a_missing_ca_file_is_an_error_at_prepare() {
        let opts: Options = serde_json::from_value(
            json!({"url": "rediss://127.0.0.1", "ca": "/nonexistent/ca.pem"}),
        )
        .expect("opts");
        let e = match preflight_core::AnyProbe::prepare(
            &RedisProbe::new(),
            &opts,
            &Context::new(Duration::from_secs(1)),
        ) {
            Ok(_) => panic!("a missing ca file must not prepare"),
            Err(e) => e,
        };
        assert_eq!(e.blame(), Blame::Checker);
        assert!(e.reason().starts_with("failed to read ca file"), "{e}");
    }
}
