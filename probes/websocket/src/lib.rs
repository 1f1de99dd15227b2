//! The `websocket` probe: does the upgrade to a WebSocket complete, with which
//! subprotocol, how fast, what does the server send first, and how does it close?
//!
//! TCP (or `resolve`), then TLS for `wss://` on the one rustls config of
//! preflight-client (ALPN `http/1.1`), then the HTTP/1.1 upgrade (tokio-tungstenite,
//! no TLS feature of its own). A server that answers the upgrade with another status
//! is a fact (`connected = false`, `status` = what it answered); a connection that
//! cannot be made, a TLS failure or a handshake that does not complete within the
//! item's timeout fails the item. With `send`, one text message is sent after the
//! upgrade; with `expect_message`, the first message is awaited that long. Messages
//! are read up to 1 MiB (longer fails the item) and kept up to 64 KiB. An upgrade that
//! picks none of the offered `subprotocols` is reported (`subprotocol` null) and the
//! socket is not used further (tungstenite drops it), so nothing is sent or awaited.
//!
//! ```toml
//! [[item]]
//! id = "ws.chat"
//! probe = "websocket"
//! url = "wss://chat.example/socket"
//! send = "ping"
//! expect_message = "2s"
//! expect = ["connected", "message == 'pong'"]
//! ```

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use preflight_client::proxy::ProxyHop;
use preflight_client::{HttpSettings, TlsSettings};
use preflight_core::checklist::file::DurationText;
use preflight_core::network::{Family, check_proxy};
use preflight_core::probe::{BoxFuture, Egress, OptionProblem};
use preflight_core::{
    Blame, Context, Fact, FactType, Facts, Failure, Observer, Options, Probe, ProbeError,
};
use rustls::pki_types::ServerName;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::{ProtocolError, SubProtocolError};
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use url::Url;

/// A message longer than this fails the item (frames too).
pub const MESSAGE_LIMIT: usize = 1024 * 1024;
/// The `message` fact keeps at most this many bytes (cut at a character boundary).
pub const MESSAGE_CAP: usize = 64 * 1024;
/// How long the server gets to answer our close frame.
const CLOSE_WAIT: Duration = Duration::from_millis(500);
/// How many other frames are read while waiting for the server's close frame.
const CLOSE_FRAMES: usize = 64;

/// Options of a `websocket` item.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebSocketOptions {
    /// The URL to upgrade, `ws://` or `wss://`.
    pub url: String,
    /// Request headers of the upgrade (e.g. `authorization`); values of headers named like secrets are masked everywhere.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Subprotocols to offer (`Sec-WebSocket-Protocol`), in order of preference.
    #[serde(default)]
    pub subprotocols: Vec<String>,
    /// A text message to send once connected.
    #[serde(default)]
    pub send: Option<String>,
    /// Wait this long for the first message from the server (fact `message`).
    #[serde(default)]
    pub expect_message: Option<DurationText>,
    /// Skip certificate checks (handshake signatures are still verified).
    #[serde(default)]
    pub insecure: bool,
    /// PEM file of CA certificates; when given, only these are trusted (like `curl --cacert`); default: the roots of `[checklist] trust` plus `[checklist] ca`.
    #[serde(default)]
    pub ca: Option<String>,
    /// Connect to this IP address instead of resolving the URL's host (the certificate is still checked for the host).
    #[serde(default)]
    pub resolve: Option<String>,
    /// Proxy to tunnel through with `CONNECT` (`ws://` like `http://`, `wss://` like `https://`): an `http://` URL (credentials masked), or `"none"` to connect directly; default: `[checklist] proxy`, else `HTTPS_PROXY` / `HTTP_PROXY` with `NO_PROXY`.
    #[serde(default)]
    pub proxy: Option<String>,
    /// PEM certificate (chain) presented when the server asks for one (mutual TLS); needs `client_key`.
    #[serde(default)]
    pub client_cert: Option<String>,
    /// PEM private key of `client_cert`; a secret: its path is masked in every report.
    #[serde(default)]
    pub client_key: Option<String>,
    /// Connect over `ipv4` only, `ipv6` only, or `any` (default) of the host's addresses.
    #[serde(default)]
    pub family: Family,
}

