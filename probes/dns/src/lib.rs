//! The `dns` probe: one question to one or more DNS servers, and what each answered.
//!
//! It asks each listed resolver separately (or the system's, from `/etc/resolv.conf`)
//! for `name`/`type`, and with `authoritative = true` also the zone's own name
//! servers. It reports the response code as a fact (`NXDOMAIN` is an observation, not
//! an error), the answers in presentation format, the smallest TTL, the latency, each
//! server's answer and whether they all agree. A server that does not answer at all
//! makes the item fail with a reason naming it.
//!
//! ```toml
//! [[item]]
//! id = "dns.app"
//! title = "app.example.io → CF Pages (CNAME)"
//! probe = "dns"
//! name = "app.example.io"
//! type = "CNAME"
//! resolvers = ["192.0.2.53", "198.51.100.53:5353"]
//! expect = ["answers.exists(a, a.endsWith('.pages.dev.'))", "consistent"]
//! ```

mod authority;
mod present;
mod query;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use futures_util::future::{join, join_all};
use hickory_resolver::proto::rr::{Name, RecordType};
use preflight_core::probe::{BoxFuture, OptionProblem, parse_options};
use preflight_core::{Facts, Failure, Observer, Options, Probe, ProbeDescriptor};
use serde::Deserialize;
use serde_json::{Value, json};

pub use query::QUERY_TIMEOUT;

/// Record types the probe asks for.
pub const TYPES: &[&str] = &["A", "AAAA", "CNAME", "TXT", "MX", "NS", "CAA", "SOA", "SRV"];

/// Key of the system resolver in the `resolvers` fact when `resolvers` is absent.
pub const SYSTEM_KEY: &str = "system";

const RESOLV_CONF: &str = "/etc/resolv.conf";

static DESCRIPTOR: ProbeDescriptor = ProbeDescriptor {
    name: "dns",
    options: &["name", "type", "resolvers", "authoritative"],
    facts: &[
        "rcode",
        "answers",
        "ttl",
        "latency_ms",
        "resolvers",
        "consistent",
    ],
    secret_options: &[],
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DnsOptions {
    name: String,
    #[serde(default, rename = "type")]
    record_type: Option<String>,
    #[serde(default)]
    resolvers: Option<Vec<String>>,
    #[serde(default)]
    authoritative: bool,
}

/// The DNS probe.
#[derive(Debug, Default)]
pub struct DnsProbe;

impl DnsProbe {
    /// A DNS probe.
    pub fn new() -> DnsProbe {
        DnsProbe
    }
}

impl Probe for DnsProbe {
    fn descriptor(&self) -> &'static ProbeDescriptor {
        &DESCRIPTOR
    }

    fn check(&self, options: &Options) -> Vec<OptionProblem> {
        let opts: DnsOptions = match parse_options(options) {
            Ok(o) => o,
            Err(p) => return vec![p],
        };
        let mut problems = Vec::new();
        let mut bad = |key: &str, message: String| problems.push(OptionProblem::at(key, message));
        if !opts.name.contains("${")
            && let Err(e) = parse_name(&opts.name)
        {
            bad("name", e);
        }
        if let Some(t) = &opts.record_type
            && !t.contains("${")
            && let Err(e) = parse_type(t)
        {
            bad("type", e);
        }
        if let Some(list) = &opts.resolvers {
            if list.is_empty() {
                bad(
                    "resolvers",
                    "resolvers is empty (leave it out to use the system's resolver)".into(),
                );
            }
            let mut seen = Vec::new();
            for r in list {
                if r.contains("${") {
                    continue;
                }
                match parse_server(r) {
                    Err(e) => bad("resolvers", e),
                    Ok(addr) if seen.contains(&addr) => {
                        bad("resolvers", format!("\"{r}\" is listed twice"))
                    }
                    Ok(addr) => seen.push(addr),
                }
            }
        }
        problems
    }

    fn default_expect(&self, _: &Options) -> Vec<String> {
        vec!["rcode == \"NOERROR\" && answers.size() > 0".into()]
    }

    fn prepare(&self, options: &Options) -> Result<Arc<dyn Observer>, String> {
        let opts: DnsOptions = parse_options(options).map_err(|p| p.message)?;
        let name = parse_name(&opts.name)?;
        let rtype = match &opts.record_type {
            Some(t) => parse_type(t)?,
            None => RecordType::A,
        };
        let resolvers = match &opts.resolvers {
            None => Resolvers::System,
            Some(list) if list.is_empty() => {
                return Err("resolvers is empty (leave it out to use the system's)".into());
            }
            Some(list) => {
                let mut listed: Vec<(String, Vec<SocketAddr>)> = Vec::new();
                for r in list {
                    let addr = parse_server(r).map_err(|e| format!("resolvers: {e}"))?;
                    if listed.iter().any(|(_, a)| a[0] == addr) {
                        return Err(format!("resolvers: \"{r}\" is listed twice"));
                    }
                    listed.push((r.trim().to_string(), vec![addr]));
                }
                Resolvers::Listed(listed)
            }
        };
        Ok(Arc::new(DnsObserver {
            name,
            rtype,
            resolvers,
            authoritative: opts.authoritative,
        }))
    }
}

