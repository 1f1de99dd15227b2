//! Runner behaviour with an in-process probe whose observations are scripted:
//! orchestration is what is under test here, not a target.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use preflight_core::probe::BoxFuture;
use preflight_core::{
    Blame, Catalog, Context, Fact, FactType, Facts, Failure, Observer, Options, Probe, ProbeError,
    Status, checklist, plan,
};
use serde_json::json;

use super::*;

#[derive(Default)]
struct ScriptProbe {
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

/// What a scripted attempt does.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ScriptOptions {
    /// How long an attempt takes.
    sleep_ms: Option<u64>,
    /// pass, fail, refused, bug or panic.
    mode: Option<String>,
    /// The host it counts against.
    host: Option<String>,
    /// Reported back as the `echo` fact.
    echo: Option<String>,
}

#[derive(Debug, thiserror::Error)]
enum ScriptError {
    #[error("connection refused")]
    Refused,
    #[error("bad option")]
    Bug,
}

impl ProbeError for ScriptError {
    fn blame(&self) -> Blame {
        match self {
            ScriptError::Refused => Blame::Target,
            ScriptError::Bug => Blame::Checker,
        }
    }
}

struct ScriptObserver {
    sleep: Duration,
    mode: String,
    host: Option<String>,
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    echo: Option<String>,
    attempts: AtomicUsize,
}

impl Probe for ScriptProbe {
    type Options = ScriptOptions;
    const NAME: &'static str = "script";
    const SUMMARY: &'static str = "scripted observations";
    const FACTS: &'static [Fact] = &[
        Fact::new("ok", FactType::Bool, "the scripted result"),
        Fact::new("n", FactType::Integer, "which attempt of the item this is"),
        Fact::new("echo", FactType::String, "the `echo` option").nullable(),
    ];
    const EXAMPLE: &'static str = "";
    fn default_expect(_: &Options) -> Vec<String> {
        vec!["ok".into()]
    }
    fn prepare(&self, o: ScriptOptions, _: &Context) -> Result<Arc<dyn Observer>, Failure> {
        Ok(Arc::new(ScriptObserver {
            sleep: Duration::from_millis(o.sleep_ms.unwrap_or(0)),
            mode: o.mode.unwrap_or_else(|| "pass".into()),
            host: o.host,
            in_flight: self.in_flight.clone(),
            peak: self.peak.clone(),
            echo: o.echo,
            attempts: AtomicUsize::new(0),
        }))
    }
}

impl Observer for ScriptObserver {
    fn host(&self) -> Option<String> {
        self.host.clone()
    }
    fn observe(&self) -> BoxFuture<'_, Result<Facts, Failure>> {
        Box::pin(async move {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(self.sleep).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            let n = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
            match self.mode.as_str() {
                "panic" => panic!("scripted panic"),
                "refused" => Err(ScriptError::Refused.into()),
                "bug" => Err(ScriptError::Bug.into()),
                m => {
                    let mut f = Facts::new();
                    // `flaky` fails its first attempt only.
                    f.insert("ok".into(), json!(m == "pass" || (m == "flaky" && n > 1)));
                    f.insert("n".into(), json!(n));
                    f.insert("echo".into(), json!(self.echo));
                    Ok(f)
                }
            }
        })
    }
}

/// Validates and plans `text` with the scripted probe, plus a runtime to run it on.
fn plan_text(text: &str, catalog: &Catalog) -> (Plan, tokio::runtime::Runtime) {
    let list = checklist::parse("t.toml", text, &[], catalog).expect("valid");
    let env = |_: &str| None;
    let req = PlanRequest::with_env(&env);
    let plan = plan::plan(&list, catalog, &req).expect("plan");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("rt");
    (plan, rt)
}

fn run_text(text: &str, probe: Arc<ScriptProbe>) -> (Plan, RunResult) {
    let catalog = Catalog::new(vec![probe]);
    let (plan, rt) = plan_text(text, &catalog);
    let result = rt.block_on(run(plan.clone(), catalog, |_| {}, CancellationToken::new()));
    (plan, result)
}

use preflight_core::PlanRequest;

fn item(id: &str, extra: &str) -> String {
    format!("[[item]]\nid = \"{id}\"\nprobe = \"script\"\n{extra}\n\n")
}

fn status(plan: &Plan, r: &RunResult, id: &str) -> (Status, Option<String>) {
    let i = plan.items.iter().position(|p| p.item.id == id).expect("id");
    (r.outcomes[i].status, r.outcomes[i].reason.clone())
}

