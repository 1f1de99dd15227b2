//! Facts read from the answer or asked for besides it: structured MX (and Null MX),
//! SPF, DMARC, DKIM and DNSSEC. Every extra question goes to the first resolver (the
//! one the top-level facts come from); one that gets no answer fails the item.

use std::net::SocketAddr;
use std::pin::Pin;

use futures_util::future::join4;
use hickory_resolver::proto::rr::{Name, RecordType};
use preflight_core::Facts;
use serde_json::{Value, json};

use crate::error::{Error, Server, Unanswered};
use crate::present;
use crate::query::{self, Reply};
use crate::spf::{self, Txt, TxtSource};

/// What to observe besides the answer.
#[derive(Debug, Clone, Default)]
pub(crate) struct Extras {
    /// `type = "MX"`: `mx` and `null_mx`.
    pub mx: bool,
    /// `type = "TXT"`: `spf` from the answers.
    pub spf: bool,
    /// Where the DMARC record is: the answers themselves (`_dmarc.` name) or a name
    /// to ask (`dmarc = true`).
    pub dmarc: Option<Source>,
    /// Where the DKIM key is: the answers (`._domainkey.` name) or a name to ask.
    pub dkim: Option<Source>,
    /// `dnssec = true`: ask again with the DO bit.
    pub dnssec: bool,
}

/// Where a policy record is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// The TXT answers of the item's own question.
    Answers,
    /// A TXT question for this name.
    Ask(Name),
}

/// The first resolver, asked TXT questions.
struct Resolver<'a> {
    addrs: &'a [SocketAddr],
    key: &'a str,
}

impl Resolver<'_> {
    fn silent(&self, question: String, silence: crate::Silence) -> Error {
        Error::Extra {
            question,
            unanswered: Unanswered {
                server: Server::Resolver(self.key.to_string()),
                silence,
            },
        }
    }

    async fn ask_txt(&self, name: &Name) -> Result<Reply, Error> {
        query::ask(self.addrs, name, RecordType::TXT, true)
            .await
            .map_err(|s| self.silent(format!("{} TXT", present::name(name)), s))
    }
}

impl TxtSource<Error> for Resolver<'_> {
    fn txt<'a>(
        &'a self,
        domain: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Txt, Error>> + Send + 'a>> {
        Box::pin(async move {
            let Ok(mut name) = Name::from_ascii(domain) else {
                return Ok(Txt::Rcode("not a valid domain name".into()));
            };
            name.set_fqdn(true);
            let reply = self.ask_txt(&name).await?;
            Ok(if reply.rcode == "NOERROR" {
                Txt::Records(reply.answers)
            } else {
                Txt::Rcode(reply.rcode)
            })
        })
    }
}

impl Extras {
    /// Whether there is anything to do.
    pub fn any(&self) -> bool {
        self.mx || self.spf || self.dmarc.is_some() || self.dkim.is_some() || self.dnssec
    }

    /// Adds the extra facts of `first` (the first resolver's reply to `name`/`rtype`).
    pub async fn observe(
        &self,
        addrs: &[SocketAddr],
        key: &str,
        name: &Name,
        rtype: RecordType,
        first: &Reply,
        facts: &mut Facts,
    ) -> Result<(), Error> {
        if self.mx {
            let (mx, null_mx) = mx_of(&first.answers);
            facts.insert("mx".into(), mx);
            facts.insert("null_mx".into(), json!(null_mx));
        }
        let resolver = Resolver { addrs, key };
        let spf = async {
            if !self.spf {
                return Ok(None);
            }
            let domain = present::name(name);
            spf::observe(&domain, &first.answers, &resolver)
                .await
                .map(|v| Some(v.unwrap_or(Value::Null)))
        };
        let policy = |source: &Option<Source>| {
            let resolver = &resolver;
            let source = source.clone();
            async move {
                match source {
                    None => Ok(None),
                    Some(Source::Answers) => Ok(Some(first.answers.clone())),
                    Some(Source::Ask(n)) => {
                        let reply = resolver.ask_txt(&n).await?;
                        Ok::<_, Error>(Some(reply.answers))
                    }
                }
            }
        };
        let dnssec = async {
            if !self.dnssec {
                return Ok(None);
            }
            let (_, signed) = query::ask_with(addrs, name, rtype, true, true)
                .await
                .map_err(|s| {
                    resolver.silent(format!("{} {rtype} with DNSSEC", present::name(name)), s)
                })?;
            Ok::<_, Error>(Some(json!({"ad": signed.ad, "rrsig": signed.rrsig})))
        };
        let (spf, dmarc, dkim, dnssec) =
            join4(spf, policy(&self.dmarc), policy(&self.dkim), dnssec).await;
        if let Some(v) = spf? {
            facts.insert("spf".into(), v);
        }
        if let Some(answers) = dmarc? {
            facts.insert(
                "dmarc".into(),
                crate::policy::dmarc(&answers).unwrap_or(Value::Null),
            );
        }
        if let Some(answers) = dkim? {
            facts.insert("dkim".into(), crate::policy::dkim(&answers));
        }
        if let Some(v) = dnssec? {
            facts.insert("dnssec".into(), v);
        }
        Ok(())
    }
}

/// `mx` entries from `10 mx.example.com.` answers, and whether they are a Null MX
/// (RFC 7505: one record, preference 0, exchange `.`).
fn mx_of(answers: &[String]) -> (Value, bool) {
    let entries: Vec<Value> = answers
        .iter()
        .filter_map(|a| {
            let (pref, exchange) = a.split_once(' ')?;
            Some(json!({"preference": pref.parse::<u16>().ok()?, "exchange": exchange}))
        })
        .collect();
    let null_mx =
        entries.len() == 1 && entries[0]["preference"] == 0 && entries[0]["exchange"] == ".";
    (Value::Array(entries), null_mx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mx_entries_and_null_mx() {
        let (mx, null) = mx_of(&["10 mx1.demo.test.".into(), "20 mx2.demo.test.".into()]);
        assert_eq!(
            mx,
            json!([{"preference": 10, "exchange": "mx1.demo.test."}, {"preference": 20, "exchange": "mx2.demo.test."}])
        );
        assert!(!null);
        assert_eq!(
            mx_of(&["0 .".into()]),
            (json!([{"preference": 0, "exchange": "."}]), true)
        );
        assert!(
            !mx_of(&["0 .".into(), "10 mx.x.test.".into()]).1,
            "a Null MX is alone"
        );
        assert_eq!(mx_of(&[]), (json!([]), false));
    }
}
