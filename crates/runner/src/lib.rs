//! preflight-runner: executes a [`Plan`] concurrently and returns one [`Outcome`] per
//! item, in checklist order.
//!
//! Every item runs as its own task under a global semaphore (`concurrency`) and a
//! per-host one (`per_host`). Each attempt is bounded by the item's timeout and runs in
//! a task of its own, so a hanging target or a panicking probe only affects its item.
//! The timeout bounds judging too: expectations are evaluated on a thread of their
//! own (CPU work off the runtime's workers, on a stack made for them) and stop at
//! the attempt's deadline.
//! The runner never prints: it reports progress through [`Event`]s.
//!
//! Captures (`capture = { name = "CEL" }`) are taken from the attempt that passed and
//! kept for the run; an item that reads them has its options bound by core
//! ([`preflight_core::plan::bind_captures`]) when it starts, after its `needs`. Every
//! captured value that is not `public` joins the run's redactor, so it is masked in
//! every outcome.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use preflight_core::attest::Standing;
use preflight_core::checklist::Capture;
use preflight_core::expect::Budget;
use preflight_core::plan::{BindError, bind_captures};
use preflight_core::verdict::{ExpectationResult, Judged, Taken, spawn_judge};
use preflight_core::{
    Blame, Catalog, Check, Context, Observer, Outcome, Plan, PlannedItem, Redactor, Status,
};
pub use preflight_model::RunResult;
use serde_json::{Map, Value};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
pub use tokio_util::sync::CancellationToken;

/// Progress of a run, for reporters.
#[derive(Debug, Clone)]
pub enum Event {
    /// An item's first attempt is starting.
    Started {
        /// Index in the plan.
        index: usize,
    },
    /// An item has its final status.
    Finished {
        /// Index in the plan.
        index: usize,
        /// Its status.
        status: Status,
    },
}

type EventSink = Arc<dyn Fn(Event) + Send + Sync>;

/// Outcomes waiting in memory for their turn (checklist order) at most; past that
/// they wait in a temp file. See [`RunOptions`].
pub const REORDER_MEMORY: usize = 2048;

/// How a streamed run keeps memory bounded.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Finished outcomes kept in memory while an earlier item is still running.
    pub reorder_memory: usize,
    /// Items started and not finished at most (waiting for a slot, sleeping between
    /// retries or samples): the rest wait unstarted. At least `concurrency`.
    pub window: usize,
}

impl RunOptions {
    /// The defaults for a plan: [`REORDER_MEMORY`], and a window of four times the
    /// concurrency (at least 4,096), so `hold` items sleeping between samples do not
    /// hold back the others.
    pub fn for_plan(plan: &Plan) -> RunOptions {
        RunOptions {
            reorder_memory: REORDER_MEMORY,
            window: (plan.concurrency.saturating_mul(4)).max(4096),
        }
    }
}

/// How a streamed run went (its outcomes went to the sink).
#[derive(Debug, Clone)]
pub struct RunEnd {
    /// Wall-clock start.
    pub started_at: SystemTime,
    /// Wall time of the whole run.
    pub duration: Duration,
    /// True when the run was cancelled before every item finished.
    pub interrupted: bool,
    /// Outcomes that waited on disk for their turn.
    pub spilled: usize,
}

struct Shared {
    plan: Arc<Plan>,
    catalog: Catalog,
    global: Semaphore,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Final status of each finished item (needs read them).
    done: Mutex<Vec<Option<Status>>>,
    events: EventSink,
    cancel: CancellationToken,
    /// The plan's secrets plus every captured value that is not public.
    redactor: Mutex<Redactor>,
    /// What each passed item captured, by item id.
    captured: Mutex<HashMap<String, Map<String, Value>>>,
    /// The ids of the items that capture.
    capturing: std::collections::HashSet<String>,
}

impl Shared {
    fn redactor(&self) -> std::sync::MutexGuard<'_, Redactor> {
        self.redactor.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn status(&self, i: usize) -> Option<Status> {
        self.done.lock().unwrap_or_else(|p| p.into_inner())[i]
    }

