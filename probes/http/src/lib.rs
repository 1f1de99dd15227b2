//! The `http` probe: one request (or `samples` requests) and what came back.
//!
//! It observes status, headers, body (capped at 1 MiB), JSON, latency, the redirect
//! chain, the HTTP and TLS versions and the days left on the TLS certificate; it never judges them. One client per TLS/resolve
//! setting is shared by every item of a sweep, so connections to a host are reused.
//!
//! ```toml
//! [[item]]
//! id = "smoke.health"
//! probe = "http"
//! url = "${api}/api/health"
//! expect = ["status == 200", "json.status == 'healthy'"]
//! ```

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use preflight_core::probe::{BoxFuture, OptionProblem, parse_options};
use preflight_core::{Facts, Failure, Observer, Options, Probe, ProbeDescriptor};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde_json::{Value, json};

/// Bodies are kept up to this many bytes; the rest is cut and `body_truncated` set.
pub const BODY_CAP: usize = 1024 * 1024;
/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 10;
const MAX_SAMPLES: u32 = 10_000;
const SAMPLE_PARALLELISM: usize = 4;

static DESCRIPTOR: ProbeDescriptor = ProbeDescriptor {
    name: "http",
    options: &[
        "url",
        "method",
        "headers",
        "body",
        "json",
        "follow_redirects",
        "insecure",
        "resolve",
        "samples",
        "ca",
    ],
    facts: &[
        "status",
        "headers",
        "body",
        "body_truncated",
        "json",
        "latency_ms",
        "url",
        "redirects",
        "http_version",
        "tls_version",
        "days_left",
        "latency",
        "error_rate",
        "count",
    ],
    secret_options: &[],
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpOptions {
    url: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    headers: HashMap<String, String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    json: Option<Value>,
    #[serde(default = "yes")]
    follow_redirects: bool,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    resolve: Option<String>,
    #[serde(default)]
    samples: Option<u32>,
    #[serde(default)]
    ca: Option<String>,
}

fn yes() -> bool {
    true
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

    fn client(&self, key: &ClientKey) -> Result<reqwest::Client, String> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(key) {
            return Ok(c.clone());
        }
        let mut b = preflight_client::http_client_builder(key.insecure, key.ca.as_deref())?
            .tls_info(true)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(1024);
        if let Some((host, ip)) = &key.resolve {
            b = b.resolve(host, SocketAddr::new(*ip, 0));
        }
        let c = b
            .build()
            .map_err(|e| format!("failed to build the HTTP client: {e}"))?;
        clients.insert(key.clone(), c.clone());
        Ok(c)
    }
}

