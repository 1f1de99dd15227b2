//! `preflight`: turn a launch checklist into pass/fail verdicts against a live
//! environment. See the README for the checklist format.
//!
//! Exit codes: 0 GO, 1 NO-GO, 2 invalid checklist or usage, 3 internal error.
//! Everything written to stdout or stderr goes through [`output`].

mod args;
mod attest;
mod check;
mod demo_postgres;
mod egress;
mod exit;
mod explain;
mod history;
mod import;
mod output;
mod page;
mod postlaunch;
mod run;
mod stream;
mod terminal;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc instead of the system allocator: a sweep allocates and frees small
/// objects on every thread, where glibc's malloc spends about half the CPU of a
/// 100,000-item run (docs/performance.md). Built with `no_thp`: with transparent
/// huge pages its arenas cost a 1,000-item sweep 20 MB more (62 MB, not 43).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Args, Parser, Subcommand};
use preflight_cli::registry;

pub use args::PlanArgs;
pub use exit::{CliError, Exit};

#[derive(Parser)]
#[command(
    name = "preflight",
    version,
    about = "Launch checklists as automated GO / NO-GO verdicts"
)]
struct Cli {
    /// When to colour the report: auto (a terminal, unless NO_COLOR), always, never.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    color: terminal::ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a checklist against the live environment and report GO / NO-GO.
    Run(run::RunArgs),
    /// Validate a checklist and print the plan; no network, no secrets needed.
    Check(check::CheckArgs),
    /// Turn a Markdown checklist into a checklist file (TOML on stdout or -o FILE).
    Import(import::ImportArgs),
    /// Record that a person checked a manual item (appends to `CHECKLIST.attest.toml`).
    Attest(attest::AttestArgs),
    /// List the runs recorded in history.
    History(history::HistoryArgs),
    /// Re-render a stored run in any report format.
    Show(history::ShowArgs),
    /// What changed between two stored runs (or batches); exit 1 on a regression.
    Diff(history::DiffArgs),
    /// Merge the shards of a batch (`run --batch ID --shard K/N`) into one report and one GO / NO-GO.
    Verdict(history::VerdictArgs),
    /// Run a checklist repeatedly, record every run, print only what changed.
    Watch(watch::WatchArgs),
    /// Start the local testbed and sweep it with the demo checklist.
    Demo(DemoArgs),
    /// Describe a probe: its options, facts, default expectations and an example.
    Explain(explain::ExplainArgs),
    /// Print the JSON Schema (2020-12) of a checklist file, for editors and CI.
    Schema,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `preflight man > preflight.1`.
    Man,
    /// Start the local testbed and keep it running (prints its variables).
    #[command(hide = true)]
    Testbed,
}

#[derive(Args)]
struct DemoArgs {
    /// Report format for the demo sweep.
    #[arg(long, default_value = "human")]
    format: String,
}

fn main() -> ExitCode {
    // Long messages stay on one line so `file:line:col: …` can be grepped in CI logs.
    let _ = miette::set_hook(Box::new(|_| {
        Box::new(miette::MietteHandlerOpts::new().wrap_lines(false).build())
    }));
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        // Help and version are ours: printed as clap styles them.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::from(0);
        }
        // An error quotes the argument it refused, and argv can hold anything
        // (a pasted escape sequence, a shell variable): the error is told again
        // for argv with each argument escaped onto one line, so no argument can
        // colour the terminal or forge a line of output.
        Err(e) => {
            let escaped: Vec<String> = std::env::args_os()
                .map(|a| preflight_core::sanitize::line(&a.to_string_lossy()).into_owned())
                .collect();
            let told = match Cli::try_parse_from(&escaped) {
                Err(again) => again.render().to_string(),
                // Escaping made them valid: say so without quoting them.
                Ok(_) => format!("error: invalid arguments ({})\n", e.kind()),
            };
            output::stderr_raw(&preflight_core::sanitize::lines(&told));
            return ExitCode::from(2);
        }
    };
    terminal::init(cli.color);
    let result = match cli.command {
        Command::Run(args) => run::run_command(args),
        Command::Check(args) => check::check_command(args),
        Command::Import(args) => import::import_command(args),
        Command::Attest(args) => attest::attest_command(args),
        Command::History(args) => history::history_command(args),
        Command::Show(args) => history::show_command(args),
        Command::Diff(args) => history::diff_command(args),
        Command::Verdict(args) => history::verdict_command(args),
        Command::Watch(args) => watch::watch_command(args),
        Command::Demo(args) => run::demo_command(&args.format),
        Command::Explain(args) => explain::explain_command(args),
        Command::Schema => explain::schema_command(),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "preflight", &mut script);
            output::stdout_bytes(&script).map(|()| Exit::Go)
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut page)
                .map_err(|e| CliError::Internal(format!("failed to write the man page: {e}")))
                .and_then(|()| output::stdout_bytes(&page))
                .map(|()| Exit::Go)
        }
        Command::Testbed => run::testbed_command(),
    };
    ExitCode::from(match result {
        Ok(exit) => exit.code(),
        Err(e) => {
            let code = e.code();
            e.print();
            code
        }
    })
}

/// Default checklist path.
pub fn default_file() -> PathBuf {
    PathBuf::from("preflight.toml")
}

/// The tokio runtime every command runs on.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Internal(format!("failed to start the async runtime: {e}")))
}
