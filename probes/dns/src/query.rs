//! One question to one DNS server, answered with its raw response code.
//!
//! Built on hickory-resolver's name-server pool (UDP, TCP on truncation, UDP
//! retransmission within the deadline) without its caching and CNAME-chasing layer:
//! the probe reports what the server said, as `dig @server` would. No cache, no search
//! domains, no hosts file.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_resolver::config::{
    NameServerConfig, ResolveHosts, ResolverOpts, ServerOrderingStrategy,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::xfer::{DnsHandle, FirstAnswer};
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::{DnsRequestOptions, Query};
use hickory_resolver::proto::rr::{Name, RecordType};
use hickory_resolver::{NameServerPool, PoolContext, TlsConfig};

use crate::error::Silence;
use crate::present;

/// How long one server gets to answer one question (UDP retransmissions included).
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// What a server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    /// RFC mnemonic of the response code.
    pub rcode: String,
    /// Records of the asked type, in presentation format, in the server's order.
    pub answers: Vec<String>,
    /// Owner name of each of those records (parallel to `answers`).
    pub owners: Vec<Name>,
    /// Smallest TTL among those records.
    pub ttl: Option<u32>,
    /// Time from sending to the answer.
    pub latency: Duration,
}

/// What a reply said about DNSSEC (asked with the DO bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Signed {
    /// The AD (authenticated data) bit: the resolver validated the answer. Always
    /// false for a negative answer (the library keeps no header for those).
    pub ad: bool,
    /// An RRSIG came with the records of the asked type (for a negative answer: with
    /// the denial in the authority section).
    pub rrsig: bool,
}

/// Asks `servers` (tried in order; usually one) for `name`/`rtype`.
/// `recursion` sets the RD bit: on for resolvers, off for authoritative servers.
pub(crate) async fn ask(
    servers: &[SocketAddr],
    name: &Name,
    rtype: RecordType,
    recursion: bool,
) -> Result<Reply, Silence> {
    ask_with(servers, name, rtype, recursion, false)
        .await
        .map(|(reply, _)| reply)
}

/// [`ask`], with the EDNS DO bit set when `dnssec_ok`, and what came back about DNSSEC.
pub(crate) async fn ask_with(
    servers: &[SocketAddr],
    name: &Name,
    rtype: RecordType,
    recursion: bool,
    dnssec_ok: bool,
) -> Result<(Reply, Signed), Silence> {
    let mut opts = ResolverOpts::default();
    opts.timeout = QUERY_TIMEOUT;
    opts.attempts = 1;
    opts.cache_size = 0;
    opts.use_hosts_file = ResolveHosts::Never;
    opts.num_concurrent_reqs = 1;
    opts.server_ordering_strategy = ServerOrderingStrategy::UserProvidedOrder;
    opts.recursion_desired = recursion;
    opts.preserve_intermediates = true;
    let tls = TlsConfig::new().map_err(|e| Silence::Broken(e.to_string()))?;
    let cx = Arc::new(PoolContext::new(opts, tls));
    let configs = servers.iter().map(|addr| {
        let mut c = NameServerConfig::udp_and_tcp(addr.ip());
        for conn in &mut c.connections {
            conn.port = addr.port();
        }
        c
    });
    let pool = NameServerPool::from_config(configs, cx, TokioRuntimeProvider::default());
    let mut options = DnsRequestOptions::default();
    options.use_edns = true;
    options.recursion_desired = recursion;
    options.edns_set_dnssec_ok = dnssec_ok;
    let t0 = Instant::now();
    let result = pool
        .lookup(Query::query(name.clone(), rtype), options)
        .first_answer()
        .await;
    let latency = t0.elapsed();
    match result {
        Ok(response) => {
            let signed = Signed {
                ad: response.metadata.authentic_data,
                rrsig: response.answers.iter().any(|r| covers(r, rtype)),
            };
            let records: Vec<_> = response
                .answers
                .iter()
                .filter(|r| r.record_type() == rtype)
                .filter_map(|r| present::present(&r.data).map(|text| (text, r)))
                .collect();
            Ok(Reply {
                rcode: present::rcode(u16::from(response.response_code)),
                ttl: records.iter().map(|(_, r)| r.ttl).min(),
                owners: records.iter().map(|(_, r)| r.name.clone()).collect(),
                answers: records.into_iter().map(|(text, _)| text).collect(),
                latency,
            }
            .with(signed))
        }
        Err(NetError::Dns(DnsError::NoRecordsFound(none))) => Ok(Reply {
            rcode: present::rcode(u16::from(none.response_code)),
            answers: Vec::new(),
            owners: Vec::new(),
            ttl: None,
            latency,
        }
        .with(Signed {
            ad: false,
            rrsig: none
                .authorities
                .as_ref()
                .is_some_and(|a| a.iter().any(|r| r.record_type() == RecordType::RRSIG)),
        })),
        Err(NetError::Dns(DnsError::ResponseCode(code))) => Ok(Reply {
            rcode: present::rcode(u16::from(code)),
            answers: Vec::new(),
            owners: Vec::new(),
            ttl: None,
            latency,
        }
        .with(Signed::default())),
        Err(NetError::Timeout) => Err(Silence::Timeout),
        Err(NetError::Io(e)) => Err(Silence::Broken(io_reason(&e))),
        Err(NetError::NoConnections) => Err(Silence::Broken("no connection could be made".into())),
        Err(e) => Err(Silence::Broken(e.to_string())),
    }
}

impl Reply {
    fn with(self, signed: Signed) -> (Reply, Signed) {
        (self, signed)
    }
}

/// Whether `record` is an RRSIG over records of `rtype`. With hickory's DNSSEC
/// support compiled in (the testbed turns it on) the signature is parsed; without
/// it, it is an unknown record whose first two bytes are the covered type.
fn covers(record: &hickory_resolver::proto::rr::Record, rtype: RecordType) -> bool {
    if record.record_type() != RecordType::RRSIG {
        return false;
    }
    let mut bytes = Vec::new();
    let mut encoder = hickory_resolver::proto::serialize::binary::BinEncoder::new(&mut bytes);
    use hickory_resolver::proto::serialize::binary::BinEncodable;
    if record.data.emit(&mut encoder).is_err() || bytes.len() < 2 {
        return true;
    }
    u16::from_be_bytes([bytes[0], bytes[1]]) == u16::from(rtype)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        std::io::ErrorKind::ConnectionReset => "connection reset".into(),
        std::io::ErrorKind::TimedOut => format!("no answer within {}s", QUERY_TIMEOUT.as_secs()),
        _ => e.to_string(),
    }
}
