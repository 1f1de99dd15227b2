//! Which proxy an HTTP-based item goes through, decided in one place.
//!
//! Precedence: the item's `proxy` (a URL, used for every request of the item, or
//! `"none"`), then `[checklist] proxy` (a URL, with `NO_PROXY` still applied, or
//! `"none"`), then the environment as the plan read it — `HTTPS_PROXY` for `https://`,
//! `HTTP_PROXY` for `http://`, `ALL_PROXY` for either when its own is unset, and
//! `NO_PROXY` with curl's rules (`.internal` and `internal` cover every name under
//! it, `*` everything, IP addresses and CIDR ranges match literal hosts). Matching is
//! hyper-util's matcher, the same code reqwest runs, so `preflight check` shows what
//! the requests will do.

use hyper_util::client::proxy::matcher::Matcher;
use preflight_core::network::{EnvValue, Network, PROXY_NONE, check_proxy};

/// Where a request to one URL goes first.
#[derive(Debug, Clone)]
pub enum Route {
    /// Straight to the target; the text says why (`NO_PROXY covers …`).
    Direct(String),
    /// Through a proxy.
    Proxy(ProxyHop),
}

/// A proxy on a route.
#[derive(Clone)]
pub struct ProxyHop {
    /// `http://host:port` — never with the credentials.
    pub shown: String,
    /// Where the setting came from: `HTTPS_PROXY`, `[checklist] proxy`, `the item's proxy`.
    pub from: String,
    /// Scheme of the proxy URL (`http` or `https`).
    pub scheme: String,
    /// Host of the proxy (no brackets).
    pub host: String,
    /// Port of the proxy.
    pub port: u16,
    /// `Proxy-Authorization` for the proxy URL's user and password.
    pub authorization: Option<http::HeaderValue>,
}

impl std::fmt::Debug for ProxyHop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyHop")
            .field("shown", &self.shown)
            .field("from", &self.from)
            .finish()
    }
}

impl Route {
    /// `via http://proxy:3128 (HTTPS_PROXY)` or `direct (NO_PROXY covers api.internal)`.
    pub fn describe(&self) -> String {
        match self {
            Route::Direct(why) => format!("direct ({why})"),
            Route::Proxy(p) => format!("via {} ({})", p.shown, p.from),
        }
    }

    /// The proxy, if any.
    pub fn proxy(&self) -> Option<&ProxyHop> {
        match self {
            Route::Proxy(p) => Some(p),
            Route::Direct(_) => None,
        }
    }
}

/// The proxy settings that apply to one item, before a URL is known.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ProxyPlan {
    /// `proxy = "none"` (the item's or the checklist's), or nothing set.
    Off(String),
    /// One proxy for every scheme; `no` is `NO_PROXY` (empty for an item's own proxy).
    Fixed {
        url: String,
        from: String,
        no: Option<EnvValue>,
    },
    /// The environment's variables.
    Env {
        https: Option<EnvValue>,
        http: Option<EnvValue>,
        all: Option<EnvValue>,
        no: Option<EnvValue>,
    },
}

/// A proxy URL as reqwest and curl read it: `proxy:3128` means `http://proxy:3128`.
fn normalized(url: &str) -> String {
    let t = url.trim();
    if t.contains("://") {
        t.to_string()
    } else {
        format!("http://{t}")
    }
}

/// The plan for an item whose own `proxy` option is `item`.
pub(crate) fn plan(network: &Network, item: Option<&str>) -> Result<ProxyPlan, String> {
    if let Some(p) = item.map(str::trim) {
        if p == PROXY_NONE {
            return Ok(ProxyPlan::Off("the item's proxy = \"none\"".into()));
        }
        check_proxy(p).map_err(|e| format!("proxy: {e}"))?;
        return Ok(ProxyPlan::Fixed {
            url: p.to_string(),
            from: "the item's proxy".into(),
            no: None,
        });
    }
    if let Some(p) = network.proxy.as_deref().map(str::trim) {
        if p == PROXY_NONE {
            return Ok(ProxyPlan::Off("[checklist] proxy = \"none\"".into()));
        }
        check_proxy(p).map_err(|e| format!("[checklist] proxy: {e}"))?;
        return Ok(ProxyPlan::Fixed {
            url: p.to_string(),
            from: "[checklist] proxy".into(),
            no: network.proxy_env.no.clone(),
        });
    }
    let e = &network.proxy_env;
    let checked = |v: &Option<EnvValue>| -> Result<Option<EnvValue>, String> {
        match v {
            None => Ok(None),
            Some(v) => {
                let value = normalized(&v.value);
                check_proxy(&value).map_err(|err| format!("{}: {err}", v.name))?;
                Ok(Some(EnvValue {
                    name: v.name.clone(),
                    value,
                }))
            }
        }
    };
    let (https, http, all) = (checked(&e.https)?, checked(&e.http)?, checked(&e.all)?);
    if https.is_none() && http.is_none() && all.is_none() {
        return Ok(ProxyPlan::Off(
            "no HTTPS_PROXY, HTTP_PROXY or ALL_PROXY set".into(),
        ));
    }
    Ok(ProxyPlan::Env {
        https,
        http,
        all,
        no: e.no.clone(),
    })
}