impl Probe for HttpProbe {
    fn descriptor(&self) -> &'static ProbeDescriptor {
        &DESCRIPTOR
    }

    fn check(&self, options: &Options) -> Vec<OptionProblem> {
        let opts: HttpOptions = match parse_options(options) {
            Ok(o) => o,
            Err(p) => return vec![p],
        };
        let mut problems = Vec::new();
        let mut bad = |key: &str, message: String| problems.push(OptionProblem::at(key, message));
        if !opts.url.contains("${")
            && let Err(e) = preflight_client::parse_http_url(&opts.url)
        {
            bad("url", e);
        }
        if let Some(m) = &opts.method
            && !m.contains("${")
            && Method::from_bytes(m.as_bytes()).is_err()
        {
            bad("method", format!("\"{m}\" is not an HTTP method"));
        }
        if opts.body.is_some() && opts.json.is_some() {
            bad("json", "give either `body` or `json`, not both".into());
        }
        if let Some(r) = &opts.resolve
            && !r.contains("${")
            && r.parse::<IpAddr>().is_err()
        {
            bad(
                "resolve",
                format!("\"{r}\" is not an IP address (write e.g. resolve = \"203.0.113.7\")"),
            );
        }
        if let Some(s) = opts.samples
            && (s == 0 || s > MAX_SAMPLES)
        {
            bad(
                "samples",
                format!("samples must be from 1 to {MAX_SAMPLES}"),
            );
        }
        problems
    }

    fn default_expect(&self, _: &Options) -> Vec<String> {
        vec!["status >= 200 && status < 300".into()]
    }

    fn prepare(&self, options: &Options) -> Result<Arc<dyn Observer>, String> {
        let opts: HttpOptions = parse_options(options).map_err(|p| p.message)?;
        let url = preflight_client::parse_http_url(&opts.url)?;
        let method = match &opts.method {
            Some(m) => Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                .map_err(|_| format!("\"{m}\" is not an HTTP method"))?,
            None => Method::GET,
        };
        let resolve = match &opts.resolve {
            Some(r) => Some((
                url.host_str().unwrap_or_default().to_string(),
                r.parse::<IpAddr>()
                    .map_err(|_| format!("resolve: \"{r}\" is not an IP address"))?,
            )),
            None => None,
        };
        let key = ClientKey {
            insecure: opts.insecure,
            ca: opts.ca.clone(),
            resolve,
        };
        let client = self.client(&key)?;
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in &opts.headers {
            let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| format!("headers: \"{k}\" is not a valid header name"))?;
            let value = reqwest::header::HeaderValue::from_str(v).map_err(|_| {
                format!("headers: the value of \"{k}\" is not a valid header value")
            })?;
            headers.insert(name, value);
        }
        let body = match (&opts.body, &opts.json) {
            (Some(b), _) => Some(b.clone().into_bytes()),
            (None, Some(j)) => {
                if !headers.contains_key(reqwest::header::CONTENT_TYPE) {
                    headers.insert(
                        reqwest::header::CONTENT_TYPE,
                        reqwest::header::HeaderValue::from_static("application/json"),
                    );
                }
                Some(serde_json::to_vec(j).map_err(|e| e.to_string())?)
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
            follow: opts.follow_redirects,
            samples: opts.samples,
            host,
        }))
    }
}

struct HttpObserver {
    client: reqwest::Client,
    url: Url,
    method: Method,
    headers: reqwest::header::HeaderMap,
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
                None | Some(1) => self.exchange().await.map(|x| facts_of(&x)),
                Some(n) => self.sampled(n).await,
            }
        })
    }
}

impl HttpObserver {
    async fn exchange(&self) -> Result<Exchange, Failure> {
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
            let mut resp = req
                .send()
                .await
                .map_err(|e| Failure::Target(preflight_client::describe_error(&e, &url)))?;
            let status = resp.status();
            if self.follow
                && status.is_redirection()
                && let Some(loc) = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
            {
                let next = url.join(loc).map_err(|e| {
                    Failure::Target(format!("redirect to an invalid location \"{loc}\": {e}"))
                })?;
                if redirects.len() >= MAX_REDIRECTS {
                    return Err(Failure::Target(format!(
                        "too many redirects (more than {MAX_REDIRECTS}); last went to {next}"
                    )));
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
                        return Err(Failure::Target(format!(
                            "failed to read the response body: {}",
                            preflight_client::describe_error(&e, &url)
                        )));
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

    async fn sampled(&self, n: u32) -> Result<Facts, Failure> {
        let mut latencies = Vec::with_capacity(n as usize);
        let mut errors = 0u32;
        let mut first: Option<Exchange> = None;
        let mut first_error: Option<String> = None;
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
                Err(Failure::Target(e) | Failure::Probe(e)) => {
                    errors += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
        let Some(x) = first else {
            return Err(Failure::Target(format!(
                "all {n} samples failed: {}",
                first_error.unwrap_or_default()
            )));
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
        let opts: Options =
            serde_json::from_value(json!({"url": "ftp://x", "samples": 0, "resolve": "nope"}))
                .unwrap();
        let problems = p.check(&opts);
        let keys: Vec<_> = problems.iter().filter_map(|p| p.key.clone()).collect();
        assert_eq!(keys, vec!["url", "resolve", "samples"]);
        let opts: Options =
            serde_json::from_value(json!({"url": "${api}/x", "samples": "many"})).unwrap();
        let problems = p.check(&opts);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key.as_deref(), Some("samples"));
    }
}
