//! `accepts`: offer each protocol version alone and see whether the server takes it.
//!
//! TLS 1.2 and 1.3 are offered by rustls limited to that one version; TLS 1.0 and
//! 1.1 by the hand-built ClientHello of [`crate::legacy_hello`]. All four run at
//! once, each on its own connection.

use serde_json::{Value, json};

use crate::error::Error;
use crate::handshake::{Target, handshake, provider};
use crate::legacy_hello::{self, LegacyVersion, Reply};

/// Which versions the server accepted when offered alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepts {
    /// TLS 1.0.
    pub tls1_0: bool,
    /// TLS 1.1.
    pub tls1_1: bool,
    /// TLS 1.2.
    pub tls1_2: bool,
    /// TLS 1.3.
    pub tls1_3: bool,
}

impl Accepts {
    /// The `accepts` fact.
    pub fn to_value(self) -> Value {
        json!({"tls1_0": self.tls1_0, "tls1_1": self.tls1_1, "tls1_2": self.tls1_2, "tls1_3": self.tls1_3})
    }
}

/// Offers each version alone. `Err` only when a connection could not be opened (or
/// the checker could not build a hello).
pub async fn probe(target: &Target) -> Result<Accepts, Error> {
    let (tls1_0, tls1_1, tls1_2, tls1_3) = tokio::join!(
        legacy(target, LegacyVersion::Tls10),
        legacy(target, LegacyVersion::Tls11),
        modern(target, &rustls::version::TLS12),
        modern(target, &rustls::version::TLS13),
    );
    Ok(Accepts {
        tls1_0: tls1_0?,
        tls1_1: tls1_1?,
        tls1_2: tls1_2?,
        tls1_3: tls1_3?,
    })
}

async fn modern(
    target: &Target,
    version: &'static rustls::SupportedProtocolVersion,
) -> Result<bool, Error> {
    match handshake(target, &[version]).await {
        Ok(_) => Ok(true),
        Err(Error::Handshake { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

async fn legacy(target: &Target, version: LegacyVersion) -> Result<bool, Error> {
    let mut tcp = target.connect().await?;
    let mut random = [0u8; 32];
    provider()
        .secure_random
        .fill(&mut random)
        .map_err(|_| Error::Random)?;
    let sni = match &target.server_name {
        rustls::pki_types::ServerName::DnsName(d) => Some(d.as_ref().to_string()),
        _ => None,
    };
    Ok(
        match legacy_hello::offer(&mut tcp, version, sni.as_deref(), random).await {
            Ok(Reply::Accepted) => true,
            // Rejected, or the server hung up before we finished writing.
            Ok(Reply::Rejected(_)) | Err(_) => false,
        },
    )
}
