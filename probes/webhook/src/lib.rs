//! The `webhook` probe: is the endpoint reachable, does it accept a correctly signed
//! event, and does it reject forgeries?
//!
//! One attempt POSTs the same test event three times, one after the other: correctly
//! signed, unsigned (no signature header), and signed over a different body (a valid-
//! looking signature that does not match the body sent). It reports each response's
//! status and latency as facts `signed`, `unsigned` and `tampered`; core judges them.
//! Schemes: `stripe`, `github`, `standard-webhooks`, `sumsub`, `hmac-sha256` (see
//! [`scheme`]). The secret is a secret option: reports and logs show `****`.
//!
//! ```toml
//! [[item]]
//! id = "payments.webhook"
//! title = "Stripe webhook endpoint verifies signatures"
//! probe = "webhook"
//! url = "https://api.example.io/webhooks/stripe"
//! scheme = "stripe"
//! secret = "${env:STRIPE_WEBHOOK_SECRET}"
//! # default expect: signed 2xx, unsigned and tampered 4xx
//! ```

pub mod payload;
pub mod scheme;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use preflight_core::probe::{BoxFuture, OptionProblem, parse_options};
use preflight_core::{Facts, Failure, Observer, Options, Probe, ProbeDescriptor};
use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};

use scheme::{Encoding, Event, SchemeName, Signer, WHSEC_PREFIX};

static DESCRIPTOR: ProbeDescriptor = ProbeDescriptor {
    name: "webhook",
    options: &[
        "url",
        "scheme",
        "secret",
        "payload",
        "header",
        "encoding",
        "prefix",
        "send_signed",
        "insecure",
        "ca",
    ],
    facts: &["signed", "unsigned", "tampered"],
    secret_options: &["secret"],
};

/// The three requests, in the order they are sent.
const SIGNED: &str = "signed";
const UNSIGNED: &str = "unsigned";
const TAMPERED: &str = "tampered";

/// The body the tampered request's signature is computed over (the body sent is the
/// real event): a well-formed signature that does not match.
const TAMPERED_SIGNED_BODY: &[u8] =
    br#"{"type":"preflight.tampered","note":"this is not the body that was sent"}"#;

/// A response body up to this size is read (and ignored) so its connection is reused.
const DRAIN_CAP: usize = 64 * 1024;
/// How long reading that body may take before the response is dropped.
const DRAIN_WAIT: Duration = Duration::from_millis(500);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookOptions {
    url: String,
    scheme: String,
    secret: String,
    #[serde(default)]
    payload: Option<Value>,
    #[serde(default)]
    header: Option<String>,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default = "yes")]
    send_signed: bool,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    ca: Option<String>,
}

fn yes() -> bool {
    true
}

const SCHEMES: &str = "stripe, github, standard-webhooks, sumsub, hmac-sha256";

fn parse_scheme(text: &str) -> Result<SchemeName, String> {
    serde_json::from_value(Value::String(text.to_string()))
        .map_err(|_| format!("unknown scheme \"{text}\" (use one of: {SCHEMES})"))
}

fn parse_encoding(text: &str) -> Result<Encoding, String> {
    serde_json::from_value(Value::String(text.to_string()))
        .map_err(|_| format!("unknown encoding \"{text}\" (use hex or base64)"))
}

fn templated(text: &str) -> bool {
    text.contains("${")
}

/// The webhook probe; holds the HTTP clients shared by a sweep.
#[derive(Default)]
pub struct WebhookProbe {
    clients: Mutex<HashMap<(bool, Option<String>), reqwest::Client>>,
}

impl WebhookProbe {
    /// A probe with an empty client cache.
    pub fn new() -> WebhookProbe {
        WebhookProbe::default()
    }

