//! `preflight history`, `preflight show` and `preflight diff`: read-only views of the
//! run history. They never create or write a store.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use preflight_history::{Filter, HistoryError, LatencyThreshold, Mode, RunSummary, Store};
use preflight_report::Format;

use crate::postlaunch::{
    Baseline, checklist_name, default_checklist, location, pick_baseline, print_store_error,
};
use crate::{EXIT_GO, EXIT_INTERNAL, EXIT_NO_GO, EXIT_USAGE};

/// Where to find the store: beside a checklist, or `--store`.
#[derive(Args, Clone, Default)]
pub struct StoreArgs {
    /// History store: a SQLite file or postgres://… (default: beside the checklist).
    #[arg(
        long,
        value_name = "PATH|URL",
        env = "PREFLIGHT_STORE",
        hide_env_values = true
    )]
    pub store: Option<String>,
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
    run: String,
    /// Checklist whose store to read (default ./preflight.toml).
    #[arg(long = "checklist", value_name = "FILE")]
    file: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
    /// Report format: human, json, markdown, junit or prometheus.
    #[arg(long, default_value = "human")]
    format: String,
}

#[derive(Args)]
pub struct DiffArgs {
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
    /// human or json.
    #[arg(long, default_value = "human")]
    format: String,
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    crate::runtime().ok()
}

fn store_failed(e: &HistoryError) -> u8 {
    print_store_error(e);
    match e {
        HistoryError::UnknownRun { .. } | HistoryError::NothingToCompare(_) => EXIT_USAGE,
        _ => EXIT_INTERNAL,
    }
}

fn human_or_json(s: &str) -> Result<bool, u8> {
    match s {
        "human" => Ok(false),
        "json" => Ok(true),
        other => {
            eprintln!("error: unknown format \"{other}\" (human, json)");
            Err(EXIT_USAGE)
        }
    }
}

/// `preflight history`.
pub fn history_command(args: HistoryArgs) -> u8 {
    let json = match human_or_json(&args.format) {
        Ok(j) => j,
        Err(c) => return c,
    };
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
    };
    let loc = location(&file, args.store.store.as_deref());
    let Some(rt) = runtime() else {
        return EXIT_INTERNAL;
    };
    let runs = rt.block_on(async {
        let store = Store::open(&loc, Mode::ReadOnly).await?;
        store.runs(&filter).await
    });
    let runs = match runs {
        Ok(r) => r,
        Err(e) => return store_failed(&e),
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&runs).unwrap_or_default()
        );
    } else {
        print!("{}", history_table(&runs));
    }
    EXIT_GO
}

fn history_table(runs: &[RunSummary]) -> String {
    if runs.is_empty() {
        return "no runs recorded\n".into();
    }
    let mut out = format!(
        "{:>5}  {:<20}  {:<24}  {:<12}  {:<12}  {:<7}  {:>5}  {}\n",
        "RUN", "STARTED", "CHECKLIST", "ENV", "PHASE", "VERDICT", "SCORE", "PASS/FAIL/ERR/SKIP/MAN"
    );
    for r in runs {
        let c = &r.counts;
        let _ = writeln!(
            out,
            "{:>5}  {:<20}  {:<24}  {:<12}  {:<12}  {:<7}  {:>4}%  {}/{}/{}/{}/{}{}",
            r.id,
            r.started_at,
            truncate(&r.checklist, 24),
            truncate(&r.environment, 12),
            truncate(r.phase.as_deref().unwrap_or("-"), 12),
            r.verdict.label(),
            r.score,
            c.pass,
            c.fail,
            c.error,
            c.skip,
            c.manual,
            if r.interrupted { " (interrupted)" } else { "" }
        );
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// `preflight show`.
pub fn show_command(args: ShowArgs) -> u8 {
    let format: Format = match args.format.parse() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let file = default_checklist(args.file.as_ref());
    let loc = location(&file, args.store.store.as_deref());
    let wanted = match args.run.as_str() {
        "last" | "latest" => None,
        s => match s.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                eprintln!(
                    "error: invalid run \"{s}\" (write a run id from `preflight history`, or last)"
                );
                return EXIT_USAGE;
            }
        },
    };
    let Some(rt) = runtime() else {
        return EXIT_INTERNAL;
    };
    let report = rt.block_on(async {
        let store = Store::open(&loc, Mode::ReadOnly).await?;
        let id = match wanted {
            Some(id) => id,
            None => match store.latest(&Filter::default()).await? {
                Some(r) => r.id,
                None => return Err(HistoryError::NothingToCompare("no runs recorded".into())),
            },
        };
        store.report(id).await
    });
    match report {
        Ok(r) => {
            print!("{}", r.render(format));
            EXIT_GO
        }
        Err(e) => store_failed(&e),
    }
}

/// `preflight diff`.
pub fn diff_command(args: DiffArgs) -> u8 {
    let json = match human_or_json(&args.format) {
        Ok(j) => j,
        Err(c) => return c,
    };
    let threshold: LatencyThreshold = match args.latency_threshold.parse() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let baseline = match args.baseline.as_deref().map(str::parse::<Baseline>) {
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
        Some(Ok(b)) => Some(b),
        None => None,
    };
    let file = default_checklist(args.file.as_ref());
    let loc = location(&file, args.store.store.as_deref());
    let name = checklist_name(&file);
    let Some(rt) = runtime() else {
        return EXIT_INTERNAL;
    };
    let result = rt.block_on(async {
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
            (None, Some(bl)) => pick_baseline(&store, bl, &same, None).await?,
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
        Ok(preflight_history::diff(
            (&a, Some(a_id)),
            (&b, Some(b_id)),
            threshold,
        ))
    });
    match result {
        Ok(d) => {
            if json {
                print!("{}", d.render_json());
            } else {
                print!("{}", d.render_human());
            }
            if d.has_regression() {
                EXIT_NO_GO
            } else {
                EXIT_GO
            }
        }
        Err(e) => store_failed(&e),
    }
}
