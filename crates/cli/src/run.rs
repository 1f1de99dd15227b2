//! `preflight run`, `preflight demo` and the hidden `preflight testbed`.

use crate::output::say;
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

use crate::args::{BaselineArgs, LimitArgs, RecordArgs, ShardArgs};
use crate::{CliError, Exit, PlanArgs, registry};

/// The demo checklist, shipped in `config/demo.toml`.
pub const DEMO_CHECKLIST: &str = include_str!("../../../config/demo.toml");

/// The line of `config/demo.toml` where the demo inserts its Postgres items.
const POSTGRES_MARKER: &str = "# ---- the demo inserts its Postgres items";

#[derive(Args)]
pub struct RunArgs {
    /// Checklist file (default ./preflight.toml).
    file: Option<PathBuf>,
    #[command(flatten)]
    plan: PlanArgs,
    /// Report format: human, json, markdown, junit, prometheus or html (repeat, paired in order with --output).
    #[arg(long = "format", value_name = "FORMAT")]
    formats: Vec<String>,
    /// Write the report to PATH instead of stdout (repeat, paired with --format).
    #[arg(long = "output", value_name = "PATH")]
    outputs: Vec<PathBuf>,
    #[command(flatten)]
    limits: LimitArgs,
    /// Never draw the progress bar.
    #[arg(long)]
    no_progress: bool,
    #[command(flatten)]
    record: RecordArgs,
    #[command(flatten)]
    shard: ShardArgs,
    #[command(flatten)]
    baseline: BaselineArgs,
}

/// Loads and plans; an error means the run must not start.
pub fn load_and_plan(
    file: &Path,
    args: &PlanArgs,
    timeout: Option<Duration>,
    concurrency: Option<usize>,
    catalog: &Catalog,
) -> Result<(Checklist, Plan), CliError> {
    let vars = args
        .vars
        .iter()
        .map(|v| parse_var(v))
        .collect::<Result<Vec<_>, CoreError>>()?;
    let names: Vec<String> = vars.iter().map(|(k, _)| k.clone()).collect();
    let checklist = preflight_core::load(file, &names, catalog)?;
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
    let mut plan = preflight_core::plan::plan(&checklist, catalog, &req)?;
    apply_attestations(file, &mut plan)?;
    Ok((checklist, plan))
}

/// Reads `<checklist>.attest.toml` (if any) and marks attested manual items.
fn apply_attestations(file: &Path, plan: &mut Plan) -> Result<(), CliError> {
    let path = preflight_core::attest::path_for(file);
    let text =
        match preflight_core::input::read_text(&path, preflight_core::input::MAX_ATTESTATION_BYTES)
        {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(CliError::Usage(format!(
                    "failed to read {}: {e}",
                    path.display()
                )));
            }
        };
    let log = preflight_core::attest::parse(&path.display().to_string(), &text)?;
    preflight_core::attest::apply(plan, &log, std::time::SystemTime::now());
    Ok(())
}

fn parse_format(s: &str) -> Result<Format, CliError> {
    s.parse::<Format>().map_err(CliError::Usage)
}

fn format_for_path(p: &Path) -> Format {
    match p.extension().and_then(|e| e.to_str()) {
        Some("json") => Format::Json,
        Some("md" | "markdown") => Format::Markdown,
        Some("xml") => Format::Junit,
        Some("prom") => Format::Prometheus,
        Some("html" | "htm") => Format::Html,
        _ => Format::Human,
    }
}

pub fn run_command(args: RunArgs) -> Result<Exit, CliError> {
    let file = args.file.clone().unwrap_or_else(crate::default_file);
    let timeout = args.limits.timeout()?;
    // Pair formats with outputs in order; unpaired formats go to stdout.
    let mut targets: Vec<(Format, Option<PathBuf>)> = Vec::new();
    for (i, f) in args.formats.iter().enumerate() {
        targets.push((parse_format(f)?, args.outputs.get(i).cloned()));
    }
    for o in args.outputs.iter().skip(args.formats.len()) {
        targets.push((format_for_path(o), Some(o.clone())));
    }
    if targets.is_empty() {
        targets.push((Format::Human, None));
    }
    let shard = args.shard.shard()?;
    let catalog = registry::catalog();
    let (_, mut plan) = load_and_plan(
        &file,
        &args.plan,
        timeout,
        args.limits.concurrency,
        &catalog,
    )?;
    if let Some(s) = shard {
        preflight_core::plan::shard(&mut plan, s.index, s.count);
    }
    let machine_stdout = targets
        .iter()
        .any(|(f, out)| out.is_none() && *f != Format::Human);
    let mut post = crate::postlaunch::PostRun::prepare(
        &file,
        &plan,
        &args.record,
        &args.baseline,
        machine_stdout,
    )?;
    let progress = !args.no_progress && std::io::stderr().is_terminal();
    let json_targets: Vec<Option<PathBuf>> = targets
        .iter()
        .filter(|(f, _)| *f == Format::Json)
        .map(|(_, o)| o.clone())
        .collect();
    // What stays in memory of each item once it is written: JUnit, Prometheus and
    // the diff list every item; human, Markdown, HTML and the notification summarise
    // templates; JSON is written already.
    let facts = targets.iter().any(|(f, _)| *f == Format::Html);
    let retain = if post.compares()
        || targets
            .iter()
            .any(|(f, _)| matches!(f, Format::Junit | Format::Prometheus))
    {
        crate::stream::Retain::Every { facts }
    } else if targets.iter().all(|(f, _)| *f == Format::Json) && !post.notifies() {
        crate::stream::Retain::Nothing
    } else {
        crate::stream::Retain::Summarised { facts }
    };
    let hash = post.checklist_hash().to_string();
    let tags = args.plan.tags.clone();
    let batch = args.shard.batch.clone();
    let decorate = |r: &mut Report| {
        r.checklist_hash = Some(hash.clone());
        r.tags = tags.clone();
        r.batch = batch.clone();
        r.shard = shard;
    };
    let streamed = crate::stream::sweep(
        plan,
        catalog,
        progress,
        json_targets.len(),
        retain,
        post.recording(),
        &decorate,
    )?;
    let mut report = streamed.report;
    let interrupted = report.interrupted;
    post.streamed(streamed.recorded, interrupted);
    // JSON was rendered while the run went; the other formats now; HTML pages show
    // the run's id, trend and diff: written once history has the run.
    let items = std::mem::take(&mut report.items);
    for (json, out) in streamed.json.into_iter().zip(json_targets) {
        write_with(out.as_deref(), |w| json.finish(&report, w))?;
    }
    report.items = items;
    let (pages, others): (Vec<_>, Vec<_>) = targets
        .into_iter()
        .filter(|(f, _)| *f != Format::Json)
        .partition(|(f, _)| *f == Format::Html);
    emit(&report, &others)?;
    let exit = if interrupted || report.verdict != Verdict::Go {
        Exit::NoGo
    } else {
        Exit::Go
    };
    let result = post.finish(&report, interrupted, exit);
    if !pages.is_empty() {
        report.run_id = post.recorded();
        let ctx = post.html_context(&report);
        let page = preflight_report::render_html(&report, &ctx);
        for (_, out) in &pages {
            write_out(&page, out.as_deref())?;
        }
    }
    result
}

