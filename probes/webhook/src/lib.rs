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

use preflight_client::{HttpSettings, TlsSettings, proxy::ProxyHop};
use preflight_core::network::check_proxy;
use preflight_core::probe::{BoxFuture, Egress, OptionProblem};
use preflight_core::{
    Blame, Context, Fact, FactType, Facts, Failure, Observer, Options, Probe, ProbeError,
};
use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use scheme::{Encoding, Event, SchemeName, Signer, WHSEC_PREFIX};

/// The body the tampered request's signature is computed over (the body sent is the
/// real event): a well-formed signature that does not match.
const TAMPERED_SIGNED_BODY: &[u8] =
    br#"{"type":"preflight.tampered","note":"this is not the body that was sent"}"#;

/// A response body up to this size is read (and ignored) so its connection is reused.
const DRAIN_CAP: usize = 64 * 1024;
/// How long reading that body may take before the response is dropped.
const DRAIN_WAIT: Duration = Duration::from_millis(500);

/// Options of a `webhook` item.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookOptions {
    /// The `http://` or `https://` endpoint, POSTed with `Content-Type: application/json`.
    pub url: String,
    /// The provider's signature scheme.
    pub scheme: SchemeName,
    /// The signing secret; always masked in reports, usually `${env:…}`.
    pub secret: String,
    /// The event to send: a string (sent byte for byte) or a table or array (sent as JSON); default a harmless test event of the provider's shape.
    #[serde(default)]
    pub payload: Option<Payload>,
    /// `hmac-sha256` only: the signature header (default `X-Signature`).
    #[serde(default)]
    pub header: Option<String>,
    /// `hmac-sha256` only: how the MAC is written, `hex` (default, lower case) or `base64` (standard, padded).
    #[serde(default)]
    pub encoding: Option<Encoding>,
    /// `hmac-sha256` only: text written before the MAC, e.g. `sha256=` (default none).
    #[serde(default)]
    pub prefix: Option<String>,
    /// Send the correctly signed event; `false` sends only the two forgeries (for handlers with side effects).
    #[serde(default = "yes")]
    pub send_signed: bool,
    /// Skip certificate checks (handshake signatures are still verified).
    #[serde(default)]
    pub insecure: bool,
    /// PEM file of CA certificates; when given, only these are trusted (like `curl --cacert`); default: the roots of `[checklist] trust` plus `[checklist] ca`.
    #[serde(default)]
    pub ca: Option<String>,
    /// Proxy for this item's requests: an `http://` or `https://` URL (credentials masked), or `"none"` to connect directly; default: `[checklist] proxy`, else `HTTPS_PROXY` / `HTTP_PROXY` with `NO_PROXY`.
    #[serde(default)]
    pub proxy: Option<String>,
}

fn yes() -> bool {
    true
}

/// A custom event body.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Payload {
    /// Sent byte for byte.
    Text(String),
    /// Sent as JSON.
    Table(serde_json::Map<String, Value>),
    /// Sent as JSON.
    List(Vec<Value>),
}

impl Payload {
    fn into_bytes(self) -> Vec<u8> {
        match self {
            Payload::Text(s) => s.into_bytes(),
            Payload::Table(m) => Value::Object(m).to_string().into_bytes(),
            Payload::List(v) => Value::Array(v).to_string().into_bytes(),
        }
    }
}

/// The three requests, in the order they are sent; each is named by its fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Correctly signed (skipped with `send_signed = false`).
    Signed,
    /// No signature header.
    Unsigned,
    /// A well-formed signature over a different body.
    Tampered,
}

impl Sent {
    /// The fact reporting this request's response.
    pub fn fact(self) -> &'static str {
        match self {
            Sent::Signed => "signed",
            Sent::Unsigned => "unsigned",
            Sent::Tampered => "tampered",
        }
    }
}

impl std::fmt::Display for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.fact())
    }
}

