//! The one map from how a command ended to its exit code (SPEC §5): 0 GO, 1 NO-GO,
//! 2 invalid checklist or usage, 3 internal error. Commands return
//! `Result<Exit, CliError>`; `main` prints the error once and exits with its code.

use miette::Diagnostic;
use preflight_core::CoreError;
use preflight_core::sanitize::line;
use preflight_history::HistoryError;

/// How a command that did its job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// GO, or a command with nothing to judge that succeeded.
    Go,
    /// NO-GO, an interrupted run, or a diff with a regression.
    NoGo,
}

impl Exit {
    /// Its exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Go => 0,
            Exit::NoGo => 1,
        }
    }
}

/// Why a command could not do its job.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CliError {
    /// The checklist (or an attestation file) is invalid, or a flag names something
    /// it does not have: the person must fix it. Exit 2.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Checklist(#[from] CoreError),
    /// A flag or argument is wrong. Exit 2.
    #[error("{0}")]
    Usage(String),
    /// The history store failed. Exit 2 for a run id or comparison that does not
    /// exist, else 3.
    #[error(transparent)]
    Store(#[from] HistoryError),
    /// preflight itself failed: a report could not be written, the runtime could not
    /// start. Exit 3.
    #[error("{0}")]
    Internal(String),
}

impl CliError {
    /// Its exit code.
    pub fn code(&self) -> u8 {
        match self {
            CliError::Checklist(_) | CliError::Usage(_) => 2,
            CliError::Store(
                HistoryError::UnknownRun { .. } | HistoryError::NothingToCompare(_),
            ) => 2,
            CliError::Store(_) | CliError::Internal(_) => 3,
        }
    }

    /// Writes the error for a person on stderr: checklist problems as miette
    /// diagnostics (file:line:col, snippet, hint), the rest as `error: …`. Any
    /// text from the checklist or a target is shown with control characters
    /// escaped (an invalid checklist's snippet and messages are when it is built).
    pub fn print(self) {
        match self {
            CliError::Checklist(CoreError::Invalid(e)) => {
                crate::output::stderr_raw(&format!("{:?}\n", miette::Report::new(e)));
            }
            CliError::Checklist(e) => {
                let message = line(&e.to_string()).into_owned();
                let report = match e.help() {
                    Some(h) => {
                        miette::miette!(help = line(&h.to_string()).into_owned(), "{message}")
                    }
                    None => miette::miette!("{message}"),
                };
                crate::output::stderr_raw(&format!("{report:?}\n"));
            }
            other => crate::output::stderr(&format!("error: {other}")),
        }
    }
}
