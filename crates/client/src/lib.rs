//! preflight-client: how preflight connects out, in one place.
//!
//! Every probe that opens a TLS connection or an HTTP client (http, webhook,
//! prometheus, redis, postgres) and the notification sender share these rules, so a
//! `ca` or `insecure` option means the same thing everywhere and one rustls (ring
//! provider) is linked:
//! - trust the Mozilla roots (webpki-roots), or only the certificates of a `ca` PEM
//!   file (like `curl --cacert`), or — `insecure` — no certificate at all (handshake
//!   signatures are still verified);
//! - transport errors read as short, URL-free reasons: `connection refused by
//!   host:port`, `TLS handshake with host:port failed: …`.
//!
//! ```
//! let tls = preflight_client::tls_config(false, None).unwrap();
//! assert!(tls.alpn_protocols.is_empty());
//! let http = preflight_client::http_client_builder(false, None).unwrap().build().unwrap();
//! # drop(http);
//! ```

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The crypto provider every preflight TLS connection uses (ring).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The Mozilla roots, or only the certificates in the PEM file `ca`.
pub fn root_store(ca: Option<&str>) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(path) => {
            let pem = preflight_core::input::read(
                std::path::Path::new(path),
                preflight_core::input::MAX_CA_BYTES,
            )
            .map_err(|e| format!("failed to read ca file {path}: {e}"))?;
            for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                let cert = cert.map_err(|e| format!("failed to parse ca file {path}: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("failed to use a certificate of {path}: {e}"))?;
            }
            if roots.is_empty() {
                return Err(format!("ca file {path} holds no PEM certificate"));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(roots)
}

/// A rustls client config: verified against [`root_store`], or not at all when
/// `insecure`. No ALPN is set; HTTP clients add theirs.
pub fn tls_config(insecure: bool, ca: Option<&str>) -> Result<rustls::ClientConfig, String> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    Ok(if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoCertCheck::new()))
            .with_no_client_auth()
    } else {
        builder
            .with_root_certificates(root_store(ca)?)
            .with_no_client_auth()
    })
}

/// A verifier that accepts any certificate but still checks handshake signatures:
/// `insecure = true`, or PostgreSQL's `sslmode = prefer | require`.
#[derive(Debug)]
pub struct NoCertCheck(Arc<rustls::crypto::CryptoProvider>);

impl NoCertCheck {
    /// With the shared provider's signature algorithms.
    pub fn new() -> NoCertCheck {
        NoCertCheck(provider())
    }
}

impl Default for NoCertCheck {
    fn default() -> Self {
        NoCertCheck::new()
    }
}

impl ServerCertVerifier for NoCertCheck {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A reqwest client builder on [`tls_config`] (ALPN h2 + http/1.1), no proxy, a
/// preflight user agent. Callers add timeouts, redirect policy, resolve overrides.
pub fn http_client_builder(
    insecure: bool,
    ca: Option<&str>,
) -> Result<reqwest::ClientBuilder, String> {
    let mut tls = tls_config(insecure, ca)?;
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .user_agent(concat!("preflight/", env!("CARGO_PKG_VERSION"))))
}

/// Parses an `http://` or `https://` URL with a host; the error is a reason fragment.
pub fn parse_http_url(text: &str) -> Result<reqwest::Url, String> {
    let url =
        reqwest::Url::parse(text).map_err(|e| format!("\"{text}\" is not a valid URL: {e}"))?;
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(format!(
                "unsupported URL scheme \"{other}\" (use http or https)"
            ));
        }
    }
    if url.host_str().is_none() {
        return Err(format!("\"{text}\" has no host"));
    }
    Ok(url)
}

