//! Connection strings: `postgres://…` URLs and libpq `key=value` strings.
//!
//! Parsed here rather than by tokio-postgres so that `sslmode=verify-ca|verify-full`
//! and `sslrootcert` (which tokio-postgres rejects) work, and so that the password is
//! known for redaction in both forms.

use std::time::Duration;

/// How TLS is used, as in libpq.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain connection only.
    Disable,
    /// TLS when the server offers it (certificate not checked), else plain.
    Prefer,
    /// TLS required; certificate not checked (checked against `sslrootcert` if given).
    Require,
    /// TLS required; chain checked, host name not.
    VerifyCa,
    /// TLS required; chain and host name checked.
    VerifyFull,
}

impl SslMode {
    /// Parses a libpq `sslmode` value (`allow` is treated as `prefer`).
    pub fn parse(text: &str) -> Result<SslMode, String> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode \"{other}\" is not one of disable, prefer, require, verify-ca, verify-full"
                ));
            }
        })
    }
}

/// What a DSN says about how to connect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dsn {
    /// Hosts (names, IPs or unix socket folders), in order.
    pub hosts: Vec<String>,
    /// Ports, one for all hosts or one per host.
    pub ports: Vec<u16>,
    /// Role name.
    pub user: Option<String>,
    /// Password (a secret).
    pub password: Option<String>,
    /// Database name.
    pub dbname: Option<String>,
    /// `sslmode` from the DSN, if written there.
    pub sslmode: Option<SslMode>,
    /// `sslrootcert`: PEM file of the CA(s) to trust.
    pub sslrootcert: Option<String>,
    /// `connect_timeout`.
    pub connect_timeout: Option<Duration>,
    /// `options` (e.g. `-c search_path=app`).
    pub options: Option<String>,
}

/// Why a DSN without a user cannot be used.
pub const NO_USER: &str = "the DSN names no user (write postgres://USER:PASSWORD@HOST/DB)";

const KNOWN: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "user",
    "password",
    "dbname",
    "sslmode",
    "sslrootcert",
    "connect_timeout",
    "options",
    "application_name",
];

impl Dsn {
    /// Parses a URL (`postgres://` or `postgresql://`) or a `key=value` string.
    pub fn parse(text: &str) -> Result<Dsn, String> {
        let text = text.trim();
        let pairs = if let Some(rest) = text
            .strip_prefix("postgres://")
            .or_else(|| text.strip_prefix("postgresql://"))
        {
            url_pairs(rest)?
        } else if text.contains("://") {
            return Err("the DSN must start with postgres:// or postgresql://".into());
        } else {
            keyword_pairs(text)?
        };
        let mut dsn = Dsn::default();
        for (k, v) in pairs {
            dsn.set(&k, v)?;
        }
        Ok(dsn)
    }

