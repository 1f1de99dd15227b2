//! The `dns` probe: one question to one or more DNS servers, and what each answered.
//!
//! It asks each listed resolver separately (or the system's, from `/etc/resolv.conf`)
//! for `name`/`type`, and with `authoritative = true` also the zone's own name
//! servers. It reports the response code as a fact (`NXDOMAIN` is an observation, not
//! an error), the answers in presentation format, the smallest TTL, the latency, each
//! server's answer and whether they all agree. A server that does not answer at all
//! makes the item fail with a reason naming it.
//!
//! Mail and DNSSEC facts come on top of the answers: `spf` (TXT, followed through
//! include/redirect and counted as RFC 7208 §4.6.4 counts lookups), `dmarc`
//! (`dmarc = true`), `dkim` (`dkim_selector`), structured `mx` with `null_mx`, and
//! `dnssec` {ad, rrsig} from a second question with the DO bit (`dnssec = true`).
//! Every extra question goes to the first resolver.
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
mod error;
mod extras;
mod policy;
mod present;
mod query;
mod spf;

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use futures_util::future::{join, join_all};
use hickory_resolver::proto::rr::{Name, RecordType};
use preflight_core::probe::{BoxFuture, OptionProblem};
use preflight_core::{Context, Fact, FactType, Facts, Failure, Observer, Options, Probe};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use error::{Error, Server, Silence, Unanswered};
pub use query::QUERY_TIMEOUT;
pub use spf::LOOKUP_LIMIT;

/// Record types the probe asks for, as written in `type`.
pub const TYPES: &[&str] = &["A", "AAAA", "CNAME", "TXT", "MX", "NS", "CAA", "SOA", "SRV"];

/// Key of the system resolver in the `resolvers` fact when `resolvers` is absent.
pub const SYSTEM_KEY: &str = "system";

const RESOLV_CONF: &str = "/etc/resolv.conf";

/// A record type the probe asks for. Written in any case (`"TXT"`, `"txt"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordKind {
    /// IPv4 addresses.
    A,
    /// IPv6 addresses.
    Aaaa,
    /// An alias.
    Cname,
    /// Text (SPF, DKIM, DMARC, site verification).
    Txt,
    /// Mail exchangers.
    Mx,
    /// Name servers.
    Ns,
    /// Certificate authorities allowed to issue.
    Caa,
    /// Start of authority.
    Soa,
    /// Services.
    Srv,
}

const KINDS: [RecordKind; 9] = [
    RecordKind::A,
    RecordKind::Aaaa,
    RecordKind::Cname,
    RecordKind::Txt,
    RecordKind::Mx,
    RecordKind::Ns,
    RecordKind::Caa,
    RecordKind::Soa,
    RecordKind::Srv,
];

impl RecordKind {
    /// The upper-case name (`"AAAA"`).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::A => "A",
            RecordKind::Aaaa => "AAAA",
            RecordKind::Cname => "CNAME",
            RecordKind::Txt => "TXT",
            RecordKind::Mx => "MX",
            RecordKind::Ns => "NS",
            RecordKind::Caa => "CAA",
            RecordKind::Soa => "SOA",
            RecordKind::Srv => "SRV",
        }
    }

    /// Parses a type name in any case.
    pub fn parse(text: &str) -> Result<RecordKind, String> {
        let upper = text.trim().to_ascii_uppercase();
        if let Some(k) = KINDS.into_iter().find(|k| k.as_str() == upper) {
            return Ok(k);
        }
        let hint = match preflight_core::names::suggest(&upper, TYPES.iter().copied()) {
            Some(s) => format!("did you mean \"{s}\"? "),
            None => String::new(),
        };
        Err(format!(
            "unsupported record type \"{text}\" ({hint}use one of {})",
            TYPES.join(", ")
        ))
    }

    fn record_type(self) -> RecordType {
        match self {
            RecordKind::A => RecordType::A,
            RecordKind::Aaaa => RecordType::AAAA,
            RecordKind::Cname => RecordType::CNAME,
            RecordKind::Txt => RecordType::TXT,
            RecordKind::Mx => RecordType::MX,
            RecordKind::Ns => RecordType::NS,
            RecordKind::Caa => RecordType::CAA,
            RecordKind::Soa => RecordType::SOA,
            RecordKind::Srv => RecordType::SRV,
        }
    }
}

