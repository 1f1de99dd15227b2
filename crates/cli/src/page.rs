//! What history adds to an HTML report (`--format html` on `run`, `show` and
//! `diff`): the checklist's stored runs for the trend, and the diff against a
//! baseline (by default the last `launch`-phase run). Read-only: a store that cannot
//! be read leaves a note on the page, never a missing report.

use preflight_history::{
    Baseline, Filter, HistoryError, LatencyThreshold, Location, Mode, RunSummary, Store,
};
use preflight_report::{HtmlContext, Report};

/// Runs the trend shows at most (the newest ones).
const TREND_RUNS: usize = 50;

/// The baseline of an HTML report when none is asked for.
pub fn default_baseline() -> Baseline {
    Baseline::Phase("launch".into())
}

/// The stored runs of `report`'s checklist and environment up to it, oldest first.
pub async fn history(store: &Store, report: &Report) -> Result<Vec<RunSummary>, HistoryError> {
    let mut runs = store
        .runs(&Filter {
            checklist: Some(report.checklist.clone()),
            environment: Some(report.environment.clone()),
            before: report.run_id.map(|id| id.saturating_add(1)),
            limit: Some(TREND_RUNS),
            ..Filter::default()
        })
        .await?;
    runs.reverse();
    Ok(runs)
}

/// The trend and the diff against `baseline` (a run before `report`) from `store`.
pub async fn context(
    store: &Store,
    report: &Report,
    baseline: &Baseline,
    threshold: LatencyThreshold,
) -> HtmlContext {
    let mut ctx = HtmlContext {
        baseline: Some(baseline.to_string()),
        ..HtmlContext::default()
    };
    match history(store, report).await {
        Ok(runs) => ctx.history = Some(runs),
        Err(e) => {
            ctx.note = Some(format!("history could not be read: {e}"));
            return ctx;
        }
    }
    let before = Filter {
        checklist: Some(report.checklist.clone()),
        environment: Some(report.environment.clone()),
        before: report.run_id,
        ..Filter::default()
    };
    match store.baseline(baseline, &before, None).await {
        Ok(Some((id, base))) if Some(id) != report.run_id => {
            ctx.diff = Some(preflight_history::diff(
                (&base, Some(id)),
                (report, report.run_id),
                threshold,
            ));
        }
        Ok(_) => {}
        Err(e) => ctx.note = Some(format!("the baseline could not be read: {e}")),
    }
    ctx
}

/// [`context`] from the store at `location`, opened read-only; no store at all is a
/// page without history.
pub async fn context_at(
    location: &Location,
    report: &Report,
    baseline: &Baseline,
    threshold: LatencyThreshold,
) -> HtmlContext {
    match Store::open(location, Mode::ReadOnly).await {
        Ok(store) => context(&store, report, baseline, threshold).await,
        Err(HistoryError::Missing { .. }) => HtmlContext::default(),
        Err(e) => HtmlContext {
            note: Some(format!("history could not be read: {e}")),
            ..HtmlContext::default()
        },
    }
}