impl ProxyPlan {
    fn matcher(&self, with_no: bool) -> Option<Matcher> {
        let no = |n: &Option<EnvValue>| {
            n.as_ref()
                .filter(|_| with_no)
                .map(|v| v.value.clone())
                .unwrap_or_default()
        };
        let value = |v: &Option<EnvValue>| v.as_ref().map(|v| v.value.clone()).unwrap_or_default();
        match self {
            ProxyPlan::Off(_) => None,
            ProxyPlan::Fixed { url, no: n, .. } => {
                Some(Matcher::builder().all(url.clone()).no(no(n)).build())
            }
            ProxyPlan::Env {
                https,
                http,
                all,
                no: n,
            } => Some(
                Matcher::builder()
                    .https(value(https))
                    .http(value(http))
                    .all(value(all))
                    .no(no(n))
                    .build(),
            ),
        }
    }

    /// Where a request to `url` goes.
    pub(crate) fn route(&self, url: &reqwest::Url) -> Route {
        let ProxyPlan::Off(why) = self else {
            let uri: http::Uri = match url.as_str().parse() {
                Ok(u) => u,
                Err(_) => return Route::Direct("the URL has no host".into()),
            };
            let host = url.host_str().unwrap_or_default();
            let Some(hit) = self.matcher(true).and_then(|m| m.intercept(&uri)) else {
                let would = self.matcher(false).and_then(|m| m.intercept(&uri));
                return Route::Direct(match (would, self) {
                    (Some(_), ProxyPlan::Fixed { no: Some(n), .. })
                    | (Some(_), ProxyPlan::Env { no: Some(n), .. }) => {
                        format!("{} covers {host}", n.name)
                    }
                    _ => format!(
                        "no {} set for {}:// URLs",
                        if url.scheme() == "https" {
                            "HTTPS_PROXY or ALL_PROXY"
                        } else {
                            "HTTP_PROXY or ALL_PROXY"
                        },
                        url.scheme()
                    ),
                });
            };
            let from = match self {
                ProxyPlan::Fixed { from, .. } => from.clone(),
                ProxyPlan::Env {
                    https, http, all, ..
                } => {
                    let own = if url.scheme() == "https" { https } else { http };
                    own.as_ref()
                        .or(all.as_ref())
                        .map(|v| v.name.clone())
                        .unwrap_or_default()
                }
                ProxyPlan::Off(_) => String::new(),
            };
            let target = hit.uri();
            let scheme = target.scheme_str().unwrap_or("http").to_string();
            let host = target
                .host()
                .unwrap_or_default()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            let port = target
                .port_u16()
                .unwrap_or(if scheme == "https" { 443 } else { 80 });
            let shown_host = if host.contains(':') {
                format!("[{host}]")
            } else {
                host.clone()
            };
            return Route::Proxy(ProxyHop {
                shown: format!("{scheme}://{shown_host}:{port}"),
                from,
                scheme,
                host,
                port,
                authorization: hit.basic_auth().cloned(),
            });
        };
        Route::Direct(why.clone())
    }

    /// The builder with these proxies (and no others: reqwest never reads the
    /// environment itself).
    pub(crate) fn apply(
        &self,
        builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, String> {
        let no_proxy = |n: &Option<EnvValue>| {
            reqwest::NoProxy::from_string(n.as_ref().map_or("", |v| v.value.as_str()))
        };
        fn bad(from: &str) -> impl Fn(reqwest::Error) -> String + '_ {
            move |e| format!("{from}: {e}")
        }
        Ok(match self {
            ProxyPlan::Off(_) => builder.no_proxy(),
            ProxyPlan::Fixed { url, from, no } => builder.proxy(
                reqwest::Proxy::all(url.as_str())
                    .map_err(bad(from))?
                    .no_proxy(no_proxy(no)),
            ),
            ProxyPlan::Env {
                https,
                http,
                all,
                no,
            } => {
                // reqwest asks its proxies in order: each scheme's own variable first.
                let mut b = builder;
                if let Some(v) = https {
                    b = b.proxy(
                        reqwest::Proxy::https(v.value.as_str())
                            .map_err(bad(&v.name))?
                            .no_proxy(no_proxy(no)),
                    );
                }
                if let Some(v) = http {
                    b = b.proxy(
                        reqwest::Proxy::http(v.value.as_str())
                            .map_err(bad(&v.name))?
                            .no_proxy(no_proxy(no)),
                    );
                }
                if let Some(v) = all {
                    b = b.proxy(
                        reqwest::Proxy::all(v.value.as_str())
                            .map_err(bad(&v.name))?
                            .no_proxy(no_proxy(no)),
                    );
                }
                b
            }
        })
    }
}

