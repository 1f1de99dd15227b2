//! `preflight history`, `preflight show` and `preflight diff`: read-only views of the
//! run history. They never create or write a store.

use std::path::PathBuf;

use clap::Args;
use preflight_history::{Baseline, Filter, HistoryError, LatencyThreshold, Mode, Store};
use preflight_report::Format;

use crate::args::StoreArgs;
use crate::postlaunch::{checklist_name, location};
use crate::{CliError, Exit};

/// The checklist file a command defaults to.
fn default_checklist(file: Option<&PathBuf>) -> PathBuf {
    file.cloned().unwrap_or_else(crate::default_file)
}

#[derive(Args)]
pub struct HistoryArgs {
    /// Checklist whose runs to list (default ./preflight.toml).
    file: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
    /// Only runs of this environment.
    #[arg(long = "env", value_name = "NAME")]
    environment: Option<String>,
    /// Only runs of this phase.
    #[arg(long, value_name = "P")]
    phase: Option<String>,
    /// Runs of every checklist in the store, not only this one.
    #[arg(long)]
    all: bool,
    /// At most N runs, newest first.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// human or json.
    #[arg(long, default_value = "human")]
    format: String,
}

#[derive(Args)]
pub struct ShowArgs {
    /// Run id (see `preflight history`), or `last`.
    #[arg(required_unless_present = "batch")]
    run: Option<String>,
    /// Show a batch instead: the runs of `run --batch ID` merged (see `preflight verdict`).
    #[arg(long, value_name = "ID", conflicts_with = "run")]
    batch: Option<String>,
    /// Checklist whose store to read (default ./preflight.toml).
    #[arg(long = "checklist", value_name = "FILE")]
    file: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
    /// Report format: human, json, markdown, junit, prometheus or html.
    #[arg(long, default_value = "human")]
    format: String,
    /// With --format html: the run the page compares with: phase:NAME, last, or a run id (default phase:launch).
    #[arg(long, value_name = "SPEC")]
    baseline: Option<String>,
}

/// `preflight verdict --batch ID`.
#[derive(Args)]
pub struct VerdictArgs {
    /// The batch: the id its runs were given with `run --batch ID`.
    #[arg(long, value_name = "ID")]
    batch: String,
    /// How many shards the batch must have (default: the shard count its newest run
    /// was started with).
    #[arg(long, value_name = "N")]
    shards: Option<u32>,
    /// Wait up to this long (e.g. 30m) while a shard is missing or still running.
    #[arg(long, value_name = "DURATION")]
    wait: Option<String>,
    /// Checklist whose store to read (default ./preflight.toml).
    #[arg(long = "checklist", value_name = "FILE")]
    file: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
    /// Report format: human, json, markdown, junit, prometheus or html.
    #[arg(long, default_value = "human")]
    format: String,
}

#[derive(Args)]
pub struct DiffArgs {
    /// Compare two batches (`--batch A --batch B`: e.g. the same sweep from two regions).
    #[arg(long = "batch", value_name = "ID", num_args = 1, conflicts_with_all = ["run_a", "run_b", "baseline"])]
    batches: Vec<String>,
    /// Older run id (default: the run before RUN_B, or the --baseline run).
    run_a: Option<i64>,
    /// Newer run id (default: the latest run).
    run_b: Option<i64>,
    /// Compare against phase:NAME (the last run of that phase) instead of the previous run.
    #[arg(long, value_name = "phase:NAME")]
    baseline: Option<String>,
    /// Checklist whose store to read (default ./preflight.toml).
    #[arg(long = "checklist", value_name = "FILE")]
    file: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
    /// Only runs of this environment (default: the newer run's).
    #[arg(long = "env", value_name = "NAME")]
    environment: Option<String>,
    /// Latency growth to report: a percentage (50%) or a duration (200ms).
    #[arg(long, value_name = "THRESHOLD", default_value = "50%")]
    latency_threshold: String,
    /// human, json or html (the newer run's report with the diff first).
    #[arg(long, default_value = "human")]
    format: String,
}

fn human_or_json(s: &str) -> Result<bool, CliError> {
    match s {
        "human" => Ok(false),
        "json" => Ok(true),
        other => Err(CliError::Usage(format!(
            "unknown format \"{other}\" (human, json)"
        ))),
    }
}

/// `diff --format`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DiffFormat {
    Human,
    Json,
    Html,
}

fn diff_format(s: &str) -> Result<DiffFormat, CliError> {
    match s {
        "human" => Ok(DiffFormat::Human),
        "json" => Ok(DiffFormat::Json),
        "html" => Ok(DiffFormat::Html),
        other => Err(CliError::Usage(format!(
            "unknown format \"{other}\" (human, json, html)"
        ))),
    }
}

