//! Servers for the networks the probes must work in (issue #19): mutual TLS and IPv6.
//!
//! - `mtls`: the API (same paths as [`crate::Testbed::https_url`]) over TLS that
//!   requires a client certificate issued by the testbed CA (rustls'
//!   `WebPkiClientVerifier`); a handshake without one, or with one from another CA,
//!   fails.
//! - `mtls_ws`: the WebSocket paths of [`crate::websocket`] over TLS requiring the
//!   same.
//! - On `[::1]`, when the machine has an IPv6 loopback ([`has_ipv6_loopback`]): the
//!   API over TLS (`api6`, no client certificate), the mutual-TLS API (`mtls6`) and
//!   plain `ws://` (`ws6`).
//! - Client certificates written into the testbed's folder: `client.pem` /
//!   `client.key` (issued by the testbed CA, CN `preflight client`), and
//!   `stranger.pem` / `stranger.key` (issued by another CA).

use std::net::{Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::certs::TestPki;
use crate::{TestbedError, api};

/// The common name of the testbed's client certificate.
pub const CLIENT_CN: &str = "preflight client";

/// Whether `[::1]` can be bound here (some containers have no IPv6 loopback).
pub fn has_ipv6_loopback() -> bool {
    std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

/// The running servers. Dropping them stops them.
pub struct NetworkServers {
    mtls: SocketAddr,
    mtls_ws: SocketAddr,
    mtls6: Option<SocketAddr>,
    api6: Option<SocketAddr>,
    ws6: Option<SocketAddr>,
    client_cert: PathBuf,
    client_key: PathBuf,
    stranger_cert: PathBuf,
    stranger_key: PathBuf,
    tasks: Vec<JoinHandle<()>>,
}

fn pem(label: &str, der: &[u8]) -> String {
    pem::encode(&pem::Pem::new(label, der.to_vec()))
}

impl NetworkServers {
    /// Issues the client certificates into `dir` and starts every server.
    pub(crate) async fn start(
        pki: &TestPki,
        dir: &Path,
        state: Arc<api::State>,
    ) -> Result<NetworkServers, TestbedError> {
        let (cert, key) = pki.issue_client(CLIENT_CN)?;
        let client_cert = dir.join("client.pem");
        let client_key = dir.join("client.key");
        std::fs::write(&client_cert, pem("CERTIFICATE", &cert))?;
        std::fs::write(&client_key, pem("PRIVATE KEY", &key))?;
        let other = TestPki::generate()?;
        let (cert, key) = other.issue_client("stranger")?;
        let stranger_cert = dir.join("stranger.pem");
        let stranger_key = dir.join("stranger.key");
        std::fs::write(&stranger_cert, pem("CERTIFICATE", &cert))?;
        std::fs::write(&stranger_key, pem("PRIVATE KEY", &key))?;

        let https = TlsAcceptor::from(Arc::new(pki.mutual_server_config(&[b"h2", b"http/1.1"])?));
        let ws = TlsAcceptor::from(Arc::new(pki.mutual_server_config(&[b"http/1.1"])?));
        let plain = TlsAcceptor::from(Arc::new(pki.server_config()?));
        let mut tasks = Vec::new();
        let mtls_l = TcpListener::bind("127.0.0.1:0").await?;
        let mtls = mtls_l.local_addr()?;
        tasks.push(tokio::spawn(api::serve_tls(
            mtls_l,
            https.clone(),
            state.clone(),
        )));
        let ws_l = TcpListener::bind("127.0.0.1:0").await?;
        let mtls_ws = ws_l.local_addr()?;
        tasks.push(tokio::spawn(crate::websocket::serve(ws_l, Some(ws))));
        let (mut mtls6, mut api6, mut ws6) = (None, None, None);
        if has_ipv6_loopback() {
            let l = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).await?;
            mtls6 = Some(l.local_addr()?);
            tasks.push(tokio::spawn(api::serve_tls(l, https, state.clone())));
            let l = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).await?;
            api6 = Some(l.local_addr()?);
            tasks.push(tokio::spawn(api::serve_tls(l, plain, state)));
            let l = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).await?;
            ws6 = Some(l.local_addr()?);
            tasks.push(tokio::spawn(crate::websocket::serve(l, None)));
        }
        Ok(NetworkServers {
            mtls,
            mtls_ws,
            mtls6,
            api6,
            ws6,
            client_cert,
            client_key,
            stranger_cert,
            stranger_key,
            tasks,
        })
    }

    /// `https://127.0.0.1:PORT` — the API, requiring a client certificate.
    pub fn mtls_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.mtls.port())
    }

    /// Address of the mutual-TLS API.
    pub fn mtls_addr(&self) -> SocketAddr {
        self.mtls
    }

    /// `wss://127.0.0.1:PORT` — the WebSocket paths, requiring a client certificate.
    pub fn mtls_wss_url(&self) -> String {
        format!("wss://127.0.0.1:{}", self.mtls_ws.port())
    }

    /// `https://[::1]:PORT` — the mutual-TLS API on the IPv6 loopback.
    pub fn mtls6_url(&self) -> Option<String> {
        self.mtls6.map(|a| format!("https://[::1]:{}", a.port()))
    }

    /// `https://[::1]:PORT` — the API on the IPv6 loopback, no client certificate.
    pub fn api6_url(&self) -> Option<String> {
        self.api6.map(|a| format!("https://[::1]:{}", a.port()))
    }

    /// Address of the API on the IPv6 loopback.
    pub fn api6_addr(&self) -> Option<SocketAddr> {
        self.api6
    }

    /// `ws://[::1]:PORT` — the WebSocket paths on the IPv6 loopback.
    pub fn ws6_url(&self) -> Option<String> {
        self.ws6.map(|a| format!("ws://[::1]:{}", a.port()))
    }

    /// The client certificate issued by the testbed CA (PEM).
    pub fn client_cert(&self) -> &Path {
        &self.client_cert
    }

    /// Its private key (PEM, PKCS#8).
    pub fn client_key(&self) -> &Path {
        &self.client_key
    }

    /// A client certificate issued by another CA (PEM): the mTLS servers refuse it.
    pub fn stranger_cert(&self) -> &Path {
        &self.stranger_cert
    }

    /// Its private key.
    pub fn stranger_key(&self) -> &Path {
        &self.stranger_key
    }

    /// `mtls`, `mtls_wss`, `client_cert`, `client_key` (and `api6`, `mtls6`, `ws6` with
    /// an IPv6 loopback).
    pub fn vars(&self) -> Vec<(String, String)> {
        let mut v = vec![
            ("mtls".into(), self.mtls_url()),
            ("mtls_wss".into(), self.mtls_wss_url()),
            ("client_cert".into(), self.client_cert.display().to_string()),
            ("client_key".into(), self.client_key.display().to_string()),
        ];
        for (name, url) in [
            ("api6", self.api6_url()),
            ("mtls6", self.mtls6_url()),
            ("ws6", self.ws6_url()),
        ] {
            if let Some(u) = url {
                v.push((name.into(), u));
            }
        }
        v
    }
}

impl Drop for NetworkServers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
