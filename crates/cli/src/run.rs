//! `preflight run`, `preflight demo` and the hidden `preflight testbed`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use preflight_core::plan::{PlanRequest, Selection, parse_var};
use preflight_core::{Catalog, Checklist, CoreError, Plan, Verdict};
use preflight_report::{Format, Report};
use preflight_runner::{CancellationToken, Event};

use crate::{EXIT_GO, EXIT_INTERNAL, EXIT_NO_GO, EXIT_USAGE, PlanArgs, registry, report_error};

/// The demo checklist, shipped in `config/demo.toml`.
pub const DEMO_CHECKLIST: &str = include_str!("../../../config/demo.toml");

/// The line of `config/demo.toml` above which the demo inserts its Postgres items.
const KNOWN_BAD_MARKER: &str = "# ---- known-bad targets";

#[derive(Args)]
pub struct RunArgs {
    /// Checklist file (default ./preflight.toml).
    file: Option<PathBuf>,
    #[command(flatten)]
    plan: PlanArgs,
    /// Report format: human, json, markdown, junit or prometheus (repeat, paired in order with --output).
    #[arg(long = "format", value_name = "FORMAT")]
    formats: Vec<String>,
    /// Write the report to PATH instead of stdout (repeat, paired with --format).
    #[arg(long = "output", value_name = "PATH")]
    outputs: Vec<PathBuf>,
    /// Items in flight at once (overrides the checklist's `concurrency`).
    #[arg(long)]
    concurrency: Option<usize>,
    /// Default per-item timeout (overrides the checklist's `timeout`), e.g. 5s.
    #[arg(long, value_name = "DURATION")]
    timeout: Option<String>,
    /// Never draw the progress bar.
    #[arg(long)]
    no_progress: bool,
    #[command(flatten)]
    history: crate::postlaunch::RunHistoryArgs,
}

/// Loads and plans, printing errors; `Err(code)` when the run must not start.
pub fn load_and_plan(
    file: &Path,
    args: &PlanArgs,
    timeout: Option<Duration>,
    concurrency: Option<usize>,
    catalog: &Catalog,
) -> Result<(Checklist, Plan), u8> {
    let mut vars = Vec::new();
    for v in &args.vars {
        match parse_var(v) {
            Ok(kv) => vars.push(kv),
            Err(e) => {
                report_error(e);
                return Err(EXIT_USAGE);
            }
        }
    }
    let names: Vec<String> = vars.iter().map(|(k, _)| k.clone()).collect();
    let checklist = match preflight_core::load(file, &names, catalog) {
        Ok(c) => c,
        Err(CoreError::Invalid(inv)) => {
            report_error(inv);
            return Err(EXIT_USAGE);
        }
        Err(e) => {
            report_error(e);
            return Err(EXIT_USAGE);
        }
    };
    let env = |name: &str| std::env::var(name).ok();
    let req = PlanRequest {
        environment: args.environment.clone(),
        vars,
        selection: Selection {
            phase: args.phase.clone(),
            tags: args.tags.clone(),
            only: args.only.clone(),
        },
        timeout,
        concurrency,
        env: &env,
    };
    match preflight_core::plan::plan(&checklist, catalog, &req) {
        Ok(mut p) => {
            apply_attestations(file, &mut p)?;
            Ok((checklist, p))
        }
        Err(e) => {
            report_error(e);
            Err(EXIT_USAGE)
        }
    }
}

/// Reads `<checklist>.attest.toml` (if any) and marks attested manual items.
fn apply_attestations(file: &Path, plan: &mut Plan) -> Result<(), u8> {
    let path = preflight_core::attest::path_for(file);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            eprintln!("error: failed to read {}: {e}", path.display());
            return Err(EXIT_USAGE);
        }
    };
    match preflight_core::attest::parse(&path.display().to_string(), &text) {
        Ok(log) => {
            preflight_core::attest::apply(plan, &log, std::time::SystemTime::now());
            Ok(())
        }
        Err(e) => {
            report_error(e);
            Err(EXIT_USAGE)
        }
    }
}

fn parse_format(s: &str) -> Result<Format, u8> {
    s.parse::<Format>().map_err(|e| {
        eprintln!("error: {e}");
        EXIT_USAGE
    })
}

fn format_for_path(p: &Path) -> Format {
    match p.extension().and_then(|e| e.to_str()) {
        Some("json") => Format::Json,
        Some("md" | "markdown") => Format::Markdown,
        Some("xml") => Format::Junit,
        Some("prom") => Format::Prometheus,
        _ => Format::Human,
    }
}

