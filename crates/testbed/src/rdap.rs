//! An RDAP server (RFC 9083 JSON over plain HTTP) on loopback, for the `domain` probe.
//!
//! `GET /domain/NAME` answers, relative to the time the testbed started:
//! - `demo.test`: registered, expires in 200 days, registrar "Testbed Registrar,
//!   Inc.", status `client transfer prohibited` and `active`, name servers
//!   `ns1`/`ns2.demo.test`, delegation not signed;
//! - `signed.test`: expires in 400 days, delegation signed;
//! - `expiring.test`: expires in 10 days (and an hour);
//! - `expired.test`: expired 3 days ago, status `redemption period`;
//! - `noexpiry.test`: no `expiration` event;
//! - `garbage.test`: `200` with a body that is not JSON;
//! - any other name: `404` with an RFC 9083 error object.
//!
//! `GET /bootstrap/dns.json` serves an IANA-style bootstrap file (RFC 9224) mapping
//! the `test` TLD to this server, with `Cache-Control: max-age=3600`, so the probe's
//! bootstrap cache can be tested without the real registry.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Days `demo.test` has left.
pub const DEMO_DAYS: i64 = 200;
/// Days `expiring.test` has left.
pub const EXPIRING_DAYS: i64 = 10;
/// The registrar every domain is registered with.
pub const REGISTRAR: &str = "Testbed Registrar, Inc.";

/// The running RDAP server. Dropping it stops it.
pub struct RdapServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl RdapServer {
    /// Binds 127.0.0.1 on a free port and starts serving.
    pub async fn start() -> std::io::Result<RdapServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let started = OffsetDateTime::now_utc();
        let task = tokio::spawn(serve(listener, Arc::new(Registry { started, addr })));
        Ok(RdapServer { addr, task })
    }

    /// The RDAP base URL, `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// `rdap` (the base URL).
    pub fn vars(&self) -> Vec<(String, String)> {
        vec![("rdap".into(), self.base_url())]
    }
}

impl Drop for RdapServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Registry {
    started: OffsetDateTime,
    addr: SocketAddr,
}

async fn serve(listener: TcpListener, registry: Arc<Registry>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let registry = registry.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let registry = registry.clone();
                async move { Ok::<_, Infallible>(registry.answer(&req)) }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tcp), svc)
                .await;
        });
    }
}

fn respond(
    status: StatusCode,
    content_type: &str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

fn rdap_json(status: StatusCode, v: &Value) -> Response<Full<Bytes>> {
    respond(status, "application/rdap+json", v.to_string())
}

impl Registry {
    fn date(&self, days: i64, hours: i64) -> String {
        (self.started + Duration::days(days) + Duration::hours(hours))
            .format(&Rfc3339)
            .unwrap_or_default()
    }

    fn answer(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path();
        if path == "/bootstrap/dns.json" {
            let mut r = respond(
                StatusCode::OK,
                "application/json",
                json!({
                    "version": "1.0",
                    "publication": self.date(0, 0),
                    "description": "testbed bootstrap",
                    "services": [[["test", "example"], [format!("http://{}/", self.addr)]]]
                })
                .to_string(),
            );
            if let Ok(v) = "max-age=3600".parse() {
                r.headers_mut().insert(hyper::header::CACHE_CONTROL, v);
            }
            return r;
        }
        let Some(name) = path.strip_prefix("/domain/") else {
            return self.not_found(path);
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        match name.as_str() {
            "demo.test" => rdap_json(
                StatusCode::OK,
                &self.domain(
                    &name,
                    Some(self.date(DEMO_DAYS, 1)),
                    &["client transfer prohibited", "active"],
                    false,
                ),
            ),
            "signed.test" => rdap_json(
                StatusCode::OK,
                &self.domain(&name, Some(self.date(400, 1)), &["active"], true),
            ),
            "expiring.test" => rdap_json(
                StatusCode::OK,
                &self.domain(&name, Some(self.date(EXPIRING_DAYS, 1)), &["active"], false),
            ),
            "expired.test" => rdap_json(
                StatusCode::OK,
                &self.domain(&name, Some(self.date(-3, 0)), &["redemption period"], false),
            ),
            "noexpiry.test" => rdap_json(
                StatusCode::OK,
                &self.domain(&name, None, &["active"], false),
            ),
            "garbage.test" => respond(
                StatusCode::OK,
                "application/rdap+json",
                "{\"objectClassName\": \"domain\", \"ldhName\": \"garbage.test\", \"events\": [",
            ),
            _ => self.not_found(&name),
        }
    }

    fn not_found(&self, what: &str) -> Response<Full<Bytes>> {
        rdap_json(
            StatusCode::NOT_FOUND,
            &json!({
                "rdapConformance": ["rdap_level_0"],
                "errorCode": 404,
                "title": "Not Found",
                "description": [format!("{what} is not registered here")]
            }),
        )
    }

    fn domain(&self, name: &str, expires: Option<String>, status: &[&str], signed: bool) -> Value {
        let mut events = vec![
            json!({"eventAction": "registration", "eventDate": self.date(-700, 0)}),
            json!({"eventAction": "last changed", "eventDate": self.date(-30, 0)}),
        ];
        if let Some(date) = expires {
            events.push(json!({"eventAction": "expiration", "eventDate": date}));
        }
        events.push(
            json!({"eventAction": "last update of RDAP database", "eventDate": self.date(0, 0)}),
        );
        let zone = if name == "demo.test" {
            "demo.test"
        } else {
            name
        };
        json!({
            "rdapConformance": ["rdap_level_0", "icann_rdap_response_profile_0"],
            "objectClassName": "domain",
            "handle": format!("{}-TESTBED", name.replace('.', "_").to_ascii_uppercase()),
            "ldhName": name,
            "status": status,
            "events": events,
            "entities": [
                {
                    "objectClassName": "entity",
                    "handle": "9999",
                    "roles": ["registrar"],
                    "publicIds": [{"type": "IANA Registrar ID", "identifier": "9999"}],
                    "vcardArray": ["vcard", [
                        ["version", {}, "text", "4.0"],
                        ["fn", {}, "text", REGISTRAR]
                    ]]
                },
                {
                    "objectClassName": "entity",
                    "roles": ["registrant"],
                    "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "REDACTED FOR PRIVACY"]]]
                }
            ],
            "nameservers": [
                {"objectClassName": "nameserver", "ldhName": format!("NS1.{}", zone.to_ascii_uppercase())},
                {"objectClassName": "nameserver", "ldhName": format!("ns2.{zone}")}
            ],
            "secureDNS": {"zoneSigned": signed, "delegationSigned": signed},
            "notices": [{"title": "Terms of Use", "description": ["Testbed data, not a real registry."]}]
        })
    }
}
