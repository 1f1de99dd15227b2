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

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use preflight_core::probe::{BoxFuture, OptionProblem};
use preflight_core::{
    Blame, Context, Fact, FactType, Facts, Failure, Observer, Options, Probe, ProbeError,
};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// Bodies are kept up to this many bytes; the rest is cut and `body_truncated` set.
pub const BODY_CAP: usize = 1024 * 1024;
/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 10;
/// `samples` is at most this.
pub const MAX_SAMPLES: u32 = 10_000;
/// Samples in flight at once.
const SAMPLE_PARALLELISM: usize = 4;

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
    /// PEM file of CA certificates; when given, only these are trusted (like `curl --cacert`).
    #[serde(default)]
    pub ca: Option<String>,
}

fn yes() -> bool {
    true
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
        /// The `Location` header as sent.
        location: String,
        /// Why it does not parse.
        source: url::ParseError,
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
            Error::Request { timeout, .. } | Error::Body { timeout, .. } => *timeout,
            Error::AllSamplesFailed { first, .. } => first.is_timeout(),
            _ => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ClientKey {
    insecure: bool,
    ca: Option<String>,
    resolve: Option<(String, IpAddr)>,
}

/// The HTTP probe; holds the clients shared by a sweep.
#[derive(Default)]
pub struct HttpProbe {
    clients: Mutex<HashMap<ClientKey, reqwest::Client>>,
}

impl HttpProbe {
    /// A probe with an empty client cache.
    pub fn new() -> HttpProbe {
        HttpProbe::default()
    }

    fn client(&self, key: &ClientKey) -> Result<reqwest::Client, Error> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(key) {
            return Ok(c.clone());
        }
        let mut b = preflight_client::http_client_builder(key.insecure, key.ca.as_deref())
            .map_err(Error::Client)?
            .tls_info(true)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(1024);
        if let Some((host, ip)) = &key.resolve {
            b = b.resolve(host, SocketAddr::new(*ip, 0));
        }
        let c = b
            .build()
            .map_err(|e| Error::Client(format!("failed to build the HTTP client: {e}")))?;
        clients.insert(key.clone(), c.clone());
        Ok(c)
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

impl Probe for HttpProbe {
    type Options = HttpOptions;
    const NAME: &'static str = "http";
    const SUMMARY: &'static str = "One HTTP request (or `samples` requests): status, headers, body, JSON, latency, redirects, TLS.";
    const FACTS: &'static [Fact] = &[
        Fact::new("status", FactType::Integer, "HTTP status of the final response"),
        Fact::new(
            "headers",
            FactType::Map,
            "response headers, lower-case names; repeated headers joined with `, `",
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
    ];
    const EXAMPLE: &'static str = r#"[[item]]
id = "smoke.health"
title = "API health endpoint answers healthy"
probe = "http"
url = "https://api.shop.example/api/health"
headers = { accept = "application/json" }
expect = ["status == 200", "json.status == 'healthy'", "latency_ms < 500"]
"#;

    const DEFAULT_EXPECT_NOTE: &'static str = "`status >= 200 && status < 300`; with `samples` above 1 also `error_rate == 0.0`, so one failed sample among many fails the item.";

    fn default_expect(options: &Options) -> Vec<String> {
        let mut out = vec!["status >= 200 && status < 300".to_string()];
        // As written: a `${…}` may well be more than one.
        if options
            .get("samples")
            .is_some_and(|n| n.as_u64().is_none_or(|n| n > 1))
        {
            out.push("error_rate == 0.0".into());
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
        problems
    }

    fn prepare(&self, o: HttpOptions, _: &Context) -> Result<Arc<dyn Observer>, Failure> {
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
        let key = ClientKey {
            insecure: o.insecure,
            ca: o.ca,
            resolve,
        };
        let client = self.client(&key)?;
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
            client,
            url,
            method,
            headers,
            body,
            follow: o.follow_redirects,
            samples: o.samples,
            host,
        }))
    }
}

struct HttpObserver {
    client: reqwest::Client,
    url: Url,
    method: Method,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
    follow: bool,
    samples: Option<u32>,
    host: Option<String>,
}
/// What one request (with its redirects) returned.
struct Exchange {
    status: StatusCode,
    headers: serde_json::Map<String, Value>,
    body: Vec<u8>,
    truncated: bool,
    content_type_json: bool,
    latency: Duration,
    url: Url,
    redirects: Vec<String>,
    http_version: &'static str,
    tls_version: Option<&'static str>,
    days_left: Option<i64>,
}

