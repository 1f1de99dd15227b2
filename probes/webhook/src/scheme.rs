//! Signature schemes, each written from its provider's published algorithm.
//!
//! | scheme | header(s) | signed string | key |
//! |---|---|---|---|
//! | `stripe` | `Stripe-Signature: t=<unix>,v1=<hex>` | `<t>.<body>` | the whole secret string |
//! | `github` | `X-Hub-Signature-256: sha256=<hex>` | `<body>` | the secret string |
//! | `standard-webhooks` | `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>` | `<id>.<ts>.<body>` | base64-decoded part after `whsec_` |
//! | `sumsub` | `X-Payload-Digest: <hex>`, `X-Payload-Digest-Alg: HMAC_SHA256_HEX` | `<body>` | the secret string |
//! | `hmac-sha256` | `<header>: <prefix><hex or base64>` | `<body>` | the secret string |
//!
//! Every MAC is HMAC-SHA256.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// A provider's signature scheme, as written in `scheme = "…"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(title = "scheme")]
pub enum SchemeName {
    /// Stripe: `Stripe-Signature: t=…,v1=…`.
    Stripe,
    /// GitHub: `X-Hub-Signature-256: sha256=…`.
    Github,
    /// Standard Webhooks (Svix and others): `webhook-id`/`-timestamp`/`-signature`.
    StandardWebhooks,
    /// Sumsub: `X-Payload-Digest` with `X-Payload-Digest-Alg: HMAC_SHA256_HEX`.
    Sumsub,
    /// A plain HMAC-SHA256 of the body in a header of your choice.
    #[serde(rename = "hmac-sha256")]
    HmacSha256,
}

impl SchemeName {
    /// The name as written in a checklist.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemeName::Stripe => "stripe",
            SchemeName::Github => "github",
            SchemeName::StandardWebhooks => "standard-webhooks",
            SchemeName::Sumsub => "sumsub",
            SchemeName::HmacSha256 => "hmac-sha256",
        }
    }
}

/// How `hmac-sha256` writes the MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(title = "encoding")]
pub enum Encoding {
    /// Lower-case hexadecimal (default).
    #[default]
    Hex,
    /// Standard base64 with padding.
    Base64,
}

/// One test event: what all three requests share.
#[derive(Debug, Clone)]
pub struct Event {
    /// Event or message id (`webhook-id`, `X-GitHub-Delivery`).
    pub id: String,
    /// Unix seconds, the current time.
    pub timestamp: u64,
    /// The body sent, byte for byte.
    pub body: Vec<u8>,
}

/// Signs events for one scheme with one key. Never prints the key.
#[derive(Clone)]
pub struct Signer {
    scheme: SchemeName,
    key: Vec<u8>,
    header: String,
    encoding: Encoding,
    prefix: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("scheme", &self.scheme)
            .field("key", &"****")
            .finish()
    }
}

/// The default header of `hmac-sha256`.
pub const DEFAULT_HMAC_HEADER: &str = "X-Signature";

/// Prefix of Standard Webhooks secrets.
pub const WHSEC_PREFIX: &str = "whsec_";

/// The key bytes a scheme signs with. Errors never quote the secret.
pub fn key_of(scheme: SchemeName, secret: &str) -> Result<Vec<u8>, String> {
    if secret.is_empty() {
        return Err("`secret` is empty".into());
    }
    match scheme {
        SchemeName::StandardWebhooks => {
            let b64 = secret.strip_prefix(WHSEC_PREFIX).unwrap_or(secret);
            let key = BASE64.decode(b64.trim()).map_err(|_| {
                "`secret` is not a Standard Webhooks secret: the part after `whsec_` must be base64"
                    .to_string()
            })?;
            if key.is_empty() {
                return Err("`secret` has an empty key after `whsec_`".into());
            }
            Ok(key)
        }
        _ => Ok(secret.as_bytes().to_vec()),
    }
}

impl Signer {
    /// A signer; `header`, `encoding` and `prefix` matter only for `hmac-sha256`.
    pub fn new(
        scheme: SchemeName,
        secret: &str,
        header: Option<&str>,
        encoding: Encoding,
        prefix: &str,
    ) -> Result<Signer, String> {
        Ok(Signer {
            scheme,
            key: key_of(scheme, secret)?,
            header: header.unwrap_or(DEFAULT_HMAC_HEADER).to_string(),
            encoding,
            prefix: prefix.to_string(),
        })
    }

    /// The scheme this signer implements.
    pub fn scheme(&self) -> SchemeName {
        self.scheme
    }

    fn mac(&self, parts: &[&[u8]]) -> Vec<u8> {
        // HMAC accepts keys of any length; the error branch is unreachable.
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().to_vec()
    }

