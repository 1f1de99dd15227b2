//! The `domain` probe: a domain's registration, from RDAP (RFC 9083) — when it
//! expires, who the registrar is, its status codes, name servers and whether the
//! delegation is DNSSEC-signed.
//!
//! ICANN no longer requires port-43 WHOIS for gTLDs; RDAP is the registries' JSON
//! interface. The probe asks `SERVER/domain/NAME` — `server` as given, or the one the
//! IANA bootstrap registry (RFC 9224) names for the TLD, cached on disk with its
//! published expiry ([`bootstrap`]). A 404, a body that is not an RDAP domain
//! object, a refused or silent server each fail the item with a reason.
//!
//! ```toml
//! [[item]]
//! id = "domain.renewal"
//! probe = "domain"
//! name = "example.com"
//! expect = ["days_left >= 30", "status.exists(s, s == 'client transfer prohibited')"]
//! ```

pub mod bootstrap;
mod error;
mod rdap;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use preflight_client::{HttpSettings, TlsSettings};
use preflight_core::network::check_proxy;
use preflight_core::probe::{BoxFuture, Egress, OptionProblem};
use preflight_core::{Context, Fact, FactType, Facts, Failure, Observer, Options, Probe};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::OnceCell;

pub use error::Error;

/// The largest RDAP answer read (real ones are a few KiB).
pub const MAX_BODY: usize = 1 << 20;

/// Options of a `domain` item.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainOptions {
    /// The registered domain (`example.com`; IDN names are sent as punycode).
    pub name: String,
    /// RDAP base URL (`https://rdap.example/`, the part before `domain/NAME`);
    /// default: the server the IANA bootstrap registry names for the TLD (fetched
    /// only when its cached copy is missing or expired).
    #[serde(default)]
    pub server: Option<String>,
    /// Proxy for this item's requests (the RDAP server and the bootstrap registry): an `http://` or `https://` URL (credentials masked), or `"none"` to connect directly; default: `[checklist] proxy`, else `HTTPS_PROXY` / `HTTP_PROXY` with `NO_PROXY`.
    #[serde(default)]
    pub proxy: Option<String>,
}

/// The domain probe; keeps the bootstrap registry for a sweep.
#[derive(Default)]
pub struct DomainProbe {
    registry: Arc<OnceCell<bootstrap::Registry>>,
}

impl DomainProbe {
    /// A probe that has not read the bootstrap registry yet.
    pub fn new() -> DomainProbe {
        DomainProbe::default()
    }
}

/// `name` as ASCII (punycode), lower case, without a trailing dot.
fn parse_name(text: &str) -> Result<String, String> {
    let t = text.trim().trim_end_matches('.');
    if t.is_empty() {
        return Err("name is empty".into());
    }
    if t.contains("://") || t.contains('/') || t.contains(':') || t.contains('@') {
        return Err(format!(
            "\"{text}\" is not a domain name (write the name only, e.g. name = \"example.com\")"
        ));
    }
    match url::Host::parse(t) {
        Ok(url::Host::Domain(d)) if d.contains('.') => Ok(d.to_ascii_lowercase()),
        Ok(url::Host::Domain(_)) => Err(format!(
            "\"{text}\" has no TLD (write the registered domain, e.g. \"example.com\")"
        )),
        Ok(_) => Err(format!("\"{text}\" is an IP address, not a domain name")),
        Err(e) => Err(format!("\"{text}\" is not a valid domain name: {e}")),
    }
}