/// Why a `websocket` observation produced no facts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// TCP could not connect.
    #[error("{reason}")]
    Connect {
        /// `connection refused by host:port`, ….
        reason: String,
    },
    /// The TLS handshake failed.
    #[error("TLS handshake with {target} failed: {reason}")]
    Tls {
        /// `host:port`.
        target: String,
        /// What rustls said.
        reason: String,
    },
    /// The upgrade did not complete within the item's timeout.
    #[error("the WebSocket handshake with {target} did not complete within {}", fmt_duration(*.after))]
    HandshakeTimeout {
        /// `host:port`.
        target: String,
        /// The item's timeout.
        after: Duration,
    },
    /// The upgrade answer broke the protocol (bad accept key, unasked subprotocol, a
    /// head over 64 KiB, …).
    #[error("the WebSocket handshake with {target} failed: {reason}")]
    Handshake {
        /// `host:port`.
        target: String,
        /// What went wrong.
        reason: String,
    },
    /// `send` could not be sent.
    #[error("failed to send the message: {0}")]
    Send(String),
    /// Reading the first message failed (a message over 1 MiB, a protocol error, a reset).
    #[error("failed to read a message: {0}")]
    Read(String),
    /// The `CONNECT` tunnel through the proxy could not be opened.
    #[error("{0}")]
    Proxy(preflight_client::connect::TunnelError),
    /// The TLS client could not be built (the `ca` file does not read): the checker's problem.
    #[error("{0}")]
    Client(String),
}

impl ProbeError for Error {
    fn blame(&self) -> Blame {
        match self {
            Error::Client(_) => Blame::Checker,
            _ => Blame::Target,
        }
    }

    fn is_timeout(&self) -> bool {
        match self {
            Error::HandshakeTimeout { .. } => true,
            Error::Proxy(e) => e.is_timeout(),
            _ => false,
        }
    }
}

/// `1s`, `250ms`, `1.5s`.
fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// The WebSocket probe.
#[derive(Debug, Default)]
pub struct WebSocketProbe;

impl WebSocketProbe {
    /// A new probe.
    pub fn new() -> WebSocketProbe {
        WebSocketProbe
    }
}

/// A `ws://` or `wss://` URL with a host.
fn parse_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("\"{text}\" is not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "ws" | "wss") {
        return Err(format!(
            "unsupported URL scheme \"{}\" (use ws or wss)",
            url.scheme()
        ));
    }
    if url.host_str().is_none() {
        return Err(format!("\"{text}\" has no host"));
    }
    Ok(url)
}

fn parse_resolve(r: &str) -> Result<IpAddr, String> {
    r.parse::<IpAddr>()
        .map_err(|_| format!("\"{r}\" is not an IP address (write e.g. resolve = \"203.0.113.7\")"))
}

/// Headers of the upgrade request, or the first problem.
fn header_list(
    headers: &BTreeMap<String, String>,
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    headers
        .iter()
        .map(|(k, v)| {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| format!("\"{k}\" is not a valid header name"))?;
            let value = HeaderValue::from_str(v)
                .map_err(|_| format!("the value of \"{k}\" is not a valid header value"))?;
            Ok((name, value))
        })
        .collect()
}

fn subprotocol_value(list: &[String]) -> Result<Option<HeaderValue>, String> {
    for p in list {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
            return Err(format!("\"{p}\" is not a valid subprotocol name"));
        }
    }
    if list.is_empty() {
        return Ok(None);
    }
    HeaderValue::from_str(&list.join(", "))
        .map(Some)
        .map_err(|_| "not a valid subprotocol list".into())
}

