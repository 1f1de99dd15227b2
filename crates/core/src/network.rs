//! How items reach their targets: the `[checklist]` settings `proxy`, `ca` and
//! `trust`, and the parts of the process environment that shape outbound connections
//! (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY` and their lower-case forms,
//! `SSL_CERT_FILE`, `SSL_CERT_DIR`).
//!
//! The plan reads those variables once, through the same lookup as `${env:…}`, and
//! hands the result to every probe in [`crate::probe::Context::network`] (and to the
//! notifications): no probe reads the environment itself. Core only carries and
//! checks these values; `preflight-client` applies them.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The value of `proxy` that means "connect directly, whatever the environment says".
pub const PROXY_NONE: &str = "none";

/// Which roots verify server certificates when an item names no `ca` of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(title = "trust")]
pub enum Trust {
    /// The Mozilla roots compiled into preflight (webpki-roots).
    #[default]
    Webpki,
    /// The platform's store (`/etc/ssl/certs`, or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set).
    System,
    /// Both the Mozilla roots and the platform's store.
    Both,
}

impl Trust {
    /// The spelling used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Trust::Webpki => "webpki",
            Trust::System => "system",
            Trust::Both => "both",
        }
    }
}

/// Which IP version an item connects over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(title = "address family")]
pub enum Family {
    /// IPv4 addresses only.
    Ipv4,
    /// IPv6 addresses only.
    Ipv6,
    /// Whatever the name resolves to, in the resolver's order.
    #[default]
    Any,
}

impl Family {
    /// The spelling used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
            Family::Any => "any",
        }
    }

    /// Whether an address may be connected to.
    pub fn allows(self, ip: IpAddr) -> bool {
        match self {
            Family::Ipv4 => ip.is_ipv4(),
            Family::Ipv6 => ip.is_ipv6(),
            Family::Any => true,
        }
    }

    /// `"IPv4"` / `"IPv6"`, for messages; `"IP"` for `any`.
    pub fn label(self) -> &'static str {
        match self {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
            Family::Any => "IP",
        }
    }

    /// A host written as an IP address (bare or in brackets) must be of this family;
    /// names are resolved later. The error is a message for the `family` option.
    pub fn check_host(self, host: &str) -> Result<(), String> {
        let bare = host.trim().trim_start_matches('[').trim_end_matches(']');
        match bare.parse::<IpAddr>() {
            Ok(ip) if !self.allows(ip) => Err(format!(
                "family = \"{}\", but {bare} is an {} address",
                self.as_str(),
                if ip.is_ipv4() { "IPv4" } else { "IPv6" }
            )),
            _ => Ok(()),
        }
    }
}

/// One environment variable as read: its name (which spelling was set) and value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnvValue {
    /// The variable that was set, e.g. `HTTPS_PROXY` or `https_proxy`.
    pub name: String,
    /// Its value (may hold credentials: the plan adds them to the redactor).
    pub value: String,
}

/// The proxy variables of the environment, read once by the plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ProxyEnv {
    /// `HTTPS_PROXY` / `https_proxy`: the proxy for `https://` URLs.
    pub https: Option<EnvValue>,
    /// `HTTP_PROXY` / `http_proxy`: the proxy for `http://` URLs.
    pub http: Option<EnvValue>,
    /// `ALL_PROXY` / `all_proxy`: the proxy when the scheme's own variable is unset.
    pub all: Option<EnvValue>,
    /// `NO_PROXY` / `no_proxy`: hosts reached directly (curl's rules).
    pub no: Option<EnvValue>,
}

impl ProxyEnv {
    /// Reads the variables through `env`, upper case first (as curl and reqwest do);
    /// an empty value counts as unset.
    pub fn read(env: &dyn Fn(&str) -> Option<String>) -> ProxyEnv {
        let first = |names: [&str; 2]| {
            names.iter().find_map(|n| {
                env(n)
                    .filter(|v| !v.trim().is_empty())
                    .map(|value| EnvValue {
                        name: n.to_string(),
                        value: value.trim().to_string(),
                    })
            })
        };
        ProxyEnv {
            https: first(["HTTPS_PROXY", "https_proxy"]),
            http: first(["HTTP_PROXY", "http_proxy"]),
            all: first(["ALL_PROXY", "all_proxy"]),
            no: first(["NO_PROXY", "no_proxy"]),
        }
    }

    /// Every proxy URL set (not `NO_PROXY`).
    pub fn urls(&self) -> impl Iterator<Item = &EnvValue> {
        [&self.https, &self.http, &self.all].into_iter().flatten()
    }
}

/// How every item of a run reaches the network, unless the item says otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Network {
    /// `[checklist] proxy`: a proxy URL for every HTTP-based item, `"none"`, or
    /// `None` to follow the environment's proxy variables.
    pub proxy: Option<String>,
    /// `[checklist] ca`: a PEM file whose certificates are trusted besides the roots
    /// `trust` picks (an item's own `ca` replaces both).
    pub ca: Option<String>,
    /// `[checklist] trust`.
    pub trust: Trust,
    /// The proxy variables of the environment.
    pub proxy_env: ProxyEnv,
    /// `SSL_CERT_FILE`: read instead of the platform store by `trust = "system"`.
    pub cert_file: Option<String>,
    /// `SSL_CERT_DIR`: `:`-separated folders read instead of the platform store.
    pub cert_dir: Option<String>,
}

