//! `authoritative = true`: find the zone's own name servers through the first
//! resolver, so each can be asked directly (a propagation check).
//!
//! The zone is the closest enclosing name with NS records: the probe asks the
//! resolver for NS of the name, then of each parent, until an answer holds NS records
//! owned by the name asked. Each NS name is resolved to its IPv4 addresses (IPv6 only
//! when it has none). The servers are asked on port 53, unless the resolver itself
//! listens on another port: then on that port, so a test server on a high loopback
//! port can play resolver and authority at once.

use std::net::{IpAddr, SocketAddr};

use futures_util::future::join_all;
use hickory_resolver::proto::rr::{Name, RecordType};

use crate::error::{Error, Server, Unanswered};
use crate::present;
use crate::query;

/// One authoritative server address to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authority {
    /// Key in the `resolvers` fact: `ns1.example.com. (192.0.2.1)`.
    pub key: String,
    /// Where to send the question.
    pub addr: SocketAddr,
}

/// The zone's name servers, in NS order, each with its addresses.
pub(crate) async fn authorities(
    resolver: &[SocketAddr],
    resolver_key: &str,
    name: &Name,
) -> Result<Vec<Authority>, Error> {
    let port = authority_port(resolver);
    let ns_names = zone_name_servers(resolver, resolver_key, name).await?;
    let lookups = ns_names.iter().map(|ns| async move {
        let ns_name = Name::from_ascii(ns).map_err(|e| Error::BadNameServer {
            ns: ns.clone(),
            reason: e.to_string(),
        })?;
        let mut ips = Vec::new();
        for rtype in [RecordType::A, RecordType::AAAA] {
            let reply = query::ask(resolver, &ns_name, rtype, true)
                .await
                .map_err(|silence| Error::NameServerLookup {
                    ns: ns.clone(),
                    unanswered: Unanswered {
                        server: Server::Resolver(resolver_key.to_string()),
                        silence,
                    },
                })?;
            ips.extend(
                reply
                    .answers
                    .iter()
                    .filter_map(|a| a.parse::<IpAddr>().ok()),
            );
            if !ips.is_empty() {
                break;
            }
        }
        if ips.is_empty() {
            return Err(Error::NoAddress { ns: ns.clone() });
        }
        Ok(ips
            .into_iter()
            .map(|ip| {
                let addr = SocketAddr::new(ip, port);
                Authority {
                    key: format!("{ns} ({})", crate::display_addr(addr)),
                    addr,
                }
            })
            .collect::<Vec<_>>())
    });
    let mut all = Vec::new();
    for found in join_all(lookups).await {
        for a in found? {
            if !all.contains(&a) {
                all.push(a);
            }
        }
    }
    Ok(all)
}

/// Port 53, or the resolver's own port when it is not 53 (a loopback test server).
fn authority_port(resolver: &[SocketAddr]) -> u16 {
    match resolver.first() {
        Some(a) if a.port() != 53 => a.port(),
        _ => 53,
    }
}

/// NS names (presentation form) of the closest zone enclosing `name`.
async fn zone_name_servers(
    resolver: &[SocketAddr],
    resolver_key: &str,
    name: &Name,
) -> Result<Vec<String>, Error> {
    let mut candidate = name.clone();
    while !candidate.is_root() {
        let reply = query::ask(resolver, &candidate, RecordType::NS, true)
            .await
            .map_err(|silence| {
                Error::ZoneLookup(Unanswered {
                    server: Server::Resolver(resolver_key.to_string()),
                    silence,
                })
            })?;
        let wanted = present::name(&candidate);
        let ns: Vec<String> = reply
            .answers
            .iter()
            .zip(&reply.owners)
            .filter(|(_, owner)| present::name(owner) == wanted)
            .map(|(ns, _)| ns.clone())
            .collect();
        if !ns.is_empty() {
            return Ok(ns);
        }
        candidate = candidate.base_name();
    }
    Err(Error::NoZone {
        name: present::name(name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_servers_are_asked_on_53_unless_the_resolver_uses_another_port() {
        let at = |s: &str| vec![s.parse::<SocketAddr>().unwrap()];
        assert_eq!(authority_port(&at("192.0.2.53:53")), 53);
        assert_eq!(authority_port(&at("127.0.0.1:5353")), 5353);
        assert_eq!(authority_port(&at("[::1]:53")), 53);
        assert_eq!(authority_port(&[]), 53);
    }
}