#[test]
fn statuses_for_pass_fail_target_failure_probe_bug_and_panic() {
    let text = [
        item("p", ""),
        item("f", "mode = \"fail\""),
        item("r", "mode = \"refused\""),
        item("b", "mode = \"bug\""),
        item("x", "mode = \"panic\""),
    ]
    .concat();
    let (plan, r) = run_text(&text, Arc::default());
    assert_eq!(status(&plan, &r, "p").0, Status::Pass);
    assert_eq!(
        status(&plan, &r, "f"),
        (Status::Fail, Some("ok — ok was false".into()))
    );
    assert_eq!(
        status(&plan, &r, "r"),
        (Status::Fail, Some("connection refused".into()))
    );
    assert_eq!(
        status(&plan, &r, "b"),
        (Status::Error, Some("bad option".into()))
    );
    let (st, reason) = status(&plan, &r, "x");
    assert_eq!(st, Status::Error);
    assert!(reason.unwrap_or_default().contains("scripted panic"));
}

#[test]
fn timeout_bounds_an_attempt() {
    let text = format!(
        "[checklist]\ntimeout = \"100ms\"\n{}",
        item("slow", "sleep_ms = 5000")
    );
    let t0 = std::time::Instant::now();
    let (plan, r) = run_text(&text, Arc::default());
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert_eq!(
        status(&plan, &r, "slow"),
        (Status::Fail, Some("timed out after 100ms".into()))
    );
}

#[test]
fn needs_wait_and_skip() {
    let text = [
        item("a", "sleep_ms = 50"),
        item("b", "needs = [\"a\"]"),
        item("c", "mode = \"fail\""),
        item("d", "needs = [\"c\"]"),
        item("e", "needs = [\"d\"]"),
    ]
    .concat();
    let (plan, r) = run_text(&text, Arc::default());
    assert_eq!(status(&plan, &r, "b").0, Status::Pass);
    assert_eq!(
        status(&plan, &r, "d"),
        (
            Status::Skip,
            Some("needs \"c\", which did not pass (fail)".into())
        )
    );
    assert_eq!(
        status(&plan, &r, "e"),
        (
            Status::Skip,
            Some("needs \"d\", which did not pass (skip)".into())
        )
    );
}

#[test]
fn global_and_per_host_limits_hold() {
    let probe = Arc::new(ScriptProbe::default());
    let text: String = (0..20)
        .map(|i| item(&format!("i{i}"), "sleep_ms = 30"))
        .collect();
    let (_, _) = run_text(
        &format!("[checklist]\nconcurrency = 3\n{text}"),
        probe.clone(),
    );
    assert_eq!(probe.peak.load(Ordering::SeqCst), 3);

    let probe = Arc::new(ScriptProbe::default());
    let text: String = (0..20)
        .map(|i| item(&format!("i{i}"), "sleep_ms = 30\nhost = \"db:5432\""))
        .collect();
    let (_, _) = run_text(
        &format!("[checklist]\nconcurrency = 64\nper_host = 2\n{text}"),
        probe.clone(),
    );
    assert_eq!(probe.peak.load(Ordering::SeqCst), 2);
}

#[test]
fn hold_samples_the_whole_window() {
    let text = item("h", "hold = \"300ms\"\nevery = \"100ms\"");
    let t0 = std::time::Instant::now();
    let (plan, r) = run_text(&text, Arc::default());
    // Samples at +0, +100, +200 and +300 ms: the whole window is observed.
    assert!(t0.elapsed() >= Duration::from_millis(300));
    let i = plan
        .items
        .iter()
        .position(|p| p.item.id == "h")
        .expect("id");
    assert_eq!(r.outcomes[i].status, Status::Pass);
    assert_eq!(r.outcomes[i].attempts, 4);
}

#[test]
fn cancellation_reports_unfinished_items() {
    let catalog = Catalog::new(vec![Arc::new(ScriptProbe::default())]);
    let text = [item("quick", ""), item("slow", "sleep_ms = 10000")].concat();
    let (plan, rt) = plan_text(&text, &catalog);
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    let r = rt.block_on(async move {
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            c2.cancel();
        });
        run(plan, catalog, |_| {}, cancel).await
    });
    assert!(r.interrupted);
    assert_eq!(r.outcomes[0].status, Status::Pass);
    assert_eq!(r.outcomes[1].status, Status::Error);
    assert!(
        r.outcomes[1]
            .reason
            .as_deref()
            .unwrap_or_default()
            .starts_with("cancelled")
    );
}

