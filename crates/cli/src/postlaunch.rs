//! What `preflight run` does after the report: record the run in history, diff it
//! against a baseline, and send notifications. Shared with `watch`.

use std::path::{Path, PathBuf};

use clap::Args;
use preflight_core::notify::ResolvedNotify;
use preflight_core::{Plan, Redactor};
use preflight_history::{Diff, Filter, HistoryError, LatencyThreshold, Location, Mode, Store};
use preflight_report::Report;

use crate::notify::{self, Previous};
use crate::{EXIT_GO, EXIT_INTERNAL, EXIT_NO_GO, EXIT_USAGE};

/// History options of `run` and `watch`.
#[derive(Args, Clone, Default)]
pub struct RunHistoryArgs {
    /// Do not record this run in history.
    #[arg(long)]
    pub no_history: bool,
    /// History store: a SQLite file or postgres://… (default .preflight/history.db beside the checklist).
    #[arg(
        long,
        value_name = "PATH|URL",
        env = "PREFLIGHT_STORE",
        hide_env_values = true
    )]
    pub store: Option<String>,
    /// After the report, print the diff against a stored run: phase:NAME (its last run), last, or a run id.
    #[arg(long, value_name = "SPEC")]
    pub baseline: Option<String>,
    /// Exit 1 when the diff against --baseline has a regression (pass → fail/error).
    #[arg(long, requires = "baseline")]
    pub fail_on_regression: bool,
    /// Latency growth that the diff reports: a percentage (50%) or a duration (200ms).
    #[arg(long, value_name = "THRESHOLD", default_value = "50%")]
    pub latency_threshold: String,
}

/// Which stored run to compare against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Baseline {
    /// The last run of this phase (same checklist and environment).
    Phase(String),
    /// The previous run (same checklist and environment).
    Last,
    /// A run id.
    Run(i64),
}

impl std::str::FromStr for Baseline {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(p) = s.strip_prefix("phase:").filter(|p| !p.is_empty()) {
            return Ok(Baseline::Phase(p.to_string()));
        }
        if s == "last" || s == "previous" {
            return Ok(Baseline::Last);
        }
        s.parse::<i64>().map(Baseline::Run).map_err(|_| {
            format!("invalid baseline \"{s}\" (write phase:launch, last, or a run id)")
        })
    }
}

/// The store a checklist file uses unless `--store` says otherwise.
pub fn location(file: &Path, store: Option<&str>) -> Location {
    match store {
        Some(s) => Location::parse(s),
        None => Location::beside(file),
    }
}

/// Prints a store error; corrupt and newer-schema stores also say the file was kept.
pub fn print_store_error(e: &HistoryError) {
    eprintln!("error: {e}");
}

/// Everything `run` needs after the sweep, captured before the plan is consumed.
pub struct PostRun {
    args: RunHistoryArgs,
    location: Location,
    hash: String,
    redactor: Redactor,
    notify: Option<Result<ResolvedNotify, String>>,
    baseline: Option<Baseline>,
    threshold: LatencyThreshold,
    /// Print the diff to stderr (a machine-readable report is on stdout).
    diff_to_stderr: bool,
    /// Do not announce the recorded run id (watch).
    quiet: bool,
}

impl PostRun {
    /// Validates the options; `Err(exit code)` on a usage error.
    pub fn prepare(
        file: &Path,
        plan: &Plan,
        args: &RunHistoryArgs,
        diff_to_stderr: bool,
    ) -> Result<PostRun, u8> {
        let baseline = match args.baseline.as_deref().map(str::parse::<Baseline>) {
            Some(Err(e)) => {
                eprintln!("error: {e}");
                return Err(EXIT_USAGE);
            }
            Some(Ok(b)) => Some(b),
            None => None,
        };
        let threshold = args.latency_threshold.parse().map_err(|e| {
            eprintln!("error: {e}");
            EXIT_USAGE
        })?;
        let location = location(file, args.store.as_deref());
        let mut redactor = plan.redactor.clone();
        for s in location.secrets() {
            redactor.add(&s);
        }
        let text = std::fs::read_to_string(file).unwrap_or_default();
        Ok(PostRun {
            args: args.clone(),
            location,
            hash: preflight_history::content_hash(&text),
            redactor,
            notify: plan.notify.clone(),
            baseline,
            threshold,
            diff_to_stderr,
            quiet: false,
        })
    }

    /// Does not announce each recorded run on stderr.
    pub fn quiet(mut self) -> PostRun {
        self.quiet = true;
        self
    }

    /// Records, diffs and notifies; returns the final exit code.
    pub fn finish(self, report: &Report, interrupted: bool, code: u8) -> u8 {
        let rt = match crate::runtime() {
            Ok(rt) => rt,
            Err(code) => return code,
        };
        rt.block_on(self.finish_async(report, interrupted, code))
    }

