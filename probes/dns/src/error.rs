//! Why a `dns` observation produced no facts. A response code (`NXDOMAIN`,
//! `SERVFAIL`, …) is never one of these: it is the `rcode` fact.

use std::fmt;

use preflight_core::{Blame, ProbeError};

use crate::query::QUERY_TIMEOUT;

/// A failed `dns` observation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Servers asked the question that gave no answer at all; with several servers,
    /// one silent server fails the item (a propagation check cannot pass then).
    #[error("{}", join(.0))]
    Unanswered(Vec<Unanswered>),
    /// `authoritative`: the first resolver did not answer the NS questions.
    #[error("while looking up the zone's name servers: {0}")]
    ZoneLookup(Unanswered),
    /// `authoritative`: no NS records for the name or any parent.
    #[error("found no NS records for {name} or any parent zone")]
    NoZone {
        /// The name asked about, fully qualified.
        name: String,
    },
    /// `authoritative`: the first resolver did not answer for a name server's address.
    #[error("while resolving name server {ns}: {unanswered}")]
    NameServerLookup {
        /// The NS name.
        ns: String,
        /// The resolver's silence.
        unanswered: Unanswered,
    },
    /// `authoritative`: a name server without an IPv4 or IPv6 address.
    #[error("name server {ns} has no address")]
    NoAddress {
        /// The NS name.
        ns: String,
    },
    /// `authoritative`: an NS record whose name does not parse.
    #[error("bad NS name {ns}: {reason}")]
    BadNameServer {
        /// The NS name as presented.
        ns: String,
        /// Why it does not parse.
        reason: String,
    },
    /// A question asked besides the item's own (SPF include, DMARC, DKIM, DNSSEC)
    /// got no answer.
    #[error("while looking up {question}: {unanswered}")]
    Extra {
        /// The question, `NAME TYPE`.
        question: String,
        /// The resolver's silence.
        unanswered: Unanswered,
    },
    /// `/etc/resolv.conf` could not be read (no `resolvers` given).
    #[error("failed to read the system resolver configuration {path}: {source} (set `resolvers`)")]
    ReadSystemConfig {
        /// The file.
        path: &'static str,
        /// The read error.
        source: std::io::Error,
    },
    /// `/etc/resolv.conf` does not parse or names no server (no `resolvers` given).
    #[error("failed to use the system resolver configuration {path}: {reason} (set `resolvers`)")]
    SystemConfig {
        /// The file.
        path: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

fn join(all: &[Unanswered]) -> String {
    all.iter()
        .map(Unanswered::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl ProbeError for Error {
    fn blame(&self) -> Blame {
        match self {
            Error::ReadSystemConfig { .. } | Error::SystemConfig { .. } => Blame::Checker,
            _ => Blame::Target,
        }
    }

    /// True when every silent server simply did not answer within [`QUERY_TIMEOUT`].
    fn is_timeout(&self) -> bool {
        match self {
            Error::Unanswered(all) => !all.is_empty() && all.iter().all(Unanswered::timed_out),
            Error::ZoneLookup(u)
            | Error::NameServerLookup { unanswered: u, .. }
            | Error::Extra { unanswered: u, .. } => u.timed_out(),
            _ => false,
        }
    }
}

/// One server that gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unanswered {
    /// Who was asked.
    pub server: Server,
    /// What happened instead of an answer.
    pub silence: Silence,
}

impl Unanswered {
    /// Whether the server just did not answer in time.
    pub fn timed_out(&self) -> bool {
        self.silence == Silence::Timeout
    }
}

impl fmt::Display for Unanswered {
    /// `resolver 127.0.0.1:53 did not answer within 3s`,
    /// `name server ns2.example.io. (198.51.100.2) failed: connection refused`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.silence {
            Silence::Timeout => write!(
                f,
                "{} did not answer within {}s",
                self.server,
                QUERY_TIMEOUT.as_secs()
            ),
            Silence::Broken(why) => write!(f, "{} failed: {why}", self.server),
        }
    }
}

/// A server, as reasons name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Server {
    /// A resolver: as listed, or `system`.
    Resolver(String),
    /// One of the zone's name servers: `NS-NAME (ADDRESS)`.
    NameServer(String),
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Server::Resolver(k) => write!(f, "resolver {k}"),
            Server::NameServer(k) => write!(f, "name server {k}"),
        }
    }
}

/// Why a server gave no answer at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Silence {
    /// Nothing came back within [`QUERY_TIMEOUT`].
    Timeout,
    /// The server could not be reached or the exchange broke (refused, reset, garbage).
    Broken(String),
}
