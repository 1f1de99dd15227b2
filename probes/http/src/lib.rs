//! The `http` probe: one request (or `samples` requests) and what came back.
//!
//! It observes status, headers, body (capped at 1 MiB), JSON, latency, the redirect
//! chain, the HTTP and TLS versions and the days left on the TLS certificate; it never
//! judges them. One client per TLS/resolve setting is shared by every item of a sweep,
//! so connections to a host are reused.
//!
//! ```toml
//! [[item]]
//! id = "smoke.health"
//! probe = "http"
//! url = "${api}/api/health"
//! expect = ["status == 200", "json.status == 'healthy'"]
//! ```

mod cookies;
mod resolve;
mod robots;
mod security;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_resolver::TokioResolver;
use preflight_client::{HttpSettings, TlsSettings};
use preflight_core::network::{Family, check_proxy};
use preflight_core::probe::{BoxFuture, Egress, OptionProblem};
use preflight_core::{
    Blame, Context, Fact, FactType, Facts, Failure, Observer, Options, Probe, ProbeError,
};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use cookies::MAX_COOKIES;
pub use resolve::MAX_ADDRESSES;

/// Bodies are kept up to this many bytes; the rest is cut and `body_truncated` set.
pub const BODY_CAP: usize = 1024 * 1024;
/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 10;
/// `samples` is at most this.
pub const MAX_SAMPLES: u32 = 10_000;
/// Samples in flight at once.
const SAMPLE_PARALLELISM: usize = 4;
/// URLs and `Location` values in facts and reasons are cut to this many characters.
const URL_CAP: usize = 2048;
/// Strings quoted in a reason are cut to this many characters.
const REASON_CAP: usize = 200;
/// CORS header values kept, each.
const CORS_CAP: usize = 256;
/// Entries kept of a CORS list header.
const CORS_LIST_CAP: usize = 64;

/// Options of an `http` item.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpOptions {
    /// The URL to request, `http://` or `https://`.
    pub url: String,
    /// HTTP method (default `GET`).
    #[serde(default)]
    pub method: Option<String>,
    /// Request headers; values of headers named like secrets are masked everywhere.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Raw request body.
    #[serde(default)]
    pub body: Option<String>,
    /// A JSON value sent as the body, with `content-type: application/json` (instead of `body`).
    #[serde(default)]
    pub json: Option<Value>,
    /// Follow redirects, at most 10; more is a fail `too many redirects`.
    #[serde(default = "yes")]
    pub follow_redirects: bool,
    /// Skip certificate checks (handshake signatures are still verified).
    #[serde(default)]
    pub insecure: bool,
    /// Connect to this IP address instead of resolving the URL's host (the certificate is still checked for the host).
    #[serde(default)]
    pub resolve: Option<String>,
    /// Send this many requests (4 in flight) for latency percentiles (default 1).
    #[serde(default)]
    #[schemars(range(min = 1, max = 10000))]
    pub samples: Option<u32>,
    /// PEM file of CA certificates; when given, only these are trusted (like `curl --cacert`); default: the roots of `[checklist] trust` plus `[checklist] ca`.
    #[serde(default)]
    pub ca: Option<String>,
    /// Proxy for this item's requests: an `http://` or `https://` URL (credentials masked), or `"none"` to connect directly; default: `[checklist] proxy`, else `HTTPS_PROXY` / `HTTP_PROXY` with `NO_PROXY`.
    #[serde(default)]
    pub proxy: Option<String>,
    /// PEM certificate (chain) presented when the server asks for one (mutual TLS); needs `client_key`.
    #[serde(default)]
    pub client_cert: Option<String>,
    /// PEM private key of `client_cert`; a secret: its path is masked in every report.
    #[serde(default)]
    pub client_key: Option<String>,
    /// Connect over `ipv4` only, `ipv6` only, or `any` (default) of the host's addresses.
    #[serde(default)]
    pub family: Family,
    /// Also send a CORS preflight (`OPTIONS` with this `Origin`) to `url` and report `cors`.
    #[serde(default)]
    pub origin: Option<String>,
    /// `Access-Control-Request-Method` of the CORS preflight (default `GET`).
    #[serde(default)]
    pub request_method: Option<String>,
    /// `Access-Control-Request-Headers` of the CORS preflight.
    #[serde(default)]
    pub request_headers: Vec<String>,
    /// `"all"`: resolve every A and AAAA address of the URL's host and make the same request to each (facts `addresses`, `consistent`).
    #[serde(default)]
    pub addresses: Option<AddressMode>,
    /// DNS servers (`ip` or `ip:port`) that resolve every host name of the request, instead of the system's.
    #[serde(default)]
    pub resolvers: Option<Vec<String>>,
}

/// Which addresses of the host are requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(title = "addresses mode")]
pub enum AddressMode {
    /// Every A and AAAA address.
    All,
}

fn yes() -> bool {
    true
}

/// Cuts untrusted text to `n` characters, marking the cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n).collect();
        out.push('…');
        out
    }
}

