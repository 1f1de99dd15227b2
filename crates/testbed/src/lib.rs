//! preflight-testbed: a small but real launch environment on 127.0.0.1.
//!
//! `preflight demo` and the end-to-end tests sweep it. Everything is generated at start:
//! a CA and a leaf certificate (rcgen), an HTTPS API (hyper + rustls, HTTP/1.1 and
//! HTTP/2), the same API on plain HTTP, a port that accepts and never answers, and a
//! port that is closed. Nothing listens beyond loopback. Webhook receivers that verify
//! each provider's signature scheme live under `/wh/` on the API ([`webhooks`]); an
//! OAuth client-credentials token endpoint and an API that wants its bearer, too
//! ([`oauth`]).
//! Authoritative DNS for `demo.test.` (hickory-server) with a stale secondary and a
//! silent port ([`dns`]), plus mail zones and a DNSSEC-signed zone ([`mailzone`]).
//! STARTTLS responders for SMTP, IMAP and POP3 ([`mail`]) and an RDAP server
//! ([`rdap`]). For tests only, started on demand: a validating resolver
//! ([`unbound`]) and a real SMTP server ([`exim`]), both from Debian's packages.
//! A website behind its own name server (`web.test.`, several
//! addresses per name) for CORS, cookies, redirects and security headers ([`web`]);
//! WebSocket servers ([`websocket`]). Mutual-TLS and IPv6 servers, and client
//! certificates ([`networks`]); a real forward proxy from Debian, started on demand
//! ([`proxy`]). Probe crates' tests make their attempts through [`trial`], the way
//! the runner does, with the facts held to the probe's `FACTS`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), preflight_testbed::TestbedError> {
//! let bed = preflight_testbed::Testbed::start().await?;
//! println!("API at {}", bed.https_url());
//! # Ok(()) }
//! ```

mod api;
mod certs;
pub mod dns;
pub mod exim;
pub mod hostile;
pub mod mail;
pub mod mailzone;
pub mod networks;
pub mod oauth;
pub mod postgres;
pub mod proxy;
pub mod rdap;
mod tls;
pub mod trial;
pub mod unbound;
pub mod web;
pub mod webhooks;
pub mod websocket;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use api::{HOSTILE_BODY, HOSTILE_HEADER};
pub use certs::TestPki;
pub use tls::TlsListeners;

/// Why the testbed could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestbedError {
    /// Binding or writing files failed.
    #[error("failed to start the testbed: {0}")]
    Io(#[from] std::io::Error),
    /// Generating certificates failed.
    #[error("failed to generate testbed certificates: {0}")]
    Certificate(String),
    /// A throwaway PostgreSQL cluster could not be created or started.
    #[error("failed to start PostgreSQL: {0}")]
    Postgres(String),
    /// The validating resolver (`unbound`) could not be started.
    #[error("failed to start the validating resolver: {0}")]
    Resolver(String),
    /// The SMTP server (`exim`) could not be started.
    #[error("failed to start the SMTP server: {0}")]
    Mail(String),
    /// The forward proxy (`tinyproxy`) could not be started.
    #[error("failed to start the forward proxy: {0}")]
    Proxy(String),
}

/// A running testbed. Dropping it stops every server.
pub struct Testbed {
    https: SocketAddr,
    http: SocketAddr,
    hang: SocketAddr,
    closed: SocketAddr,
    /// Bound but never listening: connections are refused, and no other server can be
    /// given the port while the testbed runs (a freed port could be reused by a
    /// parallel test and stop being "closed").
    _closed_socket: tokio::net::TcpSocket,
    pki: TestPki,
    dir: tempfile::TempDir,
    tasks: Vec<JoinHandle<()>>,
    tls: TlsListeners,
    dns: dns::DnsServers,
    state: Arc<api::State>,
    mail: mail::MailListeners,
    rdap: rdap::RdapServer,
    web: web::WebServers,
    ws: websocket::WebSocketServers,
    net: networks::NetworkServers,
}

