//! WebSocket servers on loopback for the websocket probe (tokio-tungstenite, the same
//! crate the probe uses, on plain TCP and on rustls with the testbed CA).
//!
//! Paths, on both `ws://` and `wss://`:
//! - `/echo`: echoes every message; picks the subprotocol `chat.v2` when offered;
//! - `/greet`: sends [`GREETING`] first, then echoes;
//! - `/private`: answers 401 unless `authorization: Bearer demo-token` is sent;
//! - `/policy`: accepts, then closes at once with 1008 (policy violation);
//! - `/chatter`: sends small text messages as fast as it can, forever;
//! - `/flood`: starts one message and never ends it (1 MiB fragments, forever);
//! - anything else: 404.
//!
//! A third listener reads the upgrade request, writes the first line of a 101 answer
//! and then nothing: a handshake that never completes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::TestbedError;
use crate::certs::TestPki;

/// What `/greet` sends first.
pub const GREETING: &str = "welcome to the testbed";
/// The subprotocol `/echo` picks when offered.
pub const SUBPROTOCOL: &str = "chat.v2";
/// The bearer token `/private` wants.
pub const TOKEN: &str = "demo-token";
/// How long a connection is served before the server drops it.
const LIFETIME: Duration = Duration::from_secs(30);

/// The running WebSocket servers. Dropping them stops them.
pub struct WebSocketServers {
    plain: SocketAddr,
    tls: SocketAddr,
    stall: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl WebSocketServers {
    /// Binds `ws://`, `wss://` (the testbed leaf, HTTP/1.1 only) and the stalling port.
    pub async fn start(pki: &TestPki) -> Result<WebSocketServers, TestbedError> {
        let mut config = pki.server_config()?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let plain_l = TcpListener::bind("127.0.0.1:0").await?;
        let tls_l = TcpListener::bind("127.0.0.1:0").await?;
        let stall_l = TcpListener::bind("127.0.0.1:0").await?;
        let (plain, tls, stall) = (
            plain_l.local_addr()?,
            tls_l.local_addr()?,
            stall_l.local_addr()?,
        );
        let tasks = vec![
            tokio::spawn(serve(plain_l, None)),
            tokio::spawn(serve(tls_l, Some(acceptor))),
            tokio::spawn(serve_stall(stall_l)),
        ];
        Ok(WebSocketServers {
            plain,
            tls,
            stall,
            tasks,
        })
    }

    /// `ws://127.0.0.1:PORT`.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.plain.port())
    }

    /// `wss://127.0.0.1:PORT` (certificate from the testbed CA).
    pub fn wss_url(&self) -> String {
        format!("wss://127.0.0.1:{}", self.tls.port())
    }

    /// `ws://127.0.0.1:PORT` of the server that never completes the handshake.
    pub fn stall_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.stall.port())
    }

    /// `ws`, `wss` and `ws_stall`.
    pub fn vars(&self) -> Vec<(String, String)> {
        vec![
            ("ws".into(), self.ws_url()),
            ("wss".into(), self.wss_url()),
            ("ws_stall".into(), self.stall_url()),
        ]
    }
}

impl Drop for WebSocketServers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Serves the paths above on `listener`, over TLS when `tls` is given.
pub(crate) async fn serve(listener: TcpListener, tls: Option<TlsAcceptor>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(LIFETIME, async move {
                match tls {
                    Some(acceptor) => {
                        if let Ok(s) = acceptor.accept(tcp).await {
                            connection(s).await;
                        }
                    }
                    None => connection(tcp).await,
                }
            })
            .await;
        });
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Echo,
    Greet,
    Private,
    Policy,
    Chatter,
    Flood,
}

// The accept callback's `Result<Response, ErrorResponse>` is tungstenite's signature.
#[allow(clippy::result_large_err)]
async fn connection<S: AsyncRead + AsyncWrite + Unpin>(stream: S) {
    let mut route = Route::Echo;
    let callback = |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
        route = match req.uri().path() {
            "/echo" => Route::Echo,
            "/greet" => Route::Greet,
            "/private" => Route::Private,
            "/policy" => Route::Policy,
            "/chatter" => Route::Chatter,
            "/flood" => Route::Flood,
            _ => return Err(refuse(StatusCode::NOT_FOUND, "no WebSocket here")),
        };
        if route == Route::Private {
            let token = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok());
            if token != Some(&format!("Bearer {TOKEN}")) {
                return Err(refuse(StatusCode::UNAUTHORIZED, "token required"));
            }
        }
        let offered = req
            .headers()
            .get_all("sec-websocket-protocol")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|p| p.trim() == SUBPROTOCOL);
        if route == Route::Echo
            && offered
            && let Ok(v) = SUBPROTOCOL.parse()
        {
            resp.headers_mut().insert("sec-websocket-protocol", v);
        }
        Ok(resp)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    match route {
        Route::Greet => {
            if ws.send(Message::text(GREETING)).await.is_err() {
                return;
            }
            echo(ws).await;
        }
        Route::Echo | Route::Private => echo(ws).await,
        Route::Policy => {
            let _ = ws
                .close(Some(CloseFrame {
                    code: CloseCode::Policy,
                    reason: Utf8Bytes::from_static("policy violation"),
                }))
                .await;
            while let Some(Ok(_)) = ws.next().await {}
        }
        Route::Chatter => {
            let mut n = 0u64;
            loop {
                n += 1;
                if ws.send(Message::text(format!("tick {n}"))).await.is_err() {
                    return;
                }
                // As fast as it can, but other tasks of a 2-core machine still run.
                tokio::task::yield_now().await;
            }
        }
        Route::Flood => {
            // Raw frames on the stream: a text frame without FIN, then 1 MiB
            // continuation frames without FIN, forever (server frames are unmasked).
            let chunk = vec![b'x'; 1024 * 1024];
            let raw = ws.get_mut();
            let mut opcode = 0x01u8;
            loop {
                let mut head = vec![opcode, 127];
                head.extend_from_slice(&(chunk.len() as u64).to_be_bytes());
                if raw.write_all(&head).await.is_err() || raw.write_all(&chunk).await.is_err() {
                    return;
                }
                tokio::task::yield_now().await;
                opcode = 0x00;
            }
        }
    }
}

async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut ws: tokio_tungstenite::WebSocketStream<S>) {
    while let Some(Ok(msg)) = ws.next().await {
        if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
            return;
        }
    }
}

fn refuse(status: StatusCode, text: &str) -> ErrorResponse {
    let mut r = ErrorResponse::new(Some(text.to_string()));
    *r.status_mut() = status;
    r
}

/// Reads a request, answers the first line of a 101 and never finishes.
async fn serve_stall(listener: TcpListener) {
    loop {
        let Ok((mut tcp, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            let _ = tokio::time::timeout(LIFETIME, async {
                let _ = tcp.read(&mut buf).await;
                let _ = tcp.write_all(b"HTTP/1.1 101 Switching Protocols\r\n").await;
                std::future::pending::<()>().await;
            })
            .await;
        });
    }
}
