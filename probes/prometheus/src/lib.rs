//! The `prometheus` probe: an instant PromQL query against a Prometheus HTTP API, or
//! the alerts Alertmanager holds, filtered by labels.
//!
//! With `url` and `query` it calls `GET /api/v1/query` and reports the first sample's
//! `value`, every `series` ({labels, value}) and their `count`. With `alertmanager`
//! and `match` it calls `GET /api/v2/alerts` with one `filter` per label and reports
//! `alerts` ({labels, state}) and how many are `firing` (not silenced or inhibited).
//! A Prometheus that answers garbage, an HTTP error or nothing at all fails the item;
//! a query Prometheus rejects as malformed (`bad_data`) makes it an error. An answer
//! whose body says `"status": "error"` fails whatever its HTTP status (proxies answer
//! 200), and one with `warnings` (a partial result) fails the default expectation.
//!
//! ```toml
//! [[item]]
//! id = "post.error_rate"
//! probe = "prometheus"
//! url = "${prometheus}"
//! query = "sum(rate(http_requests_total{code=~'5..'}[15m])) / sum(rate(http_requests_total[15m]))"
//! expect = ["count > 0", "value < 0.01"]
//!
//! [[item]]
//! id = "post.no_p0"
//! probe = "prometheus"
//! alertmanager = "${alertmanager}"
//! match = { severity = "P0" }
//! ```

mod alerts;
mod query;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use preflight_client::{HttpSettings, TlsSettings, proxy::ProxyHop};
use preflight_core::network::check_proxy;
use preflight_core::probe::{BoxFuture, Egress, OptionProblem};
use preflight_core::{
    Blame, Context, Fact, FactType, Facts, Failure, Observer, Options, Probe, ProbeError,
};
use schemars::JsonSchema;
use serde::Deserialize;
use url::Url;

/// Answers larger than this are refused.
pub const BODY_CAP: usize = 16 * 1024 * 1024;

/// Options of a `prometheus` item: `url` with `query`, or `alertmanager` with `match`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromOptions {
    /// Prometheus base URL, with `query` (a path prefix such as `/prometheus` is kept).
    #[serde(default)]
    pub url: Option<String>,
    /// PromQL instant query, with `url`.
    #[serde(default)]
    pub query: Option<String>,
    /// Alertmanager base URL, instead of `url`.
    #[serde(default)]
    pub alertmanager: Option<String>,
    /// With `alertmanager`: only alerts with these label values, e.g. { severity = "P0" } (default every alert).
    #[serde(default, rename = "match")]
    pub matchers: Option<BTreeMap<String, String>>,
    /// Proxy for this item's requests: an `http://` or `https://` URL (credentials masked), or `"none"` to connect directly; default: `[checklist] proxy`, else `HTTPS_PROXY` / `HTTP_PROXY` with `NO_PROXY`.
    #[serde(default)]
    pub proxy: Option<String>,
}