/// A short, URL-free description of a transport error: "connection refused by
/// host:port", "TLS handshake with host:port failed: …", "request to … timed out".
/// The URL is left out because it may carry a token.
pub fn describe_error(e: &reqwest::Error, url: &reqwest::Url) -> String {
    let target = format!(
        "{}:{}",
        url.host_str().unwrap_or("?"),
        url.port_or_known_default().unwrap_or(0)
    );
    let mut last = None;
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return format!("connection refused by {target}");
                }
                std::io::ErrorKind::ConnectionReset => {
                    return format!("connection reset by {target}");
                }
                _ => {}
            }
            // rustls errors reach reqwest wrapped in (nested) io::Errors.
            let mut inner: Option<&(dyn std::error::Error + 'static)> = io
                .get_ref()
                .map(|i| i as &(dyn std::error::Error + 'static));
            while let Some(i) = inner {
                if let Some(tls) = i.downcast_ref::<rustls::Error>() {
                    return format!("TLS handshake with {target} failed: {tls}");
                }
                inner = i
                    .downcast_ref::<std::io::Error>()
                    .and_then(std::io::Error::get_ref)
                    .map(|i| i as &(dyn std::error::Error + 'static));
            }
        }
        if let Some(tls) = s.downcast_ref::<rustls::Error>() {
            return format!("TLS handshake with {target} failed: {tls}");
        }
        last = Some(s.to_string());
        src = s.source();
    }
    let detail = last.unwrap_or_else(|| {
        let text = e.to_string();
        match e.url() {
            Some(u) => text.replace(u.as_str(), ""),
            None => text,
        }
    });
    let lower = detail.to_ascii_lowercase();
    if ["certificate", "handshake", "alert"]
        .iter()
        .any(|w| lower.contains(w))
    {
        format!("TLS handshake with {target} failed: {detail}")
    } else if e.is_timeout() {
        format!("request to {target} timed out")
    } else if e.is_connect() {
        format!("failed to connect to {target}: {detail}")
    } else {
        format!("request to {target} failed: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn ca_file_is_trusted_alone_and_errors_read_well() {
        let rt = rt();
        let bed = rt
            .block_on(preflight_testbed::Testbed::start())
            .expect("testbed");
        let url: reqwest::Url = format!("{}/api/health", bed.https_url())
            .parse()
            .expect("url");
        let ca = bed.ca_path().display().to_string();
        rt.block_on(async {
            let trusted = http_client_builder(false, Some(&ca))
                .expect("builder")
                .build()
                .expect("client");
            assert_eq!(
                trusted
                    .get(url.clone())
                    .send()
                    .await
                    .expect("trusted")
                    .status(),
                200
            );
            let public_roots = http_client_builder(false, None)
                .expect("builder")
                .build()
                .expect("client");
            let err = public_roots
                .get(url.clone())
                .send()
                .await
                .expect_err("untrusted CA");
            let reason = describe_error(&err, &url);
            assert!(
                reason.starts_with(&format!(
                    "TLS handshake with 127.0.0.1:{} failed",
                    url.port().unwrap_or(0)
                )),
                "{reason}"
            );
            assert!(reason.contains("UnknownIssuer"), "{reason}");
            let insecure = http_client_builder(true, None)
                .expect("builder")
                .build()
                .expect("client");
            assert_eq!(
                insecure
                    .get(url.clone())
                    .send()
                    .await
                    .expect("insecure")
                    .status(),
                200
            );
            let closed: reqwest::Url = format!("http://{}/", bed.closed_addr())
                .parse()
                .expect("url");
            let err = insecure
                .get(closed.clone())
                .send()
                .await
                .expect_err("closed");
            assert_eq!(
                describe_error(&err, &closed),
                format!("connection refused by {}", bed.closed_addr())
            );
        });
    }

    #[test]
    fn only_http_urls_with_a_host() {
        assert!(parse_http_url("https://api.example.test/x").is_ok());
        assert!(
            parse_http_url("ftp://x")
                .unwrap_err()
                .contains("unsupported URL scheme")
        );
        assert!(
            parse_http_url("not a url")
                .unwrap_err()
                .contains("is not a valid URL")
        );
    }

    #[test]
    fn bad_ca_files_are_reported() {
        assert!(
            root_store(Some("/nonexistent/ca.pem"))
                .unwrap_err()
                .starts_with("failed to read ca file")
        );
        let dir = std::env::temp_dir().join(format!("preflight-client-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let f = dir.join("empty.pem");
        std::fs::write(&f, "not a certificate").expect("write");
        let err = root_store(Some(f.to_str().expect("utf8"))).unwrap_err();
        assert!(err.contains("holds no PEM certificate"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
