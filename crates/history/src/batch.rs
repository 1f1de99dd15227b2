//! A batch: the runs tagged `--batch ID` (the shards of one sweep, `--shard K/N`),
//! merged into one report and one verdict. A shard that is missing or still running
//! makes the batch NO-GO with a reason naming it; a shard that ran twice counts once
//! (its last run).

use preflight_core::Verdict;
use preflight_model::{Report, RunSummary, Shard};

use crate::{Filter, HistoryError, Store};

/// One counted run of a batch.
#[derive(Debug, Clone)]
pub struct ShardRun {
    /// The share it ran (`1/1` for a run without `--shard`).
    pub shard: Shard,
    /// The run.
    pub run: RunSummary,
}

/// A batch merged.
#[derive(Debug, Clone)]
pub struct Merged {
    /// One report: every counted shard's items in checklist order, the verdict
    /// computed over all of them (NO-GO when `problems` is not empty).
    pub report: Report,
    /// Why the batch cannot be GO whatever its items say: shards missing, still
    /// running, or run from different checklists.
    pub problems: Vec<String>,
    /// The runs that were counted, by shard.
    pub counted: Vec<ShardRun>,
}

fn shard_of(r: &RunSummary) -> Shard {
    r.shard.unwrap_or(Shard { index: 1, count: 1 })
}

impl Store {
    /// Merges the runs of `batch`. `shards` is how many there must be; by default
    /// the count the newest run was started with. `with_facts` loads the facts too
    /// (for JSON and HTML).
    pub async fn merged(
        &self,
        batch: &str,
        shards: Option<u32>,
        with_facts: bool,
    ) -> Result<Merged, HistoryError> {
        let runs = self
            .runs(&Filter {
                batch: Some(batch.to_string()),
                include_running: true,
                ..Filter::default()
            })
            .await?;
        let mut problems = Vec::new();
        let counts: std::collections::BTreeSet<u32> =
            runs.iter().map(|r| shard_of(r).count).collect();
        let count = match shards {
            Some(n) => n,
            None => runs.first().map_or(1, |r| shard_of(r).count),
        };
        if shards.is_none() && counts.len() > 1 {
            let list: Vec<String> = counts.iter().map(u32::to_string).collect();
            problems.push(format!(
                "the runs of batch {batch} were started with different shard counts ({}); counting {count} (pass --shards N)",
                list.join(", ")
            ));
        }
        let mut counted = Vec::new();
        for k in 1..=count.max(1) {
            // Newest first: the first match is the shard's last run.
            let last = runs.iter().find(|r| {
                let s = shard_of(r);
                s.index == k && s.count == count
            });
            let name = format!("shard {k}/{count}");
            match last {
                None => problems.push(format!(
                    "{name} is missing: no run of batch {batch} with --shard {k}/{count}"
                )),
                Some(r) if r.running => problems.push(format!(
                    "{name} is still running (run {}, started {}), or its process died: its results are not in",
                    r.id, r.started_at
                )),
                Some(r) => counted.push(ShardRun {
                    shard: shard_of(r),
                    run: r.clone(),
                }),
            }
        }
        let hashes: std::collections::BTreeSet<&str> = counted
            .iter()
            .map(|s| s.run.checklist_hash.as_str())
            .collect();
        if hashes.len() > 1 {
            problems.push(format!(
                "the shards of batch {batch} ran different checklist files ({}): their items do not add up to one sweep",
                hashes.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        let mut parts: Vec<(i64, preflight_model::ItemReport)> = Vec::new();
        let mut head: Option<Report> = None;
        let mut started: Option<String> = None;
        let mut duration = 0;
        let mut notes: Vec<String> = Vec::new();
        for s in &counted {
            let (mut r, positions) = self.report_at(s.run.id, with_facts).await?;
            parts.extend(positions.into_iter().zip(std::mem::take(&mut r.items)));
            duration = duration.max(r.duration_ms);
            if started.as_ref().is_none_or(|t| r.started_at < *t) {
                started = Some(r.started_at.clone());
            }
            for n in &r.notes {
                if !notes.contains(n) {
                    notes.push(n.clone());
                }
            }
            if head.is_none() {
                head = Some(r);
            }
        }
        parts.sort_by_key(|(p, _)| *p);
        let mut report = head.unwrap_or_else(|| empty(batch));
        report.items = parts.into_iter().map(|(_, i)| i).collect();
        report.run_id = None;
        report.shard = None;
        report.batch = Some(batch.to_string());
        report.duration_ms = duration;
        if let Some(t) = started {
            report.started_at = t;
        }
        report.interrupted = counted.iter().any(|s| s.run.interrupted);
        report.notes = notes;
        report.notes.extend(problems.iter().cloned());
        report.judge();
        if !problems.is_empty() {
            report.verdict = Verdict::NoGo;
        }
        Ok(Merged {
            report,
            problems,
            counted,
        })
    }
}

/// The report of a batch none of whose shards could be counted.
fn empty(batch: &str) -> Report {
    Report {
        schema: 1,
        checklist: format!("batch {batch}"),
        environment: "default".into(),
        phase: None,
        started_at: String::new(),
        duration_ms: 0,
        verdict: Verdict::NoGo,
        score: 0,
        pass_score: 100,
        counts: Default::default(),
        failing_critical: Vec::new(),
        interrupted: false,
        notes: Vec::new(),
        items: Vec::new(),
        checklist_hash: None,
        tags: Vec::new(),
        preflight_version: None,
        run_id: None,
        batch: Some(batch.to_string()),
        shard: None,
        hidden_passes: Default::default(),
    }
}
