//! The testbed's HTTP API: health, build info, chosen statuses, delays, security
//! headers, large bodies, redirect chains and loops, a redirect to any URL, a request
//! that never gets an answer, endpoints that fail a set number of times, `/metrics` in
//! the Prometheus text format, a Prometheus query API as a proxy in front of it may
//! answer (`/prom/MODE`), and an OAuth token endpoint with an API behind it
//! ([`crate::oauth`]), and `/hostile`: markup and `javascript:` URLs in a body and
//! headers.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::json;
use tokio::net::TcpListener;

/// Shared server state: counters for `/flaky`.
#[derive(Default)]
pub struct State {
    flaky: Mutex<HashMap<String, u32>>,
    /// Responses served so far, by status code, for `/metrics`.
    served: Mutex<std::collections::BTreeMap<u16, u64>>,
    /// Tokens of `/oauth/token`.
    pub tokens: crate::oauth::Tokens,
}

fn builder() -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http2().max_concurrent_streams(4096);
    b
}

pub async fn serve_tls(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    state: Arc<State>,
) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let (acceptor, state) = (acceptor.clone(), state.clone());
        tokio::spawn(async move {
            let Ok(Ok(tls)) =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
            else {
                return;
            };
            let svc = hyper::service::service_fn(move |req| handle(req, state.clone()));
            let _ = builder().serve_connection(TokioIo::new(tls), svc).await;
        });
    }
}

pub async fn serve_plain(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| handle(req, state.clone()));
            let _ = builder().serve_connection(TokioIo::new(tcp), svc).await;
        });
    }
}

/// Accepts connections and never writes: a target that hangs.
pub async fn serve_silence(listener: TcpListener) {
    let mut held = Vec::new();
    loop {
        if let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
            held.retain(|s| s.peer_addr().is_ok());
        }
    }
}

type Resp = Response<Full<Bytes>>;

fn text(status: StatusCode, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        "text/plain; charset=utf-8".parse().expect("static header"),
    );
    r
}

fn json_resp(status: StatusCode, v: serde_json::Value) -> Resp {
    let mut r = text(status, v.to_string());
    r.headers_mut().insert(
        "content-type",
        "application/json".parse().expect("static header"),
    );
    r
}

