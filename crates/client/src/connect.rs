//! TCP connections the probes open themselves (tls, tcp, websocket, redis):
//! restricted to one address family, and — for WebSocket items behind a proxy — an
//! HTTP `CONNECT` tunnel.

use std::io;
use std::net::SocketAddr;

use preflight_core::network::Family;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::proxy::ProxyHop;

/// Largest proxy answer head read for a `CONNECT`.
const CONNECT_HEAD_CAP: usize = 16 * 1024;

/// `host:port`, with brackets around an IPv6 address.
pub fn host_port(host: &str, port: u16) -> String {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.contains(':') {
        format!("[{bare}]:{port}")
    } else {
        format!("{bare}:{port}")
    }
}

/// The addresses of `host` of `family`, in the resolver's order. An IP address is
/// itself; a name without an address of the family is an error saying so.
pub async fn resolve(host: &str, port: u16, family: Family) -> io::Result<Vec<SocketAddr>> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let all: Vec<SocketAddr> = tokio::net::lookup_host((bare, port)).await?.collect();
    let kept: Vec<SocketAddr> = all
        .iter()
        .copied()
        .filter(|a| family.allows(a.ip()))
        .collect();
    if kept.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            if all.is_empty() {
                format!("{bare} has no address")
            } else {
                format!(
                    "{bare} has no {} address (family = \"{}\")",
                    family.label(),
                    family.as_str()
                )
            },
        ));
    }
    Ok(kept)
}

/// Opens a TCP connection to `host:port` over `family`, trying each address in turn
/// (as `TcpStream::connect` does); the last error is returned.
pub async fn connect_tcp(host: &str, port: u16, family: Family) -> io::Result<TcpStream> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if family == Family::Any {
        return TcpStream::connect((bare, port)).await;
    }
    let mut last = None;
    for addr in resolve(bare, port, family).await? {
        match TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no address to connect to")))
}

/// Why a `CONNECT` tunnel could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TunnelError {
    /// Only `http://` proxies can tunnel here.
    #[error(
        "the proxy {proxy} is an https:// proxy; WebSocket items tunnel through http:// proxies only"
    )]
    Scheme {
        /// The proxy, without credentials.
        proxy: String,
    },
    /// The proxy refused the TCP connection.
    #[error("connection refused by proxy {proxy}")]
    Refused {
        /// The proxy, without credentials.
        proxy: String,
    },
    /// The connection to the proxy failed otherwise.
    #[error("failed to connect to proxy {proxy}: {source}")]
    Connect {
        /// The proxy, without credentials.
        proxy: String,
        /// What the system said.
        source: io::Error,
    },
    /// The proxy answered the `CONNECT` with something other than 2xx.
    #[error("proxy {proxy} refused the tunnel to {target}: {answer}")]
    Refusal {
        /// The proxy, without credentials.
        proxy: String,
        /// `host:port` asked for.
        target: String,
        /// The status line, cleaned and cut.
        answer: String,
    },
    /// The proxy's answer was not HTTP, too long, or cut short.
    #[error("proxy {proxy} broke off the tunnel to {target}: {reason}")]
    Broken {
        /// The proxy, without credentials.
        proxy: String,
        /// `host:port` asked for.
        target: String,
        /// What went wrong.
        reason: String,
    },
}

impl TunnelError {
    /// Whether the failure was a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, TunnelError::Connect { source, .. } if source.kind() == io::ErrorKind::TimedOut)
    }
}

/// Opens a `CONNECT` tunnel to `host:port` through an `http://` proxy; the stream is
/// then the target's (TLS and the protocol run inside it).
pub async fn tunnel(
    proxy: &ProxyHop,
    host: &str,
    port: u16,
    family: Family,
) -> Result<TcpStream, TunnelError> {
    let shown = format!("{} ({})", proxy.shown, proxy.from);
    if proxy.scheme != "http" {
        return Err(TunnelError::Scheme { proxy: shown });
    }
    let mut tcp =
        connect_tcp(&proxy.host, proxy.port, family)
            .await
            .map_err(|source| match source.kind() {
                io::ErrorKind::ConnectionRefused => TunnelError::Refused {
                    proxy: shown.clone(),
                },
                _ => TunnelError::Connect {
                    proxy: shown.clone(),
                    source,
                },
            })?;
    let _ = tcp.set_nodelay(true);
    let target = host_port(host, port);
    let broken = |reason: String| TunnelError::Broken {
        proxy: shown.clone(),
        target: target.clone(),
        reason,
    };
    let mut head = format!(
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: preflight/{}\r\n",
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes();
    if let Some(auth) = &proxy.authorization {
        head.extend_from_slice(b"Proxy-Authorization: ");
        head.extend_from_slice(auth.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    tcp.write_all(&head)
        .await
        .map_err(|e| broken(e.to_string()))?;
    // Read byte by byte up to the blank line: nothing of the tunnelled stream is
    // consumed (the target may speak first).
    let mut answer = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n\r\n") {
        if answer.len() >= CONNECT_HEAD_CAP {
            return Err(broken("its answer head is over 16 KiB".into()));
        }
        match tcp.read(&mut byte).await {
            Ok(0) => return Err(broken("it closed the connection".into())),
            Ok(_) => answer.push(byte[0]),
            Err(e) => return Err(broken(e.to_string())),
        }
    }
    let text = String::from_utf8_lossy(&answer);
    let status_line = text.lines().next().unwrap_or_default();
    let code = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok());
    match code {
        Some(200..=299) if status_line.starts_with("HTTP/1.") => Ok(tcp),
        Some(_) => Err(TunnelError::Refusal {
            proxy: shown.clone(),
            target: target.clone(),
            answer: clean(status_line),
        }),
        None => Err(broken(format!(
            "not an HTTP answer: {}",
            clean(status_line)
        ))),
    }
}

/// Untrusted text as one printable line of at most 120 characters.
fn clean(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(120)
        .collect();
    if s.chars().count() > 120 {
        out.push('…');
    }
    out.trim().to_string()
}
