//! Why a `postgres` observation produced no facts. Missing objects, pending or
//! failed migrations are not among these: they are facts for `expect` to judge.

use std::fmt;

use preflight_core::{Blame, ProbeError};

use crate::migrations::KNOWN_TABLES;

/// A failed `postgres` observation. Every text in it has been scrubbed of the DSN's
/// password before it leaves the probe.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The DSN cannot be used (it passed the load-time checks only when templated).
    #[error("bad dsn: {0}")]
    Dsn(String),
    /// The server could not be reached, refused us, or TLS or authentication failed.
    #[error("failed to connect to {host}: {cause}")]
    Connect {
        /// `host:port` of the first host.
        host: String,
        /// What tokio-postgres or the server said.
        cause: ServerError,
    },
    /// Connected, but the read-only session could not be set up.
    #[error("failed to connect to {host}: failed to set up the session: {cause}")]
    SessionSetup {
        /// `host:port` of the first host.
        host: String,
        /// What the server said.
        cause: ServerError,
    },
    /// The TLS configuration could not be built (unreadable `sslrootcert`).
    #[error("{0}")]
    TlsSetup(String),
    /// A statement of the session failed: the user's query, a catalog read, ….
    #[error("failed to {action}: {cause}")]
    Server {
        /// What the probe was doing ("run the query", "read the catalog", …).
        action: String,
        /// What the server said.
        cause: ServerError,
    },
    /// `migrations.table` names a table that does not exist.
    #[error("migrations table {table} does not exist")]
    NoMigrationsTable {
        /// The `table` option.
        table: String,
    },
    /// No `migrations.table` and none of the known tracking tables exists.
    #[error(
        "no migrations tracking table found (looked for {}); name it with migrations.table",
        KNOWN_TABLES.join(", ")
    )]
    NoTrackingTable,
    /// `migrations.glob` does not compile.
    #[error("bad migrations glob \"{pattern}\": {reason}")]
    BadGlob {
        /// The glob.
        pattern: String,
        /// Why it does not compile.
        reason: String,
    },
    /// `migrations.dir` is not a folder.
    #[error("migrations dir {dir} does not exist or is not a folder")]
    NoMigrationsDir {
        /// The `dir` option.
        dir: String,
    },
    /// A folder under `migrations.dir` could not be listed.
    #[error("failed to read migrations dir {dir}: {source}")]
    ReadMigrationsDir {
        /// The folder.
        dir: String,
        /// The read error.
        source: std::io::Error,
    },
    /// `migrations.dir` holds too many files to be a migrations folder.
    #[error(
        "migrations dir {dir} holds more than {max} files: point `dir` at the migrations folder"
    )]
    TooManyFiles {
        /// The `dir` option.
        dir: String,
        /// The limit.
        max: usize,
    },
    /// A migration file that must be read (alembic) could not be.
    #[error("failed to read {path}: {source}")]
    ReadMigration {
        /// The file.
        path: String,
        /// The read error.
        source: std::io::Error,
    },
    /// A column of the query's result could not be read.
    #[error("failed to read column `{column}`: {reason}")]
    Column {
        /// The column name.
        column: String,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// A failed statement while doing `action`.
    pub(crate) fn server(action: impl Into<String>, e: &tokio_postgres::Error) -> Error {
        Error::Server {
            action: action.into(),
            cause: ServerError::of(e),
        }
    }

    /// The same error with every text passed through `scrub` (which hides secrets).
    pub(crate) fn scrubbed(self, scrub: &dyn Fn(String) -> String) -> Error {
        match self {
            Error::Dsn(m) => Error::Dsn(scrub(m)),
            Error::Connect { host, cause } => Error::Connect {
                host: scrub(host),
                cause: cause.scrubbed(scrub),
            },
            Error::SessionSetup { host, cause } => Error::SessionSetup {
                host: scrub(host),
                cause: cause.scrubbed(scrub),
            },
            Error::TlsSetup(m) => Error::TlsSetup(scrub(m)),
            Error::Server { action, cause } => Error::Server {
                action: scrub(action),
                cause: cause.scrubbed(scrub),
            },
            Error::NoMigrationsTable { table } => Error::NoMigrationsTable {
                table: scrub(table),
            },
            Error::BadGlob { pattern, reason } => Error::BadGlob {
                pattern: scrub(pattern),
                reason: scrub(reason),
            },
            Error::NoMigrationsDir { dir } => Error::NoMigrationsDir { dir: scrub(dir) },
            Error::ReadMigrationsDir { dir, source } => Error::ReadMigrationsDir {
                dir: scrub(dir),
                source,
            },
            Error::TooManyFiles { dir, max } => Error::TooManyFiles {
                dir: scrub(dir),
                max,
            },
            Error::ReadMigration { path, source } => Error::ReadMigration {
                path: scrub(path),
                source,
            },
            Error::Column { column, reason } => Error::Column {
                column: scrub(column),
                reason: scrub(reason),
            },
            other @ Error::NoTrackingTable => other,
        }
    }
}

impl ProbeError for Error {
    fn blame(&self) -> Blame {
        match self {
            Error::Connect { .. }
            | Error::SessionSetup { .. }
            | Error::Server { .. }
            | Error::NoMigrationsTable { .. }
            | Error::NoTrackingTable => Blame::Target,
            Error::Dsn(_)
            | Error::TlsSetup(_)
            | Error::BadGlob { .. }
            | Error::NoMigrationsDir { .. }
            | Error::ReadMigrationsDir { .. }
            | Error::TooManyFiles { .. }
            | Error::ReadMigration { .. }
            | Error::Column { .. } => Blame::Checker,
        }
    }

    /// A connection that timed out, or a statement the server cancelled for taking
    /// longer than `statement_timeout` / `lock_timeout`.
    fn is_timeout(&self) -> bool {
        match self {
            Error::Connect { cause, .. }
            | Error::SessionSetup { cause, .. }
            | Error::Server { cause, .. } => cause.timed_out,
            _ => false,
        }
    }
}

/// What tokio-postgres or the server said about a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// `message (SQLSTATE code): detail` for a server error, else the error and its causes.
    pub message: String,
    /// The SQLSTATE, for a server error.
    pub sqlstate: Option<String>,
    /// Whether it was a timeout (connect timeout, statement or lock timeout).
    pub timed_out: bool,
}

/// `query_canceled` (statement timeout) and `lock_not_available` (lock timeout).
const TIMEOUT_STATES: &[&str] = &["57014", "55P03"];

impl ServerError {
    /// Reads a tokio-postgres error.
    pub fn of(e: &tokio_postgres::Error) -> ServerError {
        if let Some(db) = e.as_db_error() {
            let code = db.code().code().to_string();
            let mut message = format!("{} (SQLSTATE {code})", db.message());
            if let Some(d) = db.detail() {
                message.push_str(&format!(": {d}"));
            }
            return ServerError {
                message,
                timed_out: TIMEOUT_STATES.contains(&code.as_str()),
                sqlstate: Some(code),
            };
        }
        let mut message = e.to_string();
        let mut timed_out = message.starts_with("timeout");
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                timed_out |= io.kind() == std::io::ErrorKind::TimedOut;
            }
            let s_text = s.to_string();
            if !message.contains(&s_text) {
                message.push_str(": ");
                message.push_str(&s_text);
            }
            source = s.source();
        }
        ServerError {
            message,
            sqlstate: None,
            timed_out,
        }
    }

    fn scrubbed(self, scrub: &dyn Fn(String) -> String) -> ServerError {
        ServerError {
            message: scrub(self.message),
            ..self
        }
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
