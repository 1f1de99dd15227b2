//! The one error type of the history crate.

/// Why a history operation failed. The `store` fields never hold a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// The store exists but is not a readable preflight history. It was not touched.
    #[error(
        "history store {store} is corrupt or not a preflight history ({detail}); it was left untouched"
    )]
    Corrupt {
        /// The store, password masked.
        store: String,
        /// What the check found.
        detail: String,
    },
    /// The store was written by a newer preflight. It was not touched.
    #[error(
        "history store {store} has schema version {found}, newer than this preflight supports ({supported}); upgrade preflight. The store was left untouched"
    )]
    NewerSchema {
        /// The store, password masked.
        store: String,
        /// Version found in the store.
        found: i64,
        /// Newest version this build reads and writes.
        supported: i64,
    },
    /// A read-only command found no store.
    #[error("no history at {store} yet: `preflight run` records one")]
    Missing {
        /// The store, password masked.
        store: String,
    },
    /// A run id that is not in the store.
    #[error("run {id} is not in {store}")]
    UnknownRun {
        /// The store, password masked.
        store: String,
        /// The id asked for.
        id: i64,
    },
    /// Too few runs to compare.
    #[error("{0}")]
    NothingToCompare(String),
    /// The database failed (I/O, lock, connection, query).
    #[error("failed to {action} {store}: {detail}")]
    Backend {
        /// What was being done, a verb phrase.
        action: &'static str,
        /// The store, password masked.
        store: String,
        /// The database's message.
        detail: String,
    },
}

impl HistoryError {
    /// True when the store itself is unusable (corrupt or newer schema): commands
    /// report it and exit 3, leaving the file byte-identical.
    pub fn is_store_problem(&self) -> bool {
        matches!(
            self,
            HistoryError::Corrupt { .. } | HistoryError::NewerSchema { .. }
        )
    }
}
