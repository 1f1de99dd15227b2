//! Why a `tls` observation produced no facts.

use preflight_core::{Blame, ProbeError};

/// A failed `tls` observation. A bad certificate is not one of these: it is reported
/// as facts (`chain_valid`, `hostname_matches`, …) for `expect` to judge.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server refused the TCP connection.
    #[error("connection refused by {target}")]
    Refused {
        /// `host:port`.
        target: String,
    },
    /// The TCP connection could not be opened for another reason.
    #[error("failed to connect to {target}: {source}")]
    Connect {
        /// `host:port`.
        target: String,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The TLS handshake did not complete: alert, close, reset or bytes that are not TLS.
    #[error("TLS handshake with {target} failed: {cause}")]
    Handshake {
        /// `host:port`.
        target: String,
        /// What went wrong.
        cause: HandshakeCause,
    },
    /// The handshake completed without a certificate.
    #[error("{target} presented no certificate")]
    NoCertificate {
        /// `host:port`.
        target: String,
    },
    /// A presented certificate does not parse.
    #[error("{target} sent a certificate that does not parse: {reason}")]
    BadCertificate {
        /// `host:port`.
        target: String,
        /// The parser's reason.
        reason: String,
    },
    /// The `ca` file could not be read.
    #[error("failed to read ca file {path}: {source}")]
    ReadCa {
        /// The `ca` option.
        path: String,
        /// The read error.
        source: std::io::Error,
    },
    /// The `ca` file is not PEM.
    #[error("failed to parse ca file {path}: {source}")]
    ParseCa {
        /// The `ca` option.
        path: String,
        /// The PEM parser's error.
        source: std::io::Error,
    },
    /// A certificate of the `ca` file cannot be a trust anchor.
    #[error("failed to use a certificate of {path}: {reason}")]
    CaCertificate {
        /// The `ca` option.
        path: String,
        /// webpki's reason.
        reason: String,
    },
    /// The `ca` file holds no certificate.
    #[error("ca file {path} holds no PEM certificate")]
    EmptyCa {
        /// The `ca` option.
        path: String,
    },
    /// `starttls`: the server does not offer the upgrade.
    #[error("{target} does not offer STARTTLS ({protocol}: {detail})")]
    StartTlsNotOffered {
        /// `host:port`.
        target: String,
        /// `smtp`, `imap`, `pop3` or `postgres`.
        protocol: &'static str,
        /// What the server said instead.
        detail: String,
    },
    /// `starttls`: the server offered the upgrade, then refused the command.
    #[error("{target} refused STARTTLS ({protocol}): {reply}")]
    StartTlsRefused {
        /// `host:port`.
        target: String,
        /// The protocol.
        protocol: &'static str,
        /// The server's reply, cleaned and cut.
        reply: String,
    },
    /// `starttls`: a reply that is not the protocol's (wrong greeting, garbage).
    #[error("{target} answered the {protocol} {step} unexpectedly: {reply}")]
    StartTlsReply {
        /// `host:port`.
        target: String,
        /// The protocol.
        protocol: &'static str,
        /// Which step (`greeting`, `EHLO`, `CAPABILITY`, …).
        step: &'static str,
        /// What came instead, cleaned and cut.
        reply: String,
    },
    /// `starttls`: the connection broke during the plaintext exchange.
    #[error("{protocol} exchange with {target} failed before TLS: {source}")]
    StartTlsIo {
        /// `host:port`.
        target: String,
        /// The protocol.
        protocol: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `[checklist] trust` / `ca` roots could not be read (the system store, the file).
    #[error("{0}")]
    Trust(String),
    /// `client_cert` / `client_key` could not be read or do not match (never names the key's path).
    #[error("{0}")]
    ClientCert(String),
    /// rustls could not be configured (a bug, not the target's fault).
    #[error("failed to configure TLS: {0}")]
    Config(rustls::Error),
    /// No random bytes for a hand-built ClientHello.
    #[error("failed to get random bytes for a ClientHello")]
    Random,
}

/// Why a TLS handshake did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeCause {
    /// rustls rejected what the server sent, or the server sent an alert.
    #[error("{0}")]
    Tls(rustls::Error),
    /// The server closed the connection.
    #[error("connection closed by the server")]
    Closed,
    /// The server reset the connection.
    #[error("connection reset by the server")]
    Reset,
    /// Another I/O error.
    #[error("{0}")]
    Io(std::io::Error),
}

impl ProbeError for Error {
    fn blame(&self) -> Blame {
        match self {
            Error::Refused { .. }
            | Error::Connect { .. }
            | Error::Handshake { .. }
            | Error::NoCertificate { .. }
            | Error::BadCertificate { .. }
            | Error::StartTlsNotOffered { .. }
            | Error::StartTlsRefused { .. }
            | Error::StartTlsReply { .. }
            | Error::StartTlsIo { .. } => Blame::Target,
            Error::ReadCa { .. }
            | Error::ParseCa { .. }
            | Error::CaCertificate { .. }
            | Error::EmptyCa { .. }
            | Error::Trust(_)
            | Error::ClientCert(_)
            | Error::Config(_)
            | Error::Random => Blame::Checker,
        }
    }

    fn is_timeout(&self) -> bool {
        match self {
            Error::Connect { source, .. } | Error::StartTlsIo { source, .. } => {
                source.kind() == std::io::ErrorKind::TimedOut
            }
            Error::Handshake {
                cause: HandshakeCause::Io(e),
                ..
            } => e.kind() == std::io::ErrorKind::TimedOut,
            _ => false,
        }
    }
}