/// Why a `prometheus` observation produced no facts. Reasons never quote the URL (it
/// may hold a password).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Prometheus rejected the query as malformed (`bad_data`): the checklist's fault.
    #[error("Prometheus answered HTTP {status}, {kind}: {message}")]
    BadQuery {
        /// HTTP status.
        status: u16,
        /// Prometheus' `errorType`.
        kind: String,
        /// Prometheus' `error`.
        message: String,
    },
    /// Prometheus reported any other error (timeout, execution, unavailable).
    #[error("Prometheus answered HTTP {status}, {kind}: {message}")]
    QueryFailed {
        /// HTTP status.
        status: u16,
        /// Prometheus' `errorType`.
        kind: String,
        /// Prometheus' `error`.
        message: String,
    },
    /// Alertmanager rejected the filter (HTTP 400): the checklist's fault.
    #[error("Alertmanager answered HTTP {status}: {preview}")]
    BadFilter {
        /// HTTP status.
        status: u16,
        /// The start of the answer.
        preview: String,
    },
    /// Alertmanager (or whatever answered) returned another HTTP error.
    #[error("Alertmanager answered HTTP {status}: {preview}")]
    AlertsFailed {
        /// HTTP status.
        status: u16,
        /// The start of the answer.
        preview: String,
    },
    /// The answer to a query is not JSON.
    #[error("the answer (HTTP {status}) is not JSON: {preview}")]
    NotJson {
        /// HTTP status.
        status: u16,
        /// The start of the answer.
        preview: String,
    },
    /// The answer to a query is JSON, but not from the Prometheus API.
    #[error("the answer (HTTP {status}) is not a Prometheus API response: {preview}")]
    NotPrometheus {
        /// HTTP status.
        status: u16,
        /// The start of the answer.
        preview: String,
    },
    /// A successful query answer without a result of a known type.
    #[error("the answer (HTTP {status}) has no result this probe can read: {preview}")]
    UnreadableResult {
        /// HTTP status.
        status: u16,
        /// The start of the answer.
        preview: String,
    },
    /// The answer to `/api/v2/alerts` is not a list of alerts.
    #[error("the answer (HTTP {status}) is not an Alertmanager alert list: {preview}")]
    NotAlertList {
        /// HTTP status.
        status: u16,
        /// The start of the answer.
        preview: String,
    },
    /// One alert of the list lacks its labels or state.
    #[error("an alert without labels or status.state: {preview}")]
    MalformedAlert {
        /// The start of the alert.
        preview: String,
    },
    /// The answer exceeds [`BODY_CAP`].
    #[error("the answer from {target} is larger than {} MiB", BODY_CAP / (1024 * 1024))]
    TooLarge {
        /// `host:port`.
        target: String,
    },
    /// The request could not complete: refused, TLS failure, timeout.
    #[error("{reason}")]
    Request {
        /// `connection refused by host:port`, `TLS handshake with host:port failed: …`.
        reason: String,
        /// The transport reported a timeout.
        timeout: bool,
    },
    /// The answer broke off.
    #[error("failed to read the answer: {reason}")]
    Read {
        /// What the transport said, as for [`Error::Request`].
        reason: String,
        /// The transport reported a timeout.
        timeout: bool,
    },
    /// The HTTP client could not be built: the checker's problem.
    #[error("{0}")]
    Client(String),
}

impl ProbeError for Error {
    fn blame(&self) -> Blame {
        match self {
            Error::BadQuery { .. } | Error::BadFilter { .. } | Error::Client(_) => Blame::Checker,
            _ => Blame::Target,
        }
    }

    fn is_timeout(&self) -> bool {
        matches!(
            self,
            Error::Request { timeout: true, .. } | Error::Read { timeout: true, .. }
        )
    }
}

/// The first bytes of an answer, printable, for reasons.
fn preview(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(120)]);
    let mut s: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if body.len() > 120 {
        s.push('…');
    }
    if s.trim().is_empty() {
        "(empty)".into()
    } else {
        s
    }
}

enum Request {
    Query { base: Url, query: String },
    Alerts { base: Url, filters: Vec<String> },
}

impl PromOptions {
    fn request(&self) -> Result<Request, OptionProblem> {
        match (&self.url, &self.alertmanager) {
            (Some(_), Some(_)) => Err(OptionProblem::at(
                "alertmanager",
                "give either `url` (with `query`) or `alertmanager` (with `match`), not both",
            )),
            (None, None) => Err(OptionProblem::at(
                "url",
                "give `url` and `query` (Prometheus), or `alertmanager` and `match`",
            )),
            (Some(url), None) => {
                if self.matchers.is_some() {
                    return Err(OptionProblem::at(
                        "match",
                        "`match` filters Alertmanager alerts: use it with `alertmanager`",
                    ));
                }
                let Some(query) = self.query.clone().filter(|q| !q.trim().is_empty()) else {
                    return Err(OptionProblem::at(
                        "query",
                        "`url` needs a PromQL `query`, e.g. query = \"up\"",
                    ));
                };
                Ok(Request::Query {
                    base: base_url(url).map_err(|m| OptionProblem::at("url", m))?,
                    query,
                })
            }
            (None, Some(am)) => {
                if self.query.is_some() {
                    return Err(OptionProblem::at(
                        "query",
                        "`query` is for Prometheus: use it with `url`",
                    ));
                }
                let filters = self
                    .matchers
                    .iter()
                    .flatten()
                    .map(|(k, v)| alerts::matcher(k, v))
                    .collect();
                Ok(Request::Alerts {
                    base: base_url(am).map_err(|m| OptionProblem::at("alertmanager", m))?,
                    filters,
                })
            }
        }
    }
}

