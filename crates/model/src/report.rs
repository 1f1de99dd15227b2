//! The report of a run: what every format renders and history stores. Built once
//! from the plan and the outcomes, in checklist order whatever finished first; it
//! holds only redacted data, so a renderer cannot leak a secret it was never given.

use std::time::SystemTime;

use preflight_core::attest::{Attestation, Standing};
use preflight_core::verdict::{Counts, ExpectationResult, summarize};
use preflight_core::{Outcome, Plan, PlannedItem, Severity, Status, Verdict};
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
    /// The `for_each` template that made the item (its id), if one did: reports
    /// group and summarise a template's items under it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub template: Option<String>,
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
    /// `--batch ID`: the batch the run belongs to (its shards, or its region).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub batch: Option<String>,
    /// `--shard K/N`: which share of the items the run ran.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub shard: Option<Shard>,
    /// Items of a `for_each` template that passed and are not in `items` (by
    /// template id): a streamed run keeps only what the summarising reports (human,
    /// Markdown, HTML) show, a template's first item and the ones that did not
    /// pass. `counts` and the verdict include them. Never serialized.
    #[serde(skip)]
    pub hidden_passes: std::collections::BTreeMap<String, usize>,
}

impl Report {
    /// Passed items of template `id` that are not in `items`.
    pub fn hidden(&self, id: &str) -> usize {
        self.hidden_passes.get(id).copied().unwrap_or(0)
    }

    /// How many items the run had (`items` and the hidden passes).
    pub fn total(&self) -> usize {
        self.items.len() + self.hidden_passes.values().sum::<usize>()
    }
}

/// `--shard K/N`: share K (1-based) of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which share, 1 ..= count.
    pub index: u32,
    /// How many shares.
    pub count: u32,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("invalid shard \"{s}\" (write K/N with 1 ≤ K ≤ N, e.g. 2/3)");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl ItemReport {
    /// The report line of planned item `p` with outcome `o` (already redacted).
    pub fn of(plan: &Plan, p: &PlannedItem, o: Outcome) -> ItemReport {
        ItemReport {
            id: p.item.id.clone(),
            title: p.item.title.clone(),
            section: p.item.section.clone(),
            severity: p.item.severity.as_str().into(),
            probe: p.item.probe().map(str::to_string),
            template: p.item.template().map(str::to_string),
            status: o.status,
            reason: o.reason,
            duration_ms: o.duration.as_millis() as u64,
            attempts: o.attempts,
            expectations: o.expectations,
            facts: o.facts,
            owner: p.item.owner.clone(),
            attested: match (&p.attestation, o.status) {
                (Some(Standing::Valid(a)), Status::Pass) => Some(Attested::of(a, plan)),
                _ => None,
            },
            expired_attestation: match (&p.attestation, o.status) {
                (Some(Standing::Expired(a)), Status::Manual) => Some(Attested::of(a, plan)),
                _ => None,
            },
        }
    }

    /// The line without what only the JSON report and history show (facts and
    /// expectation results): what a run keeps of each item once they are written.
    pub fn slim(&self) -> ItemReport {
        ItemReport {
            expectations: Vec::new(),
            facts: None,
            ..self.clone()
        }
    }
}

impl Report {
    /// Builds the report of a finished run.
    pub fn new(plan: &Plan, run: &RunResult) -> Report {
        let items: Vec<ItemReport> = plan
            .items
            .iter()
            .zip(&run.outcomes)
            .map(|(p, o)| ItemReport::of(plan, p, o.clone()))
            .collect();
        Report::of_items(plan, run.started_at, run.duration, run.interrupted, items)
    }

    /// The report of a run whose item lines are `items` (in checklist order; the
    /// verdict, score and counts are computed from them).
    pub fn of_items(
        plan: &Plan,
        started_at: SystemTime,
        duration: std::time::Duration,
        interrupted: bool,
        items: Vec<ItemReport>,
    ) -> Report {
        let mut r = Report {
            schema: 1,
            checklist: plan.checklist.clone(),
            environment: plan.environment.clone(),
            phase: plan.phase.clone(),
            started_at: rfc3339(started_at),
            duration_ms: duration.as_millis() as u64,
            verdict: Verdict::NoGo,
            score: 0,
            pass_score: plan.pass_score,
            counts: Counts::default(),
            failing_critical: Vec::new(),
            interrupted,
            notes: plan.notes.iter().map(|n| plan.redactor.text(n)).collect(),
            items,
            checklist_hash: None,
            tags: Vec::new(),
            preflight_version: Some(env!("CARGO_PKG_VERSION").to_string()),
            run_id: None,
            batch: None,
            shard: None,
            hidden_passes: Default::default(),
        };
        r.judge();
        r
    }

    /// Recomputes the verdict, score, counts and failing critical items from the
    /// items (after merging shards, say).
    pub fn judge(&mut self) {
        let summary = summarize(
            self.items.iter().map(|i| {
                let sev = match i.severity.as_str() {
                    "critical" => Severity::Critical,
                    "advisory" => Severity::Advisory,
                    _ => Severity::Normal,
                };
                (i.id.as_str(), sev, i.status)
            }),
            self.pass_score,
        );
        self.verdict = summary.verdict;
        self.score = summary.score;
        self.counts = summary.counts;
        self.failing_critical = summary.failing_critical;
    }
}

/// RFC 3339 UTC with seconds.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}
