//! Statuses, score and the GO / NO-GO verdict (SPEC §4).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::checklist::Severity;
use crate::expect::{Budget, Expectation, Judgement, on_eval_stack};
use crate::probe::Facts;

/// The status of one item after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Facts observed and every expectation true (or attested).
    Pass,
    /// An expectation is false, or the target misbehaved.
    Fail,
    /// The item could not be judged.
    Error,
    /// A needed item did not pass.
    Skip,
    /// A manual item waiting for attestation.
    Manual,
}

impl Status {
    /// Lower-case name as in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Skip => "skip",
            Status::Manual => "manual",
        }
    }
}

/// One expectation's result as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectationResult {
    /// The expression.
    pub expr: String,
    /// Whether it held.
    pub ok: bool,
}

/// The result of running one item.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Final status.
    pub status: Status,
    /// Why it did not pass (redacted).
    pub reason: Option<String>,
    /// Wall time spent on the item, all attempts.
    pub duration: Duration,
    /// Attempts made.
    pub attempts: u32,
    /// Each expectation's result (last attempt).
    pub expectations: Vec<ExpectationResult>,
    /// Facts of the last attempt (redacted).
    pub facts: Option<Value>,
}

impl Outcome {
    /// An outcome with no attempts (skip, manual, error before running).
    pub fn without_attempt(status: Status, reason: Option<String>) -> Outcome {
        Outcome {
            status,
            reason,
            duration: Duration::ZERO,
            attempts: 0,
            expectations: vec![],
            facts: None,
        }
    }
}

/// What judging an attempt's facts decides: status, reason, each expectation's result.
pub type Judged = (Status, Option<String>, Vec<ExpectationResult>);

/// Judges facts against expectations: status, reason and per-expectation results.
pub fn judge(
    expect: &[Expectation],
    facts: &Facts,
    vars: &serde_json::Map<String, Value>,
) -> Judged {
    judge_until(expect, facts, vars, None, None)
}

/// [`judge`] for an item that may come from a `for_each` template (`vars.row`).
pub fn judge_row(
    expect: &[Expectation],
    facts: &Facts,
    vars: &serde_json::Map<String, Value>,
    row: Option<&crate::checklist::Row>,
) -> Judged {
    judge_until(expect, facts, vars, row.map(|r| r.json()).as_ref(), None)
}

/// [`judge`], with the item's row (as JSON, for `vars.row`) and stopping at
/// `budget`'s deadline: an expectation still being evaluated then fails, saying
/// so. Runs on a thread with [`EVAL_STACK_BYTES`](crate::expect::EVAL_STACK_BYTES)
/// of stack.
pub fn judge_until(
    expect: &[Expectation],
    facts: &Facts,
    vars: &serde_json::Map<String, Value>,
    row: Option<&Value>,
    budget: Option<Budget>,
) -> Judged {
    on_eval_stack(|| judge_here(expect, facts, vars, row, budget))
        .unwrap_or_else(|e| could_not_judge(expect, e))
}

/// [`judge_until`] on one of the kept evaluation threads (deep stacks), then the item's `captures`
/// from the same facts (within the same budget): `done` gets the judgement, the
/// values taken and why one could not be, and the facts back. For callers that
/// must not block while expressions are evaluated and must be able to stop
/// waiting (the runner).
pub fn spawn_judge(
    expect: Vec<Expectation>,
    captures: Vec<crate::checklist::Capture>,
    facts: Facts,
    vars: serde_json::Map<String, Value>,
    row: Option<Value>,
    budget: Budget,
    done: impl FnOnce(Judged, Taken, Facts) + Send + 'static,
) -> Result<(), String> {
    crate::eval_threads::spawn(move || {
        let row = row.as_ref();
        let judged = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            judge_here(&expect, &facts, &vars, row, Some(budget))
        }))
        .unwrap_or_else(|_| could_not_judge(&expect, "the expression evaluator crashed".into()));
        let taken = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            take_here(&captures, &facts, &vars, row, Some(budget))
        }))
        .unwrap_or_else(|_| {
            (
                serde_json::Map::new(),
                Some("the expression evaluator crashed taking a capture".into()),
            )
        });
        done(judged, taken, facts);
    })
}

fn could_not_judge(expect: &[Expectation], why: String) -> Judged {
    let results = expect
        .iter()
        .map(|e| ExpectationResult {
            expr: e.source().to_string(),
            ok: false,
        })
        .collect();
    (Status::Error, Some(why), results)
}