/// Why an `http` observation produced no facts. Reasons never quote the request URL
/// of a transport error (it may carry a token).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request could not complete: refused, reset, TLS handshake, timeout.
    #[error("{reason}")]
    Request {
        /// `connection refused by host:port`, `TLS handshake with host:port failed: …`.
        reason: String,
        /// The transport reported a timeout.
        timeout: bool,
    },
    /// The response body broke off before its end.
    #[error("failed to read the response body: {reason}")]
    Body {
        /// What the transport said, as for [`Error::Request`].
        reason: String,
        /// The transport reported a timeout.
        timeout: bool,
    },
    /// A redirect's `Location` is not a URL.
    #[error("redirect to an invalid location \"{location}\": {source}")]
    BadRedirect {
        /// The `Location` header as sent (cut).
        location: String,
        /// Why it does not parse.
        source: url::ParseError,
    },
    /// A redirect leaves http/https (`file://`, `gopher://`, …): never followed.
    #[error(
        "redirect to a {scheme}: URL \"{location}\" (only http and https redirects are followed)"
    )]
    RedirectScheme {
        /// The scheme of the target.
        scheme: String,
        /// The `Location` header as sent (cut).
        location: String,
    },
    /// More than [`MAX_REDIRECTS`] redirects.
    #[error("too many redirects (more than {MAX_REDIRECTS}); last went to {last}")]
    TooManyRedirects {
        /// Where the redirect that was not followed pointed.
        last: String,
    },
    /// With `samples`, not one request succeeded.
    #[error("all {count} samples failed: {first}")]
    AllSamplesFailed {
        /// How many were sent.
        count: u32,
        /// The first sample's failure.
        first: Box<Error>,
    },
    /// The CORS preflight request could not complete.
    #[error("CORS preflight failed: {reason}")]
    Cors {
        /// What the transport said, as for [`Error::Request`].
        reason: String,
        /// The transport reported a timeout.
        timeout: bool,
    },
    /// `addresses = "all"`: the host did not resolve.
    #[error("failed to resolve {host}: {reason}")]
    Resolve {
        /// The URL's host.
        host: String,
        /// What the resolver said.
        reason: String,
    },
    /// `addresses = "all"`: the host has no A or AAAA record.
    #[error("{host} has no A or AAAA address")]
    NoAddresses {
        /// The URL's host.
        host: String,
    },
    /// `addresses = "all"` with `family`: the host has no address of the family.
    #[error("{host} has no {} address (family = \"{}\")", .family.label(), .family.as_str())]
    NoFamilyAddresses {
        /// The URL's host.
        host: String,
        /// The item's family.
        family: Family,
    },
    /// `addresses = "all"`: no address answered.
    #[error("all {count} addresses of {host} failed; {first_ip}: {first}")]
    AllAddressesFailed {
        /// The URL's host.
        host: String,
        /// How many addresses were tried.
        count: usize,
        /// The first address.
        first_ip: String,
        /// Its failure.
        first: Box<Error>,
    },
    /// The HTTP client could not be built (e.g. the `ca` file does not read): the
    /// checker's problem, not the target's.
    #[error("{0}")]
    Client(String),
}

impl ProbeError for Error {
    fn blame(&self) -> Blame {
        match self {
            Error::Client(_) => Blame::Checker,
            _ => Blame::Target,
        }
    }

    fn is_timeout(&self) -> bool {
        match self {
            Error::Request { timeout, .. }
            | Error::Body { timeout, .. }
            | Error::Cors { timeout, .. } => *timeout,
            Error::AllSamplesFailed { first, .. } | Error::AllAddressesFailed { first, .. } => {
                first.is_timeout()
            }
            _ => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ClientKey {
    settings: HttpSettings,
    resolve: Option<(String, IpAddr)>,
    resolvers: Option<Vec<SocketAddr>>,
}

/// Clients and resolvers shared by every item of a sweep.
#[derive(Default)]
struct Shared {
    clients: Mutex<HashMap<ClientKey, reqwest::Client>>,
    resolvers: Mutex<HashMap<Vec<SocketAddr>, Arc<TokioResolver>>>,
}

impl Shared {
    fn resolver(&self, servers: &[SocketAddr]) -> Result<Arc<TokioResolver>, Error> {
        let mut all = self.resolvers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = all.get(servers) {
            return Ok(r.clone());
        }
        let r = Arc::new(resolve::resolver(servers).map_err(Error::Client)?);
        all.insert(servers.to_vec(), r.clone());
        Ok(r)
    }

    fn client(&self, key: &ClientKey) -> Result<reqwest::Client, Error> {
        if let Some(c) = self
            .clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
        {
            return Ok(c.clone());
        }
        let c = self.build(key)?;
        self.clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), c.clone());
        Ok(c)
    }

    /// A new client for `key`, not shared.
    fn build(&self, key: &ClientKey) -> Result<reqwest::Client, Error> {
        let mut b = key
            .settings
            .builder()
            .map_err(Error::Client)?
            .tls_info(true)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(1024);
        if let Some(servers) = &key.resolvers {
            b = b.dns_resolver(Arc::new(resolve::ViaResolvers(
                self.resolver(servers)?,
                key.settings.family,
            )));
        }
        if let Some((host, ip)) = &key.resolve {
            b = b.resolve(host, SocketAddr::new(*ip, 0));
        }
        b.build()
            .map_err(|e| Error::Client(format!("failed to build the HTTP client: {e}")))
    }
}

/// The HTTP probe; holds the clients shared by a sweep.
#[derive(Default)]
pub struct HttpProbe {
    shared: Arc<Shared>,
}

impl HttpProbe {
    /// A probe with an empty client cache.
    pub fn new() -> HttpProbe {
        HttpProbe::default()
    }
}

fn parse_method(m: &str) -> Result<Method, String> {
    Method::from_bytes(m.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("\"{m}\" is not an HTTP method"))
}

fn parse_resolve(r: &str) -> Result<IpAddr, String> {
    r.parse::<IpAddr>()
        .map_err(|_| format!("\"{r}\" is not an IP address (write e.g. resolve = \"203.0.113.7\")"))
}

/// `https://app.example`, `http://localhost:3000` or `null`: a scheme, a host, maybe a
/// port, nothing else.
fn parse_origin(o: &str) -> Result<HeaderValue, String> {
    let bad = || format!("\"{o}\" is not an origin (write e.g. origin = \"https://app.example\")");
    if o != "null" {
        let u = Url::parse(o).map_err(|_| bad())?;
        if !matches!(u.scheme(), "http" | "https")
            || u.host_str().is_none()
            || u.path() != "/"
            || o.ends_with('/')
            || u.query().is_some()
            || u.fragment().is_some()
            || !u.username().is_empty()
        {
            return Err(bad());
        }
    }
    HeaderValue::from_str(o).map_err(|_| bad())
}

/// The request headers, or what is wrong with one.
fn header_map(headers: &BTreeMap<String, String>) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| format!("\"{k}\" is not a valid header name"))?;
        let value = HeaderValue::from_str(v)
            .map_err(|_| format!("the value of \"{k}\" is not a valid header value"))?;
        map.insert(name, value);
    }
    Ok(map)
}