/// An `http(s)` base URL, ending in `/` so `domain/NAME` is appended to its path.
fn parse_server(text: &str) -> Result<url::Url, String> {
    let mut url = preflight_client::parse_http_url(text.trim())?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "\"{text}\" has a query or fragment (give the base URL only)"
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

impl Probe for DomainProbe {
    type Options = DomainOptions;
    const NAME: &'static str = "domain";
    const SUMMARY: &'static str = "A domain's registration from RDAP: days to expiry, registrar, status codes, name servers and DNSSEC delegation.";
    const FACTS: &'static [Fact] = &[
        Fact::new(
            "days_left",
            FactType::Integer,
            "whole days from now to the `expiration` event, rounded down, negative once passed; null when the registry publishes none",
        )
        .nullable(),
        Fact::new(
            "expires",
            FactType::String,
            "the expiration date, RFC 3339 UTC; null when none is published",
        )
        .nullable(),
        Fact::new(
            "registrar",
            FactType::String,
            "the name of the entity with the registrar role; null when none is given",
        )
        .nullable(),
        Fact::new(
            "status",
            FactType::List,
            "RDAP status values as published (\"active\", \"client transfer prohibited\", …)",
        ),
        Fact::new(
            "nameservers",
            FactType::List,
            "the delegation's name servers, lower case, no trailing dot",
        ),
        Fact::new(
            "dnssec",
            FactType::Bool,
            "secureDNS.delegationSigned: the parent publishes DS records; null when not stated",
        )
        .nullable(),
        Fact::new(
            "server",
            FactType::String,
            "the RDAP base URL asked (from `server` or the bootstrap registry)",
        ),
        Fact::new(
            "latency_ms",
            FactType::Number,
            "time to the RDAP answer, in ms",
        ),
    ];
    const EXAMPLE: &'static str = r#"[[item]]
id = "domain.renewal"
title = "Domain auto-renew on, expires in > 30 days"
probe = "domain"
name = "demo.test"
server = "http://127.0.0.1:8081/"
expect = ["days_left >= 30", "status.exists(s, s == 'client transfer prohibited')"]
"#;

    fn default_expect(_: &Options) -> Vec<String> {
        vec!["days_left >= 30".into()]
    }

    fn validate(options: &DomainOptions) -> Vec<OptionProblem> {
        let mut problems = Vec::new();
        if let Err(e) = parse_name(&options.name) {
            problems.push(OptionProblem::at("name", e));
        }
        if let Some(s) = &options.server
            && let Err(e) = parse_server(s)
        {
            problems.push(OptionProblem::at("server", e));
        }
        if let Some(p) = &options.proxy
            && let Err(e) = check_proxy(p)
        {
            problems.push(OptionProblem::at("proxy", e));
        }
        problems
    }

    fn egress(options: &DomainOptions) -> Option<Egress> {
        let url = options
            .server
            .clone()
            .unwrap_or_else(|| bootstrap::IANA_DNS.to_string());
        Some(Egress {
            tls: url.trim().to_ascii_lowercase().starts_with("https:"),
            url: Some(url),
            proxy: options.proxy.clone(),
            ..Egress::default()
        })
    }

    fn prepare(
        &self,
        options: DomainOptions,
        context: &Context,
    ) -> Result<Arc<dyn Observer>, Failure> {
        let invalid = |key: &str, e: String| Failure::options(OptionProblem::at(key, e));
        let name = parse_name(&options.name).map_err(|e| invalid("name", e))?;
        let server = match &options.server {
            Some(s) => Some(parse_server(s).map_err(|e| invalid("server", e))?),
            None => None,
        };
        let settings = HttpSettings {
            tls: TlsSettings::new(false, None, context.network.clone()),
            proxy: options.proxy,
            ..HttpSettings::default()
        };
        let client = settings
            .builder()
            .map_err(Error::Client)?
            .timeout(context.timeout)
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| Error::Client(format!("failed to build the HTTP client: {e}")))?;
        Ok(Arc::new(DomainObserver {
            name,
            server,
            client,
            settings,
            registry: self.registry.clone(),
            cache: bootstrap::default_cache_path(),
        }))
    }
}

struct DomainObserver {
    name: String,
    /// `None`: from the bootstrap registry.
    server: Option<url::Url>,
    client: reqwest::Client,
    /// How the client connects (for reasons that name a proxy).
    settings: HttpSettings,
    registry: Arc<OnceCell<bootstrap::Registry>>,
    cache: Option<PathBuf>,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn target(url: &url::Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or("?"),
        url.port_or_known_default().unwrap_or(0)
    )
}

impl Observer for DomainObserver {
    fn host(&self) -> Option<String> {
        self.server.as_ref().map(target)
    }

    fn observe(&self) -> BoxFuture<'_, Result<Facts, Failure>> {
        Box::pin(async move { Ok(self.observe_once().await?) })
    }
}

impl DomainObserver {
    async fn base(&self) -> Result<url::Url, Error> {
        if let Some(s) = &self.server {
            return Ok(s.clone());
        }
        let registry = self
            .registry
            .get_or_try_init(|| {
                bootstrap::registry(
                    &self.client,
                    bootstrap::IANA_DNS,
                    self.cache.as_deref(),
                    unix_now(),
                )
            })
            .await?;
        let tld = self.name.rsplit('.').next().unwrap_or("").to_string();
        let found = registry
            .server_for(&self.name)
            .ok_or(Error::NoService { tld: tld.clone() })?;
        parse_server(&found).map_err(|reason| Error::Bootstrap {
            reason: format!("the registry's server for .{tld}: {reason}"),
            timeout: false,
        })
    }