/// Writes to the file `out` (or stdout) through `write`.
fn write_with(
    out: Option<&Path>,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), CliError> {
    let Some(path) = out else {
        return crate::output::stdout_with(write);
    };
    let fail =
        |e: std::io::Error| CliError::Internal(format!("failed to write {}: {e}", path.display()));
    let f = std::fs::File::create(path).map_err(fail)?;
    let mut w = std::io::BufWriter::new(f);
    write(&mut w).map_err(fail)?;
    std::io::Write::flush(&mut w).map_err(fail)
}

/// Writes the report in every requested format.
pub fn emit(report: &Report, targets: &[(Format, Option<PathBuf>)]) -> Result<(), CliError> {
    for (fmt, out) in targets {
        let text = match out {
            None => for_stdout(report, *fmt),
            Some(_) => preflight_report::render(report, *fmt),
        };
        write_out(&text, out.as_deref())?;
    }
    Ok(())
}

/// Writes a rendered report to `out`, or to stdout.
pub fn write_out(text: &str, out: Option<&Path>) -> Result<(), CliError> {
    match out {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| CliError::Internal(format!("failed to write {}: {e}", path.display()))),
        None => crate::output::stdout(text),
    }
}

/// `report` in `fmt` for stdout: the human report coloured when the terminal allows.
pub fn for_stdout(report: &Report, fmt: Format) -> String {
    match fmt {
        Format::Human => {
            preflight_report::render_human_styled(report, crate::terminal::stdout_styling())
        }
        other => preflight_report::render(report, other),
    }
}

/// Runs a plan with Ctrl-C handling and an optional progress bar (the demo: its
/// report is small and whole).
async fn sweep_async(plan: Plan, catalog: Catalog, progress: bool) -> (Report, bool) {
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            say!("\ninterrupted: finishing the report with what is done");
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
    (report, result.interrupted)
}

/// `preflight demo`: the testbed plus a real sweep of it. Exit 0 when the sweep ran.
pub fn demo_command(format: &str) -> Result<Exit, CliError> {
    let fmt = parse_format(format)?;
    let rt = crate::runtime()?;
    rt.block_on(async move {
        let bed = preflight_testbed::Testbed::start()
            .await
            .map_err(|e| CliError::Internal(e.to_string()))?;
        let file = bed.dir().join("demo.toml");
        let pg = crate::demo_postgres::start(bed.dir().to_path_buf()).await;
        // Postgres items (section 7) go at the marker, so sections stay in order.
        let checklist = match DEMO_CHECKLIST.find(POSTGRES_MARKER) {
            Some(at) => format!(
                "{}{}\n{}",
                &DEMO_CHECKLIST[..at],
                pg.items().trim_start(),
                &DEMO_CHECKLIST[at..]
            ),
            None => format!("{DEMO_CHECKLIST}{}", pg.items()),
        };
        std::fs::write(&file, checklist)
            .map_err(|e| CliError::Internal(format!("failed to write {}: {e}", file.display())))?;
        say!(
            "testbed up: API {} (plain {}), CA {}",
            bed.https_url(),
            bed.http_url(),
            bed.ca_path().display()
        );
        say!("sweeping {} (a copy of config/demo.toml)\n", file.display());
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
        let (_, mut plan) = load_and_plan(&file, &args, None, None, &catalog)?;
        plan.notes.extend(pg.skipped());
        let progress = std::io::stderr().is_terminal();
        let (report, _) = sweep_async(plan, catalog, progress).await;
        emit(&report, &[(fmt, None)])?;
        Ok(Exit::Go)
    })
}

/// `preflight testbed`: serve until Ctrl-C, printing the vars to target it.
pub fn testbed_command() -> Result<Exit, CliError> {
    let rt = crate::runtime()?;
    rt.block_on(async {
        let bed = preflight_testbed::Testbed::start()
            .await
            .map_err(|e| CliError::Internal(e.to_string()))?;
        for (k, v) in bed.vars() {
            crate::output::stdout(&format!("--var {k}={v}\n"))?;
        }
        let _ = tokio::signal::ctrl_c().await;
        drop(Arc::new(bed));
        Ok(Exit::Go)
    })
}