#[test]
fn budgets_account_for_hold_windows_and_needs() {
    let text = [
        "[checklist]\ntimeout = \"2s\"\n".to_string(),
        item("h", "hold = \"15m\"\nevery = \"30s\""),
        item("after", "needs = [\"h\"]\nretries = 2"),
        item("alone", ""),
    ]
    .concat();
    let catalog = Catalog::new(vec![Arc::new(ScriptProbe::default())]);
    let list = checklist::parse("t.toml", &text, &[], &catalog).expect("valid");
    let env = |_: &str| None;
    let req = PlanRequest::with_env(&env);
    let plan = plan::plan(&list, &catalog, &req).expect("plan");
    assert_eq!(
        hold_samples(Duration::from_secs(900), Duration::from_secs(30)),
        31
    );
    assert_eq!(item_budget(&plan.items[0]), Duration::from_secs(902));
    // Two retries: three 2 s attempts plus 200 ms and 400 ms of backoff.
    assert_eq!(item_budget(&plan.items[1]), Duration::from_millis(6600));
    assert_eq!(plan_budget(&plan), Duration::from_millis(908_600));
}

fn outcome<'a>(plan: &Plan, r: &'a RunResult, id: &str) -> &'a Outcome {
    let i = plan.items.iter().position(|p| p.item.id == id).expect("id");
    &r.outcomes[i]
}

#[test]
fn captures_of_the_passing_attempt_reach_the_items_that_need_them_masked() {
    let text = [
        item(
            "auth.login",
            "mode = \"flaky\"\nretries = 2\necho = \"tok\"\ncapture = { token = \"echo + '-s3cr3t-' + string(n)\", attempt = \"n\" }\npublic = [\"attempt\"]",
        ),
        item(
            "me",
            "needs = [\"auth.login\"]\necho = \"Bearer ${captures.auth.login.token}\"\nexpect = [\"echo == 'Bearer tok-s3cr3t-2'\"]",
        ),
        item(
            "leaky",
            "needs = [\"auth.login\"]\necho = \"got ${captures.auth.login.token} on attempt ${captures.auth.login.attempt}\"\nexpect = [\"echo == 'nothing'\"]",
        ),
        item("typed", "needs = [\"auth.login\"]\nsleep_ms = \"${captures.auth.login.attempt}\""),
    ]
    .concat();
    let (plan, r) = run_text(&text, Arc::default());
    let login = outcome(&plan, &r, "auth.login");
    assert_eq!((login.status, login.attempts), (Status::Pass, 2));
    // The value of the second attempt, the one that passed.
    assert_eq!(status(&plan, &r, "me"), (Status::Pass, None));
    let leaky = outcome(&plan, &r, "leaky");
    assert_eq!(leaky.status, Status::Fail);
    assert_eq!(
        leaky.reason.as_deref(),
        Some("echo == 'nothing' — echo was \"got **** on attempt 2\"")
    );
    assert_eq!(
        leaky.facts.as_ref().expect("facts")["echo"],
        "got **** on attempt 2"
    );
    // A lone capture keeps its type and is converted like any option.
    assert_eq!(status(&plan, &r, "typed").0, Status::Pass);
    for o in &r.outcomes {
        let all = format!("{:?} {:?}", o.reason, o.facts);
        assert!(!all.contains("s3cr3t"), "{all}");
    }
}

#[test]
fn a_capture_that_cannot_be_taken_fails_its_item_and_skips_the_readers() {
    let text = [
        item("a", "capture = { t = \"echo\" }"),
        item("b", "needs = [\"a\"]\necho = \"${captures.a.t}\""),
        item(
            "c",
            "mode = \"fail\"\necho = \"x\"\ncapture = { t = \"echo\" }",
        ),
        item("d", "needs = [\"c\"]\necho = \"${captures.c.t}\""),
        item("e", "echo = \"e\"\ncapture = { t = \"echo\" }"),
        item("f", "needs = [\"e\"]\nsleep_ms = \"${captures.e.t}\""),
    ]
    .concat();
    let (plan, r) = run_text(&text, Arc::default());
    assert_eq!(
        status(&plan, &r, "a"),
        (Status::Fail, Some("capture `t` (echo) was null".into()))
    );
    assert_eq!(
        status(&plan, &r, "b"),
        (
            Status::Skip,
            Some("needs \"a\", which did not pass (fail)".into())
        )
    );
    assert_eq!(status(&plan, &r, "c").0, Status::Fail);
    assert_eq!(status(&plan, &r, "d").0, Status::Skip);
    // Bound options that do not fit the probe make the reader an error.
    let (st, reason) = status(&plan, &r, "f");
    assert_eq!(st, Status::Error, "{reason:?}");
    assert!(reason.unwrap_or_default().contains("sleep_ms"));
}