/// `preflight history`.
pub fn history_command(args: HistoryArgs) -> Result<Exit, CliError> {
    let json = human_or_json(&args.format)?;
    let file = default_checklist(args.file.as_ref());
    let filter = Filter {
        checklist: if args.all {
            None
        } else {
            checklist_name(&file)
        },
        environment: args.environment.clone(),
        phase: args.phase.clone(),
        before: None,
        limit: Some(args.limit),
        batch: None,
        include_running: true,
    };
    let loc = location(&file, args.store.store.as_deref());
    let runs = crate::runtime()?.block_on(async {
        let store = Store::open(&loc, Mode::ReadOnly).await?;
        store.runs(&filter).await
    })?;
    if json {
        crate::output::stdout(&preflight_report::to_json_pretty(&runs))?;
    } else {
        crate::output::stdout(&preflight_report::render_history(&runs))?;
    }
    Ok(Exit::Go)
}

/// `preflight show`.
pub fn show_command(args: ShowArgs) -> Result<Exit, CliError> {
    let format: Format = args.format.parse().map_err(CliError::Usage)?;
    let baseline = match &args.baseline {
        Some(b) => b.parse::<Baseline>().map_err(CliError::Usage)?,
        None => crate::page::default_baseline(),
    };
    let file = default_checklist(args.file.as_ref());
    let loc = location(&file, args.store.store.as_deref());
    if let Some(batch) = &args.batch {
        let merged = crate::runtime()?.block_on(async {
            let store = Store::open(&loc, Mode::ReadOnly).await?;
            store.merged(batch, None, wants_facts(format)).await
        })?;
        print_merged(&merged.report, format)?;
        return Ok(Exit::Go);
    }
    let run = args.run.clone().unwrap_or_default();
    let wanted = match run.as_str() {
        "last" | "latest" => None,
        s => match s.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                return Err(CliError::Usage(format!(
                    "invalid run \"{s}\" (write a run id from `preflight history`, or last)"
                )));
            }
        },
    };
    let (report, page) = crate::runtime()?.block_on(async {
        let store = Store::open(&loc, Mode::ReadOnly).await?;
        let id = match wanted {
            Some(id) => id,
            None => match store.latest(&Filter::default()).await? {
                Some(r) => r.id,
                None => return Err(HistoryError::NothingToCompare("no runs recorded".into())),
            },
        };
        let report = store.report(id).await?;
        let page = match format {
            Format::Html => Some(
                crate::page::context(&store, &report, &baseline, LatencyThreshold::default()).await,
            ),
            _ => None,
        };
        Ok((report, page))
    })?;
    match page {
        Some(ctx) => crate::output::stdout(&preflight_report::render_html(&report, &ctx))?,
        None => crate::output::stdout(&crate::run::for_stdout(&report, format))?,
    }
    Ok(Exit::Go)
}

/// Only JSON and HTML show facts: the other formats load a batch without them.
fn wants_facts(f: Format) -> bool {
    matches!(f, Format::Json | Format::Html)
}

fn print_merged(report: &preflight_report::Report, format: Format) -> Result<(), CliError> {
    match format {
        Format::Html => crate::output::stdout(&preflight_report::render_html(
            report,
            &preflight_report::HtmlContext::default(),
        )),
        other => crate::output::stdout(&crate::run::for_stdout(report, other)),
    }
}

/// `preflight verdict --batch ID [--shards N]`: the shards' runs merged into one
/// report and one GO / NO-GO (exit 0 / 1). A shard missing or still running is
/// NO-GO, named in the report.
pub fn verdict_command(args: VerdictArgs) -> Result<Exit, CliError> {
    let format: Format = args.format.parse().map_err(CliError::Usage)?;
    let wait = args
        .wait
        .as_deref()
        .map(|w| crate::args::positive_duration("wait", w))
        .transpose()?;
    if args.shards == Some(0) {
        return Err(CliError::Usage("--shards must be at least 1".into()));
    }
    let file = default_checklist(args.file.as_ref());
    let loc = location(&file, args.store.store.as_deref());
    let merged = crate::runtime()?.block_on(async {
        let deadline = wait.map(|w| std::time::Instant::now() + w);
        loop {
            let store = Store::open(&loc, Mode::ReadOnly).await?;
            let m = store
                .merged(&args.batch, args.shards, wants_facts(format))
                .await?;
            let waiting = deadline.is_some_and(|d| std::time::Instant::now() < d);
            if m.problems.is_empty() || !waiting {
                return Ok::<_, HistoryError>(m);
            }
            drop(store);
            crate::output::say!(
                "verdict: waiting for batch {}: {}",
                args.batch,
                m.problems.join("; ")
            );
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        }
    })?;
    for p in &merged.problems {
        crate::output::say!("verdict: {p}");
    }
    print_merged(&merged.report, format)?;
    Ok(if merged.report.verdict == preflight_core::Verdict::Go {
        Exit::Go
    } else {
        Exit::NoGo
    })
}