impl<'de> Deserialize<'de> for RecordKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RecordKind, D::Error> {
        let text = String::deserialize(d)?;
        RecordKind::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for RecordKind {
    fn schema_name() -> Cow<'static, str> {
        "RecordKind".into()
    }

    /// The names in upper case (for completion), or the same in any case: JSON
    /// Schema has no case-insensitive `enum`, so the second branch is a pattern.
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let any_case: Vec<String> = TYPES
            .iter()
            .map(|t| {
                t.chars()
                    .map(|c| format!("[{c}{}]", c.to_ascii_lowercase()))
                    .collect()
            })
            .collect();
        json_schema!({
            "title": "record type",
            "anyOf": [
                {"type": "string", "enum": TYPES},
                {"type": "string", "pattern": format!("^({})$", any_case.join("|"))}
            ]
        })
    }
}

fn default_kind() -> RecordKind {
    RecordKind::A
}

/// Options of a `dns` item.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsOptions {
    /// The name to ask about (`app.example.io`; trailing dot optional, IDN names sent
    /// as punycode).
    pub name: String,
    /// Record type to ask for, in any case.
    #[serde(default = "default_kind", rename = "type")]
    pub record_type: RecordKind,
    /// Resolvers to ask, each separately: `ip` or `ip:port` (`"127.0.0.1:5353"`,
    /// `"[::1]:5353"`); default: the system's, from /etc/resolv.conf.
    #[serde(default)]
    pub resolvers: Option<Vec<String>>,
    /// Also ask each of the zone's own name servers (propagation check).
    #[serde(default)]
    pub authoritative: bool,
    /// Also ask for `_dmarc.NAME` TXT and report `dmarc` (a `_dmarc.` name with
    /// `type = "TXT"` reports it from its own answers).
    #[serde(default)]
    pub dmarc: bool,
    /// Also ask for `SELECTOR._domainkey.NAME` TXT and report `dkim` (`"google"`,
    /// `"selector1"`; a `._domainkey.` name with `type = "TXT"` reports it from its
    /// own answers).
    #[serde(default)]
    pub dkim_selector: Option<String>,
    /// Ask the first resolver again with the DNSSEC OK bit and report `dnssec`
    /// {ad, rrsig}; use a validating resolver.
    #[serde(default)]
    pub dnssec: bool,
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
    type Options = DnsOptions;
    const NAME: &'static str = "dns";
    const SUMMARY: &'static str = "One DNS question to each resolver (and, optionally, the zone's name servers): rcode, answers, TTL, latency and whether they all agree; SPF, DMARC, DKIM, MX and DNSSEC read into facts.";
    const FACTS: &'static [Fact] = &[
        Fact::new(
            "rcode",
            FactType::String,
            "response code: \"NOERROR\", \"NXDOMAIN\", \"SERVFAIL\", \"REFUSED\", …",
        ),
        Fact::new(
            "answers",
            FactType::List,
            "records of the asked type in presentation format (\"203.0.113.7\", \"10 mx.example.com.\")",
        ),
        Fact::new(
            "ttl",
            FactType::Integer,
            "smallest TTL of those records; null when there are none",
        )
        .nullable(),
        Fact::new(
            "latency_ms",
            FactType::Number,
            "time to the first resolver's answer, in ms",
        ),
        Fact::new(
            "resolvers",
            FactType::Map,
            "{rcode, answers} of every server asked, by resolver as listed, \"system\" or \"NS-NAME (ADDRESS)\"",
        ),
        Fact::new(
            "consistent",
            FactType::Bool,
            "every server gave the same rcode and answer set (order and TTLs ignored)",
        ),
        Fact::new(
            "failing",
            FactType::List,
            "the servers (as in `resolvers`) whose answer is not NOERROR with records, as \"SERVER: RCODE\" or \"SERVER: no answers\"",
        ),
        Fact::new(
            "mx",
            FactType::List,
            "MX records as [{preference, exchange}] (exchange fully qualified, \".\" for a Null MX)",
        )
        .when("with `type = \"MX\"`"),
        Fact::new(
            "null_mx",
            FactType::Bool,
            "the name publishes a Null MX (`0 .`, RFC 7505): it accepts no mail",
        )
        .when("with `type = \"MX\"`"),
        Fact::new(
            "spf",
            FactType::Object,
            "the v=spf1 record: {records, all, mechanisms, includes, redirect, lookups, lookups_exceeded, errors}; null when there is none",
        )
        .nullable()
        .when("with `type = \"TXT\"`"),
        Fact::new(
            "dmarc",
            FactType::Object,
            "the DMARC record at _dmarc.NAME: {records, p, sp, pct, rua, ruf, adkim, aspf}, defaults applied; null when there is none",
        )
        .nullable()
        .when("with `dmarc = true`, or a `_dmarc.` name and `type = \"TXT\"`"),
        Fact::new(
            "dkim",
            FactType::Object,
            "the DKIM key at SELECTOR._domainkey.NAME: {present, revoked, key_type, key_bits}",
        )
        .when("with `dkim_selector`, or a `._domainkey.` name and `type = \"TXT\"`"),
        Fact::new(
            "dnssec",
            FactType::Object,
            "{ad, rrsig}: the first resolver set the AD bit (it validated the answer); an RRSIG came with the records",
        )
        .when("with `dnssec = true`"),
    ];
    const EXAMPLE: &'static str = r#"[[item]]