fn base_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("an http:// or https:// URL with a host is needed".into());
    }
    Ok(url)
}

/// `base` + `api/…`, keeping a path prefix such as `/prometheus`.
fn endpoint(base: &Url, api: &str) -> Url {
    let mut u = base.clone();
    let path = format!("{}/{api}", base.path().trim_end_matches('/'));
    u.set_path(&path);
    u.set_query(None);
    u.set_fragment(None);
    u
}

/// The Prometheus probe; its HTTP client is shared by a sweep.
#[derive(Default)]
pub struct PrometheusProbe {
    clients: Mutex<HashMap<HttpSettings, reqwest::Client>>,
}

impl PrometheusProbe {
    /// A new probe.
    pub fn new() -> PrometheusProbe {
        PrometheusProbe::default()
    }

    fn client(&self, key: &HttpSettings) -> Result<reqwest::Client, Error> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(key) {
            return Ok(c.clone());
        }
        let c = key
            .builder()
            .map_err(Error::Client)?
            .build()
            .map_err(|e| Error::Client(format!("failed to build the HTTP client: {e}")))?;
        clients.insert(key.clone(), c.clone());
        Ok(c)
    }
}

const WITH_QUERY: &str = "with `url` and `query`";
const WITH_ALERTMANAGER: &str = "with `alertmanager`";

impl Probe for PrometheusProbe {
    type Options = PromOptions;
    const NAME: &'static str = "prometheus";
    const SUMMARY: &'static str = "An instant PromQL query against Prometheus, or the alerts Alertmanager holds, filtered by labels.";
    const FACTS: &'static [Fact] = &[
        Fact::new(
            "value",
            FactType::Any,
            "the first series' sample as a number (text for a string result); null when there is none or it is NaN/±Inf",
        )
        .nullable()
        .when(WITH_QUERY),
        Fact::new(
            "series",
            FactType::List,
            "every series of the result: [{labels, value}]",
        )
        .when(WITH_QUERY),
        Fact::new(
            "count",
            FactType::Integer,
            "how many series the query returned",
        )
        .when(WITH_QUERY),
        Fact::new(
            "warnings",
            FactType::List,
            "the answer's warnings: a partial result (a Thanos store or Cortex querier that did not answer) or a PromQL warning; `PromQL info:` notes are left out",
        )
        .when(WITH_QUERY),
        Fact::new(
            "alerts",
            FactType::List,
            "the matching alerts: [{labels, state}], state `active`, `suppressed` or `unprocessed`",
        )
        .when(WITH_ALERTMANAGER),
        Fact::new(
            "firing",
            FactType::Integer,
            "how many matching alerts are not suppressed (silenced or inhibited)",
        )
        .when(WITH_ALERTMANAGER),
    ];
    const EXAMPLE: &'static str = r#"[[item]]
id = "monitoring.error-rate"
title = "Error rate < 1% for 15 minutes"
probe = "prometheus"
url = "http://127.0.0.1:9090"
query = "sum(rate(http_requests_total{code=~'5..'}[15m])) / sum(rate(http_requests_total[15m]))"
expect = ["count > 0", "value < 0.01"]

