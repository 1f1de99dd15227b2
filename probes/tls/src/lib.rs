//! The `tls` probe: one handshake with rustls and what the server presented.
//!
//! It observes the negotiated protocol, cipher and ALPN; the leaf certificate's
//! names and validity window (x509-parser); whether the chain is valid against the
//! Mozilla roots or the item's `ca` file and whether the leaf is valid for the SNI
//! name (webpki, judged after the handshake so both are known even for a bad
//! certificate); the stapled OCSP response; and, with `versions = true`, which
//! protocol versions the server accepts when each is offered alone — TLS 1.0 and
//! 1.1 through a hand-built ClientHello, since rustls cannot speak them. With
//! `starttls` (smtp, imap, pop3, postgres) every connection first speaks the
//! protocol's plaintext exchange and upgrades (see `starttls.rs`); a server that does
//! not offer the upgrade fails the item. It never judges: core compares the facts
//! with `expect`.
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
mod error;
mod handshake;
mod legacy_hello;
mod starttls;
mod trust;
mod versions;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use preflight_core::network::{Family, Network, Trust};
use preflight_core::probe::{BoxFuture, Egress, OptionProblem};
use preflight_core::{Context, Fact, FactType, Facts, Failure, Observer, Options, Probe};
use rustls::pki_types::ServerName;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::certificate::{CertSummary, rfc3339};
use crate::handshake::{Target, handshake, protocol_name};
use crate::trust::Roots;

pub use crate::error::{Error, HandshakeCause};
pub use crate::starttls::StartTls;

/// Port used when an item gives none (and no `starttls`).
pub const DEFAULT_PORT: u16 = 443;

/// Options of a `tls` item.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsOptions {
    /// Name or IP address to connect to: no scheme, no port (`[::1]` or `::1` for IPv6).
    pub host: String,
    /// TCP port (default 443; with `starttls`: 25 for smtp, 143 for imap, 110 for
    /// pop3, 5432 for postgres).
    #[serde(default)]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u16>,
    /// Name sent as SNI and checked against the certificate (default: `host`); an IP
    /// address sends no SNI and is matched against IP SANs.
    #[serde(default)]
    pub sni: Option<String>,
    /// PEM file whose certificates are the only trusted roots (default: the roots of
    /// `[checklist] trust`, the Mozilla roots unless set, plus `[checklist] ca`);
    /// relative to the working directory.
    #[serde(default)]
    pub ca: Option<String>,
    /// Also offer each protocol version alone and report `accepts`.
    #[serde(default)]
    pub versions: bool,
    /// Speak this plaintext protocol first and upgrade the connection (`"smtp"`,
    /// `"imap"`, `"pop3"` or `"postgres"`); a server that does not offer the upgrade
    /// fails the item. Default: TLS from the first byte.
    #[serde(default)]
    pub starttls: Option<StartTls>,
    /// PEM certificate (chain) presented when the server asks for one (mutual TLS);
    /// needs `client_key`. A server that refuses it fails the handshake.
    #[serde(default)]
    pub client_cert: Option<String>,
    /// PEM private key of `client_cert`; a secret: its path is masked in every report.
    #[serde(default)]
    pub client_key: Option<String>,
    /// Connect over `ipv4` only, `ipv6` only, or `any` (default) of the host's addresses.
    #[serde(default)]
    pub family: Family,
}