id = "dns.app"
title = "app.example → CF Pages (CNAME), the same on both resolvers"
probe = "dns"
name = "app.example"
type = "CNAME"
resolvers = ["127.0.0.1:5353", "127.0.0.2:5353"]
expect = ["answers.exists(a, a.endsWith('.pages.dev.'))", "consistent"]
"#;

    const DEFAULT_EXPECT_NOTE: &'static str = "`rcode == \"NOERROR\" && answers.size() > 0` (the first resolver); with several `resolvers` or `authoritative = true` also `failing.size() == 0`, so one failing server among several fails the item. With `type = \"TXT\"` also: an SPF record, if any, is one record with no errors within the lookup limit; with `dmarc = true`: a DMARC record exists; with `dkim_selector`: the key is present; with `dnssec = true`: the answer is authenticated (`dnssec.ad`).";

    fn default_expect(options: &Options) -> Vec<String> {
        let mut expect = vec!["rcode == \"NOERROR\" && answers.size() > 0".to_string()];
        // As written: a list of one is one server; a `${…}` may be several.
        let several = match options.get("resolvers") {
            Some(Value::Array(list)) => list.len() > 1,
            Some(_) => true,
            None => false,
        } || !matches!(
            options.get("authoritative"),
            None | Some(Value::Bool(false))
        );
        if several {
            expect.push("failing.size() == 0".into());
        }
        let is = |key: &str, want: &str| {
            options
                .get(key)
                .and_then(Value::as_str)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case(want))
        };
        let on = |key: &str| options.get(key).is_some_and(|v| v != &Value::Bool(false));
        if is("type", "TXT") {
            expect.push(
                "spf == null || (spf.records == 1 && spf.errors.size() == 0 && !spf.lookups_exceeded)"
                    .into(),
            );
        }
        if on("dmarc") {
            expect.push("dmarc != null".into());
        }
        if options.contains_key("dkim_selector") {
            expect.push("dkim.present".into());
        }
        if on("dnssec") {
            expect.push("dnssec.ad".into());
        }
        expect
    }

    fn validate(options: &DnsOptions) -> Vec<OptionProblem> {
        let mut problems = Vec::new();
        if let Err(e) = parse_name(&options.name) {
            problems.push(OptionProblem::at("name", e));
        }
        if let Some(list) = &options.resolvers
            && let Err(found) = parse_servers(list)
        {
            problems.extend(found.into_iter().map(|e| OptionProblem::at("resolvers", e)));
        }
        if let Some(sel) = &options.dkim_selector
            && let Err(e) = parse_selector(sel)
        {
            problems.push(OptionProblem::at("dkim_selector", e));
        }
        problems
    }

    fn prepare(&self, options: DnsOptions, _: &Context) -> Result<Arc<dyn Observer>, Failure> {
        // `validate` has accepted these; the errors cannot happen but stay item errors.
        let name = parse_name(&options.name)
            .map_err(|e| Failure::options(OptionProblem::at("name", e)))?;
        let resolvers = match &options.resolvers {
            None => Resolvers::System,
            Some(list) => Resolvers::Listed(
                parse_servers(list)
                    .map_err(|e| Failure::options(OptionProblem::at("resolvers", e.join("; "))))?,
            ),
        };
        let extras = extras_of(&options, &name)
            .map_err(|e| Failure::options(OptionProblem::at("dkim_selector", e)))?;
        Ok(Arc::new(DnsObserver {
            name,
            rtype: options.record_type.record_type(),
            resolvers,
            authoritative: options.authoritative,
            extras,
        }))
    }
}

