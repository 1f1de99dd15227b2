//! Host names resolved through the item's `resolvers` (hickory-resolver, as the dns
//! probe uses it) or the system's, for `resolvers` and `addresses = "all"`.
//!
//! With `resolvers`, every host on the redirect chain is resolved through them (the
//! client's DNS resolver is replaced); no hosts file, no search domains, no cache
//! beyond one item.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::config::{
    LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
    ServerOrderingStrategy,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::{Resolver, TokioResolver};
use preflight_core::network::Family;

/// How long the resolvers get for one name (both record types, retries included).
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);
/// At most this many addresses of one host are requested with `addresses = "all"`.
pub const MAX_ADDRESSES: usize = 32;

/// `192.0.2.53`, `192.0.2.53:5353`, `2001:db8::53` or `[2001:db8::53]:5353`.
pub fn parse_server(text: &str) -> Result<SocketAddr, String> {
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

/// Every listed server, or every problem with the list.
pub fn parse_servers(list: &[String]) -> Result<Vec<SocketAddr>, String> {
    if list.is_empty() {
        return Err("resolvers is empty (leave it out to use the system's resolver)".into());
    }
    let (ok, bad): (Vec<_>, Vec<_>) = list
        .iter()
        .map(|s| parse_server(s))
        .partition(Result::is_ok);
    if bad.is_empty() {
        Ok(ok.into_iter().filter_map(Result::ok).collect())
    } else {
        Err(bad
            .into_iter()
            .filter_map(Result::err)
            .collect::<Vec<_>>()
            .join("; "))
    }
}

/// A resolver asking `servers` in order, A and AAAA in parallel.
pub fn resolver(servers: &[SocketAddr]) -> Result<TokioResolver, String> {
    let configs = servers
        .iter()
        .map(|addr| {
            let mut c = NameServerConfig::udp_and_tcp(addr.ip());
            for conn in &mut c.connections {
                conn.port = addr.port();
            }
            c
        })
        .collect();
    let mut opts = ResolverOpts::default();
    opts.timeout = RESOLVE_TIMEOUT;
    opts.attempts = 1;
    opts.cache_size = 64;
    opts.use_hosts_file = ResolveHosts::Never;
    opts.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    opts.server_ordering_strategy = ServerOrderingStrategy::UserProvidedOrder;
    opts.ndots = 0;
    Resolver::builder_with_config(
        ResolverConfig::from_parts(None, vec![], configs),
        TokioRuntimeProvider::default(),
    )
    .with_options(opts)
    .build()
    .map_err(|e| format!("failed to set up the resolvers: {e}"))
}

/// The host's addresses: IPv4 first, then IPv6, each in the order served, without
/// duplicates, at most [`MAX_ADDRESSES`].
pub async fn addresses(
    resolver: Option<&TokioResolver>,
    host: &str,
    port: u16,
) -> Result<Vec<IpAddr>, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let mut found: Vec<IpAddr> = match resolver {
        Some(r) => {
            let fqdn = format!("{}.", bare.trim_end_matches('.'));
            r.lookup_ip(fqdn.as_str())
                .await
                .map_err(|e| short(&e.to_string()))?
                .iter()
                .collect()
        }
        None => tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((bare, port)))
            .await
            .map_err(|_| format!("no answer within {}s", RESOLVE_TIMEOUT.as_secs()))?
            .map_err(|e| short(&e.to_string()))?
            .map(|a| a.ip())
            .collect(),
    };
    let mut seen = Vec::new();
    found.sort_by_key(|ip| ip.is_ipv6());
    found.retain(|ip| {
        let new = !seen.contains(ip);
        seen.push(*ip);
        new
    });
    found.truncate(MAX_ADDRESSES);
    Ok(found)
}

/// A resolver error as a short fragment.
fn short(text: &str) -> String {
    text.chars().take(200).collect()
}

/// The item's resolvers as reqwest's DNS resolver, so every host of the chain uses
/// them; only addresses of the item's `family` are kept.
pub struct ViaResolvers(pub Arc<TokioResolver>, pub Family);

impl reqwest::dns::Resolve for ViaResolvers {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = self.0.clone();
        let family = self.1;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let ips = addresses(Some(&resolver), &host, 0)
                .await
                .map_err(|e| format!("failed to resolve {host}: {e}"))?;
            if ips.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            let kept = preflight_client::filter_family(
                &host,
                ips.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect(),
                family,
            )?;
            let addrs: reqwest::dns::Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
}
