//! Judging a presented chain after the handshake, with webpki: is it valid against the
//! trust anchors, and is the leaf valid for the name we asked for? The two are
//! separate questions so both answers exist even when one of them is "no".

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

use crate::error::Error;

/// Where trust comes from: the Mozilla roots (webpki-roots), or a set of anchors — only
/// a `ca` PEM file's, or the roots `[checklist] trust` and `ca` make up.
#[derive(Debug, Clone)]
pub enum Roots {
    /// The roots bundled by webpki-roots.
    Web,
    /// These anchors only.
    File(Arc<[TrustAnchor<'static>]>),
}

impl Roots {
    /// Reads every certificate of a PEM file as a trust anchor.
    pub fn from_pem_file(path: &str) -> Result<Roots, Error> {
        let pem = preflight_core::input::read(
            std::path::Path::new(path),
            preflight_core::input::MAX_CA_BYTES,
        )
        .map_err(|source| Error::ReadCa {
            path: path.to_string(),
            source,
        })?;
        let mut anchors = Vec::new();
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert.map_err(|source| Error::ParseCa {
                path: path.to_string(),
                source,
            })?;
            let anchor =
                webpki::anchor_from_trusted_cert(&cert).map_err(|e| Error::CaCertificate {
                    path: path.to_string(),
                    reason: format!("{e:?}"),
                })?;
            anchors.push(anchor.to_owned());
        }
        if anchors.is_empty() {
            return Err(Error::EmptyCa {
                path: path.to_string(),
            });
        }
        Ok(Roots::File(anchors.into()))
    }

    fn anchors(&self) -> &[TrustAnchor<'static>] {
        match self {
            Roots::Web => webpki_roots::TLS_SERVER_ROOTS,
            Roots::File(a) => a,
        }
    }
}

/// Checks that the leaf chains to a trust anchor through the other presented
/// certificates, is within its validity window now, and may serve TLS servers.
/// The name is not checked here. `Err` says why the chain is not valid.
pub fn chain_valid(chain: &[CertificateDer<'static>], roots: &Roots) -> Result<(), String> {
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Err("no certificate presented".into());
    };
    let ee = EndEntityCert::try_from(leaf).map_err(describe)?;
    let algs = rustls::crypto::ring::default_provider()
        .signature_verification_algorithms
        .all;
    ee.verify_for_usage(
        algs,
        roots.anchors(),
        intermediates,
        UnixTime::now(),
        KeyUsage::server_auth(),
        None,
        None,
    )
    .map(|_| ())
    .map_err(describe)
}

/// Whether the leaf is valid for `name` (DNS SANs with wildcards, IP SANs; the
/// subject CN is not consulted, as in browsers).
pub fn hostname_matches(leaf: &CertificateDer<'static>, name: &ServerName<'static>) -> bool {
    EndEntityCert::try_from(leaf)
        .and_then(|ee| ee.verify_is_valid_for_subject_name(name))
        .is_ok()
}

/// A short reading of a webpki error for the `chain_error` fact.
fn describe(e: webpki::Error) -> String {
    use webpki::Error as E;
    match e {
        E::CertExpired { .. } => "certificate expired".into(),
        E::CertNotValidYet { .. } => "certificate not valid yet".into(),
        E::UnknownIssuer => "unknown issuer (no path to a trusted root)".into(),
        E::InvalidSignatureForPublicKey => "invalid signature in the chain".into(),
        E::CaUsedAsEndEntity => "a CA certificate is used as the server certificate".into(),
        E::RequiredEkuNotFoundContext(_) => {
            "certificate not allowed for TLS servers (extended key usage)".into()
        }
        E::BadDer | E::BadDerTime => "certificate is malformed".into(),
        other => format!("{other:?}")
            .split([' ', '(', '{'])
            .next()
            .unwrap_or("invalid")
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pki() -> preflight_testbed::TestPki {
        preflight_testbed::TestPki::generate().expect("pki")
    }

    fn roots_of(pki: &preflight_testbed::TestPki) -> Roots {
        let dir = std::env::temp_dir().join(format!("preflight-tls-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join(format!("ca-{:p}.pem", pki));
        std::fs::write(&path, &pki.ca_pem).expect("write");
        let roots = Roots::from_pem_file(path.to_str().expect("utf8")).expect("roots");
        let _ = std::fs::remove_file(&path);
        roots
    }

    #[test]
    fn testbed_chain_is_valid_against_its_ca_only() {
        let pki = pki();
        let chain = vec![pki.leaf_der.clone(), pki.ca_der.clone()];
        assert_eq!(chain_valid(&chain, &roots_of(&pki)), Ok(()));
        assert_eq!(
            chain_valid(&chain, &Roots::Web),
            Err("unknown issuer (no path to a trusted root)".into())
        );
        // Another CA with the same name: found by name, its signature does not verify.
        assert_eq!(
            chain_valid(&chain, &roots_of(&self::pki())),
            Err("invalid signature in the chain".into())
        );
        assert!(chain_valid(&[], &Roots::Web).is_err());
    }

    #[test]
    fn hostname_checks_dns_and_ip_sans() {
        let pki = pki();
        let name = |s: &str| ServerName::try_from(s.to_string()).expect("name");
        assert!(hostname_matches(&pki.leaf_der, &name("localhost")));
        assert!(hostname_matches(&pki.leaf_der, &name("api.demo.test")));
        assert!(hostname_matches(&pki.leaf_der, &name("127.0.0.1")));
        assert!(!hostname_matches(&pki.leaf_der, &name("other.demo.test")));
        assert!(!hostname_matches(&pki.leaf_der, &name("127.0.0.2")));
        assert!(!hostname_matches(
            &CertificateDer::from(b"junk".to_vec()),
            &name("localhost")
        ));
    }

    #[test]
    fn ca_file_problems_are_reported() {
        let err = Roots::from_pem_file("/nonexistent/ca.pem").unwrap_err();
        assert!(matches!(err, Error::ReadCa { .. }), "{err:?}");
        assert!(err.to_string().contains("failed to read ca file"), "{err}");
        let path =
            std::env::temp_dir().join(format!("preflight-tls-empty-{}.pem", std::process::id()));
        std::fs::write(&path, "no pem here").expect("write");
        let err = Roots::from_pem_file(path.to_str().expect("utf8")).unwrap_err();
        let _ = std::fs::remove_file(&path);
        assert!(
            err.to_string().contains("holds no PEM certificate"),
            "{err}"
        );
    }
}