/// A DKIM selector: one or more labels (`google`, `s1.2026`), no dots at the ends.
fn parse_selector(text: &str) -> Result<Name, String> {
    let t = text.trim();
    if t.is_empty() || t.starts_with('.') || t.ends_with('.') {
        return Err(format!(
            "\"{text}\" is not a DKIM selector (write the selector alone, e.g. \"google\")"
        ));
    }
    Name::from_utf8(t).map_err(|e| format!("\"{text}\" is not a DKIM selector: {e}"))
}

/// What the item observes besides its answers, from its options and name.
fn extras_of(options: &DnsOptions, name: &Name) -> Result<extras::Extras, String> {
    use extras::Source;
    let txt = options.record_type == RecordKind::Txt;
    let labels: Vec<String> = name
        .iter()
        .map(|l| String::from_utf8_lossy(l).to_ascii_lowercase())
        .collect();
    let dmarc = if txt && labels.first().is_some_and(|l| l == "_dmarc") {
        Some(Source::Answers)
    } else if options.dmarc {
        let n = Name::from_ascii("_dmarc")
            .and_then(|d| d.append_domain(name))
            .map_err(|e| format!("_dmarc.{name}: {e}"))?;
        Some(Source::Ask(n))
    } else {
        None
    };
    let dkim = match &options.dkim_selector {
        Some(sel) => {
            let n = parse_selector(sel)?
                .append_domain(&Name::from_ascii("_domainkey").map_err(|e| e.to_string())?)
                .and_then(|d| d.append_domain(name))
                .map_err(|e| format!("{sel}._domainkey.{name}: {e}"))?;
            Some(Source::Ask(n))
        }
        None if txt && labels.iter().skip(1).any(|l| l == "_domainkey") => Some(Source::Answers),
        None => None,
    };
    Ok(extras::Extras {
        mx: options.record_type == RecordKind::Mx,
        spf: txt,
        dmarc,
        dkim,
        dnssec: options.dnssec,
    })
}

/// The listed resolvers (key as written, address), or every problem with the list.
fn parse_servers(list: &[String]) -> Result<Vec<(String, Vec<SocketAddr>)>, Vec<String>> {
    if list.is_empty() {
        return Err(vec![
            "resolvers is empty (leave it out to use the system's resolver)".into(),
        ]);
    }
    let mut problems = Vec::new();
    let mut listed: Vec<(String, Vec<SocketAddr>)> = Vec::new();
    for r in list {
        match parse_server(r) {
            Err(e) => problems.push(e),
            Ok(addr) if listed.iter().any(|(_, a)| a[0] == addr) => {
                problems.push(format!("\"{r}\" is listed twice"));
            }
            Ok(addr) => listed.push((r.trim().to_string(), vec![addr])),
        }
    }
    if problems.is_empty() {
        Ok(listed)
    } else {
        Err(problems)
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
    extras: extras::Extras,
}

impl Observer for DnsObserver {
    fn host(&self) -> Option<String> {
        match &self.resolvers {
            Resolvers::System => None,
            Resolvers::Listed(list) => list.first().map(|(key, _)| key.clone()),
        }
    }

    fn observe(&self) -> BoxFuture<'_, Result<Facts, Failure>> {
        Box::pin(async move { Ok(self.observe_all().await?) })
    }
}

