//! The `tls` probe: one handshake with rustls and what the server presented.
//!
//! It observes the negotiated protocol, cipher and ALPN; the leaf certificate's
//! names and validity window (x509-parser); whether the chain is valid against the
//! Mozilla roots or the item's `ca` file and whether the leaf is valid for the SNI
//! name (webpki, judged after the handshake so both are known even for a bad
//! certificate); the stapled OCSP response; and, with `versions = true`, which
//! protocol versions the server accepts when each is offered alone — TLS 1.0 and
//! 1.1 through a hand-built ClientHello, since rustls cannot speak them. It never
//! judges: core compares the facts with `expect`.
//!
//! ```toml
//! [[item]]
//! id = "tls.api"
//! probe = "tls"
//! host = "api.example.com"
//! versions = true
//! expect = ["days_left >= 21", "!accepts.tls1_0 && !accepts.tls1_1"]
//! ```

mod certificate;
mod handshake;
mod legacy_hello;
mod trust;
mod versions;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use preflight_core::probe::{BoxFuture, OptionProblem, parse_options};
use preflight_core::{Facts, Failure, Observer, Options, Probe, ProbeDescriptor};
use rustls::pki_types::ServerName;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::certificate::{CertSummary, rfc3339};
use crate::handshake::{HandshakeError, Target, handshake, protocol_name};
use crate::trust::Roots;

/// Port used when an item gives none.
pub const DEFAULT_PORT: u16 = 443;

static DESCRIPTOR: ProbeDescriptor = ProbeDescriptor {
    name: "tls",
    options: &["host", "port", "sni", "ca", "versions"],
    facts: &[
        "protocol",
        "cipher",
        "alpn",
        "days_left",
        "not_before",
        "not_after",
        "issuer",
        "subject",
        "sans",
        "chain_valid",
        "chain_error",
        "hostname_matches",
        "chain",
        "accepts",
        "ocsp_stapled",
    ],
    secret_options: &[],
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsOptions {
    host: String,
    /// A number, or a string of digits (a `${var}` from `--var` is a string).
    #[serde(default)]
    port: Option<Value>,
    #[serde(default)]
    sni: Option<String>,
    #[serde(default)]
    ca: Option<String>,
    #[serde(default)]
    versions: bool,
}

fn parse_port(v: Option<&Value>) -> Result<u16, String> {
    let bad = |v: &Value| format!("port must be a number from 1 to 65535, not {v}");
    match v {
        None => Ok(DEFAULT_PORT),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .filter(|p| *p != 0)
            .ok_or_else(|| bad(&Value::Number(n.clone()))),
        Some(Value::String(s)) => s
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad(&Value::String(s.clone()))),
        Some(other) => Err(bad(other)),
    }
}

/// `host` without IPv6 brackets; an error explains a URL or `host:port` given by mistake.
fn parse_host(host: &str) -> Result<String, String> {
    let h = host.trim();
    if h.is_empty() {
        return Err("host is empty".into());
    }
    if h.contains("://") || h.contains('/') {
        return Err(format!(
            "\"{h}\" is not a host name (write the name only, e.g. host = \"api.example.com\", and the port as port = 443)"
        ));
    }
    let bare = h.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<std::net::IpAddr>().is_ok() {
        return Ok(bare.to_string());
    }
    if h.contains(':') {
        return Err(format!(
            "\"{h}\" is not a host name (give the port separately: port = …)"
        ));
    }
    Ok(h.to_string())
}

fn parse_server_name(name: &str) -> Result<ServerName<'static>, String> {
    let bare = name.trim().trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_string())
        .map_err(|_| format!("\"{name}\" is not a valid DNS name or IP address for SNI"))
}

/// The TLS probe; caches the trust anchors of each `ca` file for a sweep.
#[derive(Default)]
pub struct TlsProbe {
    roots: Mutex<HashMap<String, Roots>>,
}

impl TlsProbe {
    /// A probe with an empty trust-anchor cache.
    pub fn new() -> TlsProbe {
        TlsProbe::default()
    }

    fn roots(&self, ca: Option<&str>) -> Result<Roots, String> {
        let Some(path) = ca else {
            return Ok(Roots::Web);
        };
        let mut cache = self.roots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = cache.get(path) {
            return Ok(r.clone());
        }
        let roots = Roots::from_pem_file(path)?;
        cache.insert(path.to_string(), roots.clone());
        Ok(roots)
    }
}