impl Probe for WebSocketProbe {
    type Options = WebSocketOptions;
    const NAME: &'static str = "websocket";
    const SUMMARY: &'static str = "Opens a WebSocket: does the upgrade complete, subprotocol, handshake latency, the first message, the close code.";
    const FACTS: &'static [Fact] = &[
        Fact::new(
            "connected",
            FactType::Bool,
            "the server accepted the upgrade (101 Switching Protocols)",
        ),
        Fact::new(
            "status",
            FactType::Integer,
            "HTTP status of the upgrade answer: 101, or what the server answered instead",
        ),
        Fact::new(
            "subprotocol",
            FactType::String,
            "the subprotocol the server picked; null when none",
        )
        .nullable(),
        Fact::new(
            "latency_ms",
            FactType::Number,
            "connect, TLS and upgrade, in ms",
        ),
        Fact::new(
            "message",
            FactType::String,
            "the first text or binary message (binary as UTF-8, invalid bytes replaced), up to 64 KiB; null when none arrived within `expect_message` (or it was not given)",
        )
        .nullable(),
        Fact::new(
            "close_code",
            FactType::Integer,
            "the code of the server's close frame (1000 normal, 1008 policy, …); null when it sent none",
        )
        .nullable(),
    ];
    const SECRET_OPTIONS: &'static [&'static str] = &["client_key"];
    const EXAMPLE: &'static str = r#"[[item]]
id = "ws.chat"
title = "Chat socket upgrades and answers a ping"
probe = "websocket"
url = "wss://chat.shop.example/socket"
subprotocols = ["chat.v2"]
send = "ping"
expect_message = "2s"
expect = ["connected", "subprotocol == 'chat.v2'", "message == 'pong'"]
"#;
    const DEFAULT_EXPECT_NOTE: &'static str =
        "with `expect_message`, also `message != null` (a message arrived in time)";

    fn default_expect(options: &Options) -> Vec<String> {
        let mut e = vec!["connected".to_string()];
        if options.contains_key("expect_message") {
            e.push("message != null".into());
        }
        e
    }

    fn validate(o: &WebSocketOptions) -> Vec<OptionProblem> {
        let mut problems = Vec::new();
        if let Err(e) = parse_url(&o.url) {
            problems.push(OptionProblem::at("url", e));
        }
        if let Err(e) = header_list(&o.headers) {
            problems.push(OptionProblem::at("headers", e));
        }
        if let Err(e) = subprotocol_value(&o.subprotocols) {
            problems.push(OptionProblem::at("subprotocols", e));
        }
        if let Some(r) = &o.resolve
            && let Err(e) = parse_resolve(r)
        {
            problems.push(OptionProblem::at("resolve", e));
        }
        if let Some(s) = &o.send
            && s.len() > MESSAGE_LIMIT
        {
            problems.push(OptionProblem::at("send", "`send` is longer than 1 MiB"));
        }
        if let Some(p) = &o.proxy
            && let Err(e) = check_proxy(p)
        {
            problems.push(OptionProblem::at("proxy", e));
        }
        if o.client_cert.is_some() != o.client_key.is_some() {
            let key = if o.client_cert.is_some() {
                "client_cert"
            } else {
                "client_key"
            };
            problems.push(OptionProblem::at(
                key,
                "give client_cert and client_key together",
            ));
        }
        if let Ok(url) = parse_url(&o.url)
            && let Err(e) = o.family.check_host(url.host_str().unwrap_or_default())
        {
            problems.push(OptionProblem::at("family", e));
        }
        if let Some(Ok(ip)) = o.resolve.as_deref().map(parse_resolve)
            && !o.family.allows(ip)
        {
            problems.push(OptionProblem::at(
                "family",
                format!(
                    "family = \"{}\", but resolve = \"{ip}\" is not an {} address",
                    o.family.as_str(),
                    o.family.label()
                ),
            ));
        }
        problems
    }

    fn egress(o: &WebSocketOptions) -> Option<Egress> {
        Some(Egress {
            url: parse_url(&o.url).ok().map(|u| proxy_url(&u).to_string()),
            proxy: o.proxy.clone(),
            tls: o.url.trim().to_ascii_lowercase().starts_with("wss:"),
            ca: o.ca.clone(),
            unverified: o.insecure,
            client_cert: o.client_cert.clone(),
            family: o.family,
        })
    }

    fn prepare(&self, o: WebSocketOptions, cx: &Context) -> Result<Arc<dyn Observer>, Failure> {
        let bad = |key: &'static str| move |e: String| Failure::options(OptionProblem::at(key, e));
        let url = parse_url(&o.url).map_err(bad("url"))?;
        let headers = header_list(&o.headers).map_err(bad("headers"))?;
        let subprotocols = subprotocol_value(&o.subprotocols).map_err(bad("subprotocols"))?;
        let resolve = match &o.resolve {
            Some(r) => Some(parse_resolve(r).map_err(bad("resolve"))?),
            None => None,
        };
        let settings = HttpSettings {
            tls: TlsSettings::new(o.insecure, o.ca, cx.network.clone())
                .with_client_cert(o.client_cert, o.client_key),
            proxy: o.proxy,
            family: o.family,
        };
        let as_http = proxy_url(&url);
        let via = settings
            .route(&as_http)
            .map_err(Error::Client)?
            .proxy()
            .cloned();
        for (given, key, what) in [
            (
                o.family != Family::Any,
                "family",
                format!("family = \"{}\"", o.family.as_str()),
            ),
            (resolve.is_some(), "resolve", "resolve".to_string()),
        ] {
            if given {
                settings
                    .needs_direct(&as_http, &what)
                    .map_err(|e| Failure::options(OptionProblem::at(key, e)))?;
            }
        }
        let tls = if url.scheme() == "wss" {
            let mut config = settings.tls.config().map_err(Error::Client)?;
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Some(tokio_rustls::TlsConnector::from(Arc::new(config)))
        } else {
            None
        };
        let host = url.host_str().unwrap_or_default().to_string();
        let port = url.port_or_known_default().unwrap_or(0);
        Ok(Arc::new(WebSocketObserver {
            url,
            host,
            port,
            headers,
            subprotocols,
            send: o.send,
            expect_message: o.expect_message.map(|d| d.0),
            resolve,
            tls,
            via,
            family: settings.family,
            timeout: cx.timeout,
        }))
    }
}