impl Testbed {
    /// Starts every server on an ephemeral loopback port.
    pub async fn start() -> Result<Testbed, TestbedError> {
        let dir = tempfile::Builder::new()
            .prefix("preflight-testbed-")
            .tempdir()?;
        let pki = TestPki::generate()?;
        std::fs::write(dir.path().join("ca.pem"), &pki.ca_pem)?;
        let state = Arc::new(api::State::default());

        let https_l = TcpListener::bind("127.0.0.1:0").await?;
        let http_l = TcpListener::bind("127.0.0.1:0").await?;
        let hang_l = TcpListener::bind("127.0.0.1:0").await?;
        let closed_socket = tokio::net::TcpSocket::new_v4()?;
        closed_socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let closed = closed_socket.local_addr()?;
        let (https, http, hang) = (
            https_l.local_addr()?,
            http_l.local_addr()?,
            hang_l.local_addr()?,
        );
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(pki.server_config()?));
        let tasks = vec![
            tokio::spawn(api::serve_tls(https_l, acceptor, state.clone())),
            tokio::spawn(api::serve_plain(http_l, state.clone())),
            tokio::spawn(api::serve_silence(hang_l)),
        ];
        let tls = TlsListeners::start(&pki).await?;
        let dns = dns::DnsServers::start().await?;
        let mail = mail::MailListeners::start(&pki).await?;
        let rdap = rdap::RdapServer::start().await?;
        let web = web::WebServers::start(&pki).await?;
        let ws = websocket::WebSocketServers::start(&pki).await?;
        let net = networks::NetworkServers::start(&pki, dir.path(), state.clone()).await?;
        Ok(Testbed {
            https,
            http,
            hang,
            closed,
            _closed_socket: closed_socket,
            pki,
            dir,
            tasks,
            tls,
            dns,
            state,
            mail,
            rdap,
            web,
            ws,
            net,
        })
    }

    /// Every token `/oauth/token` has issued so far, oldest first.
    pub fn oauth_tokens(&self) -> Vec<String> {
        self.state.tokens.issued()
    }

    /// `https://127.0.0.1:PORT` — the API over TLS (certificate from [`Testbed::ca_path`]).
    pub fn https_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.https.port())
    }

    /// `http://127.0.0.1:PORT` — the same API without TLS.
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http.port())
    }

    /// Address of the HTTPS listener.
    pub fn https_addr(&self) -> SocketAddr {
        self.https
    }

    /// A port that accepts connections and never sends a byte.
    pub fn hang_addr(&self) -> SocketAddr {
        self.hang
    }

    /// A loopback port with nothing listening.
    pub fn closed_addr(&self) -> SocketAddr {
        self.closed
    }

    /// PEM file of the CA that signed the API's certificate.
    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Folder for files the testbed writes (certificates).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The generated certificates.
    pub fn pki(&self) -> &TestPki {
        &self.pki
    }

    /// Variables a checklist needs to target this testbed (`--var k=v` pairs).
    pub fn vars(&self) -> Vec<(String, String)> {
        let mut vars = self.tls.vars();
        vars.extend(self.dns.vars());
        vars.extend(self.mail.vars());
        vars.extend(self.rdap.vars());
        vars.extend(self.web.vars());
        vars.extend(self.ws.vars());
        vars.extend(self.net.vars());
        vars.extend([
            ("api".into(), self.https_url()),
            ("api_plain".into(), self.http_url()),
            ("api_port".into(), self.https.port().to_string()),
            ("ca".into(), self.ca_path().display().to_string()),
            ("hang".into(), format!("http://{}", self.hang)),
            ("closed".into(), format!("http://{}", self.closed)),
            ("wh_stripe_secret".into(), webhooks::STRIPE_SECRET.into()),
            ("wh_github_secret".into(), webhooks::GITHUB_SECRET.into()),
            (
                "wh_standard_secret".into(),
                webhooks::STANDARD_SECRET.into(),
            ),
            ("wh_sumsub_secret".into(), webhooks::SUMSUB_SECRET.into()),
            ("wh_hmac_secret".into(), webhooks::HMAC_SECRET.into()),
            ("oauth_client_id".into(), oauth::CLIENT_ID.into()),
            ("oauth_client_secret".into(), oauth::CLIENT_SECRET.into()),
        ]);
        vars
    }

    /// The TLS listeners (valid, expiring, expired, wrong-host, self-signed, legacy, garbage).
    pub fn tls(&self) -> &TlsListeners {
        &self.tls
    }

    /// The DNS servers for `demo.test.` (primary, stale secondary, silent port).
    pub fn dns(&self) -> &dns::DnsServers {
        &self.dns
    }

    /// The STARTTLS responders (SMTP, IMAP, POP3, SMTP without STARTTLS, no-SSL Postgres).
    pub fn mail(&self) -> &mail::MailListeners {
        &self.mail
    }

    /// The RDAP server (registration data for `*.test`).
    pub fn rdap(&self) -> &rdap::RdapServer {
        &self.rdap
    }

    /// The website behind `web.test.` and its nodes.
    pub fn web(&self) -> &web::WebServers {
        &self.web
    }

    /// The WebSocket servers.
    pub fn websocket(&self) -> &websocket::WebSocketServers {
        &self.ws
    }

    /// The mutual-TLS and IPv6 servers, and the client certificates.
    pub fn networks(&self) -> &networks::NetworkServers {
        &self.net
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
