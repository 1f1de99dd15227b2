//! A stored run, as `preflight history` lists it.

use preflight_core::Verdict;
use preflight_core::verdict::Counts;
use serde::Serialize;

/// One line of `preflight history`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// Run id in its store.
    pub id: i64,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Checklist name.
    pub checklist: String,
    /// SHA-256 of the checklist file's content when the run was made.
    pub checklist_hash: String,
    /// Environment.
    pub environment: String,
    /// Phase, if one was selected.
    pub phase: Option<String>,
    /// GO / NO-GO.
    pub verdict: Verdict,
    /// Readiness score.
    pub score: u8,
    /// Per-status counts.
    pub counts: Counts,
    /// How many critical items did not pass.
    pub failing_critical: usize,
    /// The GO threshold of the run.
    pub pass_score: u8,
    /// Wall time of the run.
    pub duration_ms: u64,
    /// Whether the run was interrupted.
    pub interrupted: bool,
    /// Still being written: its process is running (or died before it ended).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub running: bool,
    /// `--batch`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    /// `--shard K/N`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::Shard>,
}
