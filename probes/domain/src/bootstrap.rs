//! Which RDAP server answers for a TLD: the IANA bootstrap registry (RFC 9224),
//! cached on disk until the expiry it was published with.
//!
//! The registry is fetched only for an item without `server`, only when the cached
//! copy is missing, stale or from another URL, and at most once per sweep (the probe
//! keeps it in memory). Its lifetime is the response's `Cache-Control: max-age` or
//! `Expires`, kept between an hour and 30 days (a day when it gives neither). When a
//! fetch fails, a stale copy is still used. The cache file is
//! `$XDG_CACHE_HOME/preflight/rdap-dns.json` (else `~/.cache/preflight/…`); without
//! either variable nothing is cached.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;

/// The IANA bootstrap registry for domain names.
pub const IANA_DNS: &str = "https://data.iana.org/rdap/dns.json";
/// The largest registry accepted (today's is about 40 KiB).
pub const MAX_REGISTRY: usize = 4 << 20;

const HOUR: i64 = 3600;

/// The parsed registry: (TLDs or label suffixes, base URLs) per service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    services: Vec<(Vec<String>, Vec<String>)>,
}

impl Registry {
    /// Reads an RFC 9224 file (`{"services": [[["com"], ["https://…/"]], …]}`).
    pub fn parse(v: &Value) -> Result<Registry, String> {
        let services = v
            .get("services")
            .and_then(Value::as_array)
            .ok_or("no \"services\" list")?;
        let strings = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(Registry {
            services: services
                .iter()
                .map(|s| {
                    let entries = strings(s.get(0))
                        .into_iter()
                        .map(|e| e.trim_end_matches('.').to_ascii_lowercase())
                        .collect();
                    (entries, strings(s.get(1)))
                })
                .collect(),
        })
    }

    /// The base URL for `name` (ASCII): the longest matching label suffix, an
    /// `https` URL before an `http` one.
    pub fn server_for(&self, name: &str) -> Option<String> {
        let labels: Vec<&str> = name.trim_end_matches('.').split('.').collect();
        (0..labels.len()).find_map(|i| {
            let suffix = labels[i..].join(".").to_ascii_lowercase();
            let (_, urls) = self.services.iter().find(|(e, _)| e.contains(&suffix))?;
            urls.iter()
                .find(|u| u.starts_with("https://"))
                .or_else(|| urls.first())
                .cloned()
        })
    }
}

/// The cache file's content.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    url: String,
    fetched: i64,
    expires: i64,
    registry: Value,
}

/// `$XDG_CACHE_HOME/preflight/rdap-dns.json`, else under `~/.cache`.
pub fn default_cache_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("preflight").join("rdap-dns.json"))
}

fn read_cache(path: &Path, url: &str) -> Option<Stored> {
    let text = std::fs::read(path).ok()?;
    let stored: Stored = serde_json::from_slice(&text).ok()?;
    (stored.url == url).then_some(stored)
}

fn write_cache(path: &Path, stored: &Stored) {
    let Ok(text) = serde_json::to_vec(stored) else {
        return;
    };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, text).is_ok() && std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Seconds the response may be kept: `max-age`, else `Expires` − now, else a day;
/// clamped to an hour … 30 days.
fn lifetime(headers: &reqwest::header::HeaderMap, now: i64) -> i64 {
    let max_age = headers
        .get_all(reqwest::header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|d| {
            d.trim()
                .strip_prefix("max-age=")?
                .trim()
                .parse::<i64>()
                .ok()
        });
    let expires = || {
        let v = headers.get(reqwest::header::EXPIRES)?.to_str().ok()?;
        Some(http_date(v)? - now)
    };
    max_age
        .or_else(expires)
        .unwrap_or(24 * HOUR)
        .clamp(HOUR, 30 * 24 * HOUR)
}

/// An IMF-fixdate (`Tue, 01 Dec 2026 12:00:00 GMT`) as Unix seconds.
fn http_date(text: &str) -> Option<i64> {
    let format = time::format_description::parse_borrowed::<2>(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT",
    )
    .ok()?;
    let t = time::PrimitiveDateTime::parse(text.trim(), &format).ok()?;
    Some(t.assume_utc().unix_timestamp())
}