/// `Access-Control-Request-Headers` from the list, or the first bad name.
fn request_headers_value(list: &[String]) -> Result<Option<HeaderValue>, String> {
    for h in list {
        HeaderName::from_bytes(h.as_bytes())
            .map_err(|_| format!("\"{h}\" is not a valid header name"))?;
    }
    if list.is_empty() {
        return Ok(None);
    }
    HeaderValue::from_str(&list.join(", ").to_ascii_lowercase())
        .map(Some)
        .map_err(|_| "not a valid header list".into())
}

impl Probe for HttpProbe {
    type Options = HttpOptions;
    const NAME: &'static str = "http";
    const SUMMARY: &'static str = "One HTTP request (or `samples` requests): status, headers, body, JSON, latency, redirects, TLS, cookies, security headers, CORS, every address.";
    const FACTS: &'static [Fact] = &[
        Fact::new("status", FactType::Integer, "HTTP status of the final response"),
        Fact::new(
            "headers",
            FactType::Map,
            "response headers, lower-case names; repeated headers joined with `, ` (`set-cookie` with a newline)",
        ),
        Fact::new(
            "body",
            FactType::String,
            "the response body as UTF-8 (invalid bytes replaced), up to 1 MiB",
        ),
        Fact::new(
            "body_truncated",
            FactType::Bool,
            "the body was longer than 1 MiB and was cut",
        ),
        Fact::new(
            "json",
            FactType::Any,
            "the body parsed as JSON; null unless it is JSON",
        )
        .nullable(),
        Fact::new(
            "latency_ms",
            FactType::Number,
            "request to last body byte, redirects included, in ms",
        ),
        Fact::new("url", FactType::String, "the final URL, after redirects"),
        Fact::new(
            "redirects",
            FactType::List,
            "each URL a redirect went to, in order",
        ),
        Fact::new(
            "hops",
            FactType::List,
            "every response on the redirect chain, the final one included: {url, status, location}",
        ),
        Fact::new(
            "cookies",
            FactType::List,
            "one entry per `Set-Cookie` of the final response: {name, secure, http_only, same_site, domain, path, expires, max_age} (never the value)",
        ),
        Fact::new(
            "security",
            FactType::Object,
            "security headers parsed: {hsts, csp, x_content_type_options, frame_options, referrer_policy, permissions_policy, cross_origin_resource_policy, cross_origin_opener_policy, grade, score, modifiers}",
        ),
        Fact::new(
            "meta_robots",
            FactType::String,
            "the `content` of `<meta name=\"robots\">` in an HTML body (several joined with `, `); null when there is none",
        )
        .nullable(),
        Fact::new(
            "http_version",
            FactType::String,
            "`HTTP/1.1`, `HTTP/2`, …",
        ),
        Fact::new(
            "tls_version",
            FactType::String,
            "`TLSv1.3`, `TLSv1.2`, …; null for plain HTTP",
        )
        .nullable(),
        Fact::new(
            "days_left",
            FactType::Integer,
            "whole days until the server certificate's not_after, rounded down; null for plain HTTP",
        )
        .nullable(),
        Fact::new(
            "latency",
            FactType::Object,
            "latency percentiles {p50, p95, p99} in ms (nearest rank)",
        )
        .when("with `samples` above 1"),
        Fact::new(
            "error_rate",
            FactType::Number,
            "share of samples (0 to 1) whose request failed or answered 5xx",
        )
        .when("with `samples` above 1"),
        Fact::new("count", FactType::Integer, "how many samples were sent")
            .when("with `samples` above 1"),
        Fact::new(
            "cors",
            FactType::Object,
            "the CORS preflight's answer: {allow_origin, allow_credentials, allow_methods [], allow_headers [], max_age, status}",
        )
        .when("with `origin`"),
        Fact::new(
            "addresses",
            FactType::Map,
            "by IP address: {status, tls_version, days_left, cert_sha256, latency_ms, error} of the same request to that address",
        )
        .when("with `addresses = \"all\"`"),
        Fact::new(
            "consistent",
            FactType::Bool,
            "every address answered, with the same status, TLS version and certificate",
        )
        .when("with `addresses = \"all\"`"),
    ];
    const SECRET_OPTIONS: &'static [&'static str] = &["client_key"];
    const EXAMPLE: &'static str = r#"[[item]]