fn query(req: &Request<Incoming>) -> HashMap<String, String> {
    req.uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn handle(req: Request<Incoming>, state: Arc<State>) -> Result<Resp, Infallible> {
    let q = query(&req);
    if let Some(ms) = q.get("delay_ms").and_then(|v| v.parse::<u64>().ok()) {
        tokio::time::sleep(Duration::from_millis(ms.min(600_000))).await;
    }
    let path = req.uri().path().to_string();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let resp = match parts.as_slice() {
        ["api", "health"] => json_resp(
            StatusCode::OK,
            json!({"status": "healthy", "db": {"latency_ms": 3}, "version": "1.4.2"}),
        ),
        ["api", "build"] => json_resp(
            StatusCode::OK,
            json!({"version": "1.4.2", "commit": "9f2c1e7", "tag": "api:main-9f2c1e7"}),
        ),
        ["api", "degraded"] => json_resp(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "degraded", "db": {"latency_ms": 950}}),
        ),
        ["status", code] => {
            let s = code
                .parse::<u16>()
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
                .unwrap_or(StatusCode::BAD_REQUEST);
            text(s, format!("status {}", s.as_u16()))
        }
        ["delay", ms] => {
            let ms = ms.parse::<u64>().unwrap_or(0).min(600_000);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            text(StatusCode::OK, format!("slept {ms} ms"))
        }
        ["secure"] => {
            let mut r = text(StatusCode::OK, "<!doctype html><title>app</title>");
            let h = r.headers_mut();
            h.insert(
                "content-type",
                "text/html; charset=utf-8".parse().expect("static"),
            );
            h.insert(
                "strict-transport-security",
                "max-age=31536000; includeSubDomains"
                    .parse()
                    .expect("static"),
            );
            h.insert(
                "content-security-policy",
                "default-src 'self'".parse().expect("static"),
            );
            h.insert("x-frame-options", "DENY".parse().expect("static"));
            h.insert("x-content-type-options", "nosniff".parse().expect("static"));
            h.insert(
                "referrer-policy",
                "strict-origin-when-cross-origin".parse().expect("static"),
            );
            r
        }
        ["insecure"] => {
            let mut r = text(StatusCode::OK, "<!doctype html><title>legacy</title>");
            r.headers_mut()
                .insert("content-type", "text/html".parse().expect("static"));
            r
        }
        ["big", n] => {
            let n = n.parse::<usize>().unwrap_or(0).min(64 * 1024 * 1024);
            text(StatusCode::OK, vec![b'a'; n])
        }
        ["redirect", n] => match n.parse::<u32>() {
            Ok(0) => text(StatusCode::OK, "arrived"),
            Ok(n) => redirect(&format!("/redirect/{}", n - 1)),
            Err(_) => text(StatusCode::BAD_REQUEST, "bad count"),
        },
        ["redirect-loop"] => redirect("/redirect-loop"),
        ["redirect-to"] => match q.get("url") {
            Some(to) if to.parse::<hyper::header::HeaderValue>().is_ok() => redirect(to),
            _ => text(StatusCode::BAD_REQUEST, "redirect-to?url=…"),
        },
        ["prom", mode, "api", "v1", "query"] => prom_proxy(mode),
        ["oauth", "token"] => {
            let method = req.method().clone();
            let auth = header(&req, "authorization");
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let (status, v) = crate::oauth::token(&state.tokens, &method, auth.as_deref(), &body);
            let mut r = json_resp(status, v);
            r.headers_mut()
                .insert("cache-control", "no-store".parse().expect("static header"));
            r
        }
        ["api", "me"] | ["api", "admin", "users"] => {
            let auth = header(&req, "authorization");
            let which = parts.last().copied().unwrap_or_default();
            let (status, v) = crate::oauth::protected(&state.tokens, which, auth.as_deref());
            json_resp(status, v)
        }
        ["hang"] => {
            std::future::pending::<()>().await;
            text(StatusCode::OK, "unreachable")
        }
        ["fail-once-after", key, ok] => {
            // OK for the first `ok` requests, 503 once, then OK again: a blip mid-window.
            let ok = ok.parse::<u32>().unwrap_or(0);
            let n = {
                let mut m = state.flaky.lock().unwrap_or_else(|p| p.into_inner());
                let c = m.entry(format!("fail-once-after/{key}")).or_insert(0);
                *c += 1;
                *c
            };
            if n == ok + 1 {
                json_resp(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({"request": n, "status": "blip"}),
                )
            } else {
                json_resp(StatusCode::OK, json!({"request": n, "status": "ok"}))
            }
        }
        ["flaky", key, fails] => {
            let fails = fails.parse::<u32>().unwrap_or(0);
            let n = {
                let mut m = state.flaky.lock().unwrap_or_else(|p| p.into_inner());
                let c = m.entry((*key).to_string()).or_insert(0);
                *c += 1;
                *c
            };
            if n <= fails {
                json_resp(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({"attempt": n, "status": "warming up"}),
                )
            } else {
                json_resp(StatusCode::OK, json!({"attempt": n, "status": "ok"}))
            }
        }
        ["echo"] => {
            let method = req.method().to_string();
            let headers: serde_json::Map<String, serde_json::Value> = req
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), json!(String::from_utf8_lossy(v.as_bytes()))))
                .collect();
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            json_resp(
                StatusCode::OK,
                json!({"method": method, "headers": headers, "body": String::from_utf8_lossy(&body)}),
            )
        }
        ["wh", name] => {
            let (method, headers) = (req.method().clone(), req.headers().clone());
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            match crate::webhooks::receive(name, &method, &headers, &body).await {
                Some((status, v)) => json_resp(status, v),
                None => json_resp(
                    StatusCode::NOT_FOUND,
                    json!({"error": "no such webhook receiver", "path": path}),
                ),
            }
        }
        ["metrics"] => metrics(&state),
        ["hostile"] => hostile(),
        [""] => text(StatusCode::OK, "preflight testbed"),
        _ => json_resp(
            StatusCode::NOT_FOUND,
            json!({"error": "not found", "path": path}),
        ),
    };
    *state
        .served
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(resp.status().as_u16())
        .or_insert(0) += 1;
    Ok(resp)
}

