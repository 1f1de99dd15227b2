//! Masks secrets in everything preflight writes.
//!
//! Two rules: every known secret string (env values, URL and DSN passwords, sensitive
//! header values, secret options) is replaced wherever it appears, and values under
//! keys that are named like secrets are replaced whole.

use serde_json::Value;

/// The mask shown instead of a secret.
pub const MASK: &str = "****";

/// Secrets shorter than this are not masked by substring: masking "1" everywhere would
/// make every report unreadable. Documented in the README.
pub const MIN_SECRET_LEN: usize = 4;

/// Replaces known secrets in text and JSON.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// Adds a secret; short or duplicate values are ignored.
    pub fn add(&mut self, secret: &str) {
        if secret.len() >= MIN_SECRET_LEN && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_string());
            // Longest first, so a secret containing another is masked whole.
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// Adds the URL-encoded and decoded forms of a URL's password, if it has one.
    pub fn add_url_password(&mut self, text: &str) {
        if let Some(pw) = url_password(text) {
            self.add(&pw);
            self.add(&percent_decode(&pw));
        }
    }

    /// Adds the user name and password of a URL (`http://user:pass@proxy:3128`), both
    /// as written and percent-decoded: a proxy's credentials are secret as a pair.
    pub fn add_url_credentials(&mut self, text: &str) {
        self.add_url_password(text);
        if let Some(user) = url_user(text) {
            self.add(&user);
            self.add(&percent_decode(&user));
        }
    }

    /// How many secrets it knows (it only grows: a changed count means new secrets).
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Whether it knows no secret.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Merges another redactor's secrets.
    pub fn extend(&mut self, other: &Redactor) {
        for s in &other.secrets {
            self.add(s);
        }
    }

    /// Text with every secret masked.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        out
    }

    /// [`Redactor::json`] in place: the same result, without copying a tree that
    /// holds no secret (what a long run does for every item's facts).
    pub fn mask_json(&self, value: &mut Value) {
        match value {
            Value::String(s) if self.secrets.iter().any(|x| s.contains(x.as_str())) => {
                *s = self.text(s);
            }
            Value::Array(a) => a.iter_mut().for_each(|v| self.mask_json(v)),
            Value::Object(m) => {
                let renamed = m
                    .keys()
                    .any(|k| self.secrets.iter().any(|x| k.contains(x.as_str())));
                if renamed {
                    *value = self.json(value);
                    return;
                }
                for (k, v) in m.iter_mut() {
                    if is_secret_name(k) && v.is_string() {
                        *v = Value::String(MASK.into());
                    } else {
                        self.mask_json(v);
                    }
                }
            }
            _ => {}
        }
    }

    /// A JSON tree with secrets masked, and values under secret-named keys replaced.
    pub fn json(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(a) => Value::Array(a.iter().map(|v| self.json(v)).collect()),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| {
                        // Only text can carry a secret; numbers and booleans under a
                        // secret-looking name (entropy bits, flags) stay readable.
                        let v = if is_secret_name(k) && v.is_string() {
                            Value::String(MASK.into())
                        } else {
                            self.json(v)
                        };
                        (self.text(k), v)
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// The text with secrets written literally in a checklist masked character by
/// character (same length, so byte offsets of error snippets stay right): URL
/// passwords, and string values of keys named like secrets.
pub fn mask_source(text: &str) -> String {
    let mut out = text.to_string();
    let mut ranges = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        if let Some((key, rest)) = line.split_once('=') {
            let key = key.trim().trim_matches('"');
            let value = rest.trim();
            if is_secret_name(key) && value.starts_with('"') && !value.starts_with("\"${") {
                let open = line.len() - rest.len() + rest.find('"').unwrap_or(0) + 1;
                if let Some(close) = line[open..].find('"') {
                    ranges.push(line_start + open..line_start + open + close);
                }
            }
        }
        let mut search = 0;
        while let Some(pos) = line[search..].find("://") {
            let start = search + pos + 3;
            let end = line[start..]
                .find(['/', '?', '#', '"', '\'', ' ', '\n'])
                .map_or(line.len(), |e| start + e);
            let authority = &line[start..end];
            if let Some(at) = authority.rfind('@')
                && let Some(colon) = authority[..at].find(':')
            {
                ranges.push(line_start + start + colon + 1..line_start + start + at);
            }
            search = end.max(start);
        }
        line_start += line.len();
    }
    for r in ranges {
        let stars: String = out[r.clone()].chars().map(|_| '*').collect();
        if stars.len() == r.len() {
            out.replace_range(r, &stars);
        }
    }
    out
}

/// Whether a header or field name marks its value as a secret
/// (`authorization`, `cookie`, `*token*`, `*secret*`, `*key*`, `*password*`).
pub fn is_secret_name(name: &str) -> bool {
    // Called for every key of every fact: short keys are lowered on the stack.
    let mut buf = [0u8; 64];
    let owned;
    let n: &str = if name.len() <= buf.len() {
        let b = &mut buf[..name.len()];
        b.copy_from_slice(name.as_bytes());
        b.make_ascii_lowercase();
        std::str::from_utf8(b).unwrap_or(name)
    } else {
        owned = name.to_ascii_lowercase();
        &owned
    };
    n == "authorization"
        || n == "proxy-authorization"
        || n.contains("cookie")
        || n.contains("token")
        || n.contains("secret")
        || n.contains("password")
        || n.contains("passwd")
        || n.ends_with("key")
        || n.contains("key-")
        || n.contains("key_")
        || n.contains("apikey")
}

/// The password part of `scheme://user:password@host…`.
pub fn url_password(text: &str) -> Option<String> {
    let rest = &text[text.find("://")? + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let at = authority.rfind('@')?;
    let userinfo = &authority[..at];
    let colon = userinfo.find(':')?;
    let pw = &userinfo[colon + 1..];
    (!pw.is_empty()).then(|| pw.to_string())
}

/// The user part of `scheme://user[:password]@host…`.
pub fn url_user(text: &str) -> Option<String> {
    let rest = &text[text.find("://")? + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let at = authority.rfind('@')?;
    let user = authority[..at].split(':').next().unwrap_or_default();
    (!user.is_empty()).then(|| user.to_string())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_in_place_is_masking_a_copy() {
        let mut r = Redactor::default();
        r.add("hunter22");
        for v in [
            serde_json::json!({"a": "x hunter22 y", "token": "abc", "n": {"password": 5, "l": ["hunter22", 1]}}),
            serde_json::json!({"hunter22-key": "v", "b": "c"}),
            serde_json::json!("plain"),
        ] {
            let mut inplace = v.clone();
            r.mask_json(&mut inplace);
            assert_eq!(inplace, r.json(&v));
        }
    }
    use serde_json::json;

    #[test]
    fn masks_known_secrets_and_secret_keys() {
        let mut r = Redactor::default();
        r.add("s3cr3t-value");
        r.add("ab"); // too short, ignored
        assert_eq!(r.text("token=s3cr3t-value;ab"), "token=****;ab");
        let v = r.json(&json!({"headers": {"authorization": "Bearer x", "x": "s3cr3t-value!"}}));
        assert_eq!(
            v,
            json!({"headers": {"authorization": "****", "x": "****!"}})
        );
    }

    #[test]
    fn finds_url_passwords() {
        assert_eq!(
            url_password("postgres://u:p%40ss@h:5432/db").as_deref(),
            Some("p%40ss")
        );
        assert_eq!(url_password("https://h/x@y"), None);
        let mut r = Redactor::default();
        r.add_url_password("postgres://u:p%40ssword@h/db");
        assert_eq!(r.text("failed: p@ssword"), "failed: ****");
    }

    #[test]
    fn url_credentials_are_masked_as_a_pair() {
        let mut r = Redactor::default();
        r.add_url_credentials("http://ci-robot:s%40fe-pass@proxy.internal:3128");
        assert_eq!(
            r.text("via ci-robot / s@fe-pass / s%40fe-pass"),
            "via **** / **** / ****"
        );
        assert_eq!(url_user("http://proxy:3128"), None);
        assert_eq!(url_user("http://u@proxy:3128").as_deref(), Some("u"));
    }

    #[test]
    fn literal_secrets_in_source_are_masked_in_place() {
        let t = "url = \"redis://u:hunter22@h:6379\"\nsecret = \"whsec_abc\"\nname = \"x\"\n";
        let m = mask_source(t);
        assert_eq!(m.len(), t.len());
        assert!(!m.contains("hunter22") && !m.contains("whsec_abc"), "{m}");
        assert!(m.contains("name = \"x\""));
    }

    #[test]
    fn numbers_under_secret_names_stay_readable() {
        let r = Redactor::default();
        let v = r.json(&json!({"entropy_bits": {"JWT_SECRET": 128.5}, "api_key": "abc"}));
        assert_eq!(
            v,
            json!({"entropy_bits": {"JWT_SECRET": 128.5}, "api_key": "****"})
        );
    }

    #[test]
    fn secret_names() {
        for n in [
            "Authorization",
            "Set-Cookie",
            "x-api-key",
            "GITHUB_TOKEN",
            "client_secret",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in ["content-type", "keep-alive", "status", "monkeys"] {
            assert!(!is_secret_name(n), "{n}");
        }
    }
}
