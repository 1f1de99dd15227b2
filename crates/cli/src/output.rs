//! The one way the CLI writes to stdout and stderr.
//!
//! `print!` panics when stdout cannot be written (exit 101 with a backtrace).
//! Here a report that cannot be written is an error (exit 3, "failed to write
//! the report to stdout: No space left on device"), except a closed pipe: the
//! reader has gone away (`preflight run | head`), so the rest of the output is
//! dropped quietly and the command ends with the exit code it would have had.
//! Writes to stderr never fail a command: it is where failures are told.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use preflight_core::sanitize;

use crate::CliError;

/// Set once stdout's reader has gone away.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout and flushes it.
pub fn stdout(text: &str) -> Result<(), CliError> {
    stdout_bytes(text.as_bytes())
}

/// [`stdout`] for bytes (completion scripts, the man page).
pub fn stdout_bytes(bytes: &[u8]) -> Result<(), CliError> {
    stdout_with(|out| out.write_all(bytes))
}

/// Lets `write` write to a buffered stdout (a report streamed from a temp file),
/// then flushes it; errors as [`stdout`].
pub fn stdout_with(
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), CliError> {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(CliError::Internal(format!(
            "failed to write the report to stdout: {e}"
        ))),
    }
}

/// Whether stdout's reader has gone away (`watch` stops then).
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Writes `text` and a line feed to stderr, control characters escaped (it may
/// quote a target or a checklist); failures are ignored.
pub fn stderr(text: &str) {
    stderr_raw(&format!("{}\n", sanitize::lines(text)));
}

/// Writes `text` to stderr as it is (already sanitized where it was built, and
/// perhaps coloured); failures are ignored.
pub fn stderr_raw(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}

/// `eprintln!` that cannot panic and escapes control characters.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::stderr(&format!($($arg)*))
    };
}
pub(crate) use say;