struct WebSocketObserver {
    url: Url,
    host: String,
    port: u16,
    headers: Vec<(HeaderName, HeaderValue)>,
    subprotocols: Option<HeaderValue>,
    send: Option<String>,
    expect_message: Option<Duration>,
    resolve: Option<IpAddr>,
    tls: Option<tokio_rustls::TlsConnector>,
    /// The proxy to tunnel through, if any.
    via: Option<ProxyHop>,
    family: Family,
    timeout: Duration,
}

impl Observer for WebSocketObserver {
    fn host(&self) -> Option<String> {
        Some(self.target())
    }

    fn observe(&self) -> BoxFuture<'_, Result<Facts, Failure>> {
        Box::pin(async move { Ok(self.run().await?) })
    }
}

/// What the upgrade came to.
enum Upgrade<S> {
    /// 101: the socket and the subprotocol.
    Open(Box<WebSocketStream<S>>, Option<String>),
    /// Another status.
    Refused(u16),
    /// 101 without any of the offered subprotocols: tungstenite closes the socket.
    NoSubprotocol,
}

impl WebSocketObserver {
    fn target(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host.trim_matches(['[', ']']), self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    async fn run(&self) -> Result<Facts, Error> {
        let t0 = Instant::now();
        let deadline = tokio::time::Instant::now() + self.timeout;
        let timed_out = || Error::HandshakeTimeout {
            target: self.target(),
            after: self.timeout,
        };
        let tcp = tokio::time::timeout_at(deadline, self.connect())
            .await
            .map_err(|_| timed_out())??;
        match &self.tls {
            None => {
                let up = tokio::time::timeout_at(deadline, self.upgrade(tcp))
                    .await
                    .map_err(|_| timed_out())??;
                self.after(up, t0.elapsed(), deadline).await
            }
            Some(connector) => {
                let bare = self.host.trim_matches(['[', ']']).to_string();
                let name = ServerName::try_from(bare).map_err(|e| Error::Tls {
                    target: self.target(),
                    reason: e.to_string(),
                })?;
                let tls = tokio::time::timeout_at(deadline, connector.connect(name, tcp))
                    .await
                    .map_err(|_| timed_out())?
                    .map_err(|e| Error::Tls {
                        target: self.target(),
                        reason: tls_reason(&e),
                    })?;
                let up = tokio::time::timeout_at(deadline, self.upgrade(tls))
                    .await
                    .map_err(|_| timed_out())??;
                self.after(up, t0.elapsed(), deadline).await
            }
        }
    }

    async fn connect(&self) -> Result<TcpStream, Error> {
        if let Some(proxy) = &self.via {
            return preflight_client::connect::tunnel(proxy, &self.host, self.port, self.family)
                .await
                .map_err(Error::Proxy);
        }
        let connected = match self.resolve {
            Some(ip) => TcpStream::connect(SocketAddr::new(ip, self.port)).await,
            None => {
                preflight_client::connect::connect_tcp(
                    self.host.trim_matches(['[', ']']),
                    self.port,
                    self.family,
                )
                .await
            }
        };
        connected.map_err(|e| Error::Connect {
            reason: match e.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    format!("connection refused by {}", self.target())
                }
                std::io::ErrorKind::ConnectionReset => {
                    format!("connection reset by {}", self.target())
                }
                _ => format!("failed to connect to {}: {e}", self.target()),
            },
        })
    }

    async fn upgrade<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: S,
    ) -> Result<Upgrade<S>, Error> {
        let mut req = self
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| self.handshake_error(&e))?;
        for (k, v) in &self.headers {
            req.headers_mut().insert(k.clone(), v.clone());
        }
        if let Some(p) = &self.subprotocols {
            req.headers_mut()
                .insert("sec-websocket-protocol", p.clone());
        }
        let config = WebSocketConfig::default()
            .max_message_size(Some(MESSAGE_LIMIT))
            .max_frame_size(Some(MESSAGE_LIMIT));
        match tokio_tungstenite::client_async_with_config(req, stream, Some(config)).await {
            Ok((ws, resp)) => {
                let sub = resp
                    .headers()
                    .get("sec-websocket-protocol")
                    .map(|v| clip(&String::from_utf8_lossy(v.as_bytes()), 256));
                Ok(Upgrade::Open(Box::new(ws), sub))
            }
            Err(WsError::Http(resp)) => Ok(Upgrade::Refused(resp.status().as_u16())),
            // Browsers accept an upgrade that picks no subprotocol; tungstenite drops
            // the connection. It is a fact (`subprotocol` null), the socket is gone.
            Err(WsError::Protocol(ProtocolError::SecWebSocketSubProtocolError(
                SubProtocolError::NoSubProtocol,
            ))) => Ok(Upgrade::NoSubprotocol),
            Err(e) => Err(self.handshake_error(&e)),
        }
    }

    fn handshake_error(&self, e: &WsError) -> Error {
        // A TLS 1.3 server judges the client certificate after the client's side of
        // the handshake: its alert arrives with the first read of the upgrade.
        if let WsError::Io(io) = e
            && let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
        {
            return Error::Tls {
                target: self.target(),
                reason: tls.to_string(),
            };
        }
        let reason = match e {
            WsError::AttackAttempt => {
                "the answer's head is over 64 KiB or arrived in too many pieces".to_string()
            }
            WsError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                "the server closed the connection".to_string()
            }
            other => clip(&other.to_string(), 200),
        };
        Error::Handshake {
            target: self.target(),
            reason,
        }
    }

    /// After the upgrade: send, wait for the first message, close.
    async fn after<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        up: Upgrade<S>,
        latency: Duration,
        deadline: tokio::time::Instant,
    ) -> Result<Facts, Error> {
        let mut f = Facts::new();
        f.insert("latency_ms".into(), json!(ms(latency)));
        let (mut ws, sub) = match up {
            Upgrade::Refused(status) => {
                f.insert("connected".into(), json!(false));
                f.insert("status".into(), json!(status));
                f.insert("subprotocol".into(), Value::Null);
                f.insert("message".into(), Value::Null);
                f.insert("close_code".into(), Value::Null);
                return Ok(f);
            }
            Upgrade::NoSubprotocol => {
                f.insert("connected".into(), json!(true));
                f.insert("status".into(), json!(101));
                f.insert("subprotocol".into(), Value::Null);
                f.insert("message".into(), Value::Null);
                f.insert("close_code".into(), Value::Null);
                return Ok(f);
            }
            Upgrade::Open(ws, sub) => (ws, sub),
        };
        f.insert("connected".into(), json!(true));
        f.insert("status".into(), json!(101));
        f.insert("subprotocol".into(), json!(sub));
        let mut close_code: Option<u16> = None;
        let mut message: Option<String> = None;
        if let Some(text) = &self.send {
            tokio::time::timeout_at(deadline, ws.send(Message::text(text.clone())))
                .await
                .map_err(|_| Error::Send("timed out".into()))?
                .map_err(|e| Error::Send(clip(&e.to_string(), 200)))?;
        }
        if let Some(wait) = self.expect_message {
            let until = (tokio::time::Instant::now() + wait).min(deadline);
            loop {
                match tokio::time::timeout_at(until, ws.next()).await {
                    Err(_) | Ok(None) => break,
                    Ok(Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed))) => break,
                    Ok(Some(Err(e))) => return Err(Error::Read(read_reason(&e))),
                    Ok(Some(Ok(Message::Text(t)))) => {
                        message = Some(cap_text(t.as_str()));
                        break;
                    }
                    Ok(Some(Ok(Message::Binary(b)))) => {
                        message = Some(cap_text(&String::from_utf8_lossy(&b)));
                        break;
                    }
                    Ok(Some(Ok(Message::Close(frame)))) => {
                        close_code = Some(frame.map_or(1005, |c| u16::from(c.code)));
                        break;
                    }
                    Ok(Some(Ok(_))) => {}
                }
            }
        }
        if close_code.is_none() {
            close_code = self.close(&mut ws, deadline).await;
        }
        f.insert("message".into(), json!(message));
        f.insert("close_code".into(), json!(close_code));
        Ok(f)
    }

    /// Sends a normal close and waits briefly for the server's; its code, if any.
    async fn close<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        ws: &mut WebSocketStream<S>,
        deadline: tokio::time::Instant,
    ) -> Option<u16> {
        let until = (tokio::time::Instant::now() + CLOSE_WAIT).min(deadline);
        let normal = CloseFrame {
            code: CloseCode::Normal,
            reason: Utf8Bytes::from_static(""),
        };
        let _ = tokio::time::timeout_at(until, ws.close(Some(normal))).await;
        // A server that keeps talking gets a few frames' grace, not the whole wait.
        for _ in 0..CLOSE_FRAMES {
            match tokio::time::timeout_at(until, ws.next()).await {
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Some(frame.map_or(1005, |c| u16::from(c.code)));
                }
                Ok(Some(Ok(_))) => {}
                _ => return None,
            }
        }
        None
    }
}

