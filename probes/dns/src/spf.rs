//! SPF (RFC 7208): the `v=spf1` record at a name, read and followed.
//!
//! The probe does not evaluate SPF for a sender; it reads the policy the way a
//! receiver would have to: every DNS-querying term (`include`, `a`, `mx`, `ptr`,
//! `exists` and the `redirect` modifier — RFC 7208 §4.6.4) is counted, through
//! `include` and `redirect` recursively, in the order a receiver meets them. Counting
//! stops once the count passes the limit of [`LOOKUP_LIMIT`] (a receiver's
//! `permerror`): nothing further is fetched, so a record can never make the probe
//! follow more than [`LOOKUP_LIMIT`] + 1 names. An `include` of a name already on the
//! current path is a loop: counted, reported, not followed. Domain specs with macros
//! (`%{d}`) are counted and not followed (they depend on the sender).

use std::future::Future;
use std::pin::Pin;

use serde_json::{Value, json};

/// The most DNS-querying terms a receiver evaluates (RFC 7208 §4.6.4).
pub const LOOKUP_LIMIT: u32 = 10;
/// At most this many `errors` and `mechanisms` are kept (a record is target text).
const MAX_LISTED: usize = 64;

/// What a TXT question for a name gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Txt {
    /// The TXT records (NOERROR, possibly none).
    Records(Vec<String>),
    /// Another response code (`NXDOMAIN`, `SERVFAIL`, …).
    Rcode(String),
}

/// Asks for TXT records; the error is the probe's (a resolver that did not answer).
pub(crate) trait TxtSource<E>: Sync {
    /// TXT records of `domain` (no trailing dot).
    fn txt<'a>(
        &'a self,
        domain: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Txt, E>> + Send + 'a>>;
}

/// Whether a TXT string is an SPF record: `v=spf1` alone or followed by a space.
pub(crate) fn is_spf(text: &str) -> bool {
    let t = text.trim_start();
    t.len() >= 6
        && t[..6].eq_ignore_ascii_case("v=spf1")
        && t[6..].chars().next().is_none_or(|c| c == ' ')
}

/// One term of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    /// `[qualifier]name[:value or /cidr]`, name lower-cased.
    Mechanism {
        qualifier: char,
        name: String,
        domain: Option<String>,
        raw: String,
    },
    /// `name=value`, name lower-cased.
    Modifier { name: String, value: String },
}

const MECHANISMS: &[&str] = &["all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"];

/// The terms of one record; unknown or malformed terms become problems.
fn terms(record: &str) -> (Vec<Term>, Vec<String>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for raw in record.split_whitespace().skip(1) {
        if let Some((name, value)) = raw.split_once('=')
            && !name.contains(':')
            && !name.contains('/')
        {
            out.push(Term::Modifier {
                name: name.to_ascii_lowercase(),
                value: value.to_string(),
            });
            continue;
        }
        let (qualifier, rest) = match raw.chars().next() {
            Some(q @ ('+' | '-' | '~' | '?')) => (q, &raw[1..]),
            _ => ('+', raw),
        };
        let split = rest.find([':', '/']).unwrap_or(rest.len());
        let name = rest[..split].to_ascii_lowercase();
        if !MECHANISMS.contains(&name.as_str()) {
            problems.push(format!("unknown term \"{}\"", clean(raw)));
            continue;
        }
        let domain = rest[split..]
            .strip_prefix(':')
            .map(|d| d.split('/').next().unwrap_or("").to_string());
        if matches!(name.as_str(), "include" | "exists")
            && domain.as_deref().is_none_or(str::is_empty)
        {
            problems.push(format!("\"{}\" names no domain", clean(raw)));
            continue;
        }
        out.push(Term::Mechanism {
            qualifier,
            name,
            domain,
            raw: raw.to_string(),
        });
    }
    (out, problems)
}

/// Target text in a fact: no control characters, at most 255 chars.
fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(255).collect()
}

/// A domain as a key: lower case, no trailing dot.
fn norm(domain: &str) -> String {
    domain.trim_end_matches('.').to_ascii_lowercase()
}