impl Probe for TlsProbe {
    fn descriptor(&self) -> &'static ProbeDescriptor {
        &DESCRIPTOR
    }

    fn check(&self, options: &Options) -> Vec<OptionProblem> {
        let opts: TlsOptions = match parse_options(options) {
            Ok(o) => o,
            Err(p) => return vec![p],
        };
        let mut problems = Vec::new();
        let mut bad = |key: &str, message: String| problems.push(OptionProblem::at(key, message));
        if !opts.host.contains("${")
            && let Err(e) = parse_host(&opts.host)
        {
            bad("host", e);
        }
        let templated = matches!(&opts.port, Some(Value::String(s)) if s.contains("${"));
        if !templated && let Err(e) = parse_port(opts.port.as_ref()) {
            bad("port", e);
        }
        if let Some(sni) = &opts.sni
            && !sni.contains("${")
            && let Err(e) = parse_server_name(sni)
        {
            bad("sni", e);
        }
        if let Some(ca) = &opts.ca
            && ca.trim().is_empty()
        {
            bad("ca", "ca is empty (give a PEM file path)".into());
        }
        problems
    }

    fn default_expect(&self, _: &Options) -> Vec<String> {
        vec!["chain_valid && hostname_matches && days_left >= 14".into()]
    }

    fn prepare(&self, options: &Options) -> Result<Arc<dyn Observer>, String> {
        let opts: TlsOptions = parse_options(options).map_err(|p| p.message)?;
        let host = parse_host(&opts.host)?;
        let port = parse_port(opts.port.as_ref())?;
        let server_name = parse_server_name(opts.sni.as_deref().unwrap_or(&host))?;
        let roots = self.roots(opts.ca.as_deref())?;
        Ok(Arc::new(TlsObserver {
            target: Target {
                host,
                port,
                server_name,
            },
            roots,
            versions: opts.versions,
        }))
    }
}

struct TlsObserver {
    target: Target,
    roots: Roots,
    versions: bool,
}

impl Observer for TlsObserver {
    fn host(&self) -> Option<String> {
        Some(self.target.label())
    }

    fn observe(&self) -> BoxFuture<'_, Result<Facts, Failure>> {
        Box::pin(async move {
            let main = handshake(&self.target, rustls::DEFAULT_VERSIONS);
            let (session, accepts) = if self.versions {
                let (s, a) = tokio::join!(main, versions::probe(&self.target));
                (s, Some(a))
            } else {
                (main.await, None)
            };
            let session = session.map_err(|e| match e {
                HandshakeError::Connect(r) | HandshakeError::Tls(r) => Failure::Target(r),
            })?;
            let accepts = accepts.transpose().map_err(Failure::Target)?;
            facts_of(&session, &self.target, &self.roots, accepts)
        })
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn facts_of(
    session: &handshake::Session,
    target: &Target,
    roots: &Roots,
    accepts: Option<versions::Accepts>,
) -> Result<Facts, Failure> {
    let Some(leaf_der) = session.chain.first() else {
        return Err(Failure::Target(format!(
            "{} presented no certificate",
            target.label()
        )));
    };
    let now = unix_now();
    let mut chain = Vec::with_capacity(session.chain.len());
    for der in &session.chain {
        chain.push(
            CertSummary::parse(der)
                .map_err(|e| Failure::Target(format!("{} sent a {e}", target.label())))?,
        );
    }
    let leaf = &chain[0];
    let chain_check = trust::chain_valid(&session.chain, roots);
    let mut f = Facts::new();
    f.insert(
        "protocol".into(),
        json!(session.protocol.map(protocol_name)),
    );
    f.insert("cipher".into(), json!(session.cipher));
    f.insert("alpn".into(), json!(session.alpn));
    f.insert("days_left".into(), json!(leaf.days_left(now)));
    f.insert("not_before".into(), json!(rfc3339(leaf.not_before)));
    f.insert("not_after".into(), json!(rfc3339(leaf.not_after)));
    f.insert("issuer".into(), json!(leaf.issuer));
    f.insert("subject".into(), json!(leaf.subject));
    f.insert("sans".into(), json!(leaf.sans));
    f.insert("chain_valid".into(), json!(chain_check.is_ok()));
    f.insert("chain_error".into(), json!(chain_check.err()));
    f.insert(
        "hostname_matches".into(),
        json!(trust::hostname_matches(leaf_der, &target.server_name)),
    );
    f.insert(
        "chain".into(),
        Value::Array(chain.iter().map(|c| c.chain_entry(now)).collect()),
    );
    if let Some(a) = accepts {
        f.insert("accepts".into(), a.to_value());
    }
    f.insert("ocsp_stapled".into(), json!(session.ocsp_stapled));
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(v: Value) -> Options {
        serde_json::from_value(v).expect("object")
    }

    #[test]
    fn check_reports_bad_literal_options() {
        let p = TlsProbe::new();
        let problems = p.check(&opts(
            json!({"host": "https://x.test/", "port": 70000, "sni": "bad name!"}),
        ));
        let keys: Vec<_> = problems.iter().filter_map(|p| p.key.clone()).collect();
        assert_eq!(keys, vec!["host", "port", "sni"]);
        assert!(
            problems[0].message.contains("port = 443"),
            "{}",
            problems[0].message
        );

        let problems = p.check(&opts(json!({"host": "x.test:443"})));
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("port separately"));

        let problems = p.check(&opts(json!({"host": "x.test", "versions": "yes"})));
        assert_eq!(problems[0].key.as_deref(), Some("versions"));

        let problems = p.check(&opts(json!({"host": "x.test", "hots": 1})));
        assert_eq!(problems.len(), 1);
    }