id = "smoke.health"
title = "API health endpoint answers healthy"
probe = "http"
url = "https://api.shop.example/api/health"
headers = { accept = "application/json" }
expect = ["status == 200", "json.status == 'healthy'", "latency_ms < 500"]
"#;
    const DEFAULT_EXPECT_NOTE: &'static str = "`status >= 200 && status < 300`; with `samples` above 1 also `error_rate == 0.0`, so one failed sample among many fails the item; with `addresses = \"all\"` also `consistent`, so one address that answers differently fails the item.";

    fn default_expect(options: &Options) -> Vec<String> {
        let mut out = vec!["status >= 200 && status < 300".to_string()];
        // As written: a `${…}` may well be more than one.
        if options
            .get("samples")
            .is_some_and(|n| n.as_u64().is_none_or(|n| n > 1))
        {
            out.push("error_rate == 0.0".into());
        }
        if options.contains_key("addresses") {
            out.push("consistent".into());
        }
        out
    }

    fn validate(o: &HttpOptions) -> Vec<OptionProblem> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, message: String| problems.push(OptionProblem::at(key, message));
        if let Err(e) = preflight_client::parse_http_url(&o.url) {
            bad("url", e);
        }
        if let Some(m) = &o.method
            && let Err(e) = parse_method(m)
        {
            bad("method", e);
        }
        if let Err(e) = header_map(&o.headers) {
            bad("headers", e);
        }
        if o.body.is_some() && o.json.is_some() {
            bad("json", "give either `body` or `json`, not both".into());
        }
        if let Some(r) = &o.resolve
            && let Err(e) = parse_resolve(r)
        {
            bad("resolve", e);
        }
        if let Some(s) = o.samples
            && (s == 0 || s > MAX_SAMPLES)
        {
            bad(
                "samples",
                format!("samples must be from 1 to {MAX_SAMPLES}"),
            );
        }
        if let Some(origin) = &o.origin
            && let Err(e) = parse_origin(origin)
        {
            bad("origin", e);
        }
        if let Some(m) = &o.request_method {
            if let Err(e) = parse_method(m) {
                bad("request_method", e);
            }
            if o.origin.is_none() {
                bad(
                    "request_method",
                    "`request_method` needs `origin` (it belongs to the CORS preflight)".into(),
                );
            }
        }
        if !o.request_headers.is_empty() {
            if let Err(e) = request_headers_value(&o.request_headers) {
                bad("request_headers", e);
            }
            if o.origin.is_none() {
                bad(
                    "request_headers",
                    "`request_headers` needs `origin` (it belongs to the CORS preflight)".into(),
                );
            }
        }
        if let Some(list) = &o.resolvers
            && let Err(e) = resolve::parse_servers(list)
        {
            bad("resolvers", e);
        }
        if o.resolve.is_some() && o.resolvers.is_some() {
            bad(
                "resolvers",
                "give either `resolve` or `resolvers`, not both".into(),
            );
        }
        if o.resolve.is_some() && o.addresses.is_some() {
            bad(
                "addresses",
                "give either `resolve` or `addresses`, not both".into(),
            );
        }
        if let Some(p) = &o.proxy
            && let Err(e) = check_proxy(p)
        {
            bad("proxy", e);
        }
        if o.client_cert.is_some() != o.client_key.is_some() {
            bad(
                if o.client_cert.is_some() {
                    "client_cert"
                } else {
                    "client_key"
                },
                "give client_cert and client_key together".into(),
            );
        }
        if let Ok(url) = preflight_client::parse_http_url(&o.url)
            && let Err(e) = o.family.check_host(url.host_str().unwrap_or_default())
        {
            bad("family", e);
        }
        if let Some(Ok(ip)) = o.resolve.as_deref().map(parse_resolve)
            && !o.family.allows(ip)
        {
            bad(
                "family",
                format!(
                    "family = \"{}\", but resolve = \"{ip}\" is not an {} address",
                    o.family.as_str(),
                    o.family.label()
                ),
            );
        }
        if o.samples.is_some_and(|s| s > 1) && o.addresses.is_some() {
            bad(
                "addresses",
                "give either `samples` or `addresses`, not both".into(),
            );
        }
        problems
    }

    fn egress(o: &HttpOptions) -> Option<Egress> {
        Some(Egress {
            url: Some(o.url.clone()),
            proxy: o.proxy.clone(),
            tls: o.url.trim().to_ascii_lowercase().starts_with("https:"),
            ca: o.ca.clone(),
            unverified: o.insecure,
            client_cert: o.client_cert.clone(),
            family: o.family,
        })
    }

    fn prepare(&self, o: HttpOptions, cx: &Context) -> Result<Arc<dyn Observer>, Failure> {
        // Core validated the options; a problem here is still the checklist's.
        let bad = |key: &'static str| move |e: String| Failure::options(OptionProblem::at(key, e));
        let url = preflight_client::parse_http_url(&o.url).map_err(bad("url"))?;
        let method = match &o.method {
            Some(m) => parse_method(m).map_err(bad("method"))?,
            None => Method::GET,
        };
        let resolve = match &o.resolve {
            Some(r) => Some((
                url.host_str().unwrap_or_default().to_string(),
                parse_resolve(r).map_err(bad("resolve"))?,
            )),
            None => None,
        };
        let resolvers = match &o.resolvers {
            Some(list) => Some(resolve::parse_servers(list).map_err(bad("resolvers"))?),
            None => None,
        };
        let settings = HttpSettings {
            tls: TlsSettings::new(o.insecure, o.ca, cx.network.clone())
                .with_client_cert(o.client_cert, o.client_key),
            proxy: o.proxy,
            family: o.family,
        };
        // What a proxy would silently undo is an error instead.
        for (given, key, what) in [
            (
                o.family != Family::Any,
                "family",
                format!("family = \"{}\"", o.family.as_str()),
            ),
            (resolve.is_some(), "resolve", "resolve".to_string()),
            (
                o.addresses.is_some(),
                "addresses",
                "addresses = \"all\"".to_string(),
            ),
            (resolvers.is_some(), "resolvers", "resolvers".to_string()),
        ] {
            if given {
                settings
                    .needs_direct(&url, &what)
                    .map_err(|e| Failure::options(OptionProblem::at(key, e)))?;
            }
        }
        let key = ClientKey {
            settings,
            resolve,
            resolvers,
        };
        let client = self.shared.client(&key)?;
        let resolver = match (&key.resolvers, o.addresses) {
            (Some(servers), Some(_)) => Some(self.shared.resolver(servers)?),
            _ => None,
        };
        let cors = match &o.origin {
            Some(origin) => Some(CorsRequest {
                origin: parse_origin(origin).map_err(bad("origin"))?,
                method: match &o.request_method {
                    Some(m) => HeaderValue::from_str(
                        parse_method(m).map_err(bad("request_method"))?.as_str(),
                    )
                    .map_err(|_| bad("request_method")("not a method".into()))?,
                    None => HeaderValue::from_static("GET"),
                },
                headers: request_headers_value(&o.request_headers)
                    .map_err(bad("request_headers"))?,
            }),
            None => None,
        };
        let mut headers = header_map(&o.headers).map_err(bad("headers"))?;
        let body = match (o.body, &o.json) {
            (Some(b), _) => Some(b.into_bytes()),
            (None, Some(j)) => {
                if !headers.contains_key(reqwest::header::CONTENT_TYPE) {
                    headers.insert(
                        reqwest::header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                }
                Some(j.to_string().into_bytes())
            }
            _ => None,
        };
        let host = url
            .host_str()
            .map(|h| format!("{h}:{}", url.port_or_known_default().unwrap_or(0)));
        Ok(Arc::new(HttpObserver {
            shared: self.shared.clone(),
            key,
            client,
            url,
            method,
            headers,
            body,
            follow: o.follow_redirects,
            samples: o.samples,
            host,
            cors,
            all: o.addresses.is_some(),
            resolver,
        }))
    }
}