pub fn run_command(args: RunArgs) -> u8 {
    let file = args.file.clone().unwrap_or_else(crate::default_file);
    let timeout = match args
        .timeout
        .as_deref()
        .map(preflight_core::probe::parse_duration)
    {
        Some(Err(e)) => {
            eprintln!("error: invalid --timeout: {e}");
            return EXIT_USAGE;
        }
        Some(Ok(d)) => Some(d),
        None => None,
    };
    // Pair formats with outputs in order; unpaired formats go to stdout.
    let mut targets: Vec<(Format, Option<PathBuf>)> = Vec::new();
    for (i, f) in args.formats.iter().enumerate() {
        match parse_format(f) {
            Ok(fmt) => targets.push((fmt, args.outputs.get(i).cloned())),
            Err(code) => return code,
        }
    }
    for o in args.outputs.iter().skip(args.formats.len()) {
        targets.push((format_for_path(o), Some(o.clone())));
    }
    if targets.is_empty() {
        targets.push((Format::Human, None));
    }
    let catalog = registry::catalog();
    let (_, plan) = match load_and_plan(&file, &args.plan, timeout, args.concurrency, &catalog) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let machine_stdout = targets
        .iter()
        .any(|(f, out)| out.is_none() && *f != Format::Human);
    let post =
        match crate::postlaunch::PostRun::prepare(&file, &plan, &args.history, machine_stdout) {
            Ok(p) => p,
            Err(code) => return code,
        };
    let progress = !args.no_progress && std::io::stderr().is_terminal();
    let Some((report, interrupted)) = sweep(plan, catalog, progress) else {
        return EXIT_INTERNAL;
    };
    if let Err(code) = emit(&report, &targets) {
        return code;
    }
    let code = if interrupted {
        EXIT_NO_GO
    } else if report.verdict == Verdict::Go {
        EXIT_GO
    } else {
        EXIT_NO_GO
    };
    post.finish(&report, interrupted, code)
}

/// Writes the report in every requested format.
pub fn emit(report: &Report, targets: &[(Format, Option<PathBuf>)]) -> Result<(), u8> {
    for (fmt, out) in targets {
        let text = report.render(*fmt);
        match out {
            Some(path) => {
                if let Err(e) = std::fs::write(path, text) {
                    eprintln!("error: failed to write {}: {e}", path.display());
                    return Err(EXIT_INTERNAL);
                }
            }
            None => print!("{text}"),
        }
    }
    Ok(())
}

/// Runs a plan on a fresh runtime with Ctrl-C handling and an optional progress bar.
pub fn sweep(plan: Plan, catalog: Catalog, progress: bool) -> Option<(Report, bool)> {
    let Ok(rt) = crate::runtime() else {
        return None;
    };
    rt.block_on(sweep_async(plan, catalog, progress))
}

async fn sweep_async(plan: Plan, catalog: Catalog, progress: bool) -> Option<(Report, bool)> {
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ninterrupted: finishing the report with what is done");
            c2.cancel();
        }
    });
    let bar = if progress {
        let b = ProgressBar::with_draw_target(
            Some(plan.items.len() as u64),
            ProgressDrawTarget::stderr_with_hz(5),
        );
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} items {msg}")
        {
            b.set_style(style.progress_chars("=> "));
        }
        b.enable_steady_tick(Duration::from_millis(200));
        b
    } else {
        ProgressBar::hidden()
    };
    let b2 = bar.clone();
    let events = move |e: Event| {
        if let Event::Finished { .. } = e {
            b2.inc(1);
        }
    };
    let result = preflight_runner::run(plan.clone(), catalog, events, cancel).await;
    bar.finish_and_clear();
    let report = Report::new(&plan, &result);
    Some((report, result.interrupted))
}

/// `preflight demo`: the testbed plus a real sweep of it. Exit 0 when the sweep ran.
pub fn demo_command(format: &str) -> u8 {
    let fmt = match parse_format(format) {
        Ok(f) => f,
        Err(c) => return c,
    };
    let rt = match crate::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async move {
        let bed = match preflight_testbed::Testbed::start().await {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_INTERNAL;
            }
        };
        let file = bed.dir().join("demo.toml");
        let pg = crate::demo_postgres::start(bed.dir().to_path_buf()).await;
        // Postgres items go before the known-bad section, so sections stay in order.
        let checklist = match DEMO_CHECKLIST.find(KNOWN_BAD_MARKER) {
            Some(at) => format!(
                "{}{}\n{}",
                &DEMO_CHECKLIST[..at],
                pg.items().trim_start(),
                &DEMO_CHECKLIST[at..]
            ),
            None => format!("{DEMO_CHECKLIST}{}", pg.items()),
        };
        if let Err(e) = std::fs::write(&file, checklist) {
            eprintln!("error: failed to write {}: {e}", file.display());
            return EXIT_INTERNAL;
        }
        eprintln!(
            "testbed up: API {} (plain {}), CA {}",
            bed.https_url(),
            bed.http_url(),
            bed.ca_path().display()
        );
        eprintln!("sweeping {} (a copy of config/demo.toml)\n", file.display());
        let args = PlanArgs {
            vars: bed
                .vars()
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .chain(pg.vars())
                .collect(),
            ..PlanArgs::default()
        };
        let catalog = registry::catalog();
        let mut plan = match load_and_plan(&file, &args, None, None, &catalog) {
            Ok((_, p)) => p,
            Err(code) => return code,
        };
        plan.notes.extend(pg.skipped());
        let progress = std::io::stderr().is_terminal();
        let Some((report, _)) = sweep_async(plan, catalog, progress).await else {
            return EXIT_INTERNAL;
        };
        match emit(&report, &[(fmt, None)]) {
            Ok(()) => EXIT_GO,
            Err(c) => c,
        }
    })
}

/// `preflight testbed`: serve until Ctrl-C, printing the vars to target it.
pub fn testbed_command() -> u8 {
    let rt = match crate::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let bed = match preflight_testbed::Testbed::start().await {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_INTERNAL;
            }
        };
        for (k, v) in bed.vars() {
            println!("--var {k}={v}");
        }
        let _ = std::io::Write::flush(&mut std::io::stdout());
        let _ = tokio::signal::ctrl_c().await;
        drop(Arc::new(bed));
        EXIT_GO
    })
}
