//! An OAuth-style client-credentials token endpoint and an API that wants its bearer
//! token, on the testbed's API (plain and TLS):
//!
//! - `POST /oauth/token`, a form body `grant_type=client_credentials&client_id=…&
//!   client_secret=…` (or the client in HTTP Basic auth) → `{"access_token", "token_type":
//!   "Bearer", "expires_in", "scope"}`; a fresh random token each time;
//! - `GET /api/me` with `Authorization: Bearer TOKEN` → the token's client and scope;
//! - `GET /api/admin/users` → 200 for a token of scope `admin`, 403 for any other.
//!
//! Without a valid token both answer 401. Two clients: [`CLIENT_ID`] (scope `read`)
//! and [`ADMIN_CLIENT_ID`] (scope `admin`).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use hyper::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The smoke-test client: scope `read`.
pub const CLIENT_ID: &str = "smoke-test";
/// Its secret.
pub const CLIENT_SECRET: &str = "testbed-oauth-secret-5d1f9a";
/// A client with scope `admin`.
pub const ADMIN_CLIENT_ID: &str = "admin-bot";
/// Its secret.
pub const ADMIN_CLIENT_SECRET: &str = "testbed-oauth-admin-secret-c07e42";

/// Tokens issued so far, with their client and scope.
#[derive(Default)]
pub struct Tokens {
    issued: Mutex<Vec<(String, &'static str, &'static str)>>,
    counter: AtomicU64,
}

impl Tokens {
    /// Every token issued so far, oldest first.
    pub fn issued(&self) -> Vec<String> {
        self.lock().iter().map(|(t, _, _)| t.clone()).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, &'static str, &'static str)>> {
        self.issued.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn mint(&self, client: &'static str, scope: &'static str) -> String {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let digest = Sha256::digest(format!("{n}:{nanos}:{client}:{:p}", self).as_bytes());
        let token = format!(
            "pf_at_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..24])
        );
        self.lock().push((token.clone(), client, scope));
        token
    }

    /// The client and scope of a bearer token from an `Authorization` header.
    fn holder(&self, authorization: Option<&str>) -> Option<(&'static str, &'static str)> {
        let token = authorization?.strip_prefix("Bearer ")?.trim();
        self.lock()
            .iter()
            .find(|(t, _, _)| t == token)
            .map(|(_, c, s)| (*c, *s))
    }
}

/// Decodes `application/x-www-form-urlencoded`.
fn form(body: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%'
                && let Some(b) = s
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

/// `Basic base64(id:secret)`.
fn basic(authorization: Option<&str>) -> Option<(String, String)> {
    let b64 = authorization?.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// `POST /oauth/token`.
pub fn token(
    tokens: &Tokens,
    method: &hyper::Method,
    authorization: Option<&str>,
    body: &[u8],
) -> (StatusCode, Value) {
    if method != hyper::Method::POST {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": "invalid_request", "error_description": "POST the token request"}),
        );
    }
    let fields = form(body);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if field("grant_type").as_deref() != Some("client_credentials") {
        return (
            StatusCode::BAD_REQUEST,
            json!({"error": "unsupported_grant_type"}),
        );
    }
    let (id, secret) = match basic(authorization) {
        Some(pair) => pair,
        None => (
            field("client_id").unwrap_or_default(),
            field("client_secret").unwrap_or_default(),
        ),
    };
    let client = match (id.as_str(), secret.as_str()) {
        (CLIENT_ID, CLIENT_SECRET) => Some((CLIENT_ID, "read")),
        (ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET) => Some((ADMIN_CLIENT_ID, "admin")),
        _ => None,
    };
    let Some((client, scope)) = client else {
        return (StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"}));
    };
    let access_token = tokens.mint(client, scope);
    (
        StatusCode::OK,
        json!({"access_token": access_token, "token_type": "Bearer", "expires_in": 3600, "scope": scope}),
    )
}

/// `GET /api/me` and `GET /api/admin/users`.
pub fn protected(tokens: &Tokens, path: &str, authorization: Option<&str>) -> (StatusCode, Value) {
    let Some((client, scope)) = tokens.holder(authorization) else {
        return (StatusCode::UNAUTHORIZED, json!({"error": "invalid_token"}));
    };
    match path {
        "me" => (StatusCode::OK, json!({"client_id": client, "scope": scope})),
        _ if scope == "admin" => (
            StatusCode::OK,
            json!({"users": [{"id": 1, "email": "ops@demo.test"}]}),
        ),
        _ => (
            StatusCode::FORBIDDEN,
            json!({"error": "insufficient_scope", "scope": scope}),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_basic_auth_decode() {
        assert_eq!(
            form(b"grant_type=client_credentials&client_id=a%2Bb&client_secret=c+d"),
            vec![
                ("grant_type".into(), "client_credentials".into()),
                ("client_id".into(), "a+b".into()),
                ("client_secret".into(), "c d".into())
            ]
        );
        assert_eq!(
            basic(Some("Basic c21va2UtdGVzdDpzM2NyM3Q=")),
            Some(("smoke-test".into(), "s3cr3t".into()))
        );
    }

    #[test]
    fn tokens_are_fresh_and_scoped() {
        let t = Tokens::default();
        let body = format!(
            "grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
        );
        let (s1, v1) = token(&t, &hyper::Method::POST, None, body.as_bytes());
        let (_, v2) = token(&t, &hyper::Method::POST, None, body.as_bytes());
        assert_eq!(s1, StatusCode::OK);
        assert_ne!(v1["access_token"], v2["access_token"]);
        let bearer = format!("Bearer {}", v1["access_token"].as_str().expect("token"));
        assert_eq!(protected(&t, "me", Some(&bearer)).0, StatusCode::OK);
        assert_eq!(
            protected(&t, "users", Some(&bearer)).0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(protected(&t, "me", None).0, StatusCode::UNAUTHORIZED);
        let wrong = "grant_type=client_credentials&client_id=smoke-test&client_secret=nope";
        assert_eq!(
            token(&t, &hyper::Method::POST, None, wrong.as_bytes()).0,
            StatusCode::UNAUTHORIZED
        );
    }
}