/// What the CORS preflight sends.
struct CorsRequest {
    origin: HeaderValue,
    method: HeaderValue,
    headers: Option<HeaderValue>,
}

struct HttpObserver {
    shared: Arc<Shared>,
    key: ClientKey,
    client: reqwest::Client,
    url: Url,
    method: Method,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
    follow: bool,
    samples: Option<u32>,
    host: Option<String>,
    cors: Option<CorsRequest>,
    /// `addresses = "all"`.
    all: bool,
    /// The item's resolvers, for `addresses = "all"`.
    resolver: Option<Arc<TokioResolver>>,
}

/// One response on the redirect chain.
struct Hop {
    url: String,
    status: u16,
    location: Option<String>,
}

/// What one request (with its redirects) returned.
struct Exchange {
    status: StatusCode,
    headers: serde_json::Map<String, Value>,
    set_cookies: Vec<String>,
    body: Vec<u8>,
    truncated: bool,
    content_type_json: bool,
    content_type_html: bool,
    latency: Duration,
    url: Url,
    redirects: Vec<String>,
    hops: Vec<Hop>,
    chain: Vec<Url>,
    http_version: &'static str,
    tls_version: Option<&'static str>,
    days_left: Option<i64>,
    cert_sha256: Option<String>,
}

impl Observer for HttpObserver {
    fn host(&self) -> Option<String> {
        self.host.clone()
    }

    fn observe(&self) -> BoxFuture<'_, Result<Facts, Failure>> {
        Box::pin(async move {
            let (mut facts, client) = if self.all {
                self.every_address().await?
            } else {
                let facts = match self.samples {
                    Some(n) if n > 1 => self.sampled(n).await?,
                    _ => self.facts_of(&self.exchange_shared(&self.client, &self.key).await?),
                };
                (facts, self.client.clone())
            };
            if let Some(cors) = &self.cors {
                facts.insert("cors".into(), self.preflight(&client, cors).await?);
            }
            Ok(facts)
        })
    }
}

impl HttpObserver {
    /// [`HttpObserver::exchange`] on the shared client; when the shared HTTP/2
    /// connection was torn down under it (another item's response broke it: a GOAWAY
    /// or a connection error), once more on a client of its own.
    async fn exchange_shared(
        &self,
        client: &reqwest::Client,
        key: &ClientKey,
    ) -> Result<Exchange, Error> {
        match self.exchange(client).await {
            Err(Error::Request { reason, .. })
                if reason.contains("connection error") || reason.contains("excessive load") =>
            {
                self.exchange(&self.shared.build(key)?).await
            }
            r => r,
        }
    }