    /// Headers every request of the event carries, signed or not (ids, timestamps,
    /// event names): a receiver should reject the forgeries for their signature alone.
    pub fn metadata_headers(&self, event: &Event) -> Vec<(String, String)> {
        match self.scheme {
            SchemeName::StandardWebhooks => vec![
                ("webhook-id".into(), event.id.clone()),
                ("webhook-timestamp".into(), event.timestamp.to_string()),
            ],
            SchemeName::Github => vec![
                ("X-GitHub-Event".into(), "ping".into()),
                ("X-GitHub-Delivery".into(), event.id.clone()),
            ],
            _ => Vec::new(),
        }
    }

    /// The signature header(s) for `signed_body`. The signed request passes the event's
    /// own body; the tampered request passes a different one.
    pub fn signature_headers(&self, event: &Event, signed_body: &[u8]) -> Vec<(String, String)> {
        match self.scheme {
            SchemeName::Stripe => {
                let t = event.timestamp.to_string();
                let mac = self.mac(&[t.as_bytes(), b".", signed_body]);
                vec![("Stripe-Signature".into(), format!("t={t},v1={}", hex(&mac)))]
            }
            SchemeName::Github => {
                let mac = self.mac(&[signed_body]);
                vec![(
                    "X-Hub-Signature-256".into(),
                    format!("sha256={}", hex(&mac)),
                )]
            }
            SchemeName::StandardWebhooks => {
                let t = event.timestamp.to_string();
                let mac = self.mac(&[event.id.as_bytes(), b".", t.as_bytes(), b".", signed_body]);
                vec![(
                    "webhook-signature".into(),
                    format!("v1,{}", BASE64.encode(mac)),
                )]
            }
            SchemeName::Sumsub => {
                let mac = self.mac(&[signed_body]);
                vec![
                    ("X-Payload-Digest".into(), hex(&mac)),
                    ("X-Payload-Digest-Alg".into(), "HMAC_SHA256_HEX".into()),
                ]
            }
            SchemeName::HmacSha256 => {
                let mac = self.mac(&[signed_body]);
                let encoded = match self.encoding {
                    Encoding::Hex => hex(&mac),
                    Encoding::Base64 => BASE64.encode(mac),
                };
                vec![(self.header.clone(), format!("{}{encoded}", self.prefix))]
            }
        }
    }
}