/// Why a message could not be read.
fn read_reason(e: &WsError) -> String {
    match e {
        WsError::Capacity(_) => "the server sent a message longer than 1 MiB".into(),
        WsError::Io(io) if io.kind() == std::io::ErrorKind::ConnectionReset => {
            "the connection was reset".into()
        }
        other => clip(&other.to_string(), 200),
    }
}

/// The URL the proxy rules see: `ws://` as `http://`, `wss://` as `https://` (as
/// curl does).
fn proxy_url(url: &Url) -> Url {
    let mut u = url.clone();
    let scheme = if url.scheme() == "wss" {
        "https"
    } else {
        "http"
    };
    // ws/wss and http/https are all "special" schemes: the change cannot fail.
    let _ = u.set_scheme(scheme);
    u
}

/// A TLS failure as rustls words it.
fn tls_reason(e: &std::io::Error) -> String {
    e.get_ref()
        .and_then(|i| i.downcast_ref::<rustls::Error>())
        .map_or_else(|| clip(&e.to_string(), 200), ToString::to_string)
}

/// At most [`MESSAGE_CAP`] bytes, cut at a character boundary.
fn cap_text(t: &str) -> String {
    if t.len() <= MESSAGE_CAP {
        return t.to_string();
    }
    let mut end = MESSAGE_CAP;
    while !t.is_char_boundary(end) {
        end -= 1;
    }
    t[..end].to_string()
}

fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use preflight_core::AnyProbe;

    fn options(v: Value) -> Options {
        serde_json::from_value(v).expect("options")
    }

    #[test]
    fn check_reports_bad_literal_options() {
        let p = WebSocketProbe::new();
        let problems = p.check(&options(json!({"url": "https://x/", "resolve": "nope",
            "subprotocols": ["a b"], "headers": {"bad name": "v"}})));
        let keys: Vec<_> = problems.iter().filter_map(|p| p.key.clone()).collect();
        assert_eq!(keys, vec!["url", "headers", "subprotocols", "resolve"]);
        assert_eq!(
            problems[0].message,
            "unsupported URL scheme \"https\" (use ws or wss)"
        );
        assert!(
            p.check(&options(json!({"url": "wss://h/x", "expect_message": "2s",
                "subprotocols": ["chat.v2"], "send": "ping", "resolve": "::1"})))
                .is_empty()
        );
        let problems = p.check(&options(
            json!({"url": "ws://h/", "expect_message": "soon"}),
        ));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key.as_deref(), Some("expect_message"));
    }

    #[test]
    fn default_expect_follows_expect_message() {
        let p = WebSocketProbe::new();
        assert_eq!(
            p.default_expect(&options(json!({"url": "ws://h/"}))),
            vec!["connected"]
        );
        assert_eq!(
            p.default_expect(&options(json!({"url": "ws://h/", "expect_message": "1s"}))),
            vec!["connected", "message != null"]
        );
    }

    #[test]
    fn a_missing_ca_is_the_checkers_fault() {
        let err = AnyProbe::prepare(
            &WebSocketProbe::new(),
            &options(json!({"url": "wss://h/", "ca": "/nonexistent/ca.pem"})),
            &Context::new(Duration::from_secs(1)),
        )
        .err()
        .expect("no client");
        assert_eq!(err.blame(), Blame::Checker);
    }

    #[test]
    fn the_example_loads() {
        let catalog = preflight_core::Catalog::new(vec![Arc::new(WebSocketProbe::new())]);
        let text = format!(
            "[checklist]\nname = \"example\"\n\n{}",
            WebSocketProbe::EXAMPLE
        );
        let list = preflight_core::checklist::parse("example.toml", &text, &[], &catalog)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(list.items.len(), 1);
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        let s = "é".repeat(MESSAGE_CAP);
        let cut = cap_text(&s);
        assert!(cut.len() <= MESSAGE_CAP && cut.len() > MESSAGE_CAP - 2);
        assert_eq!(fmt_duration(Duration::from_millis(1500)), "1.5s");
    }
}