[[item]]
id = "monitoring.no-p0"
title = "No P0 alerts firing"
probe = "prometheus"
alertmanager = "http://127.0.0.1:9093"
match = { severity = "P0" }
"#;
    const DEFAULT_EXPECT_NOTE: &'static str = "`count > 0` and `warnings.size() == 0` with `url` and `query` (a partial answer fails); `firing == 0` with `alertmanager`";

    fn default_expect(options: &Options) -> Vec<String> {
        if options.contains_key("alertmanager") {
            vec!["firing == 0".into()]
        } else {
            vec!["count > 0".into(), "warnings.size() == 0".into()]
        }
    }

    fn validate(options: &PromOptions) -> Vec<OptionProblem> {
        let mut problems: Vec<OptionProblem> = options.request().err().into_iter().collect();
        if let Some(p) = &options.proxy
            && let Err(e) = check_proxy(p)
        {
            problems.push(OptionProblem::at("proxy", e));
        }
        problems
    }

    fn egress(options: &PromOptions) -> Option<Egress> {
        let url = options
            .url
            .clone()
            .or_else(|| options.alertmanager.clone())?;
        Some(Egress {
            tls: url.trim().to_ascii_lowercase().starts_with("https:"),
            url: Some(url),
            proxy: options.proxy.clone(),
            ..Egress::default()
        })
    }

    fn prepare(&self, options: PromOptions, cx: &Context) -> Result<Arc<dyn Observer>, Failure> {
        let request = options.request().map_err(Failure::options)?;
        let settings = HttpSettings {
            tls: TlsSettings::new(false, None, cx.network.clone()),
            proxy: options.proxy,
            ..HttpSettings::default()
        };
        let base = match &request {
            Request::Query { base, .. } | Request::Alerts { base, .. } => base,
        };
        let via = settings
            .route(base)
            .map_err(Error::Client)?
            .proxy()
            .cloned();
        Ok(Arc::new(PromObserver {
            client: self.client(&settings)?,
            via,
            request,
        }))
    }
}

/// Reads one API's answer (HTTP status, body).
type Parser = fn(u16, &[u8]) -> Result<Facts, Error>;

struct PromObserver {
    client: reqwest::Client,
    /// The proxy the requests go through, for reasons.
    via: Option<ProxyHop>,
    request: Request,
}

impl Observer for PromObserver {
    fn host(&self) -> Option<String> {
        let base = match &self.request {
            Request::Query { base, .. } | Request::Alerts { base, .. } => base,
        };
        base.host_str()
            .map(|h| format!("{h}:{}", base.port_or_known_default().unwrap_or(0)))
    }

    fn observe(&self) -> BoxFuture<'_, Result<Facts, Failure>> {
        Box::pin(async move {
            let (url, parse): (Url, Parser) = match &self.request {
                Request::Query { base, query } => {
                    let mut u = endpoint(base, "api/v1/query");
                    u.query_pairs_mut().append_pair("query", query);
                    (u, query::facts)
                }
                Request::Alerts { base, filters } => {
                    let mut u = endpoint(base, "api/v2/alerts");
                    if !filters.is_empty() {
                        let mut q = u.query_pairs_mut();
                        for f in filters {
                            q.append_pair("filter", f);
                        }
                    }
                    (u, alerts::facts)
                }
            };
            let (status, body) = self.fetch(&url).await?;
            parse(status, &body).map_err(Failure::from)
        })
    }
}

impl PromObserver {
    async fn fetch(&self, url: &Url) -> Result<(u16, Vec<u8>), Error> {
        let target = format!(
            "{}:{}",
            url.host_str().unwrap_or("?"),
            url.port_or_known_default().unwrap_or(0)
        );
        let mut resp = self
            .client
            .get(url.clone())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| Error::Request {
                reason: match &self.via {
                    Some(p) => preflight_client::describe_error_via(&e, url, Some(p)),
                    None => describe(&e, &target),
                },
                timeout: e.is_timeout(),
            })?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > BODY_CAP {
                        return Err(Error::TooLarge { target });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(Error::Read {
                        reason: describe(&e, &target),
                        timeout: e.is_timeout(),
                    });
                }
            }
        }
        Ok((status, body))
    }
}