/// The `spf` fact of `name`, whose TXT answers are `answers`; `None` when none of
/// them is an SPF record.
pub(crate) async fn observe<E>(
    name: &str,
    answers: &[String],
    source: &dyn TxtSource<E>,
) -> Result<Option<Value>, E> {
    let records: Vec<&String> = answers.iter().filter(|a| is_spf(a)).collect();
    let Some(first) = records.first() else {
        return Ok(None);
    };
    let mut walk = Walk {
        lookups: 0,
        includes: Vec::new(),
        errors: Vec::new(),
    };
    let name = norm(name);
    if records.len() > 1 {
        walk.errors.push(format!(
            "{} SPF records at {name} (RFC 7208 §4.5: permerror; publish one)",
            records.len()
        ));
    }
    let (top, problems) = terms(first);
    walk.problems(&name, problems);
    let mechanisms: Vec<String> = top
        .iter()
        .filter_map(|t| match t {
            Term::Mechanism { raw, .. } => Some(clean(raw)),
            Term::Modifier { .. } => None,
        })
        .take(MAX_LISTED)
        .collect();
    let redirect = top.iter().find_map(|t| match t {
        Term::Modifier { name, value } if name == "redirect" => Some(norm(value)),
        _ => None,
    });
    let mut path = vec![name.clone()];
    let all = walk.record(&top, &mut path, source).await?;
    Ok(Some(json!({
        "records": records.len(),
        "all": all,
        "mechanisms": mechanisms,
        "includes": walk.includes,
        "redirect": redirect,
        "lookups": walk.lookups,
        "lookups_exceeded": walk.lookups > LOOKUP_LIMIT,
        "errors": walk.errors,
    })))
}

struct Walk {
    lookups: u32,
    includes: Vec<String>,
    errors: Vec<String>,
}

impl Walk {
    /// Records an error, up to [`MAX_LISTED`].
    fn error(&mut self, e: String) {
        if self.errors.len() < MAX_LISTED {
            self.errors.push(e);
        }
    }

    fn problems(&mut self, at: &str, problems: Vec<String>) {
        for p in problems {
            self.error(format!("{p} in the SPF record of {at}"));
        }
    }

    fn over(&self) -> bool {
        self.lookups > LOOKUP_LIMIT
    }