/// `preflight diff --batch A --batch B`: two batches, merged, compared.
fn diff_batches(args: &DiffArgs) -> Result<Exit, CliError> {
    let format = diff_format(&args.format)?;
    let threshold: LatencyThreshold = args.latency_threshold.parse().map_err(CliError::Usage)?;
    let [a, b] = args.batches.as_slice() else {
        return Err(CliError::Usage(
            "diff --batch takes two batches: --batch A --batch B".into(),
        ));
    };
    let file = default_checklist(args.file.as_ref());
    let loc = location(&file, args.store.store.as_deref());
    let (ma, mb) = crate::runtime()?.block_on(async {
        let store = Store::open(&loc, Mode::ReadOnly).await?;
        let ma = store.merged(a, None, true).await?;
        let mb = store.merged(b, None, true).await?;
        Ok::<_, HistoryError>((ma, mb))
    })?;
    for (id, m) in [(a, &ma), (b, &mb)] {
        for p in &m.problems {
            crate::output::say!("diff: batch {id}: {p}");
        }
    }
    let d = preflight_history::diff((&ma.report, None), (&mb.report, None), threshold);
    match format {
        DiffFormat::Json => crate::output::stdout(&preflight_report::render_diff_json(&d))?,
        DiffFormat::Human => crate::output::stdout(&format!(
            "batch {} → batch {}\n{}",
            preflight_core::sanitize::line(a),
            preflight_core::sanitize::line(b),
            preflight_report::render_diff_human(&d)
        ))?,
        DiffFormat::Html => {
            let ctx = preflight_report::HtmlContext {
                diff: Some(d.clone()),
                diff_first: true,
                ..preflight_report::HtmlContext::default()
            };
            crate::output::stdout(&preflight_report::render_html(&mb.report, &ctx))?;
        }
    }
    Ok(if d.has_regression() {
        Exit::NoGo
    } else {
        Exit::Go
    })
}

/// `preflight diff`.
pub fn diff_command(args: DiffArgs) -> Result<Exit, CliError> {
    if !args.batches.is_empty() {
        return diff_batches(&args);
    }
    let format = diff_format(&args.format)?;
    let threshold: LatencyThreshold = args.latency_threshold.parse().map_err(CliError::Usage)?;
    let baseline = args
        .baseline
        .as_deref()
        .map(str::parse::<Baseline>)
        .transpose()
        .map_err(CliError::Usage)?;
    let file = default_checklist(args.file.as_ref());
    let loc = location(&file, args.store.store.as_deref());
    let name = checklist_name(&file);
    let (d, b, history) = crate::runtime()?.block_on(async {
        let store = Store::open(&loc, Mode::ReadOnly).await?;
        // The newer run: RUN_B, or the latest of this checklist (and --env).
        let b_id = match args.run_b {
            Some(id) => id,
            None => {
                let f = Filter {
                    checklist: name.clone(),
                    environment: args.environment.clone(),
                    ..Filter::default()
                };
                let latest = store.latest(&f).await?.ok_or_else(|| {
                    HistoryError::NothingToCompare(format!("no runs recorded in {loc}"))
                })?;
                if args.run_a == Some(latest.id) {
                    return Err(HistoryError::NothingToCompare(format!(
                        "run {} is the latest run; name a newer RUN_B",
                        latest.id
                    )));
                }
                latest.id
            }
        };
        let b = store.report(b_id).await?;
        let same = Filter {
            checklist: Some(b.checklist.clone()),
            environment: Some(b.environment.clone()),
            before: Some(b_id),
            ..Filter::default()
        };
        let a = match (args.run_a, &baseline) {
            (Some(id), _) => Some((id, store.report(id).await?)),
            (None, Some(bl)) => store.baseline(bl, &same, None).await?,
            (None, None) => match store.latest(&same).await? {
                Some(r) => Some((r.id, store.report(r.id).await?)),
                None => None,
            },
        };
        let Some((a_id, a)) = a else {
            let what = match &baseline {
                Some(Baseline::Phase(p)) => format!("no {p}-phase run before run {b_id}"),
                _ => format!(
                    "run {b_id} is the first run of \"{}\" ({})",
                    b.checklist, b.environment
                ),
            };
            return Err(HistoryError::NothingToCompare(format!(
                "nothing to compare: {what}"
            )));
        };
        let d = preflight_history::diff((&a, Some(a_id)), (&b, Some(b_id)), threshold);
        let history = match format {
            DiffFormat::Html => Some(crate::page::history(&store, &b).await?),
            _ => None,
        };
        Ok::<_, HistoryError>((d, b, history))
    })?;
    match format {
        DiffFormat::Json => crate::output::stdout(&preflight_report::render_diff_json(&d))?,
        DiffFormat::Human => crate::output::stdout(&preflight_report::render_diff_human(&d))?,
        DiffFormat::Html => {
            let ctx = preflight_report::HtmlContext {
                history,
                diff: Some(d.clone()),
                diff_first: true,
                ..preflight_report::HtmlContext::default()
            };
            crate::output::stdout(&preflight_report::render_html(&b, &ctx))?;
        }
    }
    Ok(if d.has_regression() {
        Exit::NoGo
    } else {
        Exit::Go
    })
}