    #[test]
    fn check_accepts_templates_and_good_values() {
        let p = TlsProbe::new();
        for o in [
            json!({"host": "${host}", "port": "${port}", "sni": "${sni}", "ca": "${ca}"}),
            json!({"host": "api.example.com"}),
            json!({"host": "127.0.0.1", "port": 8443, "sni": "api.demo.test", "versions": true}),
            json!({"host": "::1", "port": "443"}),
            json!({"host": "[::1]"}),
        ] {
            assert!(p.check(&opts(o.clone())).is_empty(), "{o}");
        }
    }

    #[test]
    fn default_expectation_is_specs() {
        let p = TlsProbe::new();
        assert_eq!(
            p.default_expect(&Options::new()),
            vec!["chain_valid && hostname_matches && days_left >= 14"]
        );
    }

    async fn observe(probe: &TlsProbe, o: Value) -> Result<Facts, Failure> {
        probe.prepare(&opts(o)).expect("prepare").observe().await
    }

    fn item(bed: &preflight_testbed::Testbed, addr: std::net::SocketAddr) -> Value {
        json!({"host": "127.0.0.1", "port": addr.port(), "sni": "localhost", "ca": bed.ca_path()})
    }

    #[tokio::test]
    async fn valid_chain_reports_every_fact() {
        let bed = preflight_testbed::Testbed::start().await.expect("testbed");
        let p = TlsProbe::new();
        let mut o = item(&bed, bed.tls().valid);
        o["versions"] = json!(true);
        let f = observe(&p, o).await.expect("facts");
        assert_eq!(f["protocol"], "TLSv1.3");
        assert!(
            f["cipher"].as_str().expect("cipher").starts_with("TLS13_"),
            "{f:?}"
        );
        assert_eq!(f["alpn"], "h2");
        assert_eq!(f["chain_valid"], true, "{f:?}");
        assert_eq!(f["chain_error"], Value::Null);
        assert_eq!(f["hostname_matches"], true);
        assert!(
            (88..=90).contains(&f["days_left"].as_i64().expect("days")),
            "{f:?}"
        );
        assert_eq!(f["subject"], "CN=localhost");
        assert!(
            f["issuer"]
                .as_str()
                .expect("issuer")
                .contains("CN=preflight testbed CA")
        );
        assert_eq!(
            f["sans"],
            json!(["localhost", "127.0.0.1", "::1", "api.demo.test"])
        );
        assert!(f["not_after"].as_str().expect("rfc3339").ends_with('Z'));
        assert!(f["not_before"].as_str().expect("rfc3339") < f["not_after"].as_str().expect("x"));
        let chain = f["chain"].as_array().expect("chain");
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[0]["subject"], "CN=localhost");
        assert_eq!(
            chain[1]["subject"], chain[1]["issuer"],
            "the CA is self-issued"
        );
        assert!(chain[1]["days_left"].as_i64().expect("ca days") > 3000);
        assert_eq!(
            f["accepts"],
            json!({"tls1_0": false, "tls1_1": false, "tls1_2": true, "tls1_3": true})
        );
        assert_eq!(f["ocsp_stapled"], true, "the valid listener staples");
    }

    #[tokio::test]
    async fn without_versions_there_is_no_accepts() {
        let bed = preflight_testbed::Testbed::start().await.expect("testbed");
        let f = observe(&TlsProbe::new(), item(&bed, bed.tls().valid))
            .await
            .expect("facts");
        assert!(!f.contains_key("accepts"));
    }

    #[tokio::test]
    async fn legacy_listener_accepts_tls_1_1_only_among_old_versions() {
        let bed = preflight_testbed::Testbed::start().await.expect("testbed");
        let mut o = item(&bed, bed.tls().legacy);
        o["versions"] = json!(true);
        let f = observe(&TlsProbe::new(), o).await.expect("facts");
        assert_eq!(
            f["accepts"],
            json!({"tls1_0": false, "tls1_1": true, "tls1_2": true, "tls1_3": true})
        );
        assert_eq!(f["chain_valid"], true);
        assert_eq!(
            f["ocsp_stapled"], false,
            "the legacy listener does not staple"
        );
    }

    #[tokio::test]
    async fn bad_certificates_fail_with_facts() {
        let bed = preflight_testbed::Testbed::start().await.expect("testbed");
        let p = TlsProbe::new();
        let t = bed.tls();

        let f = observe(&p, item(&bed, t.expiring)).await.expect("expiring");
        assert_eq!(f["days_left"], 10);
        assert_eq!(f["chain_valid"], true);

        let f = observe(&p, item(&bed, t.expired)).await.expect("expired");
        assert_eq!(f["chain_valid"], false);
        assert_eq!(f["chain_error"], "certificate expired");
        assert_eq!(f["hostname_matches"], true);
        assert_eq!(f["days_left"], -1);

        let f = observe(&p, item(&bed, t.wronghost))
            .await
            .expect("wrong host");
        assert_eq!(f["chain_valid"], true);
        assert_eq!(f["hostname_matches"], false);
        assert_eq!(f["sans"], json!(["wrong-host.demo.test"]));

        let f = observe(&p, item(&bed, t.selfsigned))
            .await
            .expect("self-signed");
        assert_eq!(f["chain_valid"], false);
        assert_eq!(f["hostname_matches"], true);
        assert_eq!(f["chain"].as_array().map(Vec::len), Some(1));
        // No `ca`: the Mozilla roots do not know the testbed CA either.
        let mut o = item(&bed, t.valid);
        o.as_object_mut().expect("obj").remove("ca");
        let f = observe(&p, o).await.expect("valid, unknown CA");
        assert_eq!(f["chain_valid"], false);
        assert_eq!(
            f["chain_error"],
            "unknown issuer (no path to a trusted root)"
        );
    }

    #[tokio::test]
    async fn hostile_targets_fail_with_a_reason() {
        let bed = preflight_testbed::Testbed::start().await.expect("testbed");
        let p = TlsProbe::new();
        let e = observe(&p, item(&bed, bed.closed_addr())).await.err();
        assert!(
            matches!(&e, Some(Failure::Target(r)) if r.starts_with("connection refused by 127.0.0.1:")),
            "{e:?}"
        );
        let e = observe(&p, item(&bed, bed.tls().garbage)).await.err();
        assert!(
            matches!(&e, Some(Failure::Target(r)) if r.contains("TLS handshake with 127.0.0.1:") && r.contains("failed")),
            "{e:?}"
        );
        let mut o = item(&bed, bed.tls().garbage);
        o["versions"] = json!(true);
        let e = observe(&p, o).await.err();
        assert!(matches!(&e, Some(Failure::Target(_))), "{e:?}");
        let hang = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            observe(&p, item(&bed, bed.hang_addr())),
        )
        .await;
        assert!(hang.is_err(), "a silent server keeps the handshake waiting");
    }

    #[test]
    fn prepare_defaults_port_and_sni() {
        let p = TlsProbe::new();
        let o = p.prepare(&opts(json!({"host": "[::1]"}))).expect("prepare");
        assert_eq!(o.host().as_deref(), Some("[::1]:443"));
        let o = p
            .prepare(&opts(json!({"host": "127.0.0.1", "port": "8443"})))
            .expect("prepare");
        assert_eq!(o.host().as_deref(), Some("127.0.0.1:8443"));
        let e = p
            .prepare(&opts(json!({"host": "x.test", "ca": "/nonexistent.pem"})))
            .err()
            .expect("missing ca file is an error");
        assert!(e.contains("failed to read ca file"), "{e}");
    }
}