impl Observer for HttpObserver {
    fn host(&self) -> Option<String> {
        self.host.clone()
    }

    fn observe(&self) -> BoxFuture<'_, Result<Facts, Failure>> {
        Box::pin(async move {
            match self.samples {
                Some(n) if n > 1 => self.sampled(n).await,
                _ => self.exchange().await.map(|x| facts_of(&x)),
            }
            .map_err(Failure::from)
        })
    }
}

impl HttpObserver {
    async fn exchange(&self) -> Result<Exchange, Error> {
        let t0 = Instant::now();
        let mut url = self.url.clone();
        let mut method = self.method.clone();
        let mut body = self.body.clone();
        let mut redirects = Vec::new();
        loop {
            let mut req = self
                .client
                .request(method.clone(), url.clone())
                .headers(self.headers.clone());
            if let Some(b) = &body {
                req = req.body(b.clone());
            }
            let mut resp = req.send().await.map_err(|e| {
                let reason = preflight_client::describe_error(&e, &url);
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
            if self.follow
                && status.is_redirection()
                && let Some(loc) = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
            {
                let next = url.join(loc).map_err(|source| Error::BadRedirect {
                    location: loc.to_string(),
                    source,
                })?;
                if redirects.len() >= MAX_REDIRECTS {
                    return Err(Error::TooManyRedirects {
                        last: next.to_string(),
                    });
                }
                redirects.push(next.to_string());
                if status == StatusCode::SEE_OTHER
                    || ((status == StatusCode::MOVED_PERMANENTLY || status == StatusCode::FOUND)
                        && method == Method::POST)
                {
                    method = Method::GET;
                    body = None;
                }
                url = next;
                continue;
            }
            let mut headers = serde_json::Map::new();
            for (name, value) in resp.headers() {
                let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
                match headers.get_mut(name.as_str()) {
                    Some(Value::String(existing)) => {
                        existing.push_str(", ");
                        existing.push_str(&v);
                    }
                    _ => {
                        headers.insert(name.as_str().to_string(), Value::String(v));
                    }
                }
            }
            let content_type_json = headers
                .get("content-type")
                .and_then(Value::as_str)
                .is_some_and(|c| c.contains("json"));
            let http_version = match resp.version() {
                reqwest::Version::HTTP_09 => "HTTP/0.9",
                reqwest::Version::HTTP_10 => "HTTP/1.0",
                reqwest::Version::HTTP_11 => "HTTP/1.1",
                reqwest::Version::HTTP_2 => "HTTP/2",
                reqwest::Version::HTTP_3 => "HTTP/3",
                _ => "unknown",
            };
            let tls_info = resp.extensions().get::<reqwest::tls::TlsInfo>();
            let days_left = tls_info
                .and_then(|t| t.peer_certificate())
                .and_then(leaf_days_left);
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
                body: buf,
                truncated,
                content_type_json,
                latency: t0.elapsed(),
                url,
                redirects,
                http_version,
                tls_version,
                days_left,
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
                in_flight.push(Box::pin(self.exchange()));
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
        let mut facts = facts_of(&x);
        facts.insert("latency".into(), json!({"p50": percentile(&latencies, 50.0), "p95": percentile(&latencies, 95.0), "p99": percentile(&latencies, 99.0)}));
        facts.insert("error_rate".into(), json!(f64::from(errors) / f64::from(n)));
        facts.insert("count".into(), json!(n));
        Ok(facts)
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

fn facts_of(x: &Exchange) -> Facts {
    let body = String::from_utf8_lossy(&x.body).into_owned();
    let trimmed = body.trim_start();
    let json = if (x.content_type_json || trimmed.starts_with('{') || trimmed.starts_with('['))
        && !x.truncated
    {
        serde_json::from_str::<Value>(&body).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
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
    f.insert("http_version".into(), json!(x.http_version));
    f.insert("tls_version".into(), json!(x.tls_version));
    f.insert("days_left".into(), json!(x.days_left));
    f
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
