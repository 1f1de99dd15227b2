//! What changed between two runs, as data: computed by `preflight-history`,
//! rendered by `preflight-report`.

use std::str::FromStr;

use preflight_core::{Status, Verdict};
use serde::Serialize;

use crate::Report;

/// A relative threshold ignores growth smaller than this, so loopback jitter
/// (1 ms → 3 ms is +200 %) is not reported.
pub const LATENCY_FLOOR_MS: f64 = 20.0;

/// How much latency must grow to be reported.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LatencyThreshold {
    /// Grew by more than this many percent (and by at least [`LATENCY_FLOOR_MS`]).
    Percent(f64),
    /// Grew by more than this many milliseconds.
    Millis(f64),
}

impl Default for LatencyThreshold {
    fn default() -> Self {
        LatencyThreshold::Percent(50.0)
    }
}

impl FromStr for LatencyThreshold {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(p) = s.strip_suffix('%') {
            return p
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|p| p.is_finite() && *p >= 0.0)
                .map(LatencyThreshold::Percent)
                .ok_or_else(|| {
                    format!("invalid latency threshold \"{s}\" (write e.g. 50% or 200ms)")
                });
        }
        humantime::parse_duration(s)
            .map(|d| LatencyThreshold::Millis(d.as_secs_f64() * 1000.0))
            .map_err(|_| format!("invalid latency threshold \"{s}\" (write e.g. 50% or 200ms)"))
    }
}

impl LatencyThreshold {
    /// Whether growth from `from` to `to` ms passes the threshold.
    pub fn exceeded(self, from: f64, to: f64) -> bool {
        let grew = to - from;
        match self {
            LatencyThreshold::Percent(p) => {
                grew >= LATENCY_FLOOR_MS && to > from * (1.0 + p / 100.0)
            }
            LatencyThreshold::Millis(ms) => grew > ms,
        }
    }
}

/// Which run a side of the diff is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRef {
    /// Run id in the store (absent for a run not recorded).
    pub id: Option<i64>,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Environment.
    pub environment: String,
    /// Phase.
    pub phase: Option<String>,
    /// GO / NO-GO.
    pub verdict: Verdict,
    /// Score.
    pub score: u8,
}

/// An item whose status changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusChange {
    /// Item id.
    pub id: String,
    /// Severity in the newer run.
    pub severity: String,
    /// Status in the older run.
    pub from: Status,
    /// Status in the newer run.
    pub to: Status,
    /// The newer run's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An item present in only one of the runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemPresence {
    /// Item id.
    pub id: String,
    /// Its status in the run that has it.
    pub status: Status,
}

/// An item whose `latency_ms` grew past the threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyChange {
    /// Item id.
    pub id: String,
    /// Older latency.
    pub from_ms: f64,
    /// Newer latency.
    pub to_ms: f64,
}

/// Differences from run `from` to run `to`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    /// The older run.
    pub from: RunRef,
    /// The newer run.
    pub to: RunRef,
    /// pass → fail or error.
    pub regressed: Vec<StatusChange>,
    /// not passing → pass.
    pub recovered: Vec<StatusChange>,
    /// Any other status change (e.g. fail → error, pass → skip).
    pub changed: Vec<StatusChange>,
    /// In `to` only.
    pub appeared: Vec<ItemPresence>,
    /// In `from` only.
    pub disappeared: Vec<ItemPresence>,
    /// `latency_ms` grew past the threshold.
    pub slower: Vec<LatencyChange>,
    /// The threshold used for `slower`.
    pub latency_threshold: LatencyThreshold,
}

impl RunRef {
    /// The side of a diff that `r` (stored as `id`) is.
    pub fn of(r: &Report, id: Option<i64>) -> RunRef {
        RunRef {
            id,
            started_at: r.started_at.clone(),
            environment: r.environment.clone(),
            phase: r.phase.clone(),
            verdict: r.verdict,
            score: r.score,
        }
    }
}

impl Diff {
    /// True when an item went from pass to fail or error.
    pub fn has_regression(&self) -> bool {
        !self.regressed.is_empty()
    }

    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.regressed.is_empty()
            && self.recovered.is_empty()
            && self.changed.is_empty()
            && self.appeared.is_empty()
            && self.disappeared.is_empty()
            && self.slower.is_empty()
    }
}