    async fn exchange(&self, client: &reqwest::Client) -> Result<Exchange, Error> {
        let t0 = Instant::now();
        let mut url = self.url.clone();
        let mut method = self.method.clone();
        let mut body = self.body.clone();
        let mut redirects = Vec::new();
        let mut hops = Vec::new();
        let mut chain = vec![url.clone()];
        loop {
            let mut req = client
                .request(method.clone(), url.clone())
                .headers(self.headers.clone());
            if let Some(b) = &body {
                req = req.body(b.clone());
            }
            let mut resp = req.send().await.map_err(|e| {
                let reason = describe(&e, &url, &self.key.settings);
                Error::Request {
                    // A hop of the redirect chain failed, not the URL as written.
                    reason: match redirects.len() {
                        0 => reason,
                        n => format!("at redirect {n}: {reason}"),
                    },
                    timeout: e.is_timeout(),
                }
            })?;
            let status = resp.status();
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
            hops.push(Hop {
                url: clip(url.as_str(), URL_CAP),
                status: status.as_u16(),
                location: location.as_deref().map(|l| clip(l, URL_CAP)),
            });
            if self.follow
                && status.is_redirection()
                && let Some(loc) = location.as_deref()
            {
                let next = url.join(loc).map_err(|source| Error::BadRedirect {
                    location: clip(loc, REASON_CAP),
                    source,
                })?;
                if !matches!(next.scheme(), "http" | "https") {
                    return Err(Error::RedirectScheme {
                        scheme: clip(next.scheme(), 32),
                        location: clip(loc, REASON_CAP),
                    });
                }
                if redirects.len() >= MAX_REDIRECTS {
                    return Err(Error::TooManyRedirects {
                        last: clip(next.as_str(), REASON_CAP),
                    });
                }
                redirects.push(clip(next.as_str(), URL_CAP));
                if status == StatusCode::SEE_OTHER
                    || ((status == StatusCode::MOVED_PERMANENTLY || status == StatusCode::FOUND)
                        && method == Method::POST)
                {
                    method = Method::GET;
                    body = None;
                }
                chain.push(next.clone());
                url = next;
                continue;
            }
            let mut headers = serde_json::Map::new();
            let mut set_cookies = Vec::new();
            for (name, value) in resp.headers() {
                let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
                let sep = if name == reqwest::header::SET_COOKIE {
                    if set_cookies.len() < MAX_COOKIES {
                        set_cookies.push(v.clone());
                    }
                    "\n"
                } else {
                    ", "
                };
                match headers.get_mut(name.as_str()) {
                    Some(Value::String(existing)) => {
                        existing.push_str(sep);
                        existing.push_str(&v);
                    }
                    _ => {
                        headers.insert(name.as_str().to_string(), Value::String(v));
                    }
                }
            }
            let content_type = headers
                .get("content-type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_ascii_lowercase();
            let http_version = match resp.version() {
                reqwest::Version::HTTP_09 => "HTTP/0.9",
                reqwest::Version::HTTP_10 => "HTTP/1.0",
                reqwest::Version::HTTP_11 => "HTTP/1.1",
                reqwest::Version::HTTP_2 => "HTTP/2",
                reqwest::Version::HTTP_3 => "HTTP/3",
                _ => "unknown",
            };
            let tls_info = resp.extensions().get::<reqwest::tls::TlsInfo>();
            let leaf = tls_info.and_then(|t| t.peer_certificate());
            let days_left = leaf.and_then(leaf_days_left);
            let cert_sha256 = leaf.map(sha256_hex);
            let tls_version = tls_info.and_then(|t| t.version()).map(|v| match v {
                v if v == reqwest::tls::Version::TLS_1_3 => "TLSv1.3",
                v if v == reqwest::tls::Version::TLS_1_2 => "TLSv1.2",
                v if v == reqwest::tls::Version::TLS_1_1 => "TLSv1.1",
                _ => "TLSv1.0",
            });
            let mut buf = Vec::new();
            let mut truncated = false;
            loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) => {
                        let room = BODY_CAP - buf.len();
                        if chunk.len() > room {
                            buf.extend_from_slice(&chunk[..room]);
                            truncated = true;
                            break;
                        }
                        buf.extend_from_slice(&chunk);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        return Err(Error::Body {
                            reason: preflight_client::describe_error(&e, &url),
                            timeout: e.is_timeout(),
                        });
                    }
                }
            }
            return Ok(Exchange {
                status,
                headers,
                set_cookies,
                body: buf,
                truncated,
                content_type_json: content_type.contains("json"),
                content_type_html: content_type.contains("html"),
                latency: t0.elapsed(),
                url,
                redirects,
                hops,
                chain,
                http_version,
                tls_version,
                days_left,
                cert_sha256,
            });
        }
    }

    async fn sampled(&self, n: u32) -> Result<Facts, Error> {
        let mut latencies = Vec::with_capacity(n as usize);
        let mut errors = 0u32;
        let mut first: Option<Exchange> = None;
        let mut first_error: Option<Error> = None;
        let mut next = 0u32;
        let mut in_flight = Vec::new();
        while next < n || !in_flight.is_empty() {
            while next < n && in_flight.len() < SAMPLE_PARALLELISM {
                in_flight.push(Box::pin(self.exchange(&self.client)));
                next += 1;
            }
            let (result, _, rest) = select_all(std::mem::take(&mut in_flight)).await;
            in_flight = rest;
            match result {
                Ok(x) => {
                    if x.status.is_server_error() {
                        errors += 1;
                    }
                    latencies.push(x.latency.as_secs_f64() * 1000.0);
                    if first.is_none() {
                        first = Some(x);
                    }
                }
                Err(e) => {
                    errors += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
        let Some(x) = first else {
            return Err(Error::AllSamplesFailed {
                count: n,
                first: Box::new(first_error.unwrap_or_else(|| {
                    unreachable!("n > 1 samples ran and none succeeded, so one failed")
                })),
            });
        };
        latencies.sort_by(f64::total_cmp);
        let mut facts = self.facts_of(&x);
        facts.insert("latency".into(), json!({"p50": percentile(&latencies, 50.0), "p95": percentile(&latencies, 95.0), "p99": percentile(&latencies, 99.0)}));
        facts.insert("error_rate".into(), json!(f64::from(errors) / f64::from(n)));
        facts.insert("count".into(), json!(n));
        Ok(facts)
    }

    /// `addresses = "all"`: the same request to every address of the host. The
    /// top-level facts are the first address's that answered; its client is returned
    /// for the CORS preflight.
    async fn every_address(&self) -> Result<(Facts, reqwest::Client), Error> {
        let host = self.url.host_str().unwrap_or_default().to_string();
        let port = self.url.port_or_known_default().unwrap_or(0);
        let mut ips = resolve::addresses(self.resolver.as_deref(), &host, port)
            .await
            .map_err(|reason| Error::Resolve {
                host: host.clone(),
                reason,
            })?;
        if ips.is_empty() {
            return Err(Error::NoAddresses { host });
        }
        let family = self.key.settings.family;
        ips.retain(|ip| family.allows(*ip));
        if ips.is_empty() {
            return Err(Error::NoFamilyAddresses { host, family });
        }
        let mut clients = Vec::with_capacity(ips.len());
        for ip in &ips {
            let key = ClientKey {
                resolve: Some((host.clone(), *ip)),
                ..self.key.clone()
            };
            clients.push((self.shared.client(&key)?, key));
        }
        let results = futures_util::future::join_all(
            clients.iter().map(|(c, key)| self.exchange_shared(c, key)),
        )
        .await;
        let mut per = serde_json::Map::new();
        let mut answered: Vec<(usize, &Exchange)> = Vec::new();
        let mut first_error: Option<(IpAddr, &Error)> = None;
        for (i, (ip, r)) in ips.iter().zip(&results).enumerate() {
            let entry = match r {
                Ok(x) => {
                    answered.push((i, x));
                    json!({
                        "status": x.status.as_u16(),
                        "tls_version": x.tls_version,
                        "days_left": x.days_left,
                        "cert_sha256": x.cert_sha256,
                        "latency_ms": round1(x.latency.as_secs_f64() * 1000.0),
                        "error": null,
                    })
                }
                Err(e) => {
                    first_error.get_or_insert((*ip, e));
                    json!({
                        "status": null, "tls_version": null, "days_left": null,
                        "cert_sha256": null, "latency_ms": null, "error": e.to_string(),
                    })
                }
            };
            per.insert(ip.to_string(), entry);
        }
        let Some(&(first_i, first)) = answered.first() else {
            let count = ips.len();
            let mut results = results;
            let e = results
                .drain(..)
                .find_map(Result::err)
                .unwrap_or(Error::NoAddresses { host: host.clone() });
            return Err(Error::AllAddressesFailed {
                host,
                count,
                first_ip: ips[0].to_string(),
                first: Box::new(e),
            });
        };
        let consistent = first_error.is_none()
            && answered.iter().all(|(_, x)| {
                x.status == first.status
                    && x.tls_version == first.tls_version
                    && x.cert_sha256 == first.cert_sha256
            });
        let mut facts = self.facts_of(first);
        facts.insert("addresses".into(), Value::Object(per));
        facts.insert("consistent".into(), json!(consistent));
        Ok((facts, clients.swap_remove(first_i).0))
    }

    /// The CORS preflight: `OPTIONS url` with `Origin` and the request method/headers,
    /// no redirects followed (browsers do not follow them for a preflight either).
    async fn preflight(
        &self,
        client: &reqwest::Client,
        cors: &CorsRequest,
    ) -> Result<Value, Error> {
        let mut req = client
            .request(Method::OPTIONS, self.url.clone())
            .header(reqwest::header::ORIGIN, cors.origin.clone())
            .header("access-control-request-method", cors.method.clone());
        if let Some(h) = &cors.headers {
            req = req.header("access-control-request-headers", h.clone());
        }
        let resp = req.send().await.map_err(|e| Error::Cors {
            reason: describe(&e, &self.url, &self.key.settings),
            timeout: e.is_timeout(),
        })?;
        let h = resp.headers();
        let text = |name: &str| {
            let all: Vec<String> = h
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            (!all.is_empty()).then(|| clip(&all.join(", "), CORS_CAP))
        };
        let list = |name: &str, lower: bool| -> Vec<String> {
            text(name)
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .take(CORS_LIST_CAP)
                .map(|s| {
                    if lower {
                        s.to_ascii_lowercase()
                    } else {
                        s.to_string()
                    }
                })
                .collect()
        };
        Ok(json!({
            "allow_origin": text("access-control-allow-origin"),
            "allow_credentials": text("access-control-allow-credentials")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
            "allow_methods": list("access-control-allow-methods", false),
            "allow_headers": list("access-control-allow-headers", true),
            "max_age": text("access-control-max-age").and_then(|v| v.trim().parse::<i64>().ok()),
            "status": resp.status().as_u16(),
        }))
    }

    fn facts_of(&self, x: &Exchange) -> Facts {
        let body = String::from_utf8_lossy(&x.body).into_owned();
        let trimmed = body.trim_start();
        let json = if (x.content_type_json || trimmed.starts_with('{') || trimmed.starts_with('['))
            && !x.truncated
        {
            serde_json::from_str::<Value>(&body).unwrap_or(Value::Null)
        } else {
            Value::Null
        };
        let meta_robots = if x.content_type_html || trimmed.starts_with('<') {
            robots::meta_robots(&body)
        } else {
            None
        };
        let cookies: Vec<cookies::Cookie> = x
            .set_cookies
            .iter()
            .filter_map(|c| cookies::parse(c))
            .collect();
        let security = security::facts(
            &x.headers,
            &security::Context {
                https: x.url.scheme() == "https",
                started_http: self.url.scheme() == "http",
                chain: &x.chain,
                cookies: &cookies,
            },
        );
        let mut f = Facts::new();
        f.insert("status".into(), json!(x.status.as_u16()));
        f.insert("headers".into(), Value::Object(x.headers.clone()));
        f.insert("body".into(), Value::String(body));
        f.insert("body_truncated".into(), json!(x.truncated));
        f.insert("json".into(), json);
        f.insert(
            "latency_ms".into(),
            json!(round1(x.latency.as_secs_f64() * 1000.0)),
        );
        f.insert("url".into(), json!(x.url.as_str()));
        f.insert("redirects".into(), json!(x.redirects));
        f.insert(
            "hops".into(),
            Value::Array(
                x.hops
                    .iter()
                    .map(|h| json!({"url": h.url, "status": h.status, "location": h.location}))
                    .collect(),
            ),
        );
        f.insert(
            "cookies".into(),
            Value::Array(cookies.iter().map(cookies::Cookie::to_fact).collect()),
        );
        f.insert("security".into(), security);
        f.insert("meta_robots".into(), json!(meta_robots));
        f.insert("http_version".into(), json!(x.http_version));
        f.insert("tls_version".into(), json!(x.tls_version));
        f.insert("days_left".into(), json!(x.days_left));
        f
    }
}

/// A transport error as a reason; a response head over the transport's limits (HTTP/1.1:
/// 100 headers or ~400 KB; HTTP/2: 16 KiB of header list) reads as such.
fn describe(e: &reqwest::Error, url: &Url, settings: &HttpSettings) -> String {
    let via = settings.route(url).ok().and_then(|r| r.proxy().cloned());
    let reason = preflight_client::describe_error_via(e, url, via.as_ref());
    let too_large = [
        "message head is too large",
        "header_list",
        "too_many_continuations",
        "too many headers",
    ];
    if too_large.iter().any(|w| reason.contains(w)) {
        format!(
            "the response headers from {}:{} are too large ({})",
            url.host_str().unwrap_or("?"),
            url.port_or_known_default().unwrap_or(0),
            reason.rsplit(": ").next().unwrap_or_default()
        )
    } else {
        reason
    }
}

/// Waits for the first of several futures (a tiny `select_all`, to avoid a dependency).
async fn select_all<F: std::future::Future + Unpin>(
    mut futures: Vec<F>,
) -> (F::Output, usize, Vec<F>) {
    std::future::poll_fn(move |cx| {
        for i in 0..futures.len() {
            if let std::task::Poll::Ready(out) = std::pin::Pin::new(&mut futures[i]).poll(cx) {
                drop(futures.remove(i));
                return std::task::Poll::Ready((out, i, std::mem::take(&mut futures)));
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// Nearest-rank percentile of sorted values, in ms rounded to 0.1.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    round1(sorted[rank.min(sorted.len()) - 1])
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Lower-case hex SHA-256 of a certificate's DER.
fn sha256_hex(der: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whole days from now to the leaf certificate's not_after, rounded down (negative
/// once expired), as the `tls` probe reports it; `None` if the certificate does not parse.
fn leaf_days_left(der: &[u8]) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    let left = cert.validity().not_after.timestamp() - i64::try_from(now).ok()?;
    Some(left.div_euclid(86_400))
}

#[cfg(test)]
mod tests {
    use super::*;
    use preflight_core::AnyProbe;

    fn options(v: Value) -> Options {
        serde_json::from_value(v).expect("options are an object")
    }

    #[test]
    fn percentiles_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[7.0], 95.0), 7.0);
    }

    #[test]
    fn check_reports_bad_literal_options() {
        let p = HttpProbe::new();
        let problems = p.check(&options(
            json!({"url": "ftp://x", "samples": 0, "resolve": "nope"}),
        ));
        let keys: Vec<_> = problems.iter().filter_map(|p| p.key.clone()).collect();
        assert_eq!(keys, vec!["url", "resolve", "samples"]);
        // A value of the wrong type does not parse: one problem, naming the key.
        let problems = p.check(&options(json!({"url": "http://h/x", "samples": "many"})));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key.as_deref(), Some("samples"));
        let problems = p.check(&options(json!({"url": "http://h/x", "method": "GE T",
            "headers": {"bad name": "v"}, "body": "x", "json": {}})));
        let keys: Vec<_> = problems.iter().filter_map(|p| p.key.clone()).collect();
        assert_eq!(keys, vec!["method", "headers", "json"]);
        assert_eq!(
            problems[1].message,
            "\"bad name\" is not a valid header name"
        );
        let problems = p.check(&options(
            json!({"url": "http://h/x", "headers": {"x-token": "a\nb"}}),
        ));
        assert_eq!(
            problems,
            vec![OptionProblem::at(
                "headers",
                "the value of \"x-token\" is not a valid header value"
            )]
        );
        assert!(
            p.check(&options(json!({"url": "https://h/x", "method": "post",
                "resolve": "::1", "samples": 10, "follow_redirects": false})))
                .is_empty()
        );
    }

    #[test]
    fn options_without_a_client_are_the_checkers_fault() {
        let p = HttpProbe::new();
        let err = AnyProbe::prepare(
            &p,
            &options(json!({"url": "https://h/x", "ca": "/nonexistent/ca.pem"})),
            &Context::new(Duration::from_secs(1)),
        )
        .err()
        .expect("no client");
        assert_eq!(err.blame(), Blame::Checker);
        assert!(err.reason().starts_with("failed to read ca file"), "{err}");
        let err = AnyProbe::prepare(
            &p,
            &options(json!({"url": "gopher://h/"})),
            &Context::new(Duration::from_secs(1)),
        )
        .err()
        .expect("bad url");
        assert_eq!(err.blame(), Blame::Checker);
        assert!(err.reason().starts_with("option `url`: "), "{err}");
    }

    #[test]
    fn samples_add_the_error_rate_to_the_default_expectation() {
        let de = |v: Value| <HttpProbe as Probe>::default_expect(&options(v));
        let status = "status >= 200 && status < 300";
        assert_eq!(de(json!({"url": "http://h"})), [status]);
        assert_eq!(de(json!({"url": "http://h", "samples": 1})), [status]);
        for many in [json!(50), json!("${n}")] {
            assert_eq!(
                de(json!({"url": "http://h", "samples": many})),
                [status, "error_rate == 0.0"]
            );
        }
    }

    #[test]
    fn the_example_loads() {
        let catalog = preflight_core::Catalog::new(vec![Arc::new(HttpProbe::new())]);
        let text = format!("[checklist]\nname = \"example\"\n\n{}", HttpProbe::EXAMPLE);
        let list = preflight_core::checklist::parse("example.toml", &text, &[], &catalog)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(list.items.len(), 1);
    }
}