    fn client(&self, insecure: bool, ca: Option<&str>) -> Result<reqwest::Client, String> {
        let key = (insecure, ca.map(str::to_string));
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(&key) {
            return Ok(c.clone());
        }
        let c = preflight_client::http_client_builder(insecure, ca)?
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("failed to build the HTTP client: {e}"))?;
        clients.insert(key, c.clone());
        Ok(c)
    }
}

impl Probe for WebhookProbe {
    fn descriptor(&self) -> &'static ProbeDescriptor {
        &DESCRIPTOR
    }

    fn check(&self, options: &Options) -> Vec<OptionProblem> {
        let opts: WebhookOptions = match parse_options(options) {
            Ok(o) => o,
            Err(p) => return vec![p],
        };
        let mut problems = Vec::new();
        let mut bad = |key: &str, message: String| problems.push(OptionProblem::at(key, message));
        if !templated(&opts.url)
            && let Err(e) = preflight_client::parse_http_url(&opts.url)
        {
            bad("url", e);
        }
        let scheme = if templated(&opts.scheme) {
            None
        } else {
            match parse_scheme(&opts.scheme) {
                Ok(s) => Some(s),
                Err(e) => {
                    bad("scheme", e);
                    None
                }
            }
        };
        if let Some(s) = scheme
            && !templated(&opts.secret)
            && let Err(e) = scheme::key_of(s, &opts.secret)
        {
            bad("secret", e);
        }
        if let Some(s) = scheme
            && s != SchemeName::HmacSha256
        {
            for (key, given) in [
                ("header", opts.header.is_some()),
                ("encoding", opts.encoding.is_some()),
                ("prefix", opts.prefix.is_some()),
            ] {
                if given {
                    bad(
                        key,
                        format!(
                            "`{key}` applies only to scheme = \"hmac-sha256\" ({} fixes its own headers)",
                            s.as_str()
                        ),
                    );
                }
            }
        }
        if let Some(h) = &opts.header
            && !templated(h)
            && HeaderName::from_bytes(h.as_bytes()).is_err()
        {
            bad("header", format!("\"{h}\" is not a valid header name"));
        }
        if let Some(e) = &opts.encoding
            && !templated(e)
            && let Err(msg) = parse_encoding(e)
        {
            bad("encoding", msg);
        }
        if let Some(p) = &opts.payload
            && !matches!(p, Value::String(_) | Value::Object(_) | Value::Array(_))
        {
            bad(
                "payload",
                "write the payload as a string (sent as-is) or a table (sent as JSON)".into(),
            );
        }
        problems
    }

    fn default_expect(&self, options: &Options) -> Vec<String> {
        let send_signed = options
            .get("send_signed")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let mut e = Vec::new();
        if send_signed {
            e.push(format!("{SIGNED}.status >= 200 && {SIGNED}.status < 300"));
        }
        e.push(format!(
            "{UNSIGNED}.status >= 400 && {UNSIGNED}.status < 500"
        ));
        e.push(format!(
            "{TAMPERED}.status >= 400 && {TAMPERED}.status < 500"
        ));
        e
    }

    fn secrets(&self, options: &Options) -> Vec<String> {
        // The key part of a Standard Webhooks secret, should it ever appear alone.
        options
            .get("secret")
            .and_then(Value::as_str)
            .and_then(|s| s.strip_prefix(WHSEC_PREFIX))
            .map(|k| vec![k.to_string()])
            .unwrap_or_default()
    }

    fn prepare(&self, options: &Options) -> Result<Arc<dyn Observer>, String> {
        let opts: WebhookOptions = parse_options(options).map_err(|p| p.message)?;
        let url = preflight_client::parse_http_url(&opts.url)?;
        let scheme = parse_scheme(&opts.scheme)?;
        let encoding = match &opts.encoding {
            Some(e) => parse_encoding(e)?,
            None => Encoding::Hex,
        };
        if let Some(h) = &opts.header
            && HeaderName::from_bytes(h.as_bytes()).is_err()
        {
            return Err(format!("header: \"{h}\" is not a valid header name"));
        }
        let prefix = opts.prefix.clone().unwrap_or_default();
        if HeaderValue::from_str(&prefix).is_err() {
            return Err("prefix: not a valid header value".into());
        }
        let signer = Signer::new(
            scheme,
            &opts.secret,
            opts.header.as_deref(),
            encoding,
            &prefix,
        )?;
        let payload = match &opts.payload {
            None => None,
            Some(Value::String(s)) => Some(s.clone().into_bytes()),
            Some(v) => Some(serde_json::to_vec(v).map_err(|e| e.to_string())?),
        };
        let client = self.client(opts.insecure, opts.ca.as_deref())?;
        let host = url
            .host_str()
            .map(|h| format!("{h}:{}", url.port_or_known_default().unwrap_or(0)));
        Ok(Arc::new(WebhookObserver {
            client,
            url,
            signer,
            payload,
            send_signed: opts.send_signed,
            host,
        }))
    }
}