    /// Masks the values an item captured (unless public), wherever they show up.
    fn mask_captured(&self, captures: &[Capture], taken: &Map<String, Value>) {
        let mut r = self.redactor();
        for c in captures.iter().filter(|c| !c.public) {
            match taken.get(&c.name) {
                Some(Value::String(s)) => r.add(s),
                Some(Value::Null) | None => {}
                Some(other) => r.add(&other.to_string()),
            }
        }
    }
}

/// Runs every item of `plan` and returns every outcome, in checklist order.
/// Cancelling `cancel` stops new work and reports the unfinished items as errors
/// ("cancelled"). For long checklists use [`run_streaming`], which holds only what
/// has not been handed on yet.
pub async fn run(
    plan: Plan,
    catalog: Catalog,
    events: impl Fn(Event) + Send + Sync + 'static,
    cancel: CancellationToken,
) -> RunResult {
    let plan = Arc::new(plan);
    let mut outcomes = Vec::with_capacity(plan.items.len());
    let opts = RunOptions::for_plan(&plan);
    let end = run_streaming(plan, catalog, events, cancel, opts, |_, o| outcomes.push(o)).await;
    RunResult {
        outcomes,
        started_at: end.started_at,
        duration: end.duration,
        interrupted: end.interrupted,
    }
}

/// Runs every item of `plan`, handing each outcome (redacted) to `sink` in checklist
/// order as soon as it and every item before it have finished. Memory stays bounded
/// whatever the plan's size: at most `opts.window` items are started at once, and
/// outcomes that finish ahead of their turn wait in a bounded buffer that spills to a
/// temp file.
///
/// While an item that captures values has not finished, outcomes wait: a captured
/// secret must be masked in every outcome, also in those that finished before it.
pub async fn run_streaming(
    plan: Arc<Plan>,
    catalog: Catalog,
    events: impl Fn(Event) + Send + Sync + 'static,
    cancel: CancellationToken,
    opts: RunOptions,
    mut sink: impl FnMut(usize, Outcome),
) -> RunEnd {
    let started_at = SystemTime::now();
    let t0 = Instant::now();
    let n = plan.items.len();
    let shared = Arc::new(Shared {
        global: Semaphore::new(plan.concurrency),
        hosts: Mutex::new(HashMap::new()),
        done: Mutex::new(vec![None; n]),
        events: Arc::new(events),
        cancel,
        catalog,
        redactor: Mutex::new(plan.redactor.clone()),
        captured: Mutex::new(HashMap::new()),
        capturing: plan
            .items
            .iter()
            .filter(|p| !p.item.capture.is_empty())
            .map(|p| p.item.id.clone())
            .collect(),
        plan: plan.clone(),
    });
    // The needs graph: an item starts once everything it needs has finished, so no
    // started item waits on one that is not started (no deadlock in the window).
    let mut waiting_on: Vec<u32> = plan.items.iter().map(|p| p.needs.len() as u32).collect();
    let mut dependents: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, p) in plan.items.iter().enumerate() {
        for &d in &p.needs {
            dependents.entry(d).or_default().push(i);
        }
    }
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<usize>> = (0..n)
        .filter(|&i| waiting_on[i] == 0)
        .map(std::cmp::Reverse)
        .collect();
    let mut capturing_left = plan
        .items
        .iter()
        .filter(|p| !p.item.capture.is_empty())
        .count();
    let window = opts.window.max(plan.concurrency).max(1);
    let mut order = order::Reorder::new(opts.reorder_memory);
    // The redactor's size when each waiting outcome was masked: only outcomes masked
    // before a secret was added are masked again.
    let mut masked_with: HashMap<usize, usize> = HashMap::new();
    let mut set = JoinSet::new();
    let mut index_of = HashMap::new();
    let mut finished = 0usize;
    let mut started = vec![false; n];
    while finished < n {
        while set.len() < window && !shared.cancel.is_cancelled() {
            let Some(std::cmp::Reverse(i)) = ready.pop() else {
                break;
            };
            started[i] = true;
            let sh = shared.clone();
            let handle = set.spawn(async move {
                let outcome = tokio::select! {
                    o = run_item(&sh, i) => o,
                    () = sh.cancel.cancelled() => cancelled(),
                };
                (i, outcome)
            });
            index_of.insert(handle.id(), i);
        }
        let joined = if set.is_empty() {
            None
        } else {
            set.join_next_with_id().await
        };
        let mut done_now: Vec<(usize, Outcome)> = Vec::new();
        match joined {
            Some(Ok((id, (i, o)))) => {
                index_of.remove(&id);
                done_now.push((i, o));
            }
            Some(Err(e)) => {
                let i = index_of.remove(&e.id()).unwrap_or(0);
                done_now.push((
                    i,
                    Outcome::without_attempt(
                        Status::Error,
                        Some(format!("internal error in the runner: {}", panic_text(e))),
                    ),
                ));
            }
            None => {
                // Nothing in flight: cancelled, so the rest never start.
                for (i, s) in started.iter_mut().enumerate() {
                    if !*s {
                        *s = true;
                        done_now.push((i, cancelled()));
                    }
                }
            }
        }
        for (i, outcome) in done_now {
            finished += 1;
            let outcome = {
                let r = shared.redactor();
                masked_with.insert(i, r.len());
                redact(&r, outcome)
            };
            shared.done.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(outcome.status);
            (shared.events)(Event::Finished {
                index: i,
                status: outcome.status,
            });
            if !plan.items[i].item.capture.is_empty() {
                capturing_left -= 1;
            }
            for &d in dependents.get(&i).map(Vec::as_slice).unwrap_or(&[]) {
                waiting_on[d] -= 1;
                if waiting_on[d] == 0 && !started[d] {
                    ready.push(std::cmp::Reverse(d));
                }
            }
            order.put(i, outcome);
        }
        if capturing_left == 0 {
            let r = shared.redactor();
            while let Some((i, o)) = order.pop() {
                let o = match masked_with.remove(&i) {
                    Some(len) if len == r.len() => o,
                    _ => redact(&r, o),
                };
                sink(i, o);
            }
        }
    }
    // Captures still waited for (an interrupted run): what is left, masked last.
    let r = shared.redactor().clone();
    while let Some((i, o)) = order.pop() {
        let _ = i;
        sink(i, redact(&r, o));
    }
    RunEnd {
        started_at,
        duration: t0.elapsed(),
        interrupted: shared.cancel.is_cancelled(),
        spilled: order.spilled,
    }
}