/// What `exprs` read: the vars by bare name, the facts (which win over a var of the
/// same name; the loader rejects such a read), and `vars` (every var as a string,
/// and the item's `row`). Only the names they read: cloning every fact for each
/// item costs more than judging it.
fn scope_read<'a>(
    exprs: impl Iterator<Item = &'a Expectation>,
    facts: &Facts,
    vars: &serde_json::Map<String, Value>,
    row: Option<&Value>,
) -> serde_json::Map<String, Value> {
    let read: std::collections::BTreeSet<&str> = exprs.flat_map(|e| e.names()).collect();
    let mut scope = serde_json::Map::new();
    for name in read {
        if name == crate::expect::VARS {
            let mut v = crate::expect::vars_scope(vars);
            if let (Some(row), Value::Object(m)) = (row, &mut v) {
                m.insert("row".into(), row.clone());
            }
            scope.insert(name.to_string(), v);
        } else if let Some(v) = facts.get(name).or_else(|| vars.get(name)) {
            scope.insert(name.to_string(), v.clone());
        }
    }
    scope
}

/// [`judge_until`] on the calling thread (which has the stack it needs).
fn judge_here(
    expect: &[Expectation],
    facts: &Facts,
    vars: &serde_json::Map<String, Value>,
    row: Option<&Value>,
    budget: Option<Budget>,
) -> Judged {
    let scope = scope_read(expect.iter(), facts, vars, row);
    let mut results = Vec::with_capacity(expect.len());
    let mut fails = Vec::new();
    let mut errors = Vec::new();
    for e in expect {
        let j = e.judge_here(&scope, budget);
        results.push(ExpectationResult {
            expr: e.source().to_string(),
            ok: j == Judgement::Holds,
        });
        match j {
            Judgement::Holds => {}
            Judgement::Fails(r) => fails.push(r),
            Judgement::Unjudgeable(r) => errors.push(r),
        }
    }
    if !errors.is_empty() {
        (
            Status::Error,
            Some(
                errors
                    .into_iter()
                    .chain(fails)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            results,
        )
    } else if !fails.is_empty() {
        (Status::Fail, Some(fails.join("; ")), results)
    } else {
        (Status::Pass, None, results)
    }
}

/// Captured values by name, and why one could not be taken (if one could not).
pub type Taken = (serde_json::Map<String, Value>, Option<String>);

/// Takes an item's captures from an attempt's facts: the values that could be taken,
/// and — when one could not (a missing key, an evaluation error, null) — why, naming
/// the capture. A passing attempt whose capture could not be taken fails.
pub fn take_captures(
    captures: &[crate::checklist::Capture],
    facts: &Facts,
    vars: &serde_json::Map<String, Value>,
) -> Taken {
    on_eval_stack(|| take_here(captures, facts, vars, None, None))
        .unwrap_or_else(|e| (serde_json::Map::new(), Some(e)))
}

/// [`take_captures`] on the calling thread (which has the stack it needs).
fn take_here(
    captures: &[crate::checklist::Capture],
    facts: &Facts,
    vars: &serde_json::Map<String, Value>,
    row: Option<&Value>,
    budget: Option<Budget>,
) -> Taken {
    let mut taken = serde_json::Map::new();
    let mut problems = Vec::new();
    if captures.is_empty() {
        return (taken, None);
    }
    let scope = scope_read(captures.iter().map(|c| &c.expr), facts, vars, row);
    for c in captures {
        match c.expr.evaluate_here(&scope, budget) {
            Ok(Value::Null) => problems.push(format!(
                "capture `{}` ({}) was null",
                c.name,
                c.expr.source()
            )),
            Ok(v) => {
                taken.insert(c.name.clone(), v);
            }
            Err(why) => problems.push(format!(
                "capture `{}` ({}) could not be taken: {why}",
                c.name,
                c.expr.source()
            )),
        }
    }
    let problem = (!problems.is_empty()).then(|| problems.join("; "));
    (taken, problem)
}

/// GO or NO-GO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Every critical item passed and the score reached `pass_score`.
    #[serde(rename = "go")]
    Go,
    /// Otherwise.
    #[serde(rename = "no-go")]
    NoGo,
}

impl Verdict {
    /// `GO` / `NO-GO`.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Go => "GO",
            Verdict::NoGo => "NO-GO",
        }
    }
}

