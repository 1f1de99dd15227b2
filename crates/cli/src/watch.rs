//! `preflight watch FILE --every 5m [--until 24h | --count N]`: run the checklist
//! again and again, record every run in history, and print only what changed.
//! Ctrl-C or SIGTERM stops cleanly (a run in progress is abandoned, not recorded);
//! stopping by `--count`, `--until` or a signal exits 0.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use preflight_core::Status;
use preflight_history::LatencyThreshold;
use preflight_report::Report;
use preflight_runner::CancellationToken;

use crate::postlaunch::{PostRun, RunHistoryArgs};
use crate::run::load_and_plan;
use crate::{EXIT_GO, EXIT_INTERNAL, EXIT_USAGE, PlanArgs, registry};

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
    /// Do not record the runs in history.
    #[arg(long)]
    no_history: bool,
    /// History store: a SQLite file or postgres://… (default .preflight/history.db beside the checklist).
    #[arg(
        long,
        value_name = "PATH|URL",
        env = "PREFLIGHT_STORE",
        hide_env_values = true
    )]
    store: Option<String>,
    /// Items in flight at once (overrides the checklist's `concurrency`).
    #[arg(long)]
    concurrency: Option<usize>,
    /// Default per-item timeout (overrides the checklist's `timeout`), e.g. 5s.
    #[arg(long, value_name = "DURATION")]
    timeout: Option<String>,
}

fn duration(flag: &str, text: &str) -> Result<Duration, u8> {
    preflight_core::probe::parse_duration(text)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            eprintln!("error: invalid --{flag} \"{text}\" (write e.g. 30s, 5m, 24h)");
            EXIT_USAGE
        })
}

/// `preflight watch`.
pub fn watch_command(args: WatchArgs) -> u8 {
    let every = match duration("every", &args.every) {
        Ok(d) => d,
        Err(c) => return c,
    };
    let until = match args.until.as_deref().map(|u| duration("until", u)) {
        Some(Err(c)) => return c,
        Some(Ok(d)) => Some(d),
        None => None,
    };
    let timeout = match args.timeout.as_deref().map(|t| duration("timeout", t)) {
        Some(Err(c)) => return c,
        Some(Ok(d)) => Some(d),
        None => None,
    };
    if args.count == Some(0) {
        eprintln!("error: --count must be at least 1");
        return EXIT_USAGE;
    }
    let rt = match crate::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(watch_loop(args, every, until, timeout))
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
) -> u8 {
    let file = args.file.clone().unwrap_or_else(crate::default_file);
    let stop = CancellationToken::new();
    let s2 = stop.clone();
    tokio::spawn(async move {
        stop_signal().await;
        eprintln!("watch: stopping (signal received)");
        s2.cancel();
    });
    let hist = RunHistoryArgs {
        no_history: args.no_history,
        store: args.store.clone(),
        latency_threshold: "50%".into(),
        ..RunHistoryArgs::default()
    };
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
        let plan = match load_and_plan(&file, &args.plan, timeout, args.concurrency, &catalog) {
            Ok((_, p)) => Some(p),
            // A broken checklist at start is a usage error; later (edited while
            // watching) the run is skipped and watching goes on.
            Err(code) if n == 1 => return code,
            Err(_) => {
                eprintln!("watch: run {n} skipped: the checklist is invalid");
                None
            }
        };
        if let Some(plan) = plan {
            if n == 1 {
                let budget = preflight_runner::plan_budget(&plan);
                if budget > every {
                    eprintln!(
                        "watch: warning: a run may take up to {}s (hold windows, retries, timeouts), longer than --every {}; runs will start late",
                        budget.as_secs(),
                        args.every
                    );
                }
            }
            let post = match PostRun::prepare(&file, &plan, &hist, true) {
                Ok(p) => p.quiet(),
                Err(code) => return code,
            };
            let result =
                preflight_runner::run(plan.clone(), catalog.clone(), |_| {}, stop.child_token())
                    .await;
            if result.interrupted {
                break;
            }
            let report = Report::new(&plan, &result);
            print!("{}", transitions(previous.as_ref(), &report, n));
            let _ = std::io::Write::flush(&mut std::io::stdout());
            let code = post.finish_async(&report, false, EXIT_GO).await;
            if code == EXIT_INTERNAL {
                return code;
            }
            previous = Some(report);
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
    eprintln!(
        "watch: stopped after {n} run{}",
        if n == 1 { "" } else { "s" }
    );
    EXIT_GO
}

/// What changed since the previous run, one line each; the first run states the
/// verdict and lists what is not passing.
pub fn transitions(previous: Option<&Report>, r: &Report, n: u32) -> String {
    let at = &r.started_at;
    let mut out = String::new();
    let Some(p) = previous else {
        let _ = writeln!(
            out,
            "{at}  run {n}: {} {}% ({} items)",
            r.verdict.label(),
            r.score,
            r.items.len()
        );
        for i in r.items.iter().filter(|i| i.status != Status::Pass) {
            let _ = writeln!(
                out,
                "{at}  {}  → {}{}",
                i.id,
                i.status.as_str(),
                i.reason
                    .as_deref()
                    .map(|x| format!(": {x}"))
                    .unwrap_or_default()
            );
        }
        return out;
    };
    if p.verdict != r.verdict {
        let _ = writeln!(
            out,
            "{at}  run {n}: verdict {} → {} (score {}% → {}%)",
            p.verdict.label(),
            r.verdict.label(),
            p.score,
            r.score
        );
    }
    let d = preflight_history::diff((p, None), (r, None), LatencyThreshold::default());
    for c in d.regressed.iter().chain(&d.recovered).chain(&d.changed) {
        let reason = match (&c.reason, c.to) {
            (Some(x), to) if to != Status::Pass => format!(": {x}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{at}  {}  {} → {}{reason}",
            c.id,
            c.from.as_str(),
            c.to.as_str()
        );
    }
    for a in &d.appeared {
        let _ = writeln!(out, "{at}  {}  appeared ({})", a.id, a.status.as_str());
    }
    for a in &d.disappeared {
        let _ = writeln!(out, "{at}  {}  disappeared", a.id);
    }
    out
}
