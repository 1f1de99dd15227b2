//! `preflight watch FILE --every 5m [--until 24h | --count N]`: run the checklist
//! again and again, record every run in history, and print only what changed.
//! Ctrl-C or SIGTERM stops cleanly (a run in progress is abandoned, not recorded);
//! stopping by `--count`, `--until` or a signal exits 0.

use crate::output::say;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use preflight_history::LatencyThreshold;
use preflight_report::Report;
use preflight_runner::CancellationToken;

use crate::args::{BaselineArgs, LimitArgs, RecordArgs, positive_duration};
use crate::postlaunch::PostRun;
use crate::run::load_and_plan;
use crate::{CliError, Exit, PlanArgs, registry};

#[derive(Args)]
pub struct WatchArgs {
    /// Checklist file (default ./preflight.toml).
    file: Option<PathBuf>,
    #[command(flatten)]
    plan: PlanArgs,
    /// Time between the starts of two runs, e.g. 5m.
    #[arg(long, value_name = "DURATION")]
    every: String,
    /// Stop starting runs after this long, e.g. 24h.
    #[arg(long, value_name = "DURATION", conflicts_with = "count")]
    until: Option<String>,
    /// Stop after N runs.
    #[arg(long, value_name = "N")]
    count: Option<u32>,
    #[command(flatten)]
    record: RecordArgs,
    #[command(flatten)]
    limits: LimitArgs,
}

/// `preflight watch`.
pub fn watch_command(args: WatchArgs) -> Result<Exit, CliError> {
    let every = positive_duration("every", &args.every)?;
    let until = args
        .until
        .as_deref()
        .map(|u| positive_duration("until", u))
        .transpose()?;
    let timeout = args.limits.timeout()?;
    if args.count == Some(0) {
        return Err(CliError::Usage("--count must be at least 1".into()));
    }
    crate::runtime()?.block_on(watch_loop(args, every, until, timeout))
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn watch_loop(
    args: WatchArgs,
    every: Duration,
    until: Option<Duration>,
    timeout: Option<Duration>,
) -> Result<Exit, CliError> {
    let file = args.file.clone().unwrap_or_else(crate::default_file);
    let stop = CancellationToken::new();
    let s2 = stop.clone();
    tokio::spawn(async move {
        stop_signal().await;
        say!("watch: stopping (signal received)");
        s2.cancel();
    });
    let catalog = registry::catalog();
    let start = Instant::now();
    let deadline = until.map(|u| start + u);
    let mut previous: Option<Report> = None;
    let mut n: u32 = 0;
    loop {
        if stop.is_cancelled() || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        n += 1;
        let plan = match load_and_plan(
            &file,
            &args.plan,
            timeout,
            args.limits.concurrency,
            &catalog,
        ) {
            Ok((_, p)) => Some(p),
            // A broken checklist at start is a usage error; later (edited while
            // watching) the run is skipped and watching goes on.
            Err(e) if n == 1 => return Err(e),
            Err(e) => {
                e.print();
                say!("watch: run {n} skipped: the checklist is invalid");
                None
            }
        };
        if let Some(plan) = plan {
            if n == 1 {
                let budget = preflight_runner::plan_budget(&plan);
                if budget > every {
                    say!(
                        "watch: warning: a run may take up to {}s (hold windows, retries, timeouts), longer than --every {}; runs will start late",
                        budget.as_secs(),
                        args.every
                    );
                }
            }
            let mut post =
                PostRun::prepare(&file, &plan, &args.record, &BaselineArgs::default(), true)?
                    .quiet();
            let result =
                preflight_runner::run(plan.clone(), catalog.clone(), |_| {}, stop.child_token())
                    .await;
            if result.interrupted {
                break;
            }
            let mut report = Report::new(&plan, &result);
            report.checklist_hash = Some(post.checklist_hash().to_string());
            report.tags = args.plan.tags.clone();
            let since = previous.as_ref().map(|p| {
                let d = preflight_history::diff(
                    (p, None),
                    (&report, None),
                    LatencyThreshold::default(),
                );
                (p, d)
            });
            let text = preflight_report::render_transitions(
                since.as_ref().map(|(p, d)| (*p, d)),
                &report,
                n,
            );
            crate::output::stdout(&text)?;
            post.finish_async(&report, false, Exit::Go).await?;
            previous = Some(report);
            // Nobody reads what changes any more (`preflight watch … | head`).
            if crate::output::stdout_closed() {
                break;
            }
        }
        if args.count.is_some_and(|c| n >= c) {
            break;
        }
        let next = start + every * n;
        if deadline.is_some_and(|d| next >= d) {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep_until(next.into()) => {}
            () = stop.cancelled() => break,
        }
    }
    say!(
        "watch: stopped after {n} run{}",
        if n == 1 { "" } else { "s" }
    );
    Ok(Exit::Go)
}
