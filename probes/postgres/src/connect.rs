//! Opening a read-only session: TLS per `sslmode`, `application_name = preflight`,
//! `default_transaction_read_only`, and a server-side `statement_timeout`.

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error as TlsError, SignatureScheme};
use tokio_postgres::config::SslMode as PgSslMode;
use tokio_postgres::{Client, Config, NoTls};

use preflight_core::network::Network;

use crate::dsn::{Dsn, SslMode};
use crate::error::{Error, ServerError};

/// Only the certificates of `sslrootcert`, else the run's roots (`[checklist] trust`,
/// the Mozilla roots unless set, plus `[checklist] ca`).
fn root_store(
    sslrootcert: Option<&str>,
    network: &Network,
) -> Result<rustls::RootCertStore, Error> {
    preflight_client::trust::root_store_for(sslrootcert, network).map_err(|e| {
        Error::TlsSetup(if e.contains("[checklist]") {
            e
        } else {
            e.replace("ca file", "sslrootcert")
        })
    })
}

/// How TLS is set up beyond `sslmode`: the run's trust settings and a client
/// certificate.
#[derive(Clone, Default)]
pub struct TlsExtras {
    /// `[checklist] trust` / `ca`.
    pub network: Arc<Network>,
    /// `client_cert` and `client_key` (both or neither).
    pub client: Option<(String, String)>,
}

/// The rustls config for a mode: `prefer`/`require` encrypt without checking the
/// certificate (as libpq does), unless `require` has an `sslrootcert`; `verify-ca`
/// checks the chain; `verify-full` the chain and the host name.
fn tls_config(
    mode: SslMode,
    sslrootcert: Option<&str>,
    extras: &TlsExtras,
) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::TlsSetup(format!("failed to configure TLS: {e}")))?;
    let verify = match mode {
        SslMode::Disable | SslMode::Prefer => None,
        SslMode::Require => sslrootcert.map(|_| false),
        SslMode::VerifyCa => Some(false),
        SslMode::VerifyFull => Some(true),
    };
    let identity = match &extras.client {
        Some((cert, key)) => Some(
            preflight_client::identity::ClientIdentity::load(cert, key).map_err(Error::TlsSetup)?,
        ),
        None => None,
    };
    let cfg = match verify {
        None => preflight_client::identity::with_identity(
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(preflight_client::NoCertCheck::new())),
            identity.as_ref(),
        )
        .map_err(Error::TlsSetup)?,
        Some(check_name) => {
            let roots = Arc::new(root_store(sslrootcert, &extras.network)?);
            let webpki =
                rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| {
                        Error::TlsSetup(format!("failed to build the certificate verifier: {e}"))
                    })?;
            preflight_client::identity::with_identity(
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(ChainCheck { webpki, check_name })),
                identity.as_ref(),
            )
            .map_err(Error::TlsSetup)?
        }
    };
    Ok(cfg)
}

/// `verify-ca` (chain only) and `verify-full` (chain and name) over webpki.
#[derive(Debug)]
struct ChainCheck {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    check_name: bool,
}

impl ServerCertVerifier for ChainCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        match self
            .webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(TlsError::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// Builds the tokio-postgres config; errors are item errors (bad DSN).
pub fn pg_config(dsn: &Dsn, mode: SslMode, connect_timeout: Duration) -> Result<Config, Error> {
    let mut cfg = Config::new();
    let Some(user) = &dsn.user else {
        return Err(Error::Dsn(crate::dsn::NO_USER.into()));
    };
    cfg.user(user);
    if let Some(p) = &dsn.password {
        cfg.password(p);
    }
    if let Some(d) = &dsn.dbname {
        cfg.dbname(d);
    }
    if let Some(o) = &dsn.options {
        cfg.options(o);
    }
    if dsn.hosts.is_empty() {
        cfg.host("localhost");
    }
    for h in &dsn.hosts {
        cfg.host(if h.is_empty() { "localhost" } else { h });
    }
    for p in &dsn.ports {
        cfg.port(*p);
    }
    cfg.application_name("preflight");
    cfg.connect_timeout(
        dsn.connect_timeout
            .map_or(connect_timeout, |t| t.min(connect_timeout)),
    );
    cfg.ssl_mode(match mode {
        SslMode::Disable => PgSslMode::Disable,
        SslMode::Prefer => PgSslMode::Prefer,
        _ => PgSslMode::Require,
    });
    Ok(cfg)
}

/// An open session and the task driving its connection (aborted on drop).
pub struct Session {
    /// The client.
    pub client: Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Connects and sets up the read-only session with `statement_timeout`; `host`
/// names the server in errors.
pub async fn open(
    cfg: &Config,
    host: &str,
    mode: SslMode,
    sslrootcert: Option<&str>,
    extras: &TlsExtras,
    statement_timeout: Duration,
) -> Result<Session, Error> {
    let failed = |e: tokio_postgres::Error| Error::Connect {
        host: host.to_string(),
        cause: ServerError::of(&e),
    };
    let (client, task) = if mode == SslMode::Disable {
        let (client, conn) = cfg.connect(NoTls).await.map_err(failed)?;
        (
            client,
            tokio::spawn(async move {
                let _ = conn.await;
            }),
        )
    } else {
        let tls = tls_config(mode, sslrootcert, extras)?;
        let (client, conn) = cfg
            .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
            .await
            .map_err(failed)?;
        (
            client,
            tokio::spawn(async move {
                let _ = conn.await;
            }),
        )
    };
    let session = Session { client, task };
    let ms = statement_timeout.as_millis().max(1);
    session
        .client
        .batch_execute(&format!(
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY; \
             SET statement_timeout = {ms}; SET lock_timeout = {ms}; \
             SET idle_in_transaction_session_timeout = {}",
            ms.saturating_mul(2)
        ))
        .await
        .map_err(|e| Error::SessionSetup {
            host: host.to_string(),
            cause: ServerError::of(&e),
        })?;
    // PostgreSQL 14+: notice a vanished client during a long statement.
    let _ = session
        .client
        .batch_execute("SET client_connection_check_interval = 1000")
        .await;
    Ok(session)
}