/// A short, URL-free description of a transport error (the URL may hold a password).
fn describe(e: &reqwest::Error, target: &str) -> String {
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return format!("connection refused by {target}");
        }
        if let Some(tls) = s.downcast_ref::<rustls::Error>() {
            return format!("TLS handshake with {target} failed: {tls}");
        }
        last = Some(s.to_string());
        src = s.source();
    }
    let detail = last.unwrap_or_else(|| "request failed".into());
    if e.is_connect() {
        format!("failed to connect to {target}: {detail}")
    } else {
        format!("request to {target} failed: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    use preflight_core::AnyProbe;

    fn opts(v: Value) -> Options {
        serde_json::from_value(v).expect("options")
    }

    #[test]
    fn check_wants_one_api_and_its_options() {
        let p = PrometheusProbe::new();
        let keys = |v: Value| -> Vec<Option<String>> {
            p.check(&opts(v)).into_iter().map(|p| p.key).collect()
        };
        assert!(keys(json!({"url": "http://127.0.0.1:9090", "query": "up"})).is_empty());
        assert!(
            keys(json!({"alertmanager": "http://127.0.0.1:9093", "match": {"severity": "P0"}}))
                .is_empty()
        );
        assert!(keys(json!({"alertmanager": "http://127.0.0.1:9093"})).is_empty());
        assert_eq!(keys(json!({})), vec![Some("url".into())]);
        assert_eq!(keys(json!({"url": "http://h"})), vec![Some("query".into())]);
        assert_eq!(
            keys(json!({"url": "ftp://h", "query": "up"})),
            vec![Some("url".into())]
        );
        assert_eq!(
            keys(json!({"url": "http://h", "query": "up", "match": {"a": "b"}})),
            vec![Some("match".into())]
        );
        assert_eq!(
            keys(json!({"url": "http://h", "alertmanager": "http://h"})),
            vec![Some("alertmanager".into())]
        );
        assert_eq!(
            keys(json!({"alertmanager": "http://h", "match": {"a": 1}})).len(),
            1
        );
    }

    #[test]
    fn default_expectations() {
        let p = PrometheusProbe::new();
        assert_eq!(
            p.default_expect(&opts(json!({"url": "x", "query": "up"}))),
            vec!["count > 0", "warnings.size() == 0"]
        );
        assert_eq!(
            p.default_expect(&opts(json!({"alertmanager": "x"}))),
            vec!["firing == 0"]
        );
    }

    #[test]
    fn the_example_loads_and_templates_wait_for_the_plan() {
        let catalog = preflight_core::Catalog::new(vec![Arc::new(PrometheusProbe::new())]);
        let load = |items: &str| {
            let text = format!(
                "[checklist]\nname = \"t\"\n\n[vars]\nprom = \"http://127.0.0.1:9090\"\n\n{items}"
            );
            preflight_core::checklist::parse("t.toml", &text, &[], &catalog)
        };
        let list = load(PrometheusProbe::EXAMPLE).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(list.items.len(), 2);
        // A `${var}` URL is checked once interpolated, by core.
        load("[[item]]\nid = \"a\"\nprobe = \"prometheus\"\nurl = \"${prom}\"\nquery = \"up\"\n")
            .unwrap_or_else(|e| panic!("{e:?}"));
        let e = load(
            "[[item]]\nid = \"a\"\nprobe = \"prometheus\"\nurl = \"ftp://h\"\nquery = \"up\"\n",
        )
        .expect_err("bad url");
        assert_eq!(e.problems.len(), 1, "{e:?}");
        assert!(
            e.problems[0].message.contains("http:// or https://"),
            "{e:?}"
        );
    }

    #[test]
    fn options_that_do_not_validate_are_the_checkers_fault() {
        let err = AnyProbe::prepare(
            &PrometheusProbe::new(),
            &opts(json!({"url": "http://h", "alertmanager": "http://h"})),
            &Context::new(std::time::Duration::from_secs(1)),
        )
        .err()
        .expect("both APIs");
        assert_eq!(err.blame(), Blame::Checker);
        assert!(
            err.reason()
                .starts_with("option `alertmanager`: give either"),
            "{err}"
        );
    }

    #[test]
    fn endpoints_keep_path_prefixes() {
        let b = Url::parse("https://127.0.0.1/prometheus/").expect("url");
        assert_eq!(
            endpoint(&b, "api/v1/query").as_str(),
            "https://127.0.0.1/prometheus/api/v1/query"
        );
        let b = Url::parse("http://127.0.0.1:9090").expect("url");
        assert_eq!(
            endpoint(&b, "api/v2/alerts").as_str(),
            "http://127.0.0.1:9090/api/v2/alerts"
        );
    }
}