    /// Counts `terms` (following include and redirect); returns the record's
    /// effective `all` ("-all", …), or `None` when it has none.
    fn record<'a, E>(
        &'a mut self,
        terms: &'a [Term],
        path: &'a mut Vec<String>,
        source: &'a dyn TxtSource<E>,
    ) -> Pin<Box<dyn Future<Output = Result<Option<String>, E>> + Send + 'a>>
    where
        E: 'a,
    {
        Box::pin(async move {
            let mut all = None;
            for t in terms {
                let Term::Mechanism {
                    qualifier,
                    name,
                    domain,
                    ..
                } = t
                else {
                    continue;
                };
                match name.as_str() {
                    "all" => {
                        all.get_or_insert_with(|| format!("{qualifier}all"));
                    }
                    "include" | "a" | "mx" | "ptr" | "exists" => {
                        if self.over() {
                            break;
                        }
                        self.lookups += 1;
                        if name == "include"
                            && let Some(d) = domain
                        {
                            self.follow("include", d, path, source).await?;
                        }
                    }
                    _ => {}
                }
            }
            let redirect = terms.iter().find_map(|t| match t {
                Term::Modifier { name, value } if name == "redirect" => Some(value.clone()),
                _ => None,
            });
            // RFC 7208 §6.1: a redirect is used only when there is no `all`.
            if all.is_none()
                && let Some(target) = redirect
                && !self.over()
            {
                self.lookups += 1;
                all = self.follow("redirect", &target, path, source).await?;
            }
            Ok(all)
        })
    }

    /// Fetches and counts the record `kind` (include/redirect) points at; returns its
    /// effective `all`.
    async fn follow<E>(
        &mut self,
        kind: &str,
        domain: &str,
        path: &mut Vec<String>,
        source: &dyn TxtSource<E>,
    ) -> Result<Option<String>, E> {
        let d = norm(domain);
        if kind == "include" && !self.includes.contains(&d) {
            self.includes.push(clean(&d));
        }
        let term = format!(
            "{kind}{}{}",
            if kind == "include" { ":" } else { "=" },
            clean(&d)
        );
        if d.contains('%') {
            self.error(format!(
                "{term} uses a macro: counted, not followed (it depends on the sender)"
            ));
            return Ok(None);
        }
        if path.contains(&d) {
            let mut chain = path.clone();
            chain.push(d);
            self.error(format!("{kind} loop: {}", chain.join(" → ")));
            return Ok(None);
        }
        if self.over() {
            return Ok(None);
        }
        let records = match source.txt(&d).await? {
            Txt::Rcode(code) => {
                self.error(format!("{term}: {code}"));
                return Ok(None);
            }
            Txt::Records(all) => all.into_iter().filter(|r| is_spf(r)).collect::<Vec<_>>(),
        };
        let Some(first) = records.first() else {
            self.error(format!("{term}: no SPF record there"));
            return Ok(None);
        };
        if records.len() > 1 {
            self.error(format!(
                "{term}: {} SPF records there (permerror)",
                records.len()
            ));
        }
        let (terms, problems) = terms(first);
        self.problems(&d, problems);
        path.push(d);
        let all = self.record(&terms, path, source).await?;
        path.pop();
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct Zone(HashMap<&'static str, Vec<&'static str>>);

    impl TxtSource<String> for Zone {
        fn txt<'a>(
            &'a self,
            domain: &'a str,
        ) -> Pin<Box<dyn Future<Output = Result<Txt, String>> + Send + 'a>> {
            Box::pin(async move {
                if domain == "silent.test" {
                    return Err("no answer".to_string());
                }
                Ok(match self.0.get(domain) {
                    Some(r) => Txt::Records(r.iter().map(|s| s.to_string()).collect()),
                    None => Txt::Rcode("NXDOMAIN".into()),
                })
            })
        }
    }

    fn zone(records: &[(&'static str, &'static str)]) -> Zone {
        let mut m: HashMap<&'static str, Vec<&'static str>> = HashMap::new();
        for (k, v) in records {
            m.entry(k).or_default().push(v);
        }
        Zone(m)
    }

    fn run(z: &Zone, name: &str) -> Result<Option<Value>, String> {
        let answers: Vec<String> =
            z.0.get(name)
                .map(|r| r.iter().map(|s| s.to_string()).collect())
                .unwrap_or_default();
        futures_util::FutureExt::now_or_never(observe(name, &answers, z)).expect("no awaiting")
    }

    #[test]
    fn spf_records_are_recognised_exactly() {
        assert!(is_spf("v=spf1 -all"));
        assert!(is_spf("V=SPF1"));
        assert!(!is_spf("v=spf10 -all"));
        assert!(!is_spf("v=DMARC1; p=none"));
        assert!(!is_spf("spf1"));
    }

    #[test]
    fn a_good_record_is_counted_through_includes() {
        let z = zone(&[
            (
                "a.test",
                "v=spf1 mx a:out.a.test ip4:192.0.2.0/24 include:_spf.a.test ~all",
            ),
            ("_spf.a.test", "v=spf1 include:_spf2.a.test -all"),
            ("_spf2.a.test", "v=spf1 a ptr exists:%{i}.x.test -all"),
        ]);
        let f = run(&z, "a.test").expect("ok").expect("spf");
        assert_eq!(f["records"], 1);
        assert_eq!(f["all"], "~all");
        assert_eq!(
            f["mechanisms"],
            json!([
                "mx",
                "a:out.a.test",
                "ip4:192.0.2.0/24",
                "include:_spf.a.test",
                "~all"
            ])
        );
        assert_eq!(f["includes"], json!(["_spf.a.test", "_spf2.a.test"]));
        // mx, a, include | include | a, ptr, exists = 7
        assert_eq!(f["lookups"], 7);
        assert_eq!(f["lookups_exceeded"], false);
        assert_eq!(f["errors"], json!([]), "{f}");
        assert_eq!(f["redirect"], Value::Null);
    }

    #[test]
    fn the_limit_stops_counting_and_fetching() {
        let z = zone(&[
            (
                "big.test",
                "v=spf1 include:l1.test include:l2.test include:l3.test include:l4.test include:l5.test -all",
            ),
            ("l1.test", "v=spf1 a mx -all"),
            ("l2.test", "v=spf1 a mx -all"),
            ("l3.test", "v=spf1 a mx -all"),
            ("l4.test", "v=spf1 a mx -all"),
            ("l5.test", "v=spf1 include:silent.test -all"),
        ]);
        let f = run(&z, "big.test")
            .expect("l5 and silent.test are never asked")
            .expect("spf");
        assert_eq!(f["lookups"], 11);
        assert_eq!(f["lookups_exceeded"], true);
        assert_eq!(
            f["includes"],
            json!(["l1.test", "l2.test", "l3.test", "l4.test"])
        );
    }

    #[test]
    fn loops_multiple_records_and_dangling_includes_are_errors() {
        let z = zone(&[
            ("loop.test", "v=spf1 include:loop2.test -all"),
            ("loop2.test", "v=spf1 include:LOOP.test. -all"),
            ("two.test", "v=spf1 mx -all"),
            ("two.test", "v=spf1 a -all"),
            (
                "dangling.test",
                "v=spf1 include:nothing.test include:gone.test foo:bar -all",
            ),
            ("nothing.test", "hello"),
        ]);
        let f = run(&z, "loop.test").expect("ok").expect("spf");
        assert_eq!(f["lookups"], 2);
        assert_eq!(
            f["errors"],
            json!(["include loop: loop.test → loop2.test → loop.test"])
        );
        let f = run(&z, "two.test").expect("ok").expect("spf");
        assert_eq!(f["records"], 2);
        assert!(
            f["errors"][0]
                .as_str()
                .expect("e")
                .starts_with("2 SPF records at two.test"),
            "{f}"
        );
        let f = run(&z, "dangling.test").expect("ok").expect("spf");
        assert_eq!(
            f["errors"],
            json!([
                "unknown term \"foo:bar\" in the SPF record of dangling.test",
                "include:nothing.test: no SPF record there",
                "include:gone.test: NXDOMAIN"
            ])
        );
        assert_eq!(f["lookups"], 2);
    }

    #[test]
    fn redirect_gives_the_effective_all_and_bare_all_is_plus() {
        let z = zone(&[
            ("r.test", "v=spf1 ip4:192.0.2.1 redirect=_spf.r.test"),
            ("_spf.r.test", "v=spf1 a -all"),
            ("open.test", "v=spf1 all"),
            ("none.test", "v=spf1 ip4:192.0.2.1"),
            ("ignored.test", "v=spf1 ?all redirect=_spf.r.test"),
        ]);
        let f = run(&z, "r.test").expect("ok").expect("spf");
        assert_eq!(f["all"], "-all");
        assert_eq!(f["redirect"], "_spf.r.test");
        assert_eq!(f["lookups"], 2);
        assert_eq!(
            run(&z, "open.test").expect("ok").expect("spf")["all"],
            "+all"
        );
        assert_eq!(
            run(&z, "none.test").expect("ok").expect("spf")["all"],
            Value::Null
        );
        let f = run(&z, "ignored.test").expect("ok").expect("spf");
        assert_eq!(
            (f["all"].as_str(), f["lookups"].as_u64()),
            (Some("?all"), Some(0))
        );
    }

    #[test]
    fn no_spf_record_is_none_and_a_silent_resolver_is_an_error() {
        let z = zone(&[
            ("x.test", "google-site-verification=1"),
            ("s.test", "v=spf1 include:silent.test -all"),
        ]);
        assert_eq!(run(&z, "x.test").expect("ok"), None);
        let junk: &'static str =
            Box::leak(format!("v=spf1 {} -all", "bogus ".repeat(500)).into_boxed_str());
        let z2 = zone(&[("junk.test", junk)]);
        let f = run(&z2, "junk.test").expect("ok").expect("spf");
        assert_eq!(
            f["errors"].as_array().map(Vec::len),
            Some(MAX_LISTED),
            "bounded"
        );
        assert_eq!(run(&z, "s.test").expect_err("silent"), "no answer");
    }
}