impl DnsObserver {
    async fn observe_all(&self) -> Result<Facts, Error> {
        let servers = match &self.resolvers {
            Resolvers::Listed(list) => list.clone(),
            Resolvers::System => vec![(SYSTEM_KEY.to_string(), system_servers().await?)],
        };
        let Some((first_key, first_addrs)) = servers.first().cloned() else {
            // Listed resolvers are never empty, and an empty resolv.conf is an error.
            return Err(Error::SystemConfig {
                path: RESOLV_CONF,
                reason: "it names no name server".into(),
            });
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
            (replies, Some(found?))
        } else {
            (asked.await, None)
        };
        let mut results: Vec<(String, query::Reply)> = Vec::new();
        let mut silent = Vec::new();
        for ((key, _), reply) in servers.iter().zip(replies) {
            match reply {
                Ok(r) => results.push((key.clone(), r)),
                Err(silence) => silent.push(Unanswered {
                    server: Server::Resolver(key.clone()),
                    silence,
                }),
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
                    Err(silence) => silent.push(Unanswered {
                        server: Server::NameServer(a.key.clone()),
                        silence,
                    }),
                }
            }
        }
        if !silent.is_empty() {
            return Err(Error::Unanswered(silent));
        }
        let mut facts = facts_of(&results);
        if let Some((_, first)) = results.first()
            && self.extras.any()
        {
            self.extras
                .observe(
                    &first_addrs,
                    &first_key,
                    &self.name,
                    self.rtype,
                    first,
                    &mut facts,
                )
                .await?;
        }
        Ok(facts)
    }
}

/// The name servers of `/etc/resolv.conf`, read without blocking.
async fn system_servers() -> Result<Vec<SocketAddr>, Error> {
    let text = tokio::fs::read(RESOLV_CONF)
        .await
        .map_err(|source| Error::ReadSystemConfig {
            path: RESOLV_CONF,
            source,
        })?;
    system_servers_from(&text)
}