impl TlsOptions {
    /// The port to connect to: `port`, or the default of `starttls`'s protocol, or 443.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or_else(|| {
            self.starttls
                .map_or(DEFAULT_PORT, starttls::StartTls::default_port)
        })
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

    fn roots(&self, ca: Option<&str>, network: &Network) -> Result<Roots, Error> {
        let Some(path) = ca else {
            if network.trust == Trust::Webpki && network.ca.is_none() {
                return Ok(Roots::Web);
            }
            // `[checklist] trust` / `ca`: the shared rules of preflight-client.
            let store =
                preflight_client::trust::root_store_for(None, network).map_err(Error::Trust)?;
            return Ok(Roots::File(store.roots.into()));
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
    type Options = TlsOptions;
    const NAME: &'static str = "tls";
    const SUMMARY: &'static str = "One TLS handshake: protocol, cipher, ALPN, the certificate chain, its validity and expiry, the hostname match, OCSP stapling and, optionally, which protocol versions are accepted; also after STARTTLS (SMTP, IMAP, POP3, PostgreSQL).";
    const FACTS: &'static [Fact] = &[
        Fact::new(
            "protocol",
            FactType::String,
            "negotiated version, \"TLSv1.3\" or \"TLSv1.2\"",
        ),
        Fact::new(
            "cipher",
            FactType::String,
            "negotiated cipher suite, IANA name (\"TLS13_AES_256_GCM_SHA384\")",
        ),
        Fact::new(
            "alpn",
            FactType::String,
            "negotiated ALPN protocol (\"h2\"), null if none",
        )
        .nullable(),
        Fact::new(
            "days_left",
            FactType::Integer,
            "leaf: whole days from now to not_after, rounded down; negative once expired",
        ),
        Fact::new(
            "not_before",
            FactType::String,
            "leaf validity start, RFC 3339 UTC",
        ),
        Fact::new(
            "not_after",
            FactType::String,
            "leaf validity end, RFC 3339 UTC",
        ),
        Fact::new(
            "issuer",
            FactType::String,
            "leaf issuer distinguished name (\"CN=…, O=…\")",
        ),
        Fact::new(
            "subject",
            FactType::String,
            "leaf subject distinguished name (\"CN=localhost\")",
        ),
        Fact::new(
            "sans",
            FactType::List,
            "leaf subject alternative names: DNS names as written, IP addresses as text",
        ),
        Fact::new(
            "chain_valid",
            FactType::Bool,
            "the chain leads to a trusted root (Mozilla roots, or only `ca`) and every certificate is valid now; the name is not part of this",
        ),
        Fact::new(
            "chain_error",
            FactType::String,
            "why chain_valid is false (\"certificate expired\", \"unknown issuer (no path to a trusted root)\", …), null when valid",
        )
        .nullable(),
        Fact::new(
            "hostname_matches",
            FactType::Bool,
            "the leaf is valid for the SNI name (DNS SANs with wildcards, IP SANs; not the CN)",
        ),
        Fact::new(
            "chain",
            FactType::List,
            "every certificate the server sent, leaf first: [{subject, issuer, days_left}]",
        ),
        Fact::new(
            "accepts",
            FactType::Object,
            "{tls1_0, tls1_1, tls1_2, tls1_3}: whether the server accepts each version offered alone",
        )
        .when("with `versions = true`"),
        Fact::new(
            "ocsp_stapled",
            FactType::Bool,
            "the server stapled an OCSP response in this handshake",
        ),
    ];
    const SECRET_OPTIONS: &'static [&'static str] = &["client_key"];
    const EXAMPLE: &'static str = r#"[[item]]
