//! A hostile target on loopback: an HTTP server whose answers are crafted to hurt
//! the checker rather than to be checked. Its error texts carry terminal control
//! sequences and lines that look like report verdicts ([`FORGED`]), it answers the
//! Prometheus query API with such an error, and it serves a JSON array large enough
//! to make a careless expectation quadratic.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let bad = preflight_testbed::hostile::Hostile::start().await?;
//! println!("prometheus-like endpoint at {}", bad.url());
//! # Ok(()) }
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Text a hostile server puts in its errors: it sets the terminal's title (OSC),
/// clears the screen (CSI), starts a colour with a one-character C1 CSI, reverses
/// the text that follows (a bidi override), breaks the line every way there is,
/// and writes a line that looks like a passing item.
pub const FORGED: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[H\u{9b}31mred\u{202e}desrever\u{2028}\r\n  ✔ forged.item  all good\n";

/// Elements of the array `/big` serves: enough that an expression comparing every
/// pair runs for minutes.
pub const BIG_ARRAY_LEN: usize = 20_000;

/// A running hostile server. Dropping it stops it.
pub struct Hostile {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Hostile {
    /// Starts the server on an ephemeral loopback port.
    pub async fn start() -> std::io::Result<Hostile> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(serve(listener));
        Ok(Hostile { addr, task })
    }

    /// `http://127.0.0.1:PORT`. Routes: `/api/v1/query` (a Prometheus error whose
    /// text is [`FORGED`]), `/big` (a JSON array of [`BIG_ARRAY_LEN`] integers),
    /// anything else: HTTP 500 with [`FORGED`] as the body.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(listener: TcpListener) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(handle);
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tcp), svc)
                .await;
        });
    }
}

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, kind, body) = match req.uri().path() {
        "/api/v1/query" => (
            StatusCode::BAD_REQUEST,
            "application/json",
            serde_json::json!({"status": "error", "errorType": "bad_data", "error": FORGED})
                .to_string(),
        ),
        "/big" => (
            StatusCode::OK,
            "application/json",
            serde_json::Value::from((0..BIG_ARRAY_LEN).collect::<Vec<_>>()).to_string(),
        ),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            FORGED.to_string(),
        ),
    };
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Ok(v) = kind.parse() {
        r.headers_mut().insert("content-type", v);
    }
    Ok(r)
}