fn system_servers_from(text: &[u8]) -> Result<Vec<SocketAddr>, Error> {
    let (config, _) = hickory_resolver::system_conf::parse_resolv_conf(text).map_err(|e| {
        Error::SystemConfig {
            path: RESOLV_CONF,
            reason: e.to_string(),
        }
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
    let failing: Vec<String> = results
        .iter()
        .filter_map(|(key, r)| {
            if r.rcode != "NOERROR" {
                Some(format!("{key}: {}", r.rcode))
            } else if r.answers.is_empty() {
                Some(format!("{key}: no answers"))
            } else {
                None
            }
        })
        .collect();
    f.insert("failing".into(), json!(failing));
    f
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use preflight_core::AnyProbe;

    use super::*;

    fn opts(v: Value) -> Options {
        serde_json::from_value(v).unwrap()
    }

    fn keys(problems: &[OptionProblem]) -> Vec<String> {
        problems.iter().filter_map(|p| p.key.clone()).collect()
    }

    #[test]
    fn check_reports_bad_literal_options() {
        let p = DnsProbe::new();
        let problems = p.check(&opts(json!({
            "name": "exa mple..com",
            "resolvers": ["8.8.8.8.8", "127.0.0.1:5353", "127.0.0.1:5353"],
        })));
        assert_eq!(
            keys(&problems),
            vec!["name", "resolvers", "resolvers"],
            "{problems:?}"
        );
        assert!(problems[1].message.contains("is not an IP address"));
        assert!(problems[2].message.contains("listed twice"));
        let problems = p.check(&opts(json!({"name": "a.example", "resolvers": []})));
        assert_eq!(keys(&problems), vec!["resolvers"]);
        let problems = p.check(&opts(json!({"name": "a.example", "ttl": 3})));
        assert_eq!(keys(&problems), vec!["ttl"]);
        let problems = p.check(&opts(json!({"name": "a.example", "authoritative": "yes"})));
        assert_eq!(keys(&problems), vec!["authoritative"]);
    }

    #[test]
    fn record_types_in_any_case() {
        let p = DnsProbe::new();
        for t in ["A", "aaaa", "Txt", "cname", "MX", "ns", "CAA", "soa", "SRV"] {
            let problems = p.check(&opts(json!({"name": "a.example", "type": t})));
            assert!(problems.is_empty(), "{t}: {problems:?}");
        }
        let problems = p.check(&opts(json!({"name": "a.example", "type": "PTR"})));
        assert_eq!(keys(&problems), vec!["type"]);
        assert!(
            problems[0]
                .message
                .contains("unsupported record type \"PTR\" (use one of A, AAAA, CNAME"),
            "{problems:?}"
        );
        let problems = p.check(&opts(json!({"name": "a.example", "type": "AAA"})));
        assert!(
            problems[0].message.contains("did you mean \"AAAA\"?"),
            "{problems:?}"
        );
        assert_eq!(RecordKind::parse(" txt ").unwrap(), RecordKind::Txt);
        assert_eq!(RecordKind::Txt.record_type(), RecordType::TXT);
        assert!(RecordKind::parse("ANY").is_err());
    }

    #[test]
    fn the_schema_admits_every_spelling_the_probe_reads() {
        let schema = DnsProbe::new().options_schema();
        let props = schema["properties"].as_object().expect("properties");
        for (name, s) in props {
            assert!(s["description"].is_string(), "{name} has no doc: {s}");
        }
        assert_eq!(props["type"]["default"], "A");
        let kind = &schema["$defs"]["RecordKind"];
        assert_eq!(kind["title"], "record type");
        assert_eq!(kind["anyOf"][0]["enum"], json!(TYPES));
        let pattern = kind["anyOf"][1]["pattern"].as_str().expect("pattern");
        assert!(
            pattern.starts_with("^([Aa]|[Aa][Aa][Aa][Aa]|[Cc][Nn][Aa][Mm][Ee]|"),
            "{pattern}"
        );
        // Every type's upper- and lower-case spelling, through the loader.
        let catalog = preflight_core::Catalog::new(vec![Arc::new(DnsProbe::new())]);
        for t in TYPES {
            for spelling in [t.to_string(), t.to_ascii_lowercase()] {
                let text = format!(
                    "[[item]]\nid = \"x\"\nprobe = \"dns\"\nname = \"a.example\"\ntype = \"{spelling}\"\nresolvers = [\"127.0.0.1:5353\"]\n"
                );
                let loaded = preflight_core::checklist::parse("t.toml", &text, &[], &catalog);
                assert!(loaded.is_ok(), "{spelling}: {loaded:?}");
            }
        }
        let text = "[[item]]\nid = \"x\"\nprobe = \"dns\"\nname = \"a.example\"\ntype = \"PTR\"\n";
        let err = preflight_core::checklist::parse("t.toml", text, &[], &catalog)
            .expect_err("PTR is not supported");
        assert!(
            err.problems
                .iter()
                .any(|p| p.message.contains("unsupported record type \"PTR\"")),
            "{err:?}"
        );
    }

    #[test]
    fn example_loads() {
        let catalog = preflight_core::Catalog::new(vec![Arc::new(DnsProbe::new())]);
        let list =
            preflight_core::checklist::parse("example.toml", DnsProbe::EXAMPLE, &[], &catalog)
                .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(list.items.len(), 1);
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
        let e = system_servers_from(b"# no name servers\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("failed to use the system resolver configuration /etc/resolv.conf"),
            "{e}"
        );
        assert_eq!(
            preflight_core::ProbeError::blame(&e),
            preflight_core::Blame::Checker
        );
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
    fn several_servers_must_each_answer_by_default() {
        let de =
            |v: Value| <DnsProbe as Probe>::default_expect(&v.as_object().expect("object").clone());
        let first = "rcode == \"NOERROR\" && answers.size() > 0";
        assert_eq!(de(json!({"name": "a"})), [first]);
        assert_eq!(
            de(json!({"name": "a", "resolvers": ["127.0.0.1"]})),
            [first]
        );
        for several in [
            json!({"name": "a", "resolvers": ["127.0.0.1", "127.0.0.2"]}),
            json!({"name": "a", "resolvers": "${resolvers}"}),
            json!({"name": "a", "authoritative": true}),
        ] {
            assert_eq!(
                de(several.clone()),
                [first, "failing.size() == 0"],
                "{several}"
            );
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
        assert_eq!(f["failing"], json!(["b: NXDOMAIN"]));
        let f = facts_of(&[
            ("a".into(), reply("NOERROR", &["192.0.2.1"], Some(60))),
            ("b".into(), reply("NOERROR", &[], None)),
        ]);
        assert_eq!(f["failing"], json!(["b: no answers"]));
        let f = facts_of(&[("a".into(), reply("NXDOMAIN", &[], None))]);
        assert_eq!(f["ttl"], Value::Null);
        assert_eq!(f["consistent"], true);
    }
}