/// A domain name, made fully qualified: no search domains are ever applied.
fn parse_name(text: &str) -> Result<Name, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("name is empty".into());
    }
    let mut name =
        Name::from_utf8(t).map_err(|e| format!("\"{text}\" is not a valid domain name: {e}"))?;
    name.set_fqdn(true);
    Ok(name)
}

fn parse_type(text: &str) -> Result<RecordType, String> {
    let upper = text.trim().to_ascii_uppercase();
    if !TYPES.contains(&upper.as_str()) {
        return Err(format!(
            "unsupported record type \"{text}\" (use one of {})",
            TYPES.join(", ")
        ));
    }
    upper
        .parse::<RecordType>()
        .map_err(|e| format!("unsupported record type \"{text}\": {e}"))
}

/// `192.0.2.53`, `192.0.2.53:5353`, `2001:db8::53` or `[2001:db8::53]:5353`.
fn parse_server(text: &str) -> Result<SocketAddr, String> {
    let t = text.trim();
    if let Ok(addr) = t.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(format!(
        "\"{text}\" is not an IP address or ip:port (write e.g. \"192.0.2.53\" or \"127.0.0.1:5353\")"
    ))
}

/// An address as a key: the IP alone on port 53, `ip:port` otherwise.
pub(crate) fn display_addr(addr: SocketAddr) -> String {
    if addr.port() == 53 {
        addr.ip().to_string()
    } else {
        addr.to_string()
    }
}

#[derive(Debug)]
enum Resolvers {
    /// The system's name servers, asked in order as one resolver.
    System,
    /// Each listed resolver (key as written, address), asked separately.
    Listed(Vec<(String, Vec<SocketAddr>)>),
}

struct DnsObserver {
    name: Name,
    rtype: RecordType,
    resolvers: Resolvers,
    authoritative: bool,
}

impl Observer for DnsObserver {
    fn host(&self) -> Option<String> {
        match &self.resolvers {
            Resolvers::System => None,
            Resolvers::Listed(list) => list.first().map(|(key, _)| key.clone()),
        }
    }

    fn observe(&self) -> BoxFuture<'_, Result<Facts, Failure>> {
        Box::pin(self.observe_all())
    }
}

