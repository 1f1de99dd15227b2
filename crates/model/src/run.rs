//! What a run produced, before it becomes a report.

use std::time::{Duration, SystemTime};

use preflight_core::Outcome;

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// One outcome per planned item, in plan order.
    pub outcomes: Vec<Outcome>,
    /// Wall-clock start.
    pub started_at: SystemTime,
    /// Wall time of the whole run.
    pub duration: Duration,
    /// True when the run was cancelled before every item finished.
    pub interrupted: bool,
}
