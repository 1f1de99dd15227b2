//! One TLS handshake with rustls that records what the server presented.
//!
//! The certificate verifier accepts any chain (it still checks the handshake
//! signatures, so the server must hold the leaf's key) and keeps the stapled OCSP
//! response; the chain is judged afterwards by [`crate::trust`], so an expired or
//! wrong-host certificate yields facts instead of a handshake error.
//!
//! With `client_cert`, the certificate is presented when the server asks. A TLS 1.3
//! server judges it only after the client's side of the handshake is done, so when a
//! certificate was asked for, the probe waits briefly for the server's verdict (its
//! session tickets or first bytes mean accepted, an alert means refused).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use preflight_core::network::Family;
use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, ProtocolVersion, SignatureScheme, SupportedProtocolVersion};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::error::{Error, HandshakeCause};
use crate::starttls::StartTls;

/// ALPN protocols offered (without `starttls`), so `alpn` shows what an HTTPS client
/// would get.
const ALPN: &[&[u8]] = &[b"h2", b"http/1.1"];

/// The ring provider, built once.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// Where the probe connects and what it asks for.
#[derive(Debug, Clone)]
pub struct Target {
    /// Host name or IP address to connect to.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Name sent as SNI and checked against the certificate.
    pub server_name: ServerName<'static>,
    /// The plaintext protocol spoken before TLS, if any.
    pub starttls: Option<StartTls>,
    /// Address family of the connection.
    pub family: Family,
    /// The client certificate presented when the server asks.
    pub identity: Option<Arc<CertifiedKey>>,
}

impl Target {
    /// `host:port`, as reasons show it.
    pub fn label(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Opens a TCP connection and, with `starttls`, speaks the plaintext protocol up
    /// to where TLS starts.
    pub async fn connect(&self) -> Result<TcpStream, Error> {
        let mut tcp = self.connect_tcp().await?;
        if let Some(protocol) = self.starttls {
            crate::starttls::upgrade(&mut tcp, protocol, &self.label()).await?;
        }
        Ok(tcp)
    }

    /// ALPN protocols to offer: an HTTPS client's, or the STARTTLS protocol's.
    fn alpn(&self) -> &'static [&'static [u8]] {
        match self.starttls {
            Some(p) => p.alpn(),
            None => ALPN,
        }
    }

    /// Opens the TCP connection alone.
    async fn connect_tcp(&self) -> Result<TcpStream, Error> {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        let tcp = preflight_client::connect::connect_tcp(host, self.port, self.family)
            .await
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::ConnectionRefused => Error::Refused {
                    target: self.label(),
                },
                _ => Error::Connect {
                    target: self.label(),
                    source,
                },
            })?;
        let _ = tcp.set_nodelay(true);
        Ok(tcp)
    }
}

/// What a completed handshake showed.
#[derive(Debug)]
pub struct Session {
    /// Negotiated protocol version.
    pub protocol: Option<ProtocolVersion>,
    /// Negotiated cipher suite (IANA name).
    pub cipher: Option<String>,
    /// Negotiated ALPN protocol.
    pub alpn: Option<String>,
    /// Certificates the server presented, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// Whether the server stapled an OCSP response.
    pub ocsp_stapled: bool,
}

/// `"TLSv1.3"`, `"TLSv1.2"`, … as reported in facts.
pub fn protocol_name(v: ProtocolVersion) -> String {
    match v {
        ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        ProtocolVersion::TLSv1_1 => "TLSv1.1".into(),
        ProtocolVersion::TLSv1_0 => "TLSv1.0".into(),
        other => format!("{other:?}"),
    }
}