impl DnsObserver {
    async fn observe_all(&self) -> Result<Facts, Failure> {
        let servers = match &self.resolvers {
            Resolvers::Listed(list) => list.clone(),
            Resolvers::System => vec![(SYSTEM_KEY.to_string(), system_servers().await?)],
        };
        let Some((first_key, first_addrs)) = servers.first().cloned() else {
            return Err(Failure::Probe("no resolver to ask".into()));
        };
        let asked = join_all(
            servers
                .iter()
                .map(|(_, addrs)| query::ask(addrs, &self.name, self.rtype, true)),
        );
        let (replies, authorities) = if self.authoritative {
            let (replies, found) = join(
                asked,
                authority::authorities(&first_addrs, &first_key, &self.name),
            )
            .await;
            (replies, Some(found.map_err(Failure::Target)?))
        } else {
            (asked.await, None)
        };
        let mut results: Vec<(String, query::Reply)> = Vec::new();
        let mut silent = Vec::new();
        for ((key, _), reply) in servers.iter().zip(replies) {
            match reply {
                Ok(r) => results.push((key.clone(), r)),
                Err(s) => silent.push(format!("resolver {}", s.describe(key))),
            }
        }
        if let Some(auths) = authorities {
            let asked =
                join_all(auths.iter().map(|a| {
                    query::ask(std::slice::from_ref(&a.addr), &self.name, self.rtype, false)
                }))
                .await;
            for (a, reply) in auths.iter().zip(asked) {
                match reply {
                    Ok(r) => results.push((a.key.clone(), r)),
                    Err(s) => silent.push(format!("name server {}", s.describe(&a.key))),
                }
            }
        }
        if !silent.is_empty() {
            return Err(Failure::Target(silent.join("; ")));
        }
        Ok(facts_of(&results))
    }
}

/// The name servers of `/etc/resolv.conf`, read without blocking.
async fn system_servers() -> Result<Vec<SocketAddr>, Failure> {
    let text = tokio::fs::read(RESOLV_CONF).await.map_err(|e| {
        Failure::Probe(format!(
            "failed to read the system resolver configuration {RESOLV_CONF}: {e} (set `resolvers`)"
        ))
    })?;
    system_servers_from(&text).map_err(Failure::Probe)
}

fn system_servers_from(text: &[u8]) -> Result<Vec<SocketAddr>, String> {
    let (config, _) = hickory_resolver::system_conf::parse_resolv_conf(text).map_err(|e| {
        format!(
            "failed to use the system resolver configuration {RESOLV_CONF}: {e} (set `resolvers`)"
        )
    })?;
    Ok(config
        .name_servers()
        .iter()
        .map(|ns| {
            let port = ns.connections.first().map_or(53, |c| c.port);
            SocketAddr::new(ns.ip, port)
        })
        .collect())
}