/// Prometheus text exposition: real request counts by status, and a database pool
/// of 20 with 4 connections in use.
fn metrics(state: &State) -> Resp {
    let mut out = String::from(
        "# HELP testbed_http_requests_total Responses served, by status code.\n\
         # TYPE testbed_http_requests_total counter\n",
    );
    let served = state.served.lock().unwrap_or_else(|p| p.into_inner());
    for (code, n) in served.iter() {
        out.push_str(&format!(
            "testbed_http_requests_total{{code=\"{code}\"}} {n}\n"
        ));
    }
    drop(served);
    out.push_str(
        "# HELP testbed_db_pool_connections Database pool connections, by state.\n\
         # TYPE testbed_db_pool_connections gauge\n\
         testbed_db_pool_connections{state=\"in_use\"} 4\n\
         testbed_db_pool_connections{state=\"idle\"} 16\n\
         # HELP testbed_db_pool_max Size of the database pool.\n\
         # TYPE testbed_db_pool_max gauge\n\
         testbed_db_pool_max 20\n",
    );
    let mut r = text(StatusCode::OK, out);
    r.headers_mut().insert(
        "content-type",
        "text/plain; version=0.0.4; charset=utf-8"
            .parse()
            .expect("static header"),
    );
    r
}

fn header(req: &Request<Incoming>, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A Prometheus query API as a proxy in front of several (Thanos, Cortex) answers:
/// `error200` reports a failed query with HTTP 200; `partial` answers with the series
/// it has and a warning that a store did not answer; anything else a whole answer.
fn prom_proxy(mode: &str) -> Resp {
    let series = json!([{"metric": {"job": "api"}, "value": [1_700_000_000.0, "1"]}]);
    match mode {
        "error200" => json_resp(
            StatusCode::OK,
            json!({"status": "error", "errorType": "execution",
                   "error": "expanding series: context deadline exceeded"}),
        ),
        "partial" => json_resp(
            StatusCode::OK,
            json!({"status": "success",
                   "data": {"resultType": "vector", "result": series},
                   "warnings": ["partial response: store 10.0.0.3:10901 (eu-west) unavailable"]}),
        ),
        _ => json_resp(
            StatusCode::OK,
            json!({"status": "success", "data": {"resultType": "vector", "result": series}}),
        ),
    }
}

/// Markup a report must show as text, never run: in the body, a header and a
/// redirect target (for the HTML report's escaping tests).
pub const HOSTILE_BODY: &str = "</td></tr></table></details><script>window.__pwned=1</script>\
<a href=\"javascript:window.__pwned=2\">click</a><img src=x onerror=\"window.__pwned=3\"> \"quoted\" 'single' & done";
/// The `x-hostile` header of `/hostile`.
pub const HOSTILE_HEADER: &str =
    "\"><script>window.__pwned=4</script><a href=\"javascript:alert(1)\">";

fn hostile() -> Resp {
    let mut r = text(StatusCode::OK, HOSTILE_BODY);
    let h = r.headers_mut();
    h.insert("content-type", "text/html".parse().expect("static"));
    h.insert("x-hostile", HOSTILE_HEADER.parse().expect("static"));
    h.insert(
        "link",
        "<javascript:alert(1)>; rel=\"preload\""
            .parse()
            .expect("static"),
    );
    r
}

fn redirect(to: &str) -> Resp {
    let mut r = text(StatusCode::FOUND, "");
    r.headers_mut().insert(
        "location",
        to.parse().expect("redirect target is a valid header"),
    );
    r
}