    fn set(&mut self, key: &str, value: String) -> Result<(), String> {
        match key {
            "host" | "hostaddr" => {
                for h in value.split(',') {
                    self.hosts.push(h.trim().to_string());
                }
            }
            "port" => {
                for p in value.split(',').filter(|p| !p.trim().is_empty()) {
                    self.ports.push(
                        p.trim()
                            .parse()
                            .map_err(|_| format!("port \"{p}\" is not a number"))?,
                    );
                }
            }
            "user" => self.user = Some(value),
            "password" => self.password = Some(value),
            "dbname" => self.dbname = Some(value),
            "sslmode" => self.sslmode = Some(SslMode::parse(&value)?),
            "sslrootcert" => self.sslrootcert = Some(value),
            "connect_timeout" => {
                let secs: u64 = value
                    .parse()
                    .map_err(|_| format!("connect_timeout \"{value}\" is not whole seconds"))?;
                self.connect_timeout = (secs > 0).then(|| Duration::from_secs(secs));
            }
            "options" => self.options = Some(value),
            // Every session is named `preflight`.
            "application_name" => {}
            "sslcert" | "sslkey" => {
                return Err(format!(
                    "the DSN's `{key}` is not read: give the item's client_cert and client_key options instead"
                ));
            }
            other => {
                let shown: String = other.chars().take(32).collect();
                return Err(format!(
                    "unsupported DSN parameter `{shown}` (supported: {})",
                    KNOWN.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// `host:port` of the first host, for per-host limits and messages.
    pub fn first_host(&self) -> String {
        let host = self
            .hosts
            .first()
            .cloned()
            .unwrap_or_else(|| "localhost".into());
        let port = self.ports.first().copied().unwrap_or(5432);
        format!("{host}:{port}")
    }
}

/// Password of a DSN in either form, for redaction; `None` when absent or unparsable.
pub fn password_of(text: &str) -> Option<String> {
    let text = text.trim();
    if let Some(rest) = text
        .strip_prefix("postgres://")
        .or_else(|| text.strip_prefix("postgresql://"))
    {
        // Raw and decoded forms, even when the rest of the URL is malformed.
        return url_pairs(rest)
            .ok()
            .and_then(|p| p.into_iter().rev().find(|(k, _)| k == "password"))
            .map(|(_, v)| v);
    }
    keyword_pairs(text)
        .ok()?
        .into_iter()
        .rev()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v)
}

/// Every form a secret could take in output: the raw password as written in the
/// DSN, its decoded form, and both for query-string passwords.
pub fn secrets_of(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = password_of(text) {
        out.push(p);
    }
    if let Some(rest) = text.trim().split_once("://").map(|(_, r)| r) {
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && let Some((_, raw)) = userinfo.split_once(':')
            && !raw.is_empty()
        {
            out.push(raw.to_string());
        }
        if let Some((_, query)) = rest.split_once('?') {
            for pair in query.split('&') {
                if let Some(("password", raw)) = pair.split_once('=') {
                    out.push(raw.to_string());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("invalid percent-encoding in the DSN")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the DSN decodes to invalid UTF-8".to_string())
}

/// `user:pass@host1:port1,host2/db?k=v` (after the scheme) as key/value pairs.
fn url_pairs(rest: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.find('/') {
        Some(i) => (&before_query[..i], &before_query[i + 1..]),
        None => (before_query, ""),
    };
    let hostpart = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => {
            match userinfo.split_once(':') {
                Some((u, p)) => {
                    if !u.is_empty() {
                        pairs.push(("user".into(), percent_decode(u)?));
                    }
                    pairs.push(("password".into(), percent_decode(p)?));
                }
                None if !userinfo.is_empty() => {
                    pairs.push(("user".into(), percent_decode(userinfo)?));
                }
                None => {}
            }
            hosts
        }
        None => authority,
    };
    let mut hosts = Vec::new();
    let mut ports = Vec::new();
    for hp in hostpart.split(',').filter(|h| !h.is_empty()) {
        let (host, port) = if let Some(v6) = hp.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or("unclosed `[` in the DSN host")?;
            (h.to_string(), after.strip_prefix(':'))
        } else {
            match hp.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hp.to_string(), None),
            }
        };
        hosts.push(percent_decode(&host)?);
        if let Some(p) = port {
            ports.push(p.to_string());
        }
    }
    if !hosts.is_empty() {
        pairs.push(("host".into(), hosts.join(",")));
    }
    if !ports.is_empty() {
        pairs.push(("port".into(), ports.join(",")));
    }
    let path = path.trim_end_matches('/');
    if !path.is_empty() {
        pairs.push(("dbname".into(), percent_decode(path)?));
    }
    for kv in query.unwrap_or("").split('&').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        pairs.push((percent_decode(k)?, percent_decode(v)?));
    }
    Ok(pairs)
}

/// libpq `key=value key2='quoted \' value'` as key/value pairs.
fn keyword_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            // The word is not echoed: it could be a password written without its key.
            return Err(
                "a word of the DSN has no `=` (write key=value pairs or a postgres:// URL)".into(),
            );
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '\'' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(format!("DSN parameter `{key}` has an unclosed quote"));
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let d = Dsn::parse(
            "postgres://app:p%40ss@db.internal:6432/shop?sslmode=verify-full&sslrootcert=/ca.pem",
        )
        .unwrap();
        assert_eq!(d.user.as_deref(), Some("app"));
        assert_eq!(d.password.as_deref(), Some("p@ss"));
        assert_eq!(d.hosts, ["db.internal"]);
        assert_eq!(d.ports, [6432]);
        assert_eq!(d.dbname.as_deref(), Some("shop"));
        assert_eq!(d.sslmode, Some(SslMode::VerifyFull));
        assert_eq!(d.sslrootcert.as_deref(), Some("/ca.pem"));
        let d = Dsn::parse("postgresql://[::1]:5433,h2/db").unwrap();
        assert_eq!(d.hosts, ["::1", "h2"]);
        assert_eq!(d.ports, [5433]);
        let d = Dsn::parse("postgresql:///db?host=/var/run/postgresql").unwrap();
        assert_eq!(d.hosts, ["/var/run/postgresql"]);
    }

    #[test]
    fn parses_keyword_strings() {
        let d =
            Dsn::parse("host=127.0.0.1 port=5432 user=app password='s3 cr\\'et' dbname=x").unwrap();
        assert_eq!(d.password.as_deref(), Some("s3 cr'et"));
        assert_eq!(d.hosts, ["127.0.0.1"]);
        assert!(Dsn::parse("host=x bogus=1").unwrap_err().contains("bogus"));
        assert!(Dsn::parse("host=x password='open").is_err());
        assert!(Dsn::parse("mysql://x").is_err());
        let e = Dsn::parse("host=x hunter2").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn finds_passwords_for_redaction() {
        assert_eq!(
            secrets_of("postgres://u:p%40ssword@h/db"),
            ["p%40ssword", "p@ssword"]
        );
        assert_eq!(secrets_of("host=h password=hunter22 user=u"), ["hunter22"]);
        assert_eq!(
            secrets_of("postgres://h/db?password=qu%20ery"),
            ["qu ery", "qu%20ery"]
        );
        assert!(secrets_of("postgres://u@h/db").is_empty());
    }

    #[test]
    fn sslmodes() {
        assert_eq!(SslMode::parse("allow").unwrap(), SslMode::Prefer);
        assert!(SslMode::parse("verify_full").is_err());
    }
}