    /// [`PostRun::finish`] inside a runtime.
    pub async fn finish_async(self, report: &Report, interrupted: bool, mut code: u8) -> u8 {
        let needs_store = !self.args.no_history || self.baseline.is_some() || self.notify.is_some();
        let mode = if self.args.no_history {
            Mode::ReadOnly
        } else {
            Mode::ReadWrite
        };
        let mut store = None;
        if needs_store {
            match Store::open(&self.location, mode).await {
                Ok(s) => store = Some(s),
                Err(HistoryError::Missing { .. }) if self.args.no_history => {}
                Err(e) => {
                    print_store_error(&e);
                    if !self.args.no_history {
                        eprintln!("error: this run was not recorded in history");
                    }
                    code = EXIT_INTERNAL;
                }
            }
        }
        let filter = Filter {
            checklist: Some(report.checklist.clone()),
            environment: Some(report.environment.clone()),
            ..Filter::default()
        };
        // The previous run, for `on = "change"` and `--baseline last`.
        let previous = match &store {
            Some(s) => match s.latest(&filter).await {
                Ok(Some(p)) => s.report(p.id).await.ok().map(|r| (p.id, r)),
                _ => None,
            },
            None => None,
        };
        let baseline = match (&self.baseline, &store) {
            (None, _) | (_, None) => None,
            (Some(b), Some(s)) => match pick_baseline(s, b, &filter, previous.as_ref()).await {
                Ok(found) => found,
                Err(e) => {
                    print_store_error(&e);
                    code = EXIT_INTERNAL;
                    None
                }
            },
        };
        let mut run_id = None;
        if let Some(s) = store.as_mut().filter(|_| !self.args.no_history) {
            if interrupted {
                eprintln!("history: the run was interrupted; it was not recorded");
            } else {
                match s.record(report, &self.hash, &self.redactor).await {
                    Ok(id) => {
                        run_id = Some(id);
                        if !self.quiet {
                            eprintln!("history: recorded as run {id} in {}", self.location);
                        }
                    }
                    Err(e) => {
                        print_store_error(&e);
                        code = EXIT_INTERNAL;
                    }
                }
            }
        }
        if let Some(b) = &self.baseline {
            match &baseline {
                Some((id, base)) => {
                    let d = preflight_history::diff(
                        (base, Some(*id)),
                        (report, run_id),
                        self.threshold,
                    );
                    self.print_diff(&d);
                    if self.args.fail_on_regression && d.has_regression() && code == EXIT_GO {
                        code = EXIT_NO_GO;
                    }
                }
                None if store.is_some() => {
                    eprintln!(
                        "baseline: no stored run matches {}; nothing to compare",
                        describe(b)
                    );
                }
                None => {}
            }
        }
        match &self.notify {
            None => {}
            Some(Err(e)) => eprintln!("warning: notification not sent: {e}"),
            Some(Ok(n)) => {
                let prev = previous.as_ref().map(|(_, r)| Previous::of(r));
                for problem in notify::send(n, report, run_id, prev.as_ref(), &self.redactor).await
                {
                    eprintln!("warning: {problem}");
                }
            }
        }
        code
    }

    fn print_diff(&self, d: &Diff) {
        let text = d.render_human();
        if self.diff_to_stderr {
            eprint!("\n{text}");
        } else {
            print!("\n{text}");
        }
    }
}

fn describe(b: &Baseline) -> String {
    match b {
        Baseline::Phase(p) => format!("phase:{p}"),
        Baseline::Last => "last".into(),
        Baseline::Run(id) => format!("run {id}"),
    }
}

/// The baseline's id and report. `previous` is the newest run before this one.
pub async fn pick_baseline(
    store: &Store,
    b: &Baseline,
    filter: &Filter,
    previous: Option<&(i64, Report)>,
) -> Result<Option<(i64, Report)>, HistoryError> {
    let id = match b {
        Baseline::Run(id) => Some(*id),
        Baseline::Last => return Ok(previous.cloned()),
        Baseline::Phase(p) => store
            .latest(&Filter {
                phase: Some(p.clone()),
                ..filter.clone()
            })
            .await?
            .map(|r| r.id),
    };
    match id {
        Some(id) => Ok(Some((id, store.report(id).await?))),
        None => Ok(None),
    }
}

/// The checklist name of a file, as the loader derives it, without validating it
/// (history and diff must work with a checklist that needs `--var`s).
pub fn checklist_name(file: &Path) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let table: toml::Table = toml::from_str(&text).ok()?;
    table
        .get("checklist")
        .and_then(|c| c.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_string)
        .or_else(|| file.file_stem().map(|s| s.to_string_lossy().into_owned()))
}

/// The checklist file commands default to, if it exists.
pub fn default_checklist(file: Option<&PathBuf>) -> PathBuf {
    file.cloned().unwrap_or_else(crate::default_file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baselines_parse() {
        assert_eq!("phase:launch".parse(), Ok(Baseline::Phase("launch".into())));
        assert_eq!("last".parse(), Ok(Baseline::Last));
        assert_eq!("12".parse(), Ok(Baseline::Run(12)));
        assert!("phase:".parse::<Baseline>().is_err());
        assert!("yesterday".parse::<Baseline>().is_err());
    }
}
