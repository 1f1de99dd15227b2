//! The report of a run: what every format renders and history stores. Built once
//! from the plan and the outcomes, in checklist order whatever finished first; it
//! holds only redacted data, so a renderer cannot leak a secret it was never given.

use std::time::SystemTime;

use preflight_core::attest::{Attestation, Standing};
use preflight_core::verdict::{Counts, ExpectationResult, summarize};
use preflight_core::{Plan, Status, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::RunResult;

/// One item's line in a report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ItemReport {
    /// Stable id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Section.
    pub section: String,
    /// critical | normal | advisory.
    pub severity: String,
    /// Probe name; absent for manual items.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub probe: Option<String>,
    /// Final status.
    pub status: Status,
    /// Why it did not pass.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// Time spent, all attempts.
    pub duration_ms: u64,
    /// Attempts made.
    pub attempts: u32,
    /// Each expectation and whether it held.
    #[serde(default)]
    pub expectations: Vec<ExpectationResult>,
    /// Facts observed on the last attempt (redacted).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub facts: Option<Value>,
    /// Owner, as written.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub owner: Option<String>,
    /// For an attested manual item: who attested it, when, and until when.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub attested: Option<Attested>,
    /// For a manual item pending again: the attestation that expired, so a report can
    /// say who signed it off and when it lapsed (it does not count as passed).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expired_attestation: Option<Attested>,
}

/// An attestation as reports show it (SPEC §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attested {
    /// Who attested.
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
    /// Their note.
    #[serde(default)]
    pub note: Option<String>,
    /// When it stops counting (RFC 3339), if ever.
    #[serde(default)]
    pub expires: Option<String>,
}

impl Attested {
    /// An attestation as reports show it: who and the note redacted.
    fn of(a: &Attestation, plan: &Plan) -> Attested {
        Attested {
            by: plan.redactor.text(&a.by),
            at: a.at.clone(),
            note: a.note.as_deref().map(|n| plan.redactor.text(n)),
            expires: a.expires.clone(),
        }
    }
}

/// A whole run, as every format shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Report schema version.
    pub schema: u32,
    /// Checklist name.
    pub checklist: String,
    /// Environment name.
    pub environment: String,
    /// Phase, if one was selected.
    pub phase: Option<String>,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Wall time of the run.
    pub duration_ms: u64,
    /// go | no-go.
    pub verdict: Verdict,
    /// passed ÷ scored × 100, floored.
    pub score: u8,
    /// GO threshold.
    pub pass_score: u8,
    /// Per-status counts.
    pub counts: Counts,
    /// Critical items that did not pass.
    pub failing_critical: Vec<String>,
    /// True when the run was interrupted.
    #[serde(default)]
    pub interrupted: bool,
    /// Things worth knowing about the run (ignored needs, …).
    #[serde(default)]
    pub notes: Vec<String>,
    /// Items in checklist order.
    pub items: Vec<ItemReport>,
    /// `sha256:HEX` of the checklist file's content, when the run knows it (the CLI
    /// sets it; history fills it in for runs stored before reports carried it).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub checklist_hash: Option<String>,
    /// The `--tag` selection of the run (empty: every tag).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub tags: Vec<String>,
    /// The preflight version that made the run (absent in runs stored before it was
    /// recorded).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub preflight_version: Option<String>,
    /// The run's id in its history store: set when a stored run is loaded (`show`,
    /// `diff`) or once `run` has recorded it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub run_id: Option<i64>,
}

impl Report {
    /// Builds the report of a finished run.
    pub fn new(plan: &Plan, run: &RunResult) -> Report {
        let items: Vec<ItemReport> = plan
            .items
            .iter()
            .zip(&run.outcomes)
            .map(|(p, o)| ItemReport {
                id: p.item.id.clone(),
                title: p.item.title.clone(),
                section: p.item.section.clone(),
                severity: p.item.severity.as_str().into(),
                probe: p.item.probe().map(str::to_string),
                status: o.status,
                reason: o.reason.clone(),
                duration_ms: o.duration.as_millis() as u64,
                attempts: o.attempts,
                expectations: o.expectations.clone(),
                facts: o.facts.clone(),
                owner: p.item.owner.clone(),
                attested: match (&p.attestation, o.status) {
                    (Some(Standing::Valid(a)), Status::Pass) => Some(Attested::of(a, plan)),
                    _ => None,
                },
                expired_attestation: match (&p.attestation, o.status) {
                    (Some(Standing::Expired(a)), Status::Manual) => Some(Attested::of(a, plan)),
                    _ => None,
                },
            })
            .collect();
        let summary = summarize(
            plan.items
                .iter()
                .zip(&run.outcomes)
                .map(|(p, o)| (p.item.id.as_str(), p.item.severity, o.status)),
            plan.pass_score,
        );
        Report {
            schema: 1,
            checklist: plan.checklist.clone(),
            environment: plan.environment.clone(),
            phase: plan.phase.clone(),
            started_at: rfc3339(run.started_at),
            duration_ms: run.duration.as_millis() as u64,
            verdict: summary.verdict,
            score: summary.score,
            pass_score: plan.pass_score,
            counts: summary.counts,
            failing_critical: summary.failing_critical,
            interrupted: run.interrupted,
            notes: plan.notes.iter().map(|n| plan.redactor.text(n)).collect(),
            items,
            checklist_hash: None,
            tags: Vec::new(),
            preflight_version: Some(env!("CARGO_PKG_VERSION").to_string()),
            run_id: None,
        }
    }
}

/// RFC 3339 UTC with seconds.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}