/// Why a `webhook` observation produced no facts. Reasons never quote the secret or
/// the URL (it may carry a token).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// One of the three requests could not complete (refused, reset, TLS failure).
    #[error("{sent} request: {reason}")]
    Request {
        /// Which request.
        sent: Sent,
        /// `connection refused by host:port`, `TLS handshake with host:port failed: …`.
        reason: String,
        /// The transport reported a timeout.
        timeout: bool,
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
            Error::Request { .. } => Blame::Target,
        }
    }

    fn is_timeout(&self) -> bool {
        matches!(self, Error::Request { timeout: true, .. })
    }
}

/// The webhook probe; holds the HTTP clients shared by a sweep.
#[derive(Default)]
pub struct WebhookProbe {
    clients: Mutex<HashMap<HttpSettings, reqwest::Client>>,
}

impl WebhookProbe {
    /// A probe with an empty client cache.
    pub fn new() -> WebhookProbe {
        WebhookProbe::default()
    }

    fn client(&self, key: &HttpSettings) -> Result<reqwest::Client, Error> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(key) {
            return Ok(c.clone());
        }
        let c = key
            .builder()
            .map_err(Error::Client)?
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Client(format!("failed to build the HTTP client: {e}")))?;
        clients.insert(key.clone(), c.clone());
        Ok(c)
    }
}

fn check_header(h: &str) -> Result<(), String> {
    HeaderName::from_bytes(h.as_bytes())
        .map(drop)
        .map_err(|_| format!("\"{h}\" is not a valid header name"))
}

fn check_prefix(p: &str) -> Result<(), String> {
    HeaderValue::from_str(p)
        .map(drop)
        .map_err(|_| "not a valid header value".to_string())
}

impl Probe for WebhookProbe {
    type Options = WebhookOptions;
    const NAME: &'static str = "webhook";
    const SUMMARY: &'static str = "POSTs one test event signed, unsigned and tampered (Stripe, GitHub, Standard Webhooks, Sumsub, HMAC-SHA256) and reports each response.";
    const FACTS: &'static [Fact] = &[
        Fact::new(
            "signed",
            FactType::Object,
            "the correctly signed request's response: {status, latency_ms}",
        )
        .when("unless `send_signed = false`"),
        Fact::new(
            "unsigned",
            FactType::Object,
            "the response to the event without a signature header: {status, latency_ms}",
        ),
        Fact::new(
            "tampered",
            FactType::Object,
            "the response to the event signed over a different body: {status, latency_ms}",
        ),
    ];
    const SECRET_OPTIONS: &'static [&'static str] = &["secret"];
    const EXAMPLE: &'static str = r#"[[item]]