/// Lower-case hexadecimal.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    //! Each scheme is checked by a verifier written here from the provider's
    //! documentation (not by calling the signer's MAC code), plus published vectors.

    use super::*;

    /// HMAC-SHA256 from the RFC 2104 definition over SHA-256, independent of `hmac`.
    fn rfc2104(key: &[u8], msg: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        let mut k = if key.len() > 64 {
            Sha256::digest(key).to_vec()
        } else {
            key.to_vec()
        };
        k.resize(64, 0);
        let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
        let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
        let inner = Sha256::new()
            .chain_update(&ipad)
            .chain_update(msg)
            .finalize();
        Sha256::new()
            .chain_update(&opad)
            .chain_update(inner)
            .finalize()
            .to_vec()
    }

    fn lower_hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn header<'a>(h: &'a [(String, String)], name: &str) -> &'a str {
        h.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no header {name} in {h:?}"))
    }

    fn event(body: &str) -> Event {
        Event {
            id: "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W".into(),
            timestamp: 1_700_000_000,
            body: body.as_bytes().to_vec(),
        }
    }

    /// Stripe docs: split on `,`, take `t` and every `v1`, HMAC(secret, "t.payload").
    fn stripe_verifies(secret: &str, h: &str, body: &[u8]) -> bool {
        let mut t = None;
        let mut v1 = Vec::new();
        for part in h.split(',') {
            match part.split_once('=') {
                Some(("t", v)) => t = Some(v.to_string()),
                Some(("v1", v)) => v1.push(v.to_string()),
                _ => {}
            }
        }
        let Some(t) = t else { return false };
        let signed = [t.as_bytes(), b".", body].concat();
        let expected = lower_hex(&rfc2104(secret.as_bytes(), &signed));
        v1.contains(&expected)
    }

    #[test]
    fn stripe_signature_verifies_and_rejects_other_bodies() {
        let secret = "whsec_test_secret_for_stripe";
        let s = Signer::new(SchemeName::Stripe, secret, None, Encoding::Hex, "").unwrap();
        let e = event(r#"{"id":"evt_1","object":"event"}"#);
        let h = s.signature_headers(&e, &e.body);
        let v = header(&h, "Stripe-Signature");
        assert!(v.starts_with("t=1700000000,v1="), "{v}");
        assert!(stripe_verifies(secret, v, &e.body));
        assert!(!stripe_verifies("whsec_other", v, &e.body));
        let tampered = s.signature_headers(&e, b"{}");
        assert!(!stripe_verifies(
            secret,
            header(&tampered, "Stripe-Signature"),
            &e.body
        ));
    }

    #[test]
    fn github_matches_the_documented_vector() {
        // docs.github.com, "Validating webhook deliveries": this secret and payload give
        // this signature.
        let s = Signer::new(
            SchemeName::Github,
            "It's a Secret to Everybody",
            None,
            Encoding::Hex,
            "",
        )
        .unwrap();
        let e = event("Hello, World!");
        let h = s.signature_headers(&e, &e.body);
        assert_eq!(
            header(&h, "X-Hub-Signature-256"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
        assert_eq!(
            header(&h, "X-Hub-Signature-256"),
            format!(
                "sha256={}",
                lower_hex(&rfc2104(b"It's a Secret to Everybody", b"Hello, World!"))
            )
        );
        assert_eq!(header(&s.metadata_headers(&e), "X-GitHub-Event"), "ping");
    }

    /// Standard Webhooks spec: strip `whsec_`, base64-decode, HMAC "id.ts.body",
    /// `webhook-signature` is a space-separated list of `v1,<base64>`.
    fn standard_verifies(secret: &str, id: &str, ts: &str, sigs: &str, body: &[u8]) -> bool {
        let key = BASE64.decode(secret.trim_start_matches("whsec_")).unwrap();
        let content = [id.as_bytes(), b".", ts.as_bytes(), b".", body].concat();
        let expected = BASE64.encode(rfc2104(&key, &content));
        sigs.split(' ')
            .filter_map(|s| s.split_once(','))
            .any(|(v, sig)| v == "v1" && sig == expected)
    }

    #[test]
    fn standard_webhooks_matches_the_reference_vector() {
        // The reference libraries' test vector (standard-webhooks / svix).
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let s = Signer::new(
            SchemeName::StandardWebhooks,
            secret,
            None,
            Encoding::Hex,
            "",
        )
        .unwrap();
        let e = Event {
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek".into(),
            timestamp: 1_614_265_330,
            body: br#"{"test": 2432232314}"#.to_vec(),
        };
        let h = s.signature_headers(&e, &e.body);
        let sig = header(&h, "webhook-signature");
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let meta = s.metadata_headers(&e);
        assert!(standard_verifies(
            secret,
            header(&meta, "webhook-id"),
            header(&meta, "webhook-timestamp"),
            sig,
            &e.body
        ));
        let t = s.signature_headers(&e, b"{}");
        assert!(!standard_verifies(
            secret,
            &e.id,
            "1614265330",
            header(&t, "webhook-signature"),
            &e.body
        ));
    }

    #[test]
    fn standard_webhooks_secret_must_be_base64() {
        let e = key_of(SchemeName::StandardWebhooks, "whsec_not base64!!").unwrap_err();
        assert!(
            !e.contains("not base64!!"),
            "the error quotes the secret: {e}"
        );
        assert_eq!(
            key_of(SchemeName::StandardWebhooks, "whsec_AAEC").unwrap(),
            vec![0, 1, 2]
        );
        assert!(key_of(SchemeName::Stripe, "").is_err());
    }

    #[test]
    fn sumsub_digest_is_hex_hmac_of_the_body() {
        let secret = "sumsub-secret-key";
        let s = Signer::new(SchemeName::Sumsub, secret, None, Encoding::Hex, "").unwrap();
        let e = event(r#"{"type":"applicantReviewed"}"#);
        let h = s.signature_headers(&e, &e.body);
        assert_eq!(header(&h, "X-Payload-Digest-Alg"), "HMAC_SHA256_HEX");
        assert_eq!(
            header(&h, "X-Payload-Digest"),
            lower_hex(&rfc2104(secret.as_bytes(), &e.body))
        );
    }

    #[test]
    fn generic_hmac_honours_header_encoding_and_prefix() {
        let secret = "generic-secret";
        let e = event("payload");
        let s = Signer::new(SchemeName::HmacSha256, secret, None, Encoding::Hex, "").unwrap();
        let h = s.signature_headers(&e, &e.body);
        assert_eq!(
            header(&h, "X-Signature"),
            lower_hex(&rfc2104(secret.as_bytes(), b"payload"))
        );
        let s = Signer::new(
            SchemeName::HmacSha256,
            secret,
            Some("X-Webhook-Signature"),
            Encoding::Base64,
            "sha256=",
        )
        .unwrap();
        let h = s.signature_headers(&e, &e.body);
        assert_eq!(
            header(&h, "X-Webhook-Signature"),
            format!(
                "sha256={}",
                BASE64.encode(rfc2104(secret.as_bytes(), b"payload"))
            )
        );
    }

    #[test]
    fn rfc2104_helper_matches_rfc4231_case_2() {
        // RFC 4231 test case 2, so the independent verifier is itself checked.
        assert_eq!(
            lower_hex(&rfc2104(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn debug_does_not_show_the_key() {
        let s = Signer::new(
            SchemeName::Github,
            "topsecretvalue",
            None,
            Encoding::Hex,
            "",
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("topsecretvalue"));
    }
}