impl Network {
    /// The settings of `[checklist]` (already interpolated) with the environment read
    /// through `env`.
    pub fn new(
        proxy: Option<String>,
        ca: Option<String>,
        trust: Trust,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Network {
        let var = |n: &str| env(n).filter(|v| !v.trim().is_empty());
        Network {
            proxy,
            ca,
            trust,
            proxy_env: ProxyEnv::read(env),
            cert_file: var("SSL_CERT_FILE"),
            cert_dir: var("SSL_CERT_DIR"),
        }
    }
}

/// Checks a `proxy` value: `"none"`, or an `http://` / `https://` URL with a host
/// (user and password allowed, masked in reports). The error is a message fragment.
pub fn check_proxy(text: &str) -> Result<(), String> {
    let t = text.trim();
    if t == PROXY_NONE {
        return Ok(());
    }
    let lower = t.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"))
    else {
        return Err(match lower.split_once("://") {
            Some((scheme, _)) => format!(
                "proxy scheme \"{scheme}\" is not supported (use an http:// or https:// proxy, or \"none\")"
            ),
            None => {
                "expected a proxy URL such as \"http://proxy.internal:3128\", or \"none\"".into()
            }
        });
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err("the proxy URL has no host".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_values() {
        for ok in [
            "none",
            "http://proxy.internal:3128",
            "https://u:p@proxy:443/",
            "http://[::1]:3128",
        ] {
            assert_eq!(check_proxy(ok), Ok(()), "{ok}");
        }
        assert!(
            check_proxy("socks5://p:1080")
                .unwrap_err()
                .contains("socks5")
        );
        assert!(check_proxy("proxy:3128").unwrap_err().contains("proxy URL"));
        assert!(check_proxy("http://").unwrap_err().contains("no host"));
        assert!(
            check_proxy("http://u:p@:3128")
                .unwrap_err()
                .contains("no host")
        );
    }

    #[test]
    fn environment_is_read_upper_case_first_and_empty_is_unset() {
        let env = |n: &str| match n {
            "HTTPS_PROXY" => Some("http://upper:3128".to_string()),
            "https_proxy" => Some("http://lower:3128".to_string()),
            "http_proxy" => Some("http://only-lower:3128".to_string()),
            "NO_PROXY" => Some("  ".to_string()),
            "no_proxy" => Some(".internal".to_string()),
            "SSL_CERT_FILE" => Some("/tmp/ca.pem".to_string()),
            _ => None,
        };
        let n = Network::new(None, None, Trust::System, &env);
        let e = &n.proxy_env;
        assert_eq!(
            e.https.as_ref().map(|v| v.name.as_str()),
            Some("HTTPS_PROXY")
        );
        assert_eq!(
            e.http.as_ref().map(|v| v.value.as_str()),
            Some("http://only-lower:3128")
        );
        assert_eq!(e.no.as_ref().map(|v| v.name.as_str()), Some("no_proxy"));
        assert_eq!(e.all, None);
        assert_eq!(n.cert_file.as_deref(), Some("/tmp/ca.pem"));
        assert_eq!(n.cert_dir, None);
    }

    #[test]
    fn families() {
        assert_eq!(Family::Ipv4.check_host("127.0.0.1"), Ok(()));
        assert_eq!(Family::Ipv4.check_host("api.example"), Ok(()));
        assert!(
            Family::Ipv4
                .check_host("[::1]")
                .unwrap_err()
                .contains("::1 is an IPv6 address")
        );
        assert!(Family::Ipv6.check_host("127.0.0.1").is_err());
        assert_eq!(Family::Any.check_host("::1"), Ok(()));
    }

    /// A probe that connects out (it has an egress) and one that does not.
    mod plan {
        use std::sync::Arc;

        use crate::plan::{PlanRequest, plan};
        use crate::probe::{
            BoxFuture, Catalog, Context, Egress, Fact, FactType, Facts, Failure, Observer, Options,
            Probe,
        };
        use crate::{Check, checklist};

        struct Net;
        struct Local;

        #[derive(serde::Deserialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        struct NetOptions {
            /// Where.
            url: String,
            /// The item's proxy.
            proxy: Option<String>,
        }

        impl Probe for Net {
            type Options = NetOptions;
            const NAME: &'static str = "net";
            const SUMMARY: &'static str = "connects out";
            const FACTS: &'static [Fact] = &[Fact::new("ok", FactType::Bool, "ok")];
            const EXAMPLE: &'static str = "";
            fn default_expect(_: &Options) -> Vec<String> {
                vec!["ok".into()]
            }
            fn egress(o: &NetOptions) -> Option<Egress> {
                Some(Egress {
                    url: Some(o.url.clone()),
                    proxy: o.proxy.clone(),
                    ..Egress::default()
                })
            }
            fn prepare(&self, _: NetOptions, _: &Context) -> Result<Arc<dyn Observer>, Failure> {
                Ok(Arc::new(Net))
            }
        }

        impl Probe for Local {
            type Options = Options;
            const NAME: &'static str = "local";
            const SUMMARY: &'static str = "stays home";
            const FACTS: &'static [Fact] = &[Fact::new("ok", FactType::Bool, "ok")];
            const EXAMPLE: &'static str = "";
            fn default_expect(_: &Options) -> Vec<String> {
                vec!["ok".into()]
            }
            fn prepare(&self, _: Options, _: &Context) -> Result<Arc<dyn Observer>, Failure> {
                Ok(Arc::new(Net))
            }
        }

        impl Observer for Net {
            fn host(&self) -> Option<String> {
                None
            }
            fn observe(&self) -> BoxFuture<'_, Result<Facts, Failure>> {
                Box::pin(async { Ok(Facts::new()) })
            }
        }

        fn catalog() -> Catalog {
            Catalog::new(vec![Arc::new(Net), Arc::new(Local)])
        }

        const ITEMS: &str = "[[item]]\nid = \"a\"\nprobe = \"net\"\nurl = \"https://api.example/\"\nproxy = \"http://item-user:item-pass@127.0.0.1:9\"\n\n[[item]]\nid = \"b\"\nprobe = \"local\"\n";

        #[test]
        fn settings_load_and_bad_literals_are_problems() {
            let text = format!(
                "[checklist]\nproxy = \"${{env:CORP_PROXY}}\"\nca = \"certs/corp.pem\"\ntrust = \"both\"\n\n{ITEMS}"
            );
            let c = checklist::parse("t.toml", &text, &[], &catalog())
                .unwrap_or_else(|e| panic!("{:?}", e.problems));
            assert_eq!(c.network.trust, super::Trust::Both);
            assert_eq!(c.network.ca.as_deref(), Some("certs/corp.pem"));
            assert!(c.env_refs.contains("CORP_PROXY"), "{:?}", c.env_refs);

            let bad = "[checklist]\nproxy = \"socks5://p:1080\"\nca = \"\"\ntrust = \"mozilla\"\n";
            let e = checklist::parse("t.toml", bad, &[], &catalog()).expect_err("invalid");
            let joined: Vec<String> = e
                .problems
                .iter()
                .map(|p| format!("{}: {}", p.location, p.message))
                .collect();
            let joined = joined.join("\n");
            for want in [
                "t.toml:2:9: `checklist.proxy`: proxy scheme \"socks5\" is not supported",
                "t.toml:3:6: `checklist.ca`: ca is empty",
                "t.toml:4:9: `trust`: unknown trust \"mozilla\"",
            ] {
                assert!(joined.contains(want), "missing {want:?} in\n{joined}");
            }
        }

        #[test]
        fn the_plan_reads_the_environment_once_and_masks_proxy_credentials() {
            let text = format!("[checklist]\ntrust = \"system\"\n\n{ITEMS}");
            let c = checklist::parse("t.toml", &text, &[], &catalog())
                .unwrap_or_else(|e| panic!("{:?}", e.problems));
            let env = |n: &str| match n {
                "https_proxy" => Some("http://env-robot:env-secret@127.0.0.1:3128".to_string()),
                "NO_PROXY" => Some(".internal".to_string()),
                "SSL_CERT_FILE" => Some("/tmp/corp.pem".to_string()),
                _ => None,
            };
            let p = plan(&c, &catalog(), &PlanRequest::with_env(&env)).expect("plan");
            let n = &p.network;
            assert_eq!(n.trust, super::Trust::System);
            assert_eq!(n.cert_file.as_deref(), Some("/tmp/corp.pem"));
            assert_eq!(
                n.proxy_env.https.as_ref().map(|v| v.name.as_str()),
                Some("https_proxy")
            );
            assert_eq!(
                n.proxy_env.no.as_ref().map(|v| v.value.as_str()),
                Some(".internal")
            );
            let shown = p.redactor.text(
                "env-robot env-secret item-user item-pass http://env-robot:env-secret@127.0.0.1:3128",
            );
            assert_eq!(shown, "**** **** **** **** http://****:****@127.0.0.1:3128");
            assert!(p.items.iter().all(|i| i.options.is_ok()));
        }

        #[test]
        fn an_unset_proxy_variable_errors_only_the_items_that_connect_out() {
            let text = format!("[checklist]\nproxy = \"${{env:CORP_PROXY}}\"\n\n{ITEMS}");
            let c = checklist::parse("t.toml", &text, &[], &catalog())
                .unwrap_or_else(|e| panic!("{:?}", e.problems));
            let env = |_: &str| None;
            let p = plan(&c, &catalog(), &PlanRequest::with_env(&env)).expect("plan");
            assert!(p.unset_env.contains("CORP_PROXY"));
            let a = &p.items[0];
            assert!(matches!(*a.item.check, Check::Probe { .. }));
            assert_eq!(
                a.options.as_ref().as_ref().err().map(String::as_str),
                Some("[checklist] proxy: environment variable CORP_PROXY is not set")
            );
            assert!(p.items[1].options.is_ok(), "{:?}", p.items[1].options);
        }
    }
}
