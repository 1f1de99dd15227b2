//! preflight-model: the run-result and report types, and nothing else.
//!
//! The runner produces a [`RunResult`]; [`Report::new`] turns it and the plan into the
//! [`Report`] every format renders (`preflight-report`) and history stores
//! (`preflight-history`); [`Diff`] is what changed between two reports. This crate
//! depends on `preflight-core` only, so storage and rendering never depend on the
//! runner.
//!
//! ```
//! let r: preflight_model::Report = serde_json::from_str(r#"{"schema": 1, "checklist": "c",
//!   "environment": "default", "phase": null, "started_at": "2026-05-15T09:00:00Z",
//!   "duration_ms": 1, "verdict": "go", "score": 100, "pass_score": 100,
//!   "counts": {"pass": 0, "fail": 0, "error": 0, "skip": 0, "manual": 0},
//!   "failing_critical": [], "items": []}"#).unwrap();
//! assert_eq!(r.verdict, preflight_core::Verdict::Go);
//! ```

mod diff;
mod report;
mod run;
mod runs;

pub use diff::{
    Diff, ItemPresence, LATENCY_FLOOR_MS, LatencyChange, LatencyThreshold, RunRef, StatusChange,
};
pub use report::{Attested, ItemReport, Report, Shard, rfc3339};
pub use run::RunResult;
pub use runs::RunSummary;
