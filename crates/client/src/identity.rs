//! Client certificates (`client_cert` + `client_key`, PEM files) for servers that
//! require mutual TLS.
//!
//! The key is a secret: no message names its path or quotes its contents, and the
//! `Debug` form of [`ClientIdentity`] shows the certificate count only.

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A certificate chain and its private key, read from PEM files.
pub struct ClientIdentity {
    /// The certificate chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("certificates", &self.chain.len())
            .field("key", &"****")
            .finish()
    }
}

impl Clone for ClientIdentity {
    fn clone(&self) -> Self {
        ClientIdentity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl ClientIdentity {
    /// Reads `cert` (every certificate of the file, leaf first) and `key` (the first
    /// PKCS#8, PKCS#1 or SEC1 private key). Errors name the certificate file, never
    /// the key file.
    pub fn load(cert: &str, key: &str) -> Result<ClientIdentity, String> {
        let chain = crate::trust::pem_certs(cert, "client_cert")?;
        let pem = std::fs::read(key).map_err(|e| {
            // The OS message without the path (io::Error's Display has none).
            format!("failed to read client_key: {e}")
        })?;
        let key = rustls_pemfile::private_key(&mut pem.as_slice())
            .map_err(|_| "client_key is not a PEM file".to_string())?
            .ok_or_else(|| {
                "client_key holds no PEM private key (PKCS#8, PKCS#1 or SEC1)".to_string()
            })?;
        Ok(ClientIdentity { chain, key })
    }

    /// The private key, for a rustls config.
    pub fn key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }

    /// The chain and key as rustls signs with them (the key checked against the leaf).
    pub fn certified_key(&self) -> Result<std::sync::Arc<rustls::sign::CertifiedKey>, String> {
        rustls::sign::CertifiedKey::from_der(self.chain.clone(), self.key(), &crate::provider())
            .map(std::sync::Arc::new)
            .map_err(|e| format!("client_key cannot be used with client_cert: {e}"))
    }
}

/// Finishes a rustls client config with the identity, or with no client certificate.
pub fn with_identity(
    builder: rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>,
    identity: Option<&ClientIdentity>,
) -> Result<rustls::ClientConfig, String> {
    match identity {
        None => Ok(builder.with_no_client_auth()),
        Some(id) => builder
            .with_client_auth_cert(id.chain.clone(), id.key())
            .map_err(|e| format!("client_key cannot be used with client_cert: {e}")),
    }
}