/// Where a request to `url` goes for an item whose own `proxy` option is `item`.
pub fn route(network: &Network, item: Option<&str>, url: &str) -> Result<Route, String> {
    let url = reqwest::Url::parse(url).map_err(|e| format!("\"{url}\" is not a valid URL: {e}"))?;
    Ok(plan(network, item)?.route(&url))
}

#[cfg(test)]
mod tests {
    use super::*;
    use preflight_core::network::Trust;

    fn net(vars: &[(&str, &str)], proxy: Option<&str>) -> Network {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |n: &str| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        Network::new(proxy.map(str::to_string), None, Trust::Webpki, &env)
    }

    fn shown(n: &Network, item: Option<&str>, url: &str) -> String {
        route(n, item, url).expect("route").describe()
    }

    #[test]
    fn environment_routes_follow_curl() {
        let n = net(
            &[
                ("HTTPS_PROXY", "http://robot:s3cret@127.0.0.1:3128"),
                ("http_proxy", "127.0.0.1:3129"),
                ("NO_PROXY", ".internal, 10.0.0.0/8, ::1"),
            ],
            None,
        );
        assert_eq!(
            shown(&n, None, "https://api.example/health"),
            "via http://127.0.0.1:3128 (HTTPS_PROXY)"
        );
        assert_eq!(
            shown(&n, None, "http://api.example/health"),
            "via http://127.0.0.1:3129 (http_proxy)"
        );
        for direct in [
            "https://db.internal/",
            "https://internal/",
            "https://a.b.internal:8443/",
            "http://10.1.2.3/",
            "https://[::1]:8443/",
        ] {
            assert_eq!(
                shown(&n, None, direct),
                format!(
                    "direct (NO_PROXY covers {})",
                    reqwest::Url::parse(direct)
                        .expect("url")
                        .host_str()
                        .expect("host")
                ),
                "{direct}"
            );
        }
        // `notinternal` is not under `.internal`.
        assert!(shown(&n, None, "https://notinternal/").starts_with("via"));
        let hop = route(&n, None, "https://api.example/")
            .expect("route")
            .proxy()
            .cloned()
            .expect("proxy");
        assert!(hop.authorization.is_some());
        assert!(!format!("{hop:?}").contains("s3cret"));
    }

    #[test]
    fn item_and_checklist_settings_come_first() {
        let n = net(
            &[
                ("HTTPS_PROXY", "http://env:3128"),
                ("NO_PROXY", "api.example"),
            ],
            Some("http://corp:8080"),
        );
        assert_eq!(
            shown(&n, None, "https://other.example/"),
            "via http://corp:8080 ([checklist] proxy)"
        );
        assert_eq!(
            shown(&n, None, "https://api.example/"),
            "direct (NO_PROXY covers api.example)"
        );
        // The item's own proxy is used for every host of the item.
        assert_eq!(
            shown(&n, Some("http://item:9000"), "https://api.example/"),
            "via http://item:9000 (the item's proxy)"
        );
        assert_eq!(
            shown(&n, Some("none"), "https://other.example/"),
            "direct (the item's proxy = \"none\")"
        );
        let off = net(&[("HTTPS_PROXY", "http://env:3128")], Some("none"));
        assert_eq!(
            shown(&off, None, "https://x.example/"),
            "direct ([checklist] proxy = \"none\")"
        );
        let nothing = net(&[("HTTP_PROXY", "http://env:3128")], None);
        assert_eq!(
            shown(&nothing, None, "https://x.example/"),
            "direct (no HTTPS_PROXY or ALL_PROXY set for https:// URLs)"
        );
        let all = net(&[("ALL_PROXY", "http://all:1")], None);
        assert_eq!(
            shown(&all, None, "https://x.example/"),
            "via http://all:1 (ALL_PROXY)"
        );
    }

    #[test]
    fn unusable_proxies_are_named() {
        let n = net(&[("HTTPS_PROXY", "socks5://p:1080")], None);
        let e = route(&n, None, "https://x.example/").unwrap_err();
        assert!(e.starts_with("HTTPS_PROXY: proxy scheme \"socks5\""), "{e}");
        let e = route(&Network::default(), Some("ftp://p"), "https://x.example/").unwrap_err();
        assert!(e.starts_with("proxy: "), "{e}");
    }
}
