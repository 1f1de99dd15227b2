//! Why a `domain` observation produced no facts.

use preflight_core::{Blame, ProbeError};

/// A failed `domain` observation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The RDAP server has no record of the name (404).
    #[error("RDAP server {server} has no record of {name} (404)")]
    NotFound {
        /// The name asked about.
        name: String,
        /// `host:port` of the server.
        server: String,
    },
    /// Any other HTTP status.
    #[error("RDAP server {server} answered {status} for {name}")]
    Status {
        /// The name asked about.
        name: String,
        /// `host:port`.
        server: String,
        /// The HTTP status.
        status: u16,
    },
    /// The body is not RDAP JSON (or not a domain object).
    #[error("RDAP server {server} did not answer with a domain object for {name}: {reason}")]
    BadResponse {
        /// The name asked about.
        name: String,
        /// `host:port`.
        server: String,
        /// What is wrong.
        reason: String,
    },
    /// The request could not complete: refused, TLS failure, timeout.
    #[error("{reason}")]
    Request {
        /// A URL-free description.
        reason: String,
        /// The transport reported a timeout.
        timeout: bool,
    },
    /// The bootstrap registry names no RDAP server for the TLD.
    #[error("no RDAP server is registered for .{tld} in the IANA bootstrap (set `server`)")]
    NoService {
        /// The top-level domain.
        tld: String,
    },
    /// The bootstrap registry could not be fetched (and no cached copy exists).
    #[error("failed to get the RDAP bootstrap registry: {reason} (set `server`)")]
    Bootstrap {
        /// Why.
        reason: String,
        /// The transport reported a timeout.
        timeout: bool,
    },
    /// The HTTP client could not be built (a checker problem).
    #[error("{0}")]
    Client(String),
}

impl ProbeError for Error {
    fn blame(&self) -> Blame {
        match self {
            Error::Client(_) => Blame::Checker,
            _ => Blame::Target,
        }
    }

    fn is_timeout(&self) -> bool {
        matches!(
            self,
            Error::Request { timeout: true, .. } | Error::Bootstrap { timeout: true, .. }
        )
    }
}