/// Counts per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Passed.
    pub pass: usize,
    /// Failed.
    pub fail: usize,
    /// Errored.
    pub error: usize,
    /// Skipped.
    pub skip: usize,
    /// Manual, pending.
    pub manual: usize,
}

/// Score, counts and verdict of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// GO / NO-GO.
    pub verdict: Verdict,
    /// passed ÷ scored × 100, floored.
    pub score: u8,
    /// Per-status counts.
    pub counts: Counts,
    /// Critical items that did not pass, in checklist order.
    pub failing_critical: Vec<String>,
}

/// Computes the verdict from `(id, severity, status)` in checklist order.
pub fn summarize<'a>(
    items: impl IntoIterator<Item = (&'a str, Severity, Status)>,
    pass_score: u8,
) -> Summary {
    let mut t = Tally::default();
    for (id, sev, status) in items {
        t.add(id, sev, status);
    }
    t.summary(pass_score)
}

/// [`summarize`] one item at a time: what a run streaming its results keeps (the
/// counts, and the ids of the critical items that did not pass).
#[derive(Debug, Clone, Default)]
pub struct Tally {
    counts: Counts,
    scored: usize,
    passed: usize,
    failing_critical: Vec<String>,
}

impl Tally {
    /// Counts one item.
    pub fn add(&mut self, id: &str, sev: Severity, status: Status) {
        match status {
            Status::Pass => self.counts.pass += 1,
            Status::Fail => self.counts.fail += 1,
            Status::Error => self.counts.error += 1,
            Status::Skip => self.counts.skip += 1,
            Status::Manual => self.counts.manual += 1,
        }
        if sev != Severity::Advisory {
            self.scored += 1;
            if status == Status::Pass {
                self.passed += 1;
            }
        }
        if sev == Severity::Critical && status != Status::Pass {
            self.failing_critical.push(id.to_string());
        }
    }

    /// The verdict, score and counts so far.
    pub fn summary(&self, pass_score: u8) -> Summary {
        let score = (self.passed * 100)
            .checked_div(self.scored)
            .map_or(100, |s| s as u8);
        let verdict = if self.failing_critical.is_empty() && score >= pass_score {
            Verdict::Go
        } else {
            Verdict::NoGo
        };
        Summary {
            verdict,
            score,
            counts: self.counts,
            failing_critical: self.failing_critical.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Severity::*;
    use Status::*;

    #[test]
    fn score_floors_and_ignores_advisory() {
        let s = summarize(
            [
                ("a", Normal, Pass),
                ("b", Normal, Pass),
                ("c", Normal, Fail),
                ("d", Advisory, Fail),
            ],
            60,
        );
        assert_eq!(s.score, 66);
        assert_eq!(s.verdict, Verdict::Go);
        assert_eq!(s.counts.fail, 2);
    }

    #[test]
    fn critical_failure_is_no_go_even_at_high_score() {
        let s = summarize([("a", Critical, Skip), ("b", Normal, Pass)], 0);
        assert_eq!(s.verdict, Verdict::NoGo);
        assert_eq!(s.failing_critical, vec!["a".to_string()]);
    }

    #[test]
    fn pending_manual_counts_as_not_passed_and_empty_is_100() {
        let s = summarize([("a", Normal, Manual), ("b", Normal, Pass)], 100);
        assert_eq!((s.score, s.verdict), (50, Verdict::NoGo));
        let s = summarize([("a", Advisory, Fail)], 100);
        assert_eq!((s.score, s.verdict), (100, Verdict::Go));
    }

    #[test]
    fn judge_reports_failures_and_errors() {
        let e = vec![
            Expectation::compile("status == 200").unwrap(),
            Expectation::compile("latency_ms < 500").unwrap(),
        ];
        let facts = serde_json::json!({"status": 503, "latency_ms": 10})
            .as_object()
            .unwrap()
            .clone();
        let (st, reason, res) = judge(&e, &facts, &Default::default());
        assert_eq!(st, Fail);
        assert_eq!(reason.unwrap(), "status == 200 — status was 503");
        assert_eq!(
            res.iter().map(|r| r.ok).collect::<Vec<_>>(),
            vec![false, true]
        );
        let bad = vec![Expectation::compile("latency_ms < 'x'").unwrap()];
        assert_eq!(judge(&bad, &facts, &Default::default()).0, Error);
    }
}
