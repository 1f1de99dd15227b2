//! Webhook receivers, each verifying one provider's signature scheme the way that
//! provider's documentation tells a handler to, plus a careless one and a slow one.
//!
//! Routes (POST, any other method gets 405):
//!
//! | route | verifies | rejects with |
//! |---|---|---|
//! | `/wh/stripe` | `Stripe-Signature` (t, v1), timestamp at most 5 min old | 400 |
//! | `/wh/github` | `X-Hub-Signature-256` | 401 |
//! | `/wh/standard` | `webhook-id`/`-timestamp`/`-signature`, timestamp within ±5 min | 401 |
//! | `/wh/sumsub` | `X-Payload-Digest` with `X-Payload-Digest-Alg: HMAC_SHA256_HEX` | 401 |
//! | `/wh/hmac` | `X-Signature: <hex>` | 401 |
//! | `/wh/hmac-b64` | `X-Webhook-Signature: sha256=<base64>` | 401 |
//! | `/wh/careless` | nothing: accepts every request with 200 | — |
//! | `/wh/slow` | nothing: answers 200 after 60 s | — |
//!
//! A verified event gets 200 `{"received": true}`. The secrets are fixed test constants.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use hyper::{HeaderMap, Method, StatusCode};
use serde_json::json;
use sha2::Sha256;

/// Secret of `/wh/stripe` (Stripe signs with the whole string, `whsec_` included).
pub const STRIPE_SECRET: &str = "whsec_testbed_stripe_4eC39HqLyjWDarjtT1zdp7dc";
/// Secret of `/wh/github`.
pub const GITHUB_SECRET: &str = "testbed-github-secret-8f2b61";
/// Secret of `/wh/standard`: `whsec_` + base64 of the key bytes.
pub const STANDARD_SECRET: &str = "whsec_dGVzdGJlZC1zdGFuZGFyZC13ZWJob29rcy1rZXkhISE=";
/// Secret of `/wh/sumsub`.
pub const SUMSUB_SECRET: &str = "testbed-sumsub-secret-3c9d07";
/// Secret of `/wh/hmac` and `/wh/hmac-b64`.
pub const HMAC_SECRET: &str = "testbed-hmac-secret-71ae5f";
/// How old (Stripe) or how far off (Standard Webhooks) a timestamp may be.
pub const TOLERANCE_SECS: u64 = 300;
/// How long `/wh/slow` waits before answering.
pub const SLOW_SECS: u64 = 60;

/// Why a receiver rejected a request (the response body says it).
type Verdict = Result<(), &'static str>;

/// Handles `/wh/<name>`; `None` for an unknown name (the caller answers 404).
pub async fn receive(
    name: &str,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<(StatusCode, serde_json::Value)> {
    let (verdict, reject) = match name {
        "stripe" => (stripe(headers, body, now()), StatusCode::BAD_REQUEST),
        "github" => (github(headers, body), StatusCode::UNAUTHORIZED),
        "standard" => (standard(headers, body, now()), StatusCode::UNAUTHORIZED),
        "sumsub" => (sumsub(headers, body), StatusCode::UNAUTHORIZED),
        "hmac" => (
            generic(headers, body, "x-signature", "", false),
            StatusCode::UNAUTHORIZED,
        ),
        "hmac-b64" => (
            generic(headers, body, "x-webhook-signature", "sha256=", true),
            StatusCode::UNAUTHORIZED,
        ),
        "careless" => (Ok(()), StatusCode::OK),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(SLOW_SECS)).await;
            (Ok(()), StatusCode::OK)
        }
        _ => return None,
    };
    if method != Method::POST {
        return Some((
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": "webhooks are POSTed"}),
        ));
    }
    Some(match verdict {
        Ok(()) => (StatusCode::OK, json!({"received": true})),
        Err(why) => (reject, json!({"error": why})),
    })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Constant-time check of `sig` against HMAC(key, parts…).
fn verifies(key: &[u8], parts: &[&[u8]], sig: &[u8]) -> bool {
    let mut m = mac(key);
    for p in parts {
        m.update(p);
    }
    m.verify_slice(sig).is_ok()
}

/// Stripe: `Stripe-Signature: t=…,v1=…[,v1=…]`; HMAC(secret, "t.body"); any v1 may match;
/// reject timestamps older than the tolerance (Stripe's libraries default to 300 s).
fn stripe(headers: &HeaderMap, body: &[u8], now: u64) -> Verdict {
    let h = header(headers, "stripe-signature").ok_or("no Stripe-Signature header")?;
    let mut t = None;
    let mut v1 = Vec::new();
    for item in h.split(',') {
        match item.trim().split_once('=') {
            Some(("t", v)) => t = Some(v),
            Some(("v1", v)) => v1.push(v),
            _ => {}
        }
    }
    let t = t.ok_or("no timestamp in Stripe-Signature")?;
    let ts: u64 = t.parse().map_err(|_| "bad timestamp in Stripe-Signature")?;
    if v1.is_empty() {
        return Err("no v1 signature in Stripe-Signature");
    }
    let ok = v1
        .iter()
        .filter_map(|s| hex_decode(s))
        .any(|sig| verifies(STRIPE_SECRET.as_bytes(), &[t.as_bytes(), b".", body], &sig));
    if !ok {
        return Err("no signature matches the payload");
    }
    if now.saturating_sub(ts) > TOLERANCE_SECS {
        return Err("timestamp outside the tolerance zone");
    }
    Ok(())
}

/// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC(secret, body)>`.
fn github(headers: &HeaderMap, body: &[u8]) -> Verdict {
    let h = header(headers, "x-hub-signature-256").ok_or("no X-Hub-Signature-256 header")?;
    let sig = h
        .strip_prefix("sha256=")
        .and_then(hex_decode)
        .ok_or("malformed X-Hub-Signature-256")?;
    if verifies(GITHUB_SECRET.as_bytes(), &[body], &sig) {
        Ok(())
    } else {
        Err("signatures didn't match")
    }
}

/// Standard Webhooks: key = base64 after `whsec_`; HMAC("id.ts.body"), base64;
/// `webhook-signature` is space-separated `v1,<sig>`; timestamp within ±tolerance.
fn standard(headers: &HeaderMap, body: &[u8], now: u64) -> Verdict {
    let id = header(headers, "webhook-id").ok_or("missing webhook-id")?;
    let t = header(headers, "webhook-timestamp").ok_or("missing webhook-timestamp")?;
    let sigs = header(headers, "webhook-signature").ok_or("missing webhook-signature")?;
    let ts: u64 = t.parse().map_err(|_| "invalid webhook-timestamp")?;
    if now.saturating_sub(ts) > TOLERANCE_SECS {
        return Err("message timestamp too old");
    }
    if ts.saturating_sub(now) > TOLERANCE_SECS {
        return Err("message timestamp too new");
    }
    let key = BASE64
        .decode(STANDARD_SECRET.trim_start_matches("whsec_"))
        .map_err(|_| "bad receiver key")?;
    let ok = sigs
        .split(' ')
        .filter_map(|s| s.split_once(','))
        .filter(|(v, _)| *v == "v1")
        .filter_map(|(_, s)| BASE64.decode(s).ok())
        .any(|sig| verifies(&key, &[id.as_bytes(), b".", t.as_bytes(), b".", body], &sig));
    if ok {
        Ok(())
    } else {
        Err("no matching signature found")
    }
}

/// Sumsub: `X-Payload-Digest: <hex HMAC(secret, body)>`, algorithm in
/// `X-Payload-Digest-Alg` (only `HMAC_SHA256_HEX` here).
fn sumsub(headers: &HeaderMap, body: &[u8]) -> Verdict {
    let digest = header(headers, "x-payload-digest").ok_or("no X-Payload-Digest header")?;
    match header(headers, "x-payload-digest-alg") {
        Some("HMAC_SHA256_HEX") => {}
        _ => return Err("unsupported X-Payload-Digest-Alg"),
    }
    let sig = hex_decode(digest).ok_or("malformed X-Payload-Digest")?;
    if verifies(SUMSUB_SECRET.as_bytes(), &[body], &sig) {
        Ok(())
    } else {
        Err("digest mismatch")
    }
}

/// A plain HMAC-SHA256 of the body in `name`, hex or base64, after `prefix`.
fn generic(headers: &HeaderMap, body: &[u8], name: &str, prefix: &str, b64: bool) -> Verdict {
    let h = header(headers, name).ok_or("no signature header")?;
    let encoded = h.strip_prefix(prefix).ok_or("signature lacks its prefix")?;
    let sig = if b64 {
        BASE64.decode(encoded).ok()
    } else {
        hex_decode(encoded)
    }
    .ok_or("malformed signature")?;
    if verifies(HMAC_SECRET.as_bytes(), &[body], &sig) {
        Ok(())
    } else {
        Err("signature mismatch")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn stripe_headers(ts: u64, body: &[u8]) -> HeaderMap {
        let mut m = mac(STRIPE_SECRET.as_bytes());
        m.update(format!("{ts}.").as_bytes());
        m.update(body);
        let sig = hex(&m.finalize().into_bytes());
        let mut h = HeaderMap::new();
        h.insert(
            "stripe-signature",
            format!("t={ts},v1={sig}").parse().expect("header"),
        );
        h
    }

    #[test]
    fn stripe_rejects_stale_timestamps_and_accepts_fresh_ones() {
        let body = br#"{"id":"evt_1"}"#;
        let now = 1_700_000_000;
        assert_eq!(stripe(&stripe_headers(now, body), body, now), Ok(()));
        assert_eq!(
            stripe(&stripe_headers(now - TOLERANCE_SECS, body), body, now),
            Ok(())
        );
        assert_eq!(
            stripe(&stripe_headers(now - TOLERANCE_SECS - 1, body), body, now),
            Err("timestamp outside the tolerance zone")
        );
        assert_eq!(
            stripe(&stripe_headers(now, body), b"{}", now),
            Err("no signature matches the payload")
        );
    }

    #[test]
    fn standard_rejects_timestamps_too_old_or_too_new() {
        let key = BASE64
            .decode(STANDARD_SECRET.trim_start_matches("whsec_"))
            .expect("key");
        let body = b"{}";
        let now = 1_700_000_000u64;
        let headers = |ts: u64| {
            let mut m = mac(&key);
            m.update(format!("msg_1.{ts}.").as_bytes());
            m.update(body);
            let sig = BASE64.encode(m.finalize().into_bytes());
            let mut h = HeaderMap::new();
            h.insert("webhook-id", "msg_1".parse().expect("h"));
            h.insert("webhook-timestamp", ts.to_string().parse().expect("h"));
            h.insert(
                "webhook-signature",
                format!("v1,AAAA v1,{sig}").parse().expect("h"),
            );
            h
        };
        assert_eq!(standard(&headers(now), body, now), Ok(()));
        assert_eq!(
            standard(&headers(now - 301), body, now),
            Err("message timestamp too old")
        );
        assert_eq!(
            standard(&headers(now + 301), body, now),
            Err("message timestamp too new")
        );
    }

    #[test]
    fn hex_decoding() {
        assert_eq!(hex_decode("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(hex_decode("0"), None);
        assert_eq!(hex_decode("zz"), None);
    }
}