/// The registry at `url`: from `cache` when fresh, else fetched (and cached).
pub async fn registry(
    client: &reqwest::Client,
    url: &str,
    cache: Option<&Path>,
    now: i64,
) -> Result<Registry, Error> {
    let cached = cache.and_then(|p| read_cache(p, url));
    if let Some(c) = &cached
        && c.expires > now
        && let Ok(r) = Registry::parse(&c.registry)
    {
        return Ok(r);
    }
    match fetch(client, url, now).await {
        Ok(stored) => {
            let r = Registry::parse(&stored.registry).map_err(|reason| Error::Bootstrap {
                reason,
                timeout: false,
            })?;
            if let Some(p) = cache {
                write_cache(p, &stored);
            }
            Ok(r)
        }
        Err(e) => match cached.and_then(|c| Registry::parse(&c.registry).ok()) {
            Some(stale) => Ok(stale),
            None => Err(e),
        },
    }
}

async fn fetch(client: &reqwest::Client, url: &str, now: i64) -> Result<Stored, Error> {
    let fail = |reason: String, timeout: bool| Error::Bootstrap { reason, timeout };
    let parsed = preflight_client::parse_http_url(url).map_err(|r| fail(r, false))?;
    let mut resp = client
        .get(parsed.clone())
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| {
            fail(
                preflight_client::describe_error(&e, &parsed),
                e.is_timeout(),
            )
        })?;
    if !resp.status().is_success() {
        return Err(fail(
            format!("{url} answered {}", resp.status().as_u16()),
            false,
        ));
    }
    let life = lifetime(resp.headers(), now);
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| {
        fail(
            preflight_client::describe_error(&e, &parsed),
            e.is_timeout(),
        )
    })? {
        if body.len() + chunk.len() > MAX_REGISTRY {
            return Err(fail(format!("{url} is larger than 4 MiB"), false));
        }
        body.extend_from_slice(&chunk);
    }
    let registry: Value = serde_json::from_slice(&body)
        .map_err(|e| fail(format!("{url} is not JSON ({e})"), false))?;
    Ok(Stored {
        url: url.to_string(),
        fetched: now,
        expires: now + life,
        registry,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_longest_suffix_wins_and_https_is_preferred() {
        let r = Registry::parse(&json!({"services": [
            [["com", "net"], ["http://rdap.a.test/", "https://rdap.a.test/"]],
            [["uk"], ["https://rdap.uk.test/"]],
            [["co.uk"], ["https://rdap.co-uk.test/"]]
        ]}))
        .expect("registry");
        assert_eq!(
            r.server_for("example.COM").as_deref(),
            Some("https://rdap.a.test/")
        );
        assert_eq!(
            r.server_for("shop.example.co.uk.").as_deref(),
            Some("https://rdap.co-uk.test/")
        );
        assert_eq!(
            r.server_for("example.uk").as_deref(),
            Some("https://rdap.uk.test/")
        );
        assert_eq!(r.server_for("example.invalid"), None);
        assert!(Registry::parse(&json!({"version": "1.0"})).is_err());
    }

    #[test]
    fn lifetimes_come_from_the_response() {
        let now = 1_796_000_000;
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(lifetime(&h, now), 24 * HOUR);
        h.insert(
            reqwest::header::CACHE_CONTROL,
            "public, max-age=7200".parse().expect("v"),
        );
        assert_eq!(lifetime(&h, now), 7200);
        h.insert(
            reqwest::header::CACHE_CONTROL,
            "max-age=5".parse().expect("v"),
        );
        assert_eq!(lifetime(&h, now), HOUR, "at least an hour");
        let mut h = reqwest::header::HeaderMap::new();
        let in_two_days = time::OffsetDateTime::from_unix_timestamp(now + 2 * 86_400)
            .expect("t")
            .format(&time::format_description::parse_borrowed::<2>(
                "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT",
            ).expect("f"))
            .expect("fmt");
        h.insert(reqwest::header::EXPIRES, in_two_days.parse().expect("v"));
        assert_eq!(lifetime(&h, now), 2 * 86_400);
    }

    #[test]
    fn cache_files_are_read_only_for_their_url() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("sub/rdap-dns.json");
        let stored = Stored {
            url: "http://127.0.0.1:1/dns.json".into(),
            fetched: 1,
            expires: 2,
            registry: json!({"services": []}),
        };
        write_cache(&path, &stored);
        assert!(read_cache(&path, "http://127.0.0.1:1/dns.json").is_some());
        assert!(read_cache(&path, "http://127.0.0.1:2/dns.json").is_none());
        std::fs::write(&path, "garbage").expect("write");
        assert!(read_cache(&path, "http://127.0.0.1:1/dns.json").is_none());
    }
}
