//! One attempt of a probe the way the runner makes it, for the probe crates' tests:
//! the options checked and prepared as core does, the attempt bounded, and its facts
//! held to the probe's own `FACTS`. A broken contract panics, since then the test or
//! the probe is wrong, not the target.

use std::sync::Arc;
use std::time::Duration;

use preflight_core::probe::conformance;
use preflight_core::{AnyProbe, Blame, Context, Facts, Failure, Observer, Options, Probe};
use serde_json::Value;

/// How long past the context's timeout an attempt may take before the test fails:
/// a probe must end within its own timeout.
const SLACK: Duration = Duration::from_secs(5);

/// `options` (a JSON object) checked and prepared for one attempt; preparing may
/// fail as an item would (a `ca` file that does not read, an unset proxy).
pub fn prepare<P: Probe>(
    probe: &P,
    options: Value,
    context: &Context,
) -> Result<Arc<dyn Observer>, Failure> {
    let options: Options = serde_json::from_value(options).expect("options are an object");
    let problems = probe.check(&options);
    assert!(problems.is_empty(), "{problems:?}");
    AnyProbe::prepare(probe, &options, context)
}

/// [`prepare`] that must succeed.
pub fn observer<P: Probe>(probe: &P, options: Value, context: &Context) -> Arc<dyn Observer> {
    prepare(probe, options, context).unwrap_or_else(|f| panic!("prepare: {}", f.reason()))
}

/// One attempt: its facts (conforming to `P::FACTS`) or its failure (in preparing
/// or observing).
pub async fn attempt<P: Probe>(
    probe: &P,
    options: Value,
    context: &Context,
) -> Result<Facts, Failure> {
    let observer = prepare(probe, options, context)?;
    let r = tokio::time::timeout(context.timeout + SLACK, observer.observe())
        .await
        .expect("the probe ends within its own timeout");
    if let Ok(facts) = &r {
        let problems = conformance(P::FACTS, facts);
        assert!(problems.is_empty(), "{problems:?} in {facts:?}");
    }
    r
}

/// One attempt that must observe.
pub async fn observe<P: Probe>(probe: &P, options: Value, context: &Context) -> Facts {
    attempt(probe, options, context)
        .await
        .unwrap_or_else(|f| panic!("expected facts, got: {}", f.reason()))
}

/// One attempt that must fail, blamed on the target.
pub async fn fails<P: Probe>(probe: &P, options: Value, context: &Context) -> Failure {
    let f = attempt(probe, options, context)
        .await
        .expect_err("expected a failure");
    assert_eq!(f.blame(), Blame::Target, "{f}");
    f
}