id = "tls.api"
title = "API certificate valid, 21+ days left, TLS 1.2+ only"
probe = "tls"
host = "api.example"
port = 8443
versions = true
expect = [
  "chain_valid && hostname_matches",
  "days_left >= 21",
  "!accepts.tls1_0 && !accepts.tls1_1",
]
"#;

    fn default_expect(_: &Options) -> Vec<String> {
        vec!["chain_valid && hostname_matches && days_left >= 14".into()]
    }

    fn validate(options: &TlsOptions) -> Vec<OptionProblem> {
        let mut problems = Vec::new();
        match parse_host(&options.host) {
            Err(e) => problems.push(OptionProblem::at("host", e)),
            // Without `sni` the host is the name sent and checked.
            Ok(host) if options.sni.is_none() => {
                if let Err(e) = parse_server_name(&host) {
                    problems.push(OptionProblem::at("host", e));
                }
            }
            Ok(_) => {}
        }
        if options.port == Some(0) {
            problems.push(OptionProblem::at(
                "port",
                "port 0 is out of range (1 to 65535)",
            ));
        }
        if let Some(sni) = &options.sni
            && let Err(e) = parse_server_name(sni)
        {
            problems.push(OptionProblem::at("sni", e));
        }
        if let Some(ca) = &options.ca
            && ca.trim().is_empty()
        {
            problems.push(OptionProblem::at(
                "ca",
                "ca is empty (give a PEM file path)",
            ));
        }
        if options.client_cert.is_some() != options.client_key.is_some() {
            let key = if options.client_cert.is_some() {
                "client_cert"
            } else {
                "client_key"
            };
            problems.push(OptionProblem::at(
                key,
                "give client_cert and client_key together",
            ));
        }
        if let Err(e) = options.family.check_host(&options.host) {
            problems.push(OptionProblem::at("family", e));
        }
        problems
    }

    fn egress(options: &TlsOptions) -> Option<Egress> {
        Some(Egress {
            tls: true,
            ca: options.ca.clone(),
            client_cert: options.client_cert.clone(),
            family: options.family,
            ..Egress::default()
        })
    }

    fn prepare(&self, options: TlsOptions, cx: &Context) -> Result<Arc<dyn Observer>, Failure> {
        // `validate` has accepted these; the errors cannot happen but stay item errors.
        let invalid = |key: &str, e: String| Failure::options(OptionProblem::at(key, e));
        let host = parse_host(&options.host).map_err(|e| invalid("host", e))?;
        let server_name = match &options.sni {
            Some(sni) => parse_server_name(sni).map_err(|e| invalid("sni", e))?,
            None => parse_server_name(&host).map_err(|e| invalid("host", e))?,
        };
        let roots = self.roots(options.ca.as_deref(), &cx.network)?;
        let identity = preflight_client::TlsSettings::default()
            .with_client_cert(options.client_cert.clone(), options.client_key.clone())
            .identity()
            .and_then(|id| id.map(|id| id.certified_key()).transpose())
            .map_err(Error::ClientCert)?;
        Ok(Arc::new(TlsObserver {
            target: Target {
                host,
                port: options.effective_port(),
                server_name,
                starttls: options.starttls,
                family: options.family,
                identity,
            },
            roots,
            versions: options.versions,
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
            let session = session?;
            let accepts = accepts.transpose()?;
            Ok(facts_of(&session, &self.target, &self.roots, accepts)?)
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
) -> Result<Facts, Error> {
    let Some(leaf_der) = session.chain.first() else {
        return Err(Error::NoCertificate {
            target: target.label(),
        });
    };
    let now = unix_now();
    let mut chain = Vec::with_capacity(session.chain.len());
    for der in &session.chain {
        chain.push(
            CertSummary::parse(der).map_err(|reason| Error::BadCertificate {
                target: target.label(),
                reason,
            })?,
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
    use preflight_core::AnyProbe;
    use preflight_core::probe::conformance;
    use std::time::Duration;

    fn opts(v: Value) -> Options {
        serde_json::from_value(v).expect("object")
    }

    fn keys(problems: &[OptionProblem]) -> Vec<String> {
        problems.iter().filter_map(|p| p.key.clone()).collect()
    }

    #[test]
    fn check_reports_bad_literal_options() {
        let p = TlsProbe::new();
        let problems = p.check(&opts(
            json!({"host": "https://x.test/", "port": 443, "sni": "bad name!"}),
        ));
        assert_eq!(keys(&problems), vec!["host", "sni"]);
        assert!(
            problems[0].message.contains("port = 443"),
            "{}",
            problems[0].message
        );

        let problems = p.check(&opts(json!({"host": "x.test:443"})));
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("port separately"));

        // Without `sni`, the host itself must be a valid SNI name.
        let problems = p.check(&opts(json!({"host": "bad name"})));
        assert_eq!(keys(&problems), vec!["host"]);
        assert!(problems[0].message.contains("for SNI"), "{problems:?}");

        let problems = p.check(&opts(json!({"host": "x.test", "ca": " "})));
        assert_eq!(keys(&problems), vec!["ca"]);

        let problems = p.check(&opts(json!({"host": "x.test", "hots": 1})));
        assert_eq!(problems.len(), 1);
    }

    #[test]
    fn check_rejects_wrong_types_and_ranges() {
        let p = TlsProbe::new();
        // Typed options: a literal string is not a port, nor "yes" a bool. (A `${var}`
        // port is interpolated and turned into a number by core before this runs.)
        for bad in [json!(0), json!(70000), json!("443"), json!("https")] {
            let problems = p.check(&opts(json!({"host": "x.test", "port": bad})));
            assert_eq!(keys(&problems), vec!["port"], "{bad}: {problems:?}");
        }
        let problems = p.check(&opts(json!({"host": "x.test", "versions": "yes"})));
        assert_eq!(keys(&problems), vec!["versions"]);
    }

    #[test]
    fn check_accepts_good_values() {
        let p = TlsProbe::new();
        for o in [
            json!({"host": "api.example.com"}),
            json!({"host": "127.0.0.1", "port": 8443, "sni": "api.demo.test", "versions": true}),
            json!({"host": "::1", "port": 443}),
            json!({"host": "[::1]"}),
            json!({"host": "127.0.0.1", "ca": "certs/ca.pem"}),
        ] {
            assert!(p.check(&opts(o.clone())).is_empty(), "{o}");
        }
    }

    #[test]
    fn every_option_is_documented_and_port_defaults_to_the_protocols() {
        let schema = TlsProbe::new().options_schema();
        let props = schema["properties"].as_object().expect("properties");
        assert_eq!(
            props.keys().collect::<Vec<_>>(),
            [
                "host",
                "port",
                "sni",
                "ca",
                "versions",
                "starttls",
                "client_cert",
                "client_key",
                "family"
            ]
        );
        for (name, s) in props {
            assert!(s["description"].is_string(), "{name} has no doc: {s}");
        }
        assert!(
            props["port"]["description"]
                .as_str()
                .is_some_and(|d| d.contains("default 443")),
            "{}",
            props["port"]
        );
        assert_eq!(props["port"]["minimum"], 1);
        assert_eq!(schema["required"], json!(["host"]));
        assert_eq!(schema["additionalProperties"], false);
    }

    #[test]
    fn example_loads() {
        let catalog = preflight_core::Catalog::new(vec![Arc::new(TlsProbe::new())]);
        let list =
            preflight_core::checklist::parse("example.toml", TlsProbe::EXAMPLE, &[], &catalog)
                .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(list.items.len(), 1);
    }

    #[test]
    fn default_expectation_is_specs() {
        assert_eq!(
            <TlsProbe as Probe>::default_expect(&Options::new()),
            vec!["chain_valid && hostname_matches && days_left >= 14"]
        );
    }

    fn context() -> Context {
        Context::new(Duration::from_secs(5))
    }

    /// Prepares and observes; facts, whenever there are some, match [`TlsProbe::FACTS`].
    async fn observe(probe: &TlsProbe, o: Value) -> Result<Facts, Failure> {
        let facts = AnyProbe::prepare(probe, &opts(o), &context())
            .expect("prepare")
            .observe()
            .await?;
        let problems = conformance(TlsProbe::FACTS, &facts);
        assert!(problems.is_empty(), "{problems:?} in {facts:?}");
        Ok(facts)
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
        let e = observe(&p, item(&bed, bed.closed_addr()))
            .await
            .expect_err("refused");
        assert!(e.is_target() && !e.is_timeout(), "{e:?}");
        assert!(
            e.reason().starts_with("connection refused by 127.0.0.1:"),
            "{e:?}"
        );
        assert!(matches!(
            e.downcast_ref::<Error>(),
            Some(Error::Refused { .. })
        ));

        let e = observe(&p, item(&bed, bed.tls().garbage))
            .await
            .expect_err("not TLS");
        let r = e.reason();
        assert!(e.is_target(), "{e:?}");
        assert!(
            r.contains("TLS handshake with 127.0.0.1:") && r.contains("failed"),
            "{e:?}"
        );
        assert!(matches!(
            e.downcast_ref::<Error>(),
            Some(Error::Handshake { .. })
        ));

        let mut o = item(&bed, bed.tls().garbage);
        o["versions"] = json!(true);
        let e = observe(&p, o).await.expect_err("not TLS, with versions");
        assert!(e.is_target(), "{e:?}");

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
        let o =
            AnyProbe::prepare(&p, &opts(json!({"host": "[::1]"})), &context()).expect("prepare");
        assert_eq!(o.host().as_deref(), Some("[::1]:443"));
        let o = AnyProbe::prepare(
            &p,
            &opts(json!({"host": "127.0.0.1", "port": 8443})),
            &context(),
        )
        .expect("prepare");
        assert_eq!(o.host().as_deref(), Some("127.0.0.1:8443"));
        let e = AnyProbe::prepare(
            &p,
            &opts(json!({"host": "x.test", "ca": "/nonexistent.pem"})),
            &context(),
        )
        .err()
        .expect("missing ca file is an error");
        assert_eq!(e.blame(), preflight_core::Blame::Checker, "{e:?}");
        assert!(e.reason().contains("failed to read ca file"), "{e:?}");
        // Options that do not validate once interpolated are the checker's fault too.
        let e = AnyProbe::prepare(&p, &opts(json!({"host": "x.test:1"})), &context())
            .err()
            .expect("bad host");
        assert_eq!(e.blame(), preflight_core::Blame::Checker, "{e:?}");
    }
}

#[cfg(test)]
mod starttls_tests;