/// Connects and completes one handshake offering only `versions`. A TLS failure is
/// [`Error::Handshake`]; a TCP one [`Error::Refused`] or [`Error::Connect`].
pub async fn handshake(
    target: &Target,
    versions: &[&'static SupportedProtocolVersion],
) -> Result<Session, Error> {
    let recorder = Arc::new(Recorder::default());
    let asked = Arc::new(ClientCert {
        key: target.identity.clone(),
        asked: AtomicBool::new(false),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .map_err(Error::Config)?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_client_cert_resolver(asked.clone());
    config.alpn_protocols = target.alpn().iter().map(|p| p.to_vec()).collect();
    // Every handshake is a full one: a resumed session shows no certificate.
    config.resumption = rustls::client::Resumption::disabled();
    let tcp = target.connect().await?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let mut tls = connector
        .connect(target.server_name.clone(), tcp)
        .await
        .map_err(|e| Error::Handshake {
            target: target.label(),
            cause: cause_of(e),
        })?;
    if asked.asked.load(Ordering::Relaxed)
        && tls.get_ref().1.protocol_version() == Some(ProtocolVersion::TLSv1_3)
    {
        server_verdict(&mut tls)
            .await
            .map_err(|e| Error::Handshake {
                target: target.label(),
                cause: cause_of(e),
            })?;
    }
    let (_, conn) = tls.get_ref();
    Ok(Session {
        protocol: conn.protocol_version(),
        cipher: conn.negotiated_cipher_suite().map(|s| {
            let suite = s.suite();
            suite
                .as_str()
                .map_or_else(|| format!("{suite:?}"), str::to_string)
        }),
        alpn: conn
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        chain: conn
            .peer_certificates()
            .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
            .unwrap_or_default(),
        ocsp_stapled: recorder.ocsp_stapled(),
    })
}

/// How long a TLS 1.3 server gets to say what it thinks of the client certificate.
const VERDICT_WAIT: Duration = Duration::from_millis(1000);

/// After a TLS 1.3 handshake in which the server asked for a client certificate:
/// waits until the server sends a session ticket or data (accepted), an alert
/// (refused: the error), closes, or [`VERDICT_WAIT`] passes (taken as accepted).
async fn server_verdict(
    tls: &mut tokio_rustls::client::TlsStream<TcpStream>,
) -> Result<(), std::io::Error> {
    let until = tokio::time::Instant::now() + VERDICT_WAIT;
    let mut byte = [0u8; 1];
    while tokio::time::Instant::now() < until {
        if tls.get_ref().1.tls13_tickets_received() > 0 {
            return Ok(());
        }
        let slice = (tokio::time::Instant::now() + Duration::from_millis(25)).min(until);
        match tokio::time::timeout_at(slice, tls.read(&mut byte)).await {
            Err(_) => {}
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) => return Err(e),
        }
    }
    Ok(())
}

/// Presents the client certificate (if any) and records that the server asked.
#[derive(Debug)]
struct ClientCert {
    key: Option<Arc<CertifiedKey>>,
    asked: AtomicBool,
}

impl ResolvesClientCert for ClientCert {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        self.asked.store(true, Ordering::Relaxed);
        self.key.clone()
    }

    fn has_certs(&self) -> bool {
        self.key.is_some()
    }
}

/// Why a TLS handshake failed, from the error tokio-rustls returns.
fn cause_of(e: std::io::Error) -> HandshakeCause {
    use std::io::ErrorKind;
    if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return HandshakeCause::Tls(tls.clone());
    }
    match e.kind() {
        ErrorKind::UnexpectedEof => HandshakeCause::Closed,
        ErrorKind::ConnectionReset => HandshakeCause::Reset,
        _ => HandshakeCause::Io(e),
    }
}

/// Accepts any certificate (judged later) and keeps the stapled OCSP response's presence.
#[derive(Debug, Default)]
struct Recorder {
    ocsp: Mutex<bool>,
    /// Checks handshake signatures: certificates are judged later, signatures never skipped.
    signatures: preflight_client::NoCertCheck,
}

impl Recorder {
    fn ocsp_stapled(&self) -> bool {
        *self.ocsp.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        ocsp_response: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.ocsp.lock().unwrap_or_else(|p| p.into_inner()) = !ocsp_response.is_empty();
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.signatures.supported_verify_schemes()
    }
}