fn cancelled() -> Outcome {
    Outcome::without_attempt(
        Status::Error,
        Some("cancelled: the run was interrupted before this item finished".into()),
    )
}

fn redact(r: &Redactor, mut o: Outcome) -> Outcome {
    o.reason = o.reason.map(|t| r.text(&t));
    if let Some(f) = &mut o.facts {
        r.mask_json(f);
    }
    for e in &mut o.expectations {
        e.expr = r.text(&e.expr);
    }
    o
}

fn panic_text(e: tokio::task::JoinError) -> String {
    if e.is_cancelled() {
        return "task cancelled".into();
    }
    let p = e.into_panic();
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .map_or_else(|| "panic".into(), |s| format!("panic: {s}"))
}

async fn run_item(sh: &Shared, i: usize) -> Outcome {
    let item: &PlannedItem = &sh.plan.items[i];
    // Its needs have finished (the item starts only then).
    for &n in &item.needs {
        let status = sh.status(n).unwrap_or(Status::Error);
        if status != Status::Pass {
            let id = &sh.plan.items[n].item.id;
            return Outcome::without_attempt(
                Status::Skip,
                Some(format!(
                    "needs \"{id}\", which did not pass ({})",
                    status.as_str()
                )),
            );
        }
    }
    let (probe, expect) = match &*item.item.check {
        Check::Manual => {
            return match &item.attestation {
                Some(Standing::Valid(_)) => Outcome::without_attempt(Status::Pass, None),
                Some(Standing::Expired(a)) => Outcome::without_attempt(
                    Status::Manual,
                    Some(format!(
                        "manual item: attestation by {} expired at {}; pending again",
                        a.by,
                        a.expires.as_deref().unwrap_or("?")
                    )),
                ),
                None => Outcome::without_attempt(
                    Status::Manual,
                    Some("manual item: pending attestation".into()),
                ),
            };
        }
        Check::Probe { probe, expect, .. } => (probe, expect),
    };
    if let Err(reason) = &*item.options {
        return Outcome::without_attempt(Status::Error, Some(reason.clone()));
    }
    let Some(p) = sh.catalog.get(probe) else {
        return Outcome::without_attempt(
            Status::Error,
            Some(format!("probe \"{probe}\" is not in this build")),
        );
    };
    let options = {
        let captured = sh.captured.lock().unwrap_or_else(|p| p.into_inner());
        let lookup = |c: &preflight_core::template::CaptureRef| {
            captured.get(&c.item).and_then(|m| m.get(&c.name)).cloned()
        };
        let mut secrets = Redactor::default();
        let bound = bind_captures(p, item, &lookup, &mut secrets);
        drop(captured);
        sh.redactor().extend(&secrets);
        match bound {
            Ok(o) => o,
            Err(BindError::Invalid(reason)) => {
                return Outcome::without_attempt(Status::Error, Some(reason));
            }
            Err(BindError::Missing(c)) => {
                let why = if sh.capturing.contains(&c.item) {
                    "which did not pass"
                } else {
                    "which is not in this run"
                };
                return Outcome::without_attempt(
                    Status::Skip,
                    Some(format!("reads `{c}` of \"{}\", {why}", c.item)),
                );
            }
        }
    };
    let context = Context::new(item.timeout).with_network(sh.plan.network.clone());
    let observer = match p.prepare(&options, &context) {
        Ok(o) => o,
        Err(f) => {
            let status = if f.is_target() {
                Status::Fail
            } else {
                Status::Error
            };
            return Outcome::without_attempt(status, Some(f.reason()));
        }
    };
    (sh.events)(Event::Started { index: i });
    let t0 = Instant::now();
    let mut attempts = 0u32;
    let spec = &item.item;
    if let (Some(hold), Some(every)) = (spec.hold, spec.every) {
        // Samples at +0, +every, +2·every, … and a last one at +hold, so the whole
        // window is observed; the item fails at the first failing sample.
        let total = hold_samples(hold, every);
        let mut last;
        loop {
            let offset = t0.elapsed();
            let wall = SystemTime::now();
            attempts += 1;
            last = attempt(
                sh,
                &observer,
                item.timeout,
                expect,
                &spec.capture,
                spec.row.as_deref(),
            )
            .await;
            if last.0 != Status::Pass {
                let reason = format!(
                    "held for {} of the {} window, then sample {attempts} of {total} (at +{}, {}) failed: {}",
                    fmt_span(offset),
                    fmt_dur(hold),
                    fmt_span(offset),
                    humantime::format_rfc3339_seconds(wall),
                    last.1.clone().unwrap_or_default()
                );
                return Outcome {
                    status: last.0,
                    reason: Some(reason),
                    duration: t0.elapsed(),
                    attempts,
                    expectations: last.2,
                    facts: last.3,
                };
            }
            if attempts >= total {
                break;
            }
            let next = (every * attempts).min(hold);
            tokio::time::sleep_until((t0 + next).into()).await;
        }
        keep_captures(sh, spec, last.4);
        return Outcome {
            status: Status::Pass,
            reason: None,
            duration: t0.elapsed(),
            attempts,
            expectations: last.2,
            facts: last.3,
        };
    }
    let within_end = spec.within.map(|w| t0 + w);
    let mut backoff = Duration::from_millis(200);
    loop {
        attempts += 1;
        let (status, mut reason, expectations, facts, taken) = attempt(
            sh,
            &observer,
            item.timeout,
            expect,
            &spec.capture,
            spec.row.as_deref(),
        )
        .await;
        let more_retries = attempts <= spec.retries;
        let more_within = within_end.is_some_and(|end| Instant::now() + backoff < end);
        if status == Status::Pass || !(more_retries || more_within) {
            if status != Status::Pass {
                if let Some(w) = spec.within {
                    reason = Some(format!(
                        "still failing after {} ({attempts} attempts): {}",
                        fmt_dur(w),
                        reason.unwrap_or_default()
                    ));
                } else if attempts > 1 {
                    reason = Some(format!(
                        "{} (after {attempts} attempts)",
                        reason.unwrap_or_default()
                    ));
                }
            } else {
                keep_captures(sh, spec, taken);
            }
            return Outcome {
                status,
                reason,
                duration: t0.elapsed(),
                attempts,
                expectations,
                facts,
            };
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

/// Samples taken for `hold = H, every = E`: at +0, +E, +2E, … and at +H.
pub fn hold_samples(hold: Duration, every: Duration) -> u32 {
    let e = every.as_nanos().max(1);
    (hold.as_nanos().div_ceil(e) as u32).saturating_add(1)
}

/// Backoff before retry `n` (1-based) of an item with `retries` or `within`.
fn backoff_before(n: u32) -> Duration {
    (Duration::from_millis(200) * 2u32.saturating_pow(n.saturating_sub(1).min(10)))
        .min(Duration::from_secs(2))
}

/// Worst-case wall time of one item once it starts (not counting waits for `needs`
/// or for a concurrency slot): every attempt times out, every backoff is slept, and a
/// `hold` window runs to its end.
pub fn item_budget(item: &PlannedItem) -> Duration {
    let t = item.timeout;
    let spec = &item.item;
    if let (Some(hold), Some(every)) = (spec.hold, spec.every) {
        let n = hold_samples(hold, every);
        return hold.max(t * n.saturating_sub(1)) + t;
    }
    let mut total = t;
    for n in 1..=spec.retries {
        total += backoff_before(n) + t;
    }
    if let Some(w) = spec.within {
        total = total.max(w + backoff_before(11) + t);
    }
    total
}

/// Worst-case wall time of a whole run: the longest chain of `needs`, each link its
/// [`item_budget`] (assuming enough concurrency). A scheduler's deadline (a CronJob's
/// `activeDeadlineSeconds`, a systemd `TimeoutStartSec`, `watch --every`) must exceed it;
/// `hold` windows are what usually dominate.
pub fn plan_budget(plan: &Plan) -> Duration {
    fn finish(plan: &Plan, i: usize, memo: &mut [Option<Duration>], depth: usize) -> Duration {
        if let Some(d) = memo[i] {
            return d;
        }
        let start = if depth > plan.items.len() {
            Duration::ZERO
        } else {
            plan.items[i]
                .needs
                .iter()
                .map(|&n| finish(plan, n, memo, depth + 1))
                .max()
                .unwrap_or_default()
        };
        let d = start + item_budget(&plan.items[i]);
        memo[i] = Some(d);
        d
    }
    let mut memo = vec![None; plan.items.len()];
    (0..plan.items.len())
        .map(|i| finish(plan, i, &mut memo, 0))
        .max()
        .unwrap_or_default()
}

/// A short human duration: `850ms`, `12.5s`, `2m30s`.
fn fmt_span(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        let s = format!("{:.1}", d.as_secs_f64());
        format!("{}s", s.trim_end_matches(".0"))
    } else {
        let secs = d.as_secs();
        if secs.is_multiple_of(60) {
            format!("{}m", secs / 60)
        } else {
            format!("{}m{}s", secs / 60, secs % 60)
        }
    }
}

fn fmt_dur(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(60_000) && ms >= 60_000 {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);
impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Keeps what the attempt that passed captured, for the items that read it.
fn keep_captures(sh: &Shared, spec: &preflight_core::Item, taken: Map<String, Value>) {
    if spec.capture.is_empty() {
        return;
    }
    sh.captured
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(spec.id.clone(), taken);
}

/// Status, reason, expectation results, facts, and what was captured.
type Attempt = (
    Status,
    Option<String>,
    Vec<ExpectationResult>,
    Option<serde_json::Value>,
    Map<String, Value>,
);

async fn attempt(
    sh: &Shared,
    observer: &Arc<dyn Observer>,
    timeout: Duration,
    expect: &[preflight_core::expect::Expectation],
    captures: &[Capture],
    row: Option<&preflight_core::checklist::Row>,
) -> Attempt {
    let host_sem = observer.host().map(|h| {
        let mut hosts = sh.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts
            .entry(h)
            .or_insert_with(|| Arc::new(Semaphore::new(sh.plan.per_host)))
            .clone()
    });
    let _global = sh.global.acquire().await;
    let _host = match &host_sem {
        Some(s) => Some(s.acquire().await),
        None => None,
    };
    let obs = observer.clone();
    // The timeout bounds the whole attempt: observing, then judging what was seen.
    let budget = Budget::from_now(timeout);
    let mut task = AbortOnDrop(tokio::spawn(async move { obs.observe().await }));
    match tokio::time::timeout(timeout, &mut task.0).await {
        Err(_) => (
            Status::Fail,
            Some(format!("timed out after {}", fmt_dur(timeout))),
            vec![],
            None,
            Map::new(),
        ),
        Ok(Err(e)) => (
            Status::Error,
            Some(format!("probe crashed: {}", panic_text(e))),
            vec![],
            None,
            Map::new(),
        ),
        Ok(Ok(Err(f))) => {
            let status = match f.blame() {
                Blame::Target => Status::Fail,
                Blame::Checker => Status::Error,
            };
            (status, Some(f.reason()), vec![], None, Map::new())
        }
        Ok(Ok(Ok(facts))) => {
            let (judged, (taken, problem), facts) =
                judge_within(expect, captures, facts, &sh.plan.vars, row, budget).await;
            let (mut status, mut reason, results) = judged;
            // Masked even when the attempt fails: its facts hold the value too.
            sh.mask_captured(captures, &taken);
            if status == Status::Pass
                && let Some(p) = problem
            {
                status = Status::Fail;
                reason = Some(p);
            }
            (status, reason, results, facts, taken)
        }
    }
}

/// How long past the deadline the runner still waits for a judging thread. The
/// meter stops every comprehension at the deadline, so only one long step (a
/// regular expression over a large body, say) can take longer.
const JUDGE_GRACE: Duration = Duration::from_secs(1);

/// Judges `facts` and takes the captures on a thread of their own (CPU work must
/// not stall the runtime, and needs a deep stack), waiting no longer than the
/// budget allows. Nothing is captured from an attempt that could not be judged.
async fn judge_within(
    expect: &[preflight_core::expect::Expectation],
    captures: &[Capture],
    facts: preflight_core::Facts,
    vars: &serde_json::Map<String, serde_json::Value>,
    row: Option<&preflight_core::checklist::Row>,
    budget: Budget,
) -> (Judged, Taken, Option<serde_json::Value>) {
    let nothing = || (Map::new(), None);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = spawn_judge(
        expect.to_vec(),
        captures.to_vec(),
        facts,
        vars.clone(),
        row.map(|r| r.json()),
        budget,
        move |judged, taken, facts| {
            let _ = tx.send((judged, taken, facts));
        },
    );
    if let Err(e) = spawned {
        return ((Status::Error, Some(e), vec![]), nothing(), None);
    }
    let give_up = tokio::time::Instant::from_std(budget.deadline + JUDGE_GRACE);
    match tokio::time::timeout_at(give_up, rx).await {
        Ok(Ok((judged, taken, facts))) => (judged, taken, Some(serde_json::Value::Object(facts))),
        Ok(Err(_)) => (
            (
                Status::Error,
                Some("the expression evaluator crashed".into()),
                vec![],
            ),
            nothing(),
            None,
        ),
        Err(_) => (
            (
                Status::Fail,
                Some(format!(
                    "timed out after {} while judging the expectations (their evaluation was abandoned)",
                    fmt_dur(budget.timeout)
                )),
                vec![],
            ),
            nothing(),
            None,
        ),
    }
}
mod order;

#[cfg(test)]
mod tests;