    async fn observe_once(&self) -> Result<Facts, Error> {
        let base = self.base().await?;
        let url = base
            .join(&format!("domain/{}", self.name))
            .map_err(|e| Error::Client(format!("failed to build the RDAP URL: {e}")))?;
        let server = target(&url);
        let t0 = Instant::now();
        let via = self
            .settings
            .route(&url)
            .ok()
            .and_then(|r| r.proxy().cloned());
        let transport = |e: reqwest::Error| Error::Request {
            reason: preflight_client::describe_error_via(&e, &url, via.as_ref()),
            timeout: e.is_timeout(),
        };
        let mut resp = self
            .client
            .get(url.clone())
            .header("accept", "application/rdap+json, application/json")
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status().as_u16();
        if status == 404 {
            return Err(Error::NotFound {
                name: self.name.clone(),
                server,
            });
        }
        if !(200..300).contains(&status) {
            return Err(Error::Status {
                name: self.name.clone(),
                server,
                status,
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(Error::BadResponse {
                    name: self.name.clone(),
                    server,
                    reason: "the answer is larger than 1 MiB".into(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        let latency = t0.elapsed();
        let mut facts = rdap::facts(&body, unix_now()).map_err(|reason| Error::BadResponse {
            name: self.name.clone(),
            server,
            reason,
        })?;
        facts.insert("server".into(), json!(base.as_str()));
        facts.insert("latency_ms".into(), json!(ms(latency)));
        Ok(facts)
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use preflight_core::AnyProbe;
    use serde_json::{Value, json};

    use super::*;

    fn opts(v: Value) -> Options {
        serde_json::from_value(v).expect("object")
    }

    #[test]
    fn names_and_servers_are_checked() {
        assert_eq!(parse_name("Example.COM.").as_deref(), Ok("example.com"));
        assert_eq!(
            parse_name("bücher.example").as_deref(),
            Ok("xn--bcher-kva.example")
        );
        for bad in [
            "",
            "https://example.com/",
            "example.com:443",
            "localhost",
            "192.0.2.1",
            "exa mple.com",
        ] {
            assert!(parse_name(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_server("http://127.0.0.1:1/rdap")
                .map(|u| u.to_string())
                .as_deref(),
            Ok("http://127.0.0.1:1/rdap/")
        );
        assert!(parse_server("ftp://x.test/").is_err());
        assert!(parse_server("http://x.test/?q=1").is_err());
        let p = DomainProbe::new();
        let problems = p.check(&opts(json!({"name": "x", "server": "nope", "whois": true})));
        let keys: Vec<_> = problems.iter().filter_map(|p| p.key.clone()).collect();
        assert_eq!(
            keys,
            ["whois", "name", "server"],
            "every problem at once: {problems:?}"
        );
    }

    #[test]
    fn schema_documents_every_option_and_the_example_loads() {
        let schema = DomainProbe::new().options_schema();
        let props = schema["properties"].as_object().expect("properties");
        assert_eq!(
            props.keys().collect::<Vec<_>>(),
            ["name", "server", "proxy"]
        );
        for (name, s) in props {
            assert!(s["description"].is_string(), "{name} has no doc: {s}");
        }
        let catalog = preflight_core::Catalog::new(vec![Arc::new(DomainProbe::new())]);
        let list =
            preflight_core::checklist::parse("example.toml", DomainProbe::EXAMPLE, &[], &catalog)
                .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(list.items.len(), 1);
        assert_eq!(
            <DomainProbe as Probe>::default_expect(&Options::new()),
            vec!["days_left >= 30"]
        );
    }

    #[test]
    fn the_host_is_the_server_or_unknown_before_bootstrap() {
        let p = DomainProbe::new();
        let c = Context::new(Duration::from_secs(1));
        let o = AnyProbe::prepare(
            &p,
            &opts(json!({"name": "a.test", "server": "http://127.0.0.1:9/"})),
            &c,
        )
        .expect("prepare");
        assert_eq!(o.host().as_deref(), Some("127.0.0.1:9"));
        // Preparing an item without `server` fetches nothing.
        let o = AnyProbe::prepare(&p, &opts(json!({"name": "a.test"})), &c).expect("prepare");
        assert_eq!(o.host(), None);
    }
}