id = "payments.webhook"
title = "Stripe webhook endpoint verifies signatures"
probe = "webhook"
url = "https://api.shop.example/webhooks/stripe"
scheme = "stripe"
secret = "${env:STRIPE_WEBHOOK_SECRET}"
# default expect: signed 2xx, unsigned and tampered 4xx
"#;
    const DEFAULT_EXPECT_NOTE: &'static str = "`signed.status` 2xx unless `send_signed = false`; `unsigned.status` and `tampered.status` 4xx, one expectation each";

    fn default_expect(options: &Options) -> Vec<String> {
        let send_signed = options
            .get("send_signed")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let mut e = Vec::new();
        if send_signed {
            let s = Sent::Signed;
            e.push(format!("{s}.status >= 200 && {s}.status < 300"));
        }
        for s in [Sent::Unsigned, Sent::Tampered] {
            e.push(format!("{s}.status >= 400 && {s}.status < 500"));
        }
        e
    }

    fn validate(o: &WebhookOptions) -> Vec<OptionProblem> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, message: String| problems.push(OptionProblem::at(key, message));
        if let Err(e) = preflight_client::parse_http_url(&o.url) {
            bad("url", e);
        }
        if let Err(e) = scheme::key_of(o.scheme, &o.secret) {
            bad("secret", e);
        }
        if o.scheme != SchemeName::HmacSha256 {
            for (key, given) in [
                ("header", o.header.is_some()),
                ("encoding", o.encoding.is_some()),
                ("prefix", o.prefix.is_some()),
            ] {
                if given {
                    bad(
                        key,
                        format!(
                            "`{key}` applies only to scheme = \"hmac-sha256\" ({} fixes its own headers)",
                            o.scheme.as_str()
                        ),
                    );
                }
            }
        }
        if let Some(h) = &o.header
            && let Err(e) = check_header(h)
        {
            bad("header", e);
        }
        if let Some(p) = &o.prefix
            && let Err(e) = check_prefix(p)
        {
            bad("prefix", e);
        }
        if let Some(p) = &o.proxy
            && let Err(e) = check_proxy(p)
        {
            bad("proxy", e);
        }
        problems
    }

    fn secrets(o: &WebhookOptions) -> Vec<String> {
        // The key part of a Standard Webhooks secret, should it ever appear alone.
        o.secret
            .strip_prefix(WHSEC_PREFIX)
            .map(|k| vec![k.to_string()])
            .unwrap_or_default()
    }

    fn egress(o: &WebhookOptions) -> Option<Egress> {
        Some(Egress {
            url: Some(o.url.clone()),
            proxy: o.proxy.clone(),
            tls: o.url.trim().to_ascii_lowercase().starts_with("https:"),
            ca: o.ca.clone(),
            unverified: o.insecure,
            ..Egress::default()
        })
    }

    fn prepare(&self, o: WebhookOptions, cx: &Context) -> Result<Arc<dyn Observer>, Failure> {
        // Core validated the options; a problem here is still the checklist's.
        let bad = |key: &'static str| move |e: String| Failure::options(OptionProblem::at(key, e));
        let url = preflight_client::parse_http_url(&o.url).map_err(bad("url"))?;
        if let Some(h) = &o.header {
            check_header(h).map_err(bad("header"))?;
        }
        let prefix = o.prefix.unwrap_or_default();
        check_prefix(&prefix).map_err(bad("prefix"))?;
        let signer = Signer::new(
            o.scheme,
            &o.secret,
            o.header.as_deref(),
            o.encoding.unwrap_or_default(),
            &prefix,
        )
        .map_err(bad("secret"))?;
        let settings = HttpSettings {
            tls: TlsSettings::new(o.insecure, o.ca, cx.network.clone()),
            proxy: o.proxy,
            ..HttpSettings::default()
        };
        let client = self.client(&settings)?;
        let via = settings
            .route(&url)
            .map_err(Error::Client)?
            .proxy()
            .cloned();
        let host = url
            .host_str()
            .map(|h| format!("{h}:{}", url.port_or_known_default().unwrap_or(0)));
        Ok(Arc::new(WebhookObserver {
            client,
            via,
            url,
            signer,
            payload: o.payload.map(Payload::into_bytes),
            send_signed: o.send_signed,
            host,
        }))
    }
}

struct WebhookObserver {
    client: reqwest::Client,
    /// The proxy the requests go through, for reasons.
    via: Option<ProxyHop>,
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
            let mut requests = vec![(Sent::Unsigned, None), (Sent::Tampered, Some(other_body))];
            if self.send_signed {
                requests.insert(0, (Sent::Signed, Some(event.body.as_slice())));
            }
            for (sent, signed_body) in requests {
                let response = self.send(&event, signed_body, sent).await?;
                facts.insert(sent.fact().into(), response);
            }
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
        sent: Sent,
    ) -> Result<Value, Error> {
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
        let mut resp = req.send().await.map_err(|e| Error::Request {
            sent,
            reason: preflight_client::describe_error_via(&e, &self.url, self.via.as_ref()),
            timeout: e.is_timeout(),
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