struct WebhookObserver {
    client: reqwest::Client,
    url: Url,
    signer: Signer,
    payload: Option<Vec<u8>>,
    send_signed: bool,
    host: Option<String>,
}

impl Observer for WebhookObserver {
    fn host(&self) -> Option<String> {
        self.host.clone()
    }

    fn observe(&self) -> BoxFuture<'_, Result<Facts, Failure>> {
        Box::pin(async move {
            let event = self.event();
            let other_body = if event.body == TAMPERED_SIGNED_BODY {
                b"{}".as_slice()
            } else {
                TAMPERED_SIGNED_BODY
            };
            let mut facts = Facts::new();
            if self.send_signed {
                facts.insert(
                    SIGNED.into(),
                    self.send(&event, Some(&event.body), SIGNED).await?,
                );
            }
            facts.insert(UNSIGNED.into(), self.send(&event, None, UNSIGNED).await?);
            facts.insert(
                TAMPERED.into(),
                self.send(&event, Some(other_body), TAMPERED).await?,
            );
            Ok(facts)
        })
    }
}

impl WebhookObserver {
    /// A fresh event: the current time, a new id, the payload (or the default one).
    fn event(&self) -> Event {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let id_prefix = match self.signer.scheme() {
            SchemeName::Stripe => "evt_",
            SchemeName::StandardWebhooks => "msg_",
            _ => "",
        };
        let id = format!("{id_prefix}preflight{:x}", now.as_nanos());
        let body = match &self.payload {
            Some(p) => p.clone(),
            None => payload::default_payload(self.signer.scheme(), &id, now.as_secs())
                .to_string()
                .into_bytes(),
        };
        Event {
            id,
            timestamp: now.as_secs(),
            body,
        }
    }

    /// POSTs the event; `signed_body` is what the signature covers (None: unsigned).
    async fn send(
        &self,
        event: &Event,
        signed_body: Option<&[u8]>,
        which: &str,
    ) -> Result<Value, Failure> {
        let mut req = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(event.body.clone());
        let mut headers = self.signer.metadata_headers(event);
        if let Some(b) = signed_body {
            headers.extend(self.signer.signature_headers(event, b));
        }
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let t0 = Instant::now();
        let mut resp = req.send().await.map_err(|e| {
            Failure::Target(format!(
                "{which} request: {}",
                preflight_client::describe_error(&e, &self.url)
            ))
        })?;
        let latency = t0.elapsed();
        let status = resp.status().as_u16();
        // Only the status matters. A short body is read so the connection can carry the
        // next request; a large or stalling one is dropped (and its connection closed).
        let drain = async {
            let mut read = 0;
            while let Ok(Some(chunk)) = resp.chunk().await {
                read += chunk.len();
                if read > DRAIN_CAP {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(DRAIN_WAIT, drain).await;
        Ok(json!({"status": status, "latency_ms": ms(latency)}))
    }
}

/// Milliseconds rounded to 0.1.
fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

#[cfg(test)]
mod tests;
