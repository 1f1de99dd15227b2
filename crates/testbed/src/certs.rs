//! Certificates for the testbed, generated at start with rcgen.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

use crate::TestbedError;

/// Names the API certificate is valid for.
pub const API_NAMES: &[&str] = &["localhost", "127.0.0.1", "::1", "api.demo.test"];

/// The testbed's CA and the API's leaf certificate.
pub struct TestPki {
    /// CA certificate, PEM.
    pub ca_pem: String,
    /// CA certificate, DER.
    pub ca_der: CertificateDer<'static>,
    /// Leaf certificate, DER.
    pub leaf_der: CertificateDer<'static>,
    leaf_key: Vec<u8>,
    ca_key: KeyPair,
    ca_params: CertificateParams,
}

fn err(e: impl std::fmt::Display) -> TestbedError {
    TestbedError::Certificate(e.to_string())
}

impl TestPki {
    /// A fresh CA and a leaf valid from yesterday for 90 days.
    pub fn generate() -> Result<TestPki, TestbedError> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "preflight testbed CA");
        ca_params
            .distinguished_name
            .push(DnType::OrganizationName, "preflight");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = OffsetDateTime::now_utc();
        ca_params.not_before = now - Duration::days(2);
        ca_params.not_after = now + Duration::days(3650);
        let ca_key = KeyPair::generate().map_err(err)?;
        let ca_cert = ca_params.self_signed(&ca_key).map_err(err)?;
        let mut pki = TestPki {
            ca_pem: ca_cert.pem(),
            ca_der: ca_cert.der().clone(),
            leaf_der: CertificateDer::from(Vec::new()),
            leaf_key: Vec::new(),
            ca_key,
            ca_params,
        };
        let (der, key) = pki.issue(API_NAMES, now - Duration::days(1), now + Duration::days(90))?;
        pki.leaf_der = der;
        pki.leaf_key = key;
        Ok(pki)
    }

    /// Issues a leaf for `names` valid between the two instants; returns (cert DER, PKCS#8 key DER).
    pub fn issue(
        &self,
        names: &[&str],
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<(CertificateDer<'static>, Vec<u8>), TestbedError> {
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .map_err(err)?;
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("testbed"),
        );
        params.not_before = not_before;
        params.not_after = not_after;
        let key = KeyPair::generate().map_err(err)?;
        let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
        let cert = params.signed_by(&key, &issuer).map_err(err)?;
        Ok((cert.der().clone(), key.serialize_der()))
    }

    /// Issues a client certificate (extended key usage `clientAuth`) for the common
    /// name `cn`, valid from yesterday for 90 days; returns (cert DER, PKCS#8 key DER).
    pub fn issue_client(
        &self,
        cn: &str,
    ) -> Result<(CertificateDer<'static>, Vec<u8>), TestbedError> {
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(90);
        let key = KeyPair::generate().map_err(err)?;
        let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
        let cert = params.signed_by(&key, &issuer).map_err(err)?;
        Ok((cert.der().clone(), key.serialize_der()))
    }

    /// The API's server config that also requires a client certificate issued by
    /// this CA (mutual TLS); ALPN `alpn`.
    pub fn mutual_server_config(
        &self,
        alpn: &[&[u8]],
    ) -> Result<rustls::ServerConfig, TestbedError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der.clone()).map_err(err)?;
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(err)?;
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(err)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![self.leaf_der.clone(), self.ca_der.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.leaf_key.clone())),
            )
            .map_err(err)?;
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(cfg)
    }

    /// The leaf's PKCS#8 key, PEM (for servers run from Debian packages).
    pub fn leaf_key_pem(&self) -> String {
        pem::encode(&pem::Pem::new("PRIVATE KEY", self.leaf_key.clone()))
    }

    /// The leaf and the CA, PEM.
    pub fn leaf_chain_pem(&self) -> String {
        pem::encode(&pem::Pem::new("CERTIFICATE", self.leaf_der.to_vec())) + &self.ca_pem
    }

    /// A rustls server config serving the leaf and the CA, with h2 and http/1.1 ALPN.
    pub fn server_config(&self) -> Result<rustls::ServerConfig, TestbedError> {
        server_config(
            vec![self.leaf_der.clone(), self.ca_der.clone()],
            self.leaf_key.clone(),
        )
    }
}

/// A rustls server config for a chain and PKCS#8 key, ring provider, h2 + http/1.1.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
) -> Result<rustls::ServerConfig, TestbedError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(err)?
        .with_no_client_auth()
        .with_single_cert(chain, PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)))
        .map_err(err)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}
