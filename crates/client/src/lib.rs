//! preflight-client: how preflight connects out, in one place.
//!
//! Every probe that opens a TLS connection or an HTTP client (http, webhook,
//! prometheus, domain, websocket, tls, redis, postgres) and the notification sender
//! share these rules, so `ca`, `insecure`, `proxy`, `client_cert` and `family` mean the
//! same thing everywhere and one rustls (ring provider) is linked:
//! - trust ([`trust`]): an item's `ca` PEM file alone (like `curl --cacert`), else the
//!   roots `[checklist] trust` picks — the Mozilla roots (webpki-roots), the platform
//!   store (rustls-native-certs, `SSL_CERT_FILE` / `SSL_CERT_DIR`) or both — plus
//!   `[checklist] ca`; or — `insecure` — no certificate check at all (handshake
//!   signatures are still verified);
//! - client certificates ([`identity`]): `client_cert` + `client_key`, the key never
//!   named in a message;
//! - proxies ([`proxy`]): the item's `proxy`, `[checklist] proxy`, or the environment's
//!   `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` / `NO_PROXY` as the plan read them
//!   (reqwest never reads the environment itself); `CONNECT` for https;
//! - address family ([`connect`]): `family = "ipv4" | "ipv6"` keeps only that family's
//!   addresses;
//! - transport errors read as short, URL-free reasons: `connection refused by
//!   host:port`, `TLS handshake with host:port failed: …`, `connection refused by
//!   proxy http://proxy:3128`.
//!
//! ```
//! let tls = preflight_client::tls_config(false, None).unwrap();
//! assert!(tls.alpn_protocols.is_empty());
//! let http = preflight_client::http_client_builder(false, None).unwrap().build().unwrap();
//! # drop(http);
//! ```

pub mod connect;
pub mod identity;
pub mod proxy;
pub mod trust;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use preflight_core::network::{Family, Network};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The crypto provider every preflight TLS connection uses (ring).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The Mozilla roots, or only the certificates in the PEM file `ca` (no run
/// settings: see [`trust::root_store_for`]).
pub fn root_store(ca: Option<&str>) -> Result<rustls::RootCertStore, String> {
    trust::root_store_for(ca, &Network::default())
}

/// A rustls client config: verified against [`root_store`], or not at all when
/// `insecure`. No ALPN is set; HTTP clients add theirs. [`TlsSettings::config`]
/// adds the run's trust settings and a client certificate.
pub fn tls_config(insecure: bool, ca: Option<&str>) -> Result<rustls::ClientConfig, String> {
    TlsSettings {
        insecure,
        ca: ca.map(str::to_string),
        ..TlsSettings::default()
    }
    .config()
}

/// Everything that shapes one item's TLS client: `insecure`, its own `ca`, the run's
/// trust settings, and a client certificate. Equal settings give equal clients, so
/// probes key their client caches by it.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct TlsSettings {
    /// Skip certificate checks (handshake signatures are still verified).
    pub insecure: bool,
    /// The item's `ca` file: only its certificates are trusted.
    pub ca: Option<String>,
    /// The run's `[checklist] ca` / `trust` and `SSL_CERT_FILE` / `SSL_CERT_DIR`.
    pub network: Arc<Network>,
    /// `client_cert`: PEM certificate chain presented when the server asks.
    pub client_cert: Option<String>,
    /// `client_key`: its PEM private key (a secret: never printed).
    pub client_key: Option<String>,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings")
            .field("insecure", &self.insecure)
            .field("ca", &self.ca)
            .field("trust", &self.network.trust)
            .field("client_cert", &self.client_cert)
            .field("client_key", &self.client_key.as_ref().map(|_| "****"))
            .finish()
    }
}

impl TlsSettings {
    /// Settings for an item: its `insecure` and `ca` over the run's network.
    pub fn new(insecure: bool, ca: Option<String>, network: Arc<Network>) -> TlsSettings {
        TlsSettings {
            insecure,
            ca,
            network,
            client_cert: None,
            client_key: None,
        }
    }

    /// The same settings presenting `client_cert` / `client_key` (both or neither).
    pub fn with_client_cert(mut self, cert: Option<String>, key: Option<String>) -> TlsSettings {
        self.client_cert = cert;
        self.client_key = key;
        self
    }

    /// The roots: [`trust::root_store_for`].
    pub fn roots(&self) -> Result<rustls::RootCertStore, String> {
        trust::root_store_for(self.ca.as_deref(), &self.network)
    }

    /// The client certificate, when one is set.
    pub fn identity(&self) -> Result<Option<identity::ClientIdentity>, String> {
        match (&self.client_cert, &self.client_key) {
            (Some(c), Some(k)) => identity::ClientIdentity::load(c, k).map(Some),
            (None, None) => Ok(None),
            _ => Err("give client_cert and client_key together".into()),
        }
    }

    /// A rustls client config for these settings. No ALPN is set.
    pub fn config(&self) -> Result<rustls::ClientConfig, String> {
        let provider = provider();
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let identity = self.identity()?;
        let builder = if self.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoCertCheck::new()))
        } else {
            builder.with_root_certificates(self.roots()?)
        };
        identity::with_identity(builder, identity.as_ref())
    }
}

