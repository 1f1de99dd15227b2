//! `Set-Cookie` headers, one entry each (RFC 6265 §5.2 attribute parsing). Cookie
//! values are never reported: they are often session tokens.

use serde_json::{Value, json};

/// At most this many `Set-Cookie` headers become `cookies` entries; the rest are
/// dropped (the transport already refuses a response head larger than ~400 KB).
pub const MAX_COOKIES: usize = 200;
/// Attribute values (`Domain`, `Path`, `Expires`) are cut to this many characters.
const ATTR_CAP: usize = 256;

/// One parsed `Set-Cookie`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cookie {
    /// The cookie's name (before the first `=`).
    pub name: String,
    /// `Secure` was set.
    pub secure: bool,
    /// `HttpOnly` was set.
    pub http_only: bool,
    /// `SameSite` as written (`Strict`, `Lax`, `None`, or anything else), if set.
    pub same_site: Option<String>,
    /// `Domain`, without a leading dot.
    pub domain: Option<String>,
    /// `Path`.
    pub path: Option<String>,
    /// `Expires`, as written.
    pub expires: Option<String>,
    /// `Max-Age` in seconds, if it is an integer.
    pub max_age: Option<i64>,
}

fn cap(s: &str) -> String {
    s.chars().take(ATTR_CAP).collect()
}

/// Parses one `Set-Cookie` value; `None` when it has no `name=` pair.
pub fn parse(header: &str) -> Option<Cookie> {
    let mut parts = header.split(';');
    let (name, _) = parts.next()?.split_once('=')?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let mut c = Cookie {
        name: cap(name),
        ..Cookie::default()
    };
    for attr in parts {
        let (key, value) = match attr.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (attr.trim(), ""),
        };
        match key.to_ascii_lowercase().as_str() {
            "secure" => c.secure = true,
            "httponly" => c.http_only = true,
            "samesite" => c.same_site = Some(cap(value)),
            "domain" if !value.is_empty() => {
                c.domain = Some(cap(value.trim_start_matches('.')).to_ascii_lowercase());
            }
            "path" => c.path = Some(cap(value)),
            "expires" => c.expires = Some(cap(value)),
            "max-age" => c.max_age = value.parse().ok(),
            _ => {}
        }
    }
    Some(c)
}

impl Cookie {
    /// The cookie as a `cookies` entry.
    pub fn to_fact(&self) -> Value {
        json!({
            "name": self.name,
            "secure": self.secure,
            "http_only": self.http_only,
            "same_site": self.same_site,
            "domain": self.domain,
            "path": self.path,
            "expires": self.expires,
            "max_age": self.max_age,
        })
    }

    /// Looks like it carries a session or credential: the name holds `sess`, `auth`,
    /// `token`, `login` or `jwt`, or is or ends in `sid`.
    pub fn is_session(&self) -> bool {
        let n = self.name.to_ascii_lowercase();
        ["sess", "auth", "token", "login", "jwt"]
            .iter()
            .any(|w| n.contains(w))
            || n.ends_with("sid")
    }

    /// `SameSite` is one of the three values browsers know.
    pub fn same_site_valid(&self) -> bool {
        self.same_site
            .as_deref()
            .is_none_or(|s| ["strict", "lax", "none"].contains(&s.to_ascii_lowercase().as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_read_case_insensitively_and_values_never_kept() {
        let c = parse(
            "theme=dark; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT; SECURE; samesite=Strict",
        )
        .expect("cookie");
        assert_eq!(c.name, "theme");
        assert!(c.secure && !c.http_only);
        assert_eq!(c.same_site.as_deref(), Some("Strict"));
        assert_eq!(c.expires.as_deref(), Some("Wed, 21 Oct 2037 07:28:00 GMT"));
        assert_eq!(c.path.as_deref(), Some("/"));
        assert!(!c.to_fact().to_string().contains("dark"));
        let c = parse("sid=1; Domain=.Web.Test; Max-Age=60; HttpOnly").expect("cookie");
        assert_eq!(c.domain.as_deref(), Some("web.test"));
        assert_eq!(c.max_age, Some(60));
        assert!(c.http_only && c.is_session());
        assert!(parse("no-equals-sign").is_none());
        assert!(parse("=v").is_none());
        let c = parse("a=b; SameSite=Sometimes").expect("cookie");
        assert!(!c.same_site_valid() && !c.is_session());
    }
}
