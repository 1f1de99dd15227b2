//! The `prometheus` probe: an instant PromQL query against a Prometheus HTTP API, or
//! the alerts Alertmanager holds, filtered by labels.
//!
//! With `url` and `query` it calls `GET /api/v1/query` and reports the first sample's
//! `value`, every `series` ({labels, value}) and their `count`. With `alertmanager`
//! and `match` it calls `GET /api/v2/alerts` with one `filter` per label and reports
//! `alerts` ({labels, state}) and how many are `firing` (not silenced or inhibited).
//! A Prometheus that answers garbage, an HTTP error or nothing at all fails the item;
//! a query Prometheus rejects as malformed (`bad_data`) makes it an error.
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

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use preflight_core::probe::{BoxFuture, OptionProblem, parse_options};
use preflight_core::{Facts, Failure, Observer, Options, Probe, ProbeDescriptor};
use serde::Deserialize;
use url::Url;

/// Answers larger than this are refused.
pub const BODY_CAP: usize = 16 * 1024 * 1024;

static DESCRIPTOR: ProbeDescriptor = ProbeDescriptor {
    name: "prometheus",
    options: &["url", "query", "alertmanager", "match"],
    facts: &["value", "series", "count", "alerts", "firing"],
    secret_options: &[],
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PromOptions {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    alertmanager: Option<String>,
    #[serde(default, rename = "match")]
    matchers: Option<BTreeMap<String, String>>,
}

/// What one of the two APIs made of an answer.
#[derive(Debug)]
enum Answer {
    Facts(Facts),
    /// The request was malformed (bad PromQL, bad matcher): the item errors.
    BadRequest(String),
    /// The server reported a failure: the item fails.
    ServerError(String),
    /// Not an answer of that API at all: the item fails.
    Garbage(String),
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
        let problem = |key: &str, message: String| OptionProblem {
            key: Some(key.into()),
            message,
        };
        match (&self.url, &self.alertmanager) {
            (Some(_), Some(_)) => Err(problem(
                "alertmanager",
                "give either `url` (with `query`) or `alertmanager` (with `match`), not both"
                    .into(),
            )),
            (None, None) => Err(problem(
                "url",
                "give `url` and `query` (Prometheus), or `alertmanager` and `match`".into(),
            )),
            (Some(url), None) => {
                if self.matchers.is_some() {
                    return Err(problem(
                        "match",
                        "`match` filters Alertmanager alerts: use it with `alertmanager`".into(),
                    ));
                }
                let Some(query) = self.query.clone().filter(|q| !q.trim().is_empty()) else {
                    return Err(problem(
                        "query",
                        "`url` needs a PromQL `query`, e.g. query = \"up\"".into(),
                    ));
                };
                Ok(Request::Query {
                    base: base_url(url).map_err(|m| problem("url", m))?,
                    query,
                })
            }
            (None, Some(am)) => {
                if self.query.is_some() {
                    return Err(problem(
                        "query",
                        "`query` is for Prometheus: use it with `url`".into(),
                    ));
                }
                let filters = self
                    .matchers
                    .iter()
                    .flatten()
                    .map(|(k, v)| alerts::matcher(k, v))
                    .collect();
                Ok(Request::Alerts {
                    base: base_url(am).map_err(|m| problem("alertmanager", m))?,
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
    client: OnceLock<reqwest::Client>,
}

impl PrometheusProbe {
    /// A new probe.
    pub fn new() -> PrometheusProbe {
        PrometheusProbe::default()
    }

    fn client(&self) -> Result<reqwest::Client, String> {
        if let Some(c) = self.client.get() {
            return Ok(c.clone());
        }
        let c = preflight_client::http_client_builder(false, None)?
            .build()
            .map_err(|e| format!("failed to build the HTTP client: {e}"))?;
        Ok(self.client.get_or_init(|| c).clone())
    }
}

impl Probe for PrometheusProbe {
    fn descriptor(&self) -> &'static ProbeDescriptor {
        &DESCRIPTOR
    }

    fn check(&self, options: &Options) -> Vec<OptionProblem> {
        let opts: PromOptions = match parse_options(options) {
            Ok(o) => o,
            Err(p) => return vec![p],
        };
        match opts.request() {
            // A `${var}` URL is checked once interpolated.
            Err(p)
                if p.key
                    .as_deref()
                    .is_some_and(|k| k == "url" || k == "alertmanager")
                    && options
                        .get(p.key.as_deref().unwrap_or_default())
                        .and_then(|v| v.as_str())
                        .is_some_and(|s| s.contains("${")) =>
            {
                Vec::new()
            }
            Err(p) => vec![p],
            Ok(_) => Vec::new(),
        }
    }

    fn default_expect(&self, options: &Options) -> Vec<String> {
        if options.contains_key("alertmanager") {
            vec!["firing == 0".into()]
        } else {
            vec!["count > 0".into()]
        }
    }

    fn prepare(&self, options: &Options) -> Result<Arc<dyn Observer>, String> {
        let opts: PromOptions = parse_options(options).map_err(|p| p.message)?;
        let request = opts.request().map_err(|p| match p.key {
            Some(k) => format!("{k}: {}", p.message),
            None => p.message,
        })?;
        Ok(Arc::new(PromObserver {
            client: self.client()?,
            request,
        }))
    }
}

/// Reads one API's answer (HTTP status, body).
type Parser = fn(u16, &[u8]) -> Answer;

struct PromObserver {
    client: reqwest::Client,
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
            match parse(status, &body) {
                Answer::Facts(f) => Ok(f),
                Answer::BadRequest(m) => Err(Failure::Probe(m)),
                Answer::ServerError(m) | Answer::Garbage(m) => Err(Failure::Target(m)),
            }
        })
    }
}

impl PromObserver {
    async fn fetch(&self, url: &Url) -> Result<(u16, Vec<u8>), Failure> {
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
            .map_err(|e| Failure::Target(describe(&e, &target)))?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > BODY_CAP {
                        return Err(Failure::Target(format!(
                            "the answer from {target} is larger than {} MiB",
                            BODY_CAP / (1024 * 1024)
                        )));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(Failure::Target(format!(
                        "failed to read the answer: {}",
                        describe(&e, &target)
                    )));
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
        assert!(keys(json!({"url": "${prom}", "query": "up"})).is_empty());
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
            vec!["count > 0"]
        );
        assert_eq!(
            p.default_expect(&opts(json!({"alertmanager": "x"}))),
            vec!["firing == 0"]
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
