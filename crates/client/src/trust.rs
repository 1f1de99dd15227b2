//! Trust roots: an item's own `ca` (only its certificates), or the roots `[checklist]
//! trust` picks — the Mozilla roots (webpki-roots), the platform store
//! (rustls-native-certs: `/etc/ssl/certs`, or `SSL_CERT_FILE` / `SSL_CERT_DIR` as the
//! plan read them), or both — plus `[checklist] ca`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use preflight_core::network::{Network, Trust};
use rustls::pki_types::CertificateDer;

/// Every certificate of a PEM file; `what` names the file in messages (`ca file x.pem`).
pub(crate) fn pem_certs(path: &str, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = preflight_core::input::read(Path::new(path), preflight_core::input::MAX_CA_BYTES)
        .map_err(|e| format!("failed to read {what} {path}: {e}"))?;
    let mut out = Vec::new();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        out.push(cert.map_err(|e| format!("failed to parse {what} {path}: {e}"))?);
    }
    if out.is_empty() {
        return Err(format!("{what} {path} holds no PEM certificate"));
    }
    Ok(out)
}

/// Adds every certificate of a PEM file as a root.
fn add_pem(roots: &mut rustls::RootCertStore, path: &str, what: &str) -> Result<(), String> {
    for cert in pem_certs(path, what)? {
        roots
            .add(cert)
            .map_err(|e| format!("failed to use a certificate of {path}: {e}"))?;
    }
    Ok(())
}

type SystemKey = (Option<String>, Option<String>);
type SystemCerts = Result<Arc<Vec<CertificateDer<'static>>>, String>;

/// The platform store's certificates, read once per (`SSL_CERT_FILE`, `SSL_CERT_DIR`).
pub fn system_certs(network: &Network) -> SystemCerts {
    static CACHE: OnceLock<Mutex<HashMap<SystemKey, SystemCerts>>> = OnceLock::new();
    let key = (network.cert_file.clone(), network.cert_dir.clone());
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    cache
        .entry(key)
        .or_insert_with(|| load_system(network).map(Arc::new))
        .clone()
}

fn load_system(network: &Network) -> Result<Vec<CertificateDer<'static>>, String> {
    let (file, dir) = (network.cert_file.as_deref(), network.cert_dir.as_deref());
    let results = if file.is_some() || dir.is_some() {
        // As rustls-native-certs and OpenSSL do: the variables replace the platform
        // store; SSL_CERT_DIR is a `:`-separated list.
        let mut r = vec![rustls_native_certs::load_certs_from_paths(
            file.map(Path::new),
            None,
        )];
        for d in dir.unwrap_or_default().split(':').filter(|d| !d.is_empty()) {
            r.push(rustls_native_certs::load_certs_from_paths(
                None,
                Some(Path::new(d)),
            ));
        }
        r
    } else {
        vec![rustls_native_certs::load_native_certs()]
    };
    let mut certs = Vec::new();
    let mut first_error = None;
    for r in results {
        certs.extend(r.certs);
        if first_error.is_none() {
            first_error = r.errors.into_iter().next().map(|e| e.to_string());
        }
    }
    match (certs.is_empty(), first_error) {
        (false, _) => Ok(certs),
        (true, Some(e)) => Err(format!("failed to read the system trust store: {e}")),
        (true, None) => Err(format!(
            "the system trust store ({}) holds no certificate",
            system_source(network)
        )),
    }
}

/// Where `trust = "system"` reads from, for messages and `preflight check`.
pub fn system_source(network: &Network) -> String {
    match (&network.cert_file, &network.cert_dir) {
        (Some(f), Some(d)) => format!("SSL_CERT_FILE {f}, SSL_CERT_DIR {d}"),
        (Some(f), None) => format!("SSL_CERT_FILE {f}"),
        (None, Some(d)) => format!("SSL_CERT_DIR {d}"),
        (None, None) => "the platform's".into(),
    }
}

/// The roots an item trusts: only its own `ca` when given; else the roots of
/// `[checklist] trust` plus `[checklist] ca`.
pub fn root_store_for(
    ca: Option<&str>,
    network: &Network,
) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(path) = ca {
        add_pem(&mut roots, path, "ca file")?;
        return Ok(roots);
    }
    if matches!(network.trust, Trust::Webpki | Trust::Both) {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    if matches!(network.trust, Trust::System | Trust::Both) {
        let certs = system_certs(network)?;
        let (added, _) = roots.add_parsable_certificates(certs.iter().cloned());
        if added == 0 && network.trust == Trust::System {
            return Err(format!(
                "no certificate of the system trust store ({}) is usable as a root",
                system_source(network)
            ));
        }
    }
    if let Some(path) = &network.ca {
        add_pem(&mut roots, path, "[checklist] ca file")?;
    }
    Ok(roots)
}

/// What an item trusts, in words, for `preflight check`: `only ca x.pem (the item's)`,
/// `Mozilla roots + [checklist] ca corp.pem`, `system store (SSL_CERT_FILE …)`, or
/// `certificates not checked`.
pub fn describe_trust(ca: Option<&str>, unverified: bool, network: &Network) -> String {
    if unverified {
        return "certificates not checked".into();
    }
    if let Some(ca) = ca {
        return format!("only ca {ca} (the item's)");
    }
    let system = format!("system store ({})", system_source(network));
    let mut text = match network.trust {
        Trust::Webpki => "Mozilla roots (webpki)".to_string(),
        Trust::System => system,
        Trust::Both => format!("Mozilla roots (webpki) + {system}"),
    };
    if let Some(ca) = &network.ca {
        text.push_str(&format!(" + [checklist] ca {ca}"));
    }
    text
}