/// Everything that shapes one item's HTTP client: TLS, the item's `proxy`, `family`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct HttpSettings {
    /// TLS settings.
    pub tls: TlsSettings,
    /// The item's `proxy` option (a URL or `"none"`), over the run's.
    pub proxy: Option<String>,
    /// Address family of the connections the client opens.
    pub family: Family,
}

impl HttpSettings {
    /// Where a request to `url` goes first.
    pub fn route(&self, url: &reqwest::Url) -> Result<proxy::Route, String> {
        Ok(proxy::plan(&self.tls.network, self.proxy.as_deref())?.route(url))
    }

    /// An option that only makes sense on a direct connection (`family`, `resolve`,
    /// `addresses`, `resolvers`: the proxy picks how it reaches the target) is an
    /// error naming `what` when the request to `url` would go through a proxy.
    pub fn needs_direct(&self, url: &reqwest::Url, what: &str) -> Result<(), String> {
        match self.route(url)? {
            proxy::Route::Proxy(p) => Err(format!(
                "{what} cannot be kept through the proxy {} ({}): the proxy picks how it reaches {}; set proxy = \"none\" on the item, or list the host in NO_PROXY",
                p.shown,
                p.from,
                url.host_str().unwrap_or("the target")
            )),
            proxy::Route::Direct(_) => Ok(()),
        }
    }

    /// A reqwest client builder for these settings: the TLS config (ALPN h2 +
    /// http/1.1), the proxies, the address family, a preflight user agent. Callers add
    /// timeouts, redirect policy, resolve overrides.
    pub fn builder(&self) -> Result<reqwest::ClientBuilder, String> {
        let mut tls = self.tls.config()?;
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .user_agent(concat!("preflight/", env!("CARGO_PKG_VERSION")));
        let mut builder = proxy::plan(&self.tls.network, self.proxy.as_deref())?.apply(builder)?;
        if self.family != Family::Any {
            builder = builder
                .local_address(Some(match self.family {
                    Family::Ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                    _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                }))
                .dns_resolver(Arc::new(FamilyResolver(self.family)));
        }
        Ok(builder)
    }
}

/// The system resolver, keeping one address family; a name without an address of
/// that family fails with a message saying so.
#[derive(Debug, Clone, Copy)]
pub struct FamilyResolver(pub Family);

impl reqwest::dns::Resolve for FamilyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let family = self.0;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = connect::resolve(&host, 0, family).await?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Keeps the addresses of `family` (for resolvers of a probe's own).
pub fn filter_family(
    host: &str,
    addrs: Vec<SocketAddr>,
    family: Family,
) -> Result<Vec<SocketAddr>, String> {
    let kept: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| family.allows(a.ip()))
        .collect();
    if kept.is_empty() {
        return Err(format!(
            "{host} has no {} address (family = \"{}\")",
            family.label(),
            family.as_str()
        ));
    }
    Ok(kept)
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
/// preflight user agent: [`HttpSettings::builder`] without run settings.
pub fn http_client_builder(
    insecure: bool,
    ca: Option<&str>,
) -> Result<reqwest::ClientBuilder, String> {
    HttpSettings {
        tls: TlsSettings {
            insecure,
            ca: ca.map(str::to_string),
            ..TlsSettings::default()
        },
        proxy: Some(preflight_core::network::PROXY_NONE.into()),
        family: Family::Any,
    }
    .builder()
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

/// [`describe_error`] for a request that went through `via` (a proxy): a refused or
/// failed connection is the proxy's, a refused tunnel says so.
pub fn describe_error_via(
    e: &reqwest::Error,
    url: &reqwest::Url,
    via: Option<&proxy::ProxyHop>,
) -> String {
    let Some(p) = via else {
        return describe_error(e, url);
    };
    let target = connect::host_port(
        url.host_str().unwrap_or("?"),
        url.port_or_known_default().unwrap_or(0),
    );
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return format!("connection refused by proxy {} ({})", p.shown, p.from);
        }
        src = s.source();
    }
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = src {
        let text = s.to_string();
        if let Some(what) = text.strip_prefix("tunnel error: ") {
            return match what {
                "proxy authorization required" => format!(
                    "proxy {} ({}) wants credentials for the tunnel to {target} (407): put user:password@ in the proxy URL",
                    p.shown, p.from
                ),
                "unsuccessful" => format!(
                    "proxy {} ({}) refused the tunnel to {target}",
                    p.shown, p.from
                ),
                other => format!(
                    "tunnel through proxy {} ({}) to {target} failed: {other}",
                    p.shown, p.from
                ),
            };
        }
        src = s.source();
    }
    describe_error(e, url)
}

/// A short, URL-free description of a transport error: "connection refused by
/// host:port", "TLS handshake with host:port failed: …", "request to … timed out".
/// The URL is left out because it may carry a token.
pub fn describe_error(e: &reqwest::Error, url: &reqwest::Url) -> String {
    let target = connect::host_port(
        url.host_str().unwrap_or("?"),
        url.port_or_known_default().unwrap_or(0),
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