/// Facts from every server's reply; the first reply is the first resolver's.
fn facts_of(results: &[(String, query::Reply)]) -> Facts {
    let mut f = Facts::new();
    let Some((_, first)) = results.first() else {
        return f;
    };
    f.insert("rcode".into(), json!(first.rcode));
    f.insert("answers".into(), json!(first.answers));
    f.insert("ttl".into(), json!(first.ttl));
    f.insert(
        "latency_ms".into(),
        json!((first.latency.as_secs_f64() * 10_000.0).round() / 10.0),
    );
    let mut per = serde_json::Map::new();
    for (key, r) in results {
        per.insert(key.clone(), json!({"rcode": r.rcode, "answers": r.answers}));
    }
    f.insert("resolvers".into(), Value::Object(per));
    let canonical = |r: &query::Reply| {
        let mut a = r.answers.clone();
        a.sort();
        a.dedup();
        (r.rcode.clone(), a)
    };
    let reference = canonical(first);
    f.insert(
        "consistent".into(),
        json!(results.iter().all(|(_, r)| canonical(r) == reference)),
    );
    f
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn opts(v: Value) -> Options {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn check_reports_bad_literal_options() {
        let p = DnsProbe::new();
        let problems = p.check(&opts(json!({
            "name": "exa mple..com",
            "type": "PTR",
            "resolvers": ["8.8.8.8.8", "127.0.0.1:5353", "127.0.0.1:5353"],
        })));
        let keys: Vec<_> = problems.iter().filter_map(|p| p.key.clone()).collect();
        assert_eq!(
            keys,
            vec!["name", "type", "resolvers", "resolvers"],
            "{problems:?}"
        );
        assert!(problems[1].message.contains("A, AAAA, CNAME"));
        assert!(problems[3].message.contains("listed twice"));
        let problems = p.check(&opts(
            json!({"name": "${host}", "resolvers": ["${dns}"], "authoritative": true}),
        ));
        assert!(problems.is_empty(), "{problems:?}");
        let problems = p.check(&opts(json!({"name": "a.example", "resolvers": []})));
        assert_eq!(problems.len(), 1);
        let problems = p.check(&opts(json!({"name": "a.example", "ttl": 3})));
        assert_eq!(problems[0].key.as_deref(), Some("ttl"));
    }

    #[test]
    fn server_addresses() {
        assert_eq!(
            parse_server("192.0.2.1").unwrap(),
            "192.0.2.1:53".parse().unwrap()
        );
        assert_eq!(
            parse_server("127.0.0.1:5353").unwrap(),
            "127.0.0.1:5353".parse().unwrap()
        );
        assert_eq!(parse_server("::1").unwrap(), "[::1]:53".parse().unwrap());
        assert_eq!(
            parse_server("[::1]:5353").unwrap(),
            "[::1]:5353".parse().unwrap()
        );
        assert!(parse_server("dns.google").is_err());
        assert_eq!(display_addr("192.0.2.1:53".parse().unwrap()), "192.0.2.1");
        assert_eq!(display_addr("[::1]:5353".parse().unwrap()), "[::1]:5353");
    }

    #[test]
    fn names_are_fully_qualified_and_types_closed() {
        assert_eq!(
            parse_name("app.example.io").unwrap().to_ascii(),
            "app.example.io."
        );
        assert_eq!(parse_type("txt").unwrap(), RecordType::TXT);
        assert!(parse_type("ANY").is_err());
        assert!(parse_name(" ").is_err());
    }

    #[test]
    fn system_configuration_is_parsed_not_guessed() {
        let servers =
            system_servers_from(b"search corp.example\nnameserver 127.0.0.53\nnameserver ::1\n")
                .unwrap();
        assert_eq!(
            servers,
            vec![
                "127.0.0.53:53".parse().unwrap(),
                "[::1]:53".parse().unwrap()
            ]
        );
        assert!(system_servers_from(b"# no name servers\n").is_err());
    }

    fn reply(rcode: &str, answers: &[&str], ttl: Option<u32>) -> query::Reply {
        query::Reply {
            rcode: rcode.into(),
            answers: answers.iter().map(|a| a.to_string()).collect(),
            owners: vec![],
            ttl,
            latency: Duration::from_micros(1234),
        }
    }

    #[test]
    fn consistency_ignores_order_and_ttl() {
        let f = facts_of(&[
            (
                "a".into(),
                reply("NOERROR", &["192.0.2.1", "192.0.2.2"], Some(60)),
            ),
            (
                "b".into(),
                reply("NOERROR", &["192.0.2.2", "192.0.2.1"], Some(30)),
            ),
        ]);
        assert_eq!(f["consistent"], true);
        assert_eq!(f["ttl"], 60);
        assert_eq!(f["latency_ms"], 1.2);
        assert_eq!(f["resolvers"]["b"]["answers"][0], "192.0.2.2");
        let f = facts_of(&[
            ("a".into(), reply("NOERROR", &["192.0.2.1"], Some(60))),
            ("b".into(), reply("NXDOMAIN", &[], None)),
        ]);
        assert_eq!(f["consistent"], false);
        assert_eq!(f["rcode"], "NOERROR");
        let f = facts_of(&[("a".into(), reply("NXDOMAIN", &[], None))]);
        assert_eq!(f["ttl"], Value::Null);
        assert_eq!(f["consistent"], true);
    }
}