#[test]
fn a_capture_of_an_item_left_out_of_the_run_skips_the_reader() {
    let text = [
        item("a", "echo = \"v\"\ncapture = { t = \"echo\" }"),
        item("b", "needs = [\"a\"]\necho = \"${captures.a.t}\""),
    ]
    .concat();
    let catalog = Catalog::new(vec![Arc::new(ScriptProbe::default())]);
    let list = checklist::parse("t.toml", &text, &[], &catalog).expect("valid");
    let env = |_: &str| None;
    let mut req = PlanRequest::with_env(&env);
    req.selection.only = vec!["b".into()];
    let plan = plan::plan(&list, &catalog, &req).expect("plan");
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("reads `${captures.a.t}`, but \"a\" is not in this run")),
        "{:?}",
        plan.notes
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let r = rt.block_on(run(plan.clone(), catalog, |_| {}, CancellationToken::new()));
    assert_eq!(
        status(&plan, &r, "b"),
        (
            Status::Skip,
            Some("reads `${captures.a.t}` of \"a\", which is not in this run".into())
        )
    );
}

#[test]
fn a_hold_window_keeps_the_capture_of_its_last_sample() {
    let text = [
        item(
            "h",
            "hold = \"200ms\"\nevery = \"100ms\"\ncapture = { n = \"n\" }\npublic = [\"n\"]",
        ),
        item(
            "after",
            "needs = [\"h\"]\necho = \"sample ${captures.h.n}\"\nexpect = [\"echo == 'sample 3'\"]",
        ),
    ]
    .concat();
    let (plan, r) = run_text(&text, Arc::default());
    assert_eq!(outcome(&plan, &r, "h").attempts, 3);
    assert_eq!(status(&plan, &r, "after"), (Status::Pass, None));
}

#[test]
fn streamed_outcomes_come_in_checklist_order_through_a_tiny_buffer_and_a_small_window() {
    // Later items answer sooner; the needs chain points backwards and forwards.
    let mut text = String::from("[checklist]\nconcurrency = 8\n\n");
    for i in 0..40 {
        let needs = match i {
            5 => "needs = [\"i30\"]\n",
            31 => "needs = [\"i2\"]\n",
            _ => "",
        };
        text.push_str(&item(
            &format!("i{i}"),
            &format!("sleep_ms = {}\nhost = \"h\"\n{needs}", (40 - i) * 3),
        ));
    }
    let catalog = Catalog::new(vec![Arc::new(ScriptProbe::default())]);
    let (plan, rt) = plan_text(&text, &catalog);
    let plan = Arc::new(plan);
    let mut seen = Vec::new();
    let opts = RunOptions {
        reorder_memory: 1,
        window: 8,
    };
    let end = rt.block_on(run_streaming(
        plan.clone(),
        catalog,
        |_| {},
        CancellationToken::new(),
        opts,
        |i, o| seen.push((i, o.status)),
    ));
    assert_eq!(
        seen.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        (0..40).collect::<Vec<_>>()
    );
    assert!(seen.iter().all(|(_, s)| *s == Status::Pass), "{seen:?}");
    assert!(end.spilled > 0, "results waited on disk");
    assert!(!end.interrupted);
}

#[test]
fn a_value_captured_later_is_masked_in_an_item_streamed_before_it() {
    // `early` finishes first and shows the value `cap` captures 100 ms later: its
    // outcome waits for the capture before it is handed on, masked.
    let text = format!(
        "{}{}",
        item("early", "echo = \"tok-123-secret\""),
        item(
            "cap",
            "sleep_ms = 100\necho = \"tok-123-secret\"\ncapture = { t = \"echo\" }"
        )
    );
    let catalog = Catalog::new(vec![Arc::new(ScriptProbe::default())]);
    let (plan, rt) = plan_text(&text, &catalog);
    let mut seen = Vec::new();
    let opts = RunOptions {
        reorder_memory: 1,
        window: 8,
    };
    rt.block_on(run_streaming(
        Arc::new(plan),
        catalog,
        |_| {},
        CancellationToken::new(),
        opts,
        |i, o| seen.push((i, o.facts)),
    ));
    assert_eq!(seen.len(), 2);
    for (i, facts) in &seen {
        assert_eq!(facts.as_ref().expect("facts")["echo"], "****", "item {i}");
    }
}
