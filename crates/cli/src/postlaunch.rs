//! What `run` and `watch` do after the report, wired from the crates that do the
//! work: record the run (`preflight-history`), diff it against a baseline (history
//! computes, `preflight-report` renders), notify (`preflight-notify`).

use crate::output::say;
use std::path::Path;

use preflight_core::notify::ResolvedNotify;
use preflight_core::{Plan, Redactor};
use preflight_history::{
    Baseline, Diff, Filter, HistoryError, LatencyThreshold, Location, Mode, Store,
};
use preflight_notify::Previous;
use preflight_report::Report;

use crate::args::{BaselineArgs, RecordArgs};
use crate::{CliError, Exit};

/// The store a checklist file uses unless `--store` says otherwise.
pub fn location(file: &Path, store: Option<&str>) -> Location {
    match store {
        Some(s) => Location::parse(s),
        None => Location::beside(file),
    }
}

/// Everything `run` needs after the sweep, captured before the plan is consumed.
pub struct PostRun {
    record: RecordArgs,
    fail_on_regression: bool,
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
    /// The id the run was recorded as, once [`PostRun::finish`] has recorded it.
    recorded: Option<i64>,
    /// The run was recorded while it went ([`PostRun::streamed`]): its outcome.
    streamed: Option<Result<i64, HistoryError>>,
    /// Whether the run was recorded (or tried to be) while it went.
    was_streamed: bool,
}

impl PostRun {
    /// Validates the options.
    pub fn prepare(
        file: &Path,
        plan: &Plan,
        record: &RecordArgs,
        baseline: &BaselineArgs,
        diff_to_stderr: bool,
    ) -> Result<PostRun, CliError> {
        let threshold = baseline
            .latency_threshold
            .parse()
            .map_err(CliError::Usage)?;
        let location = location(file, record.store.store.as_deref());
        let mut redactor = plan.redactor.clone();
        for s in location.secrets() {
            redactor.add(&s);
        }
        let text =
            preflight_core::input::read_text(file, preflight_core::input::MAX_CHECKLIST_BYTES)
                .unwrap_or_default();
        Ok(PostRun {
            record: record.clone(),
            fail_on_regression: baseline.fail_on_regression,
            location,
            hash: preflight_history::content_hash(&text),
            redactor,
            notify: plan.notify.clone(),
            baseline: baseline
                .baseline
                .as_deref()
                .map(str::parse::<Baseline>)
                .transpose()
                .map_err(CliError::Usage)?,
            threshold,
            diff_to_stderr,
            quiet: false,
            recorded: None,
            streamed: None,
            was_streamed: false,
        })
    }

    /// Whether the run is diffed against a baseline (which reads every item).
    pub fn compares(&self) -> bool {
        self.baseline.is_some()
    }

    /// Whether the run's outcome is sent (the message names failing items).
    pub fn notifies(&self) -> bool {
        self.notify.is_some()
    }

    /// How `run` records the run while it goes: `None` with `--no-history`.
    pub fn recording(&self) -> Option<crate::stream::Recording> {
        (!self.record.no_history).then(|| crate::stream::Recording {
            location: self.location.clone(),
            hash: self.hash.clone(),
            redactor: self.redactor.clone(),
        })
    }

    /// What recording while the run went came to; [`PostRun::finish`] then does not
    /// record it again.
    pub fn streamed(&mut self, outcome: Option<Result<i64, HistoryError>>, interrupted: bool) {
        self.was_streamed = outcome.is_some();
        match outcome {
            Some(Ok(id)) => {
                self.recorded = Some(id);
                self.streamed = Some(Ok(id));
            }
            Some(Err(_)) if interrupted => {
                self.streamed = Some(Err(HistoryError::NothingToCompare("interrupted".into())));
            }
            Some(Err(e)) => self.streamed = Some(Err(e)),
            None => {}
        }
    }

    /// Does not announce each recorded run on stderr.
    pub fn quiet(mut self) -> PostRun {
        self.quiet = true;
        self
    }

    /// `sha256:HEX` of the checklist file, as history records it.
    pub fn checklist_hash(&self) -> &str {
        &self.hash
    }

    /// Records, diffs and notifies; `exit` is the run's own result.
    pub fn finish(
        &mut self,
        report: &Report,
        interrupted: bool,
        exit: Exit,
    ) -> Result<Exit, CliError> {
        crate::runtime()?.block_on(self.finish_async(report, interrupted, exit))
    }

    /// What history adds to the HTML report of this run (after [`PostRun::finish`]):
    /// the trend, and the diff against `--baseline` or the last launch-phase run.
    pub fn html_context(&self, report: &Report) -> preflight_report::HtmlContext {
        let baseline = self
            .baseline
            .clone()
            .unwrap_or_else(crate::page::default_baseline);
        let gather = crate::page::context_at(&self.location, report, &baseline, self.threshold);
        match crate::runtime() {
            Ok(rt) => rt.block_on(gather),
            Err(_) => preflight_report::HtmlContext::default(),
        }
    }

    /// The run id this run was recorded as, if it was.
    pub fn recorded(&self) -> Option<i64> {
        self.recorded
    }

    /// [`PostRun::finish`] inside a runtime. A store problem does not stop the rest
    /// (the diff, the notification); it is returned at the end.
    pub async fn finish_async(
        &mut self,
        report: &Report,
        interrupted: bool,
        mut exit: Exit,
    ) -> Result<Exit, CliError> {
        let no_history = self.record.no_history;
        // A run recorded while it went needs the store again only to compare.
        let needs_store =
            (!no_history && !self.was_streamed) || self.baseline.is_some() || self.notify.is_some();
        let mode = if no_history {
            Mode::ReadOnly
        } else {
            Mode::ReadWrite
        };
        let mut failed: Option<HistoryError> = None;
        let mut unwritten: Option<CliError> = None;
        let mut store = None;
        if needs_store {
            match Store::open(&self.location, mode).await {
                Ok(s) => store = Some(s),
                Err(HistoryError::Missing { .. }) if no_history => {}
                Err(e) => {
                    if !no_history {
                        say!("history: this run was not recorded");
                    }
                    failed = Some(e);
                }
            }
        }
        let filter = Filter {
            checklist: Some(report.checklist.clone()),
            environment: Some(report.environment.clone()),
            ..Filter::default()
        };
        // The previous run, for `on = "change"` and `--baseline last` (before this
        // one, when it was recorded while it went).
        let filter = Filter {
            before: self.recorded,
            ..filter
        };
        let wanted = self.notify.is_some() || self.baseline == Some(Baseline::Last);
        let previous = match &store {
            Some(s) if wanted => match s.latest(&filter).await {
                Ok(Some(p)) => s
                    .report_at(p.id, self.baseline == Some(Baseline::Last))
                    .await
                    .ok()
                    .map(|(r, _)| (p.id, r)),
                _ => None,
            },
            _ => None,
        };
        let baseline = match (&self.baseline, &store) {
            (Some(b), Some(s)) => match s.baseline(b, &filter, previous.as_ref()).await {
                Ok(found) => found,
                Err(e) => {
                    failed.get_or_insert(e);
                    None
                }
            },
            _ => None,
        };
        let mut run_id = None;
        match self.streamed.take() {
            Some(Ok(id)) => {
                run_id = Some(id);
                if !self.quiet {
                    say!("history: recorded as run {id} in {}", self.location);
                }
            }
            Some(Err(_)) if interrupted => {
                say!("history: the run was interrupted; it was not recorded");
            }
            Some(Err(e)) => {
                say!("history: this run was not recorded");
                failed.get_or_insert(e);
            }
            None => {}
        }
        if let Some(s) = store
            .as_mut()
            .filter(|_| !no_history && run_id.is_none() && self.recording_pending())
        {
            if interrupted {
                say!("history: the run was interrupted; it was not recorded");
            } else {
                match s.record(report, &self.hash, &self.redactor).await {
                    Ok(id) => {
                        run_id = Some(id);
                        self.recorded = Some(id);
                        if !self.quiet {
                            say!("history: recorded as run {id} in {}", self.location);
                        }
                    }
                    Err(e) => {
                        failed.get_or_insert(e);
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
                    if let Err(e) = self.print_diff(&d) {
                        unwritten.get_or_insert(e);
                    }
                    if self.fail_on_regression && d.has_regression() {
                        exit = Exit::NoGo;
                    }
                }
                None if store.is_some() => {
                    say!("baseline: no stored run matches {b}; nothing to compare");
                }
                None => {}
            }
        }
        match &self.notify {
            None => {}
            Some(Err(e)) => say!("warning: notification not sent: {e}"),
            Some(Ok(n)) => {
                let prev = previous.as_ref().map(|(_, r)| Previous::of(r));
                let problems =
                    preflight_notify::send(n, report, run_id, prev.as_ref(), &self.redactor).await;
                for problem in problems {
                    say!("warning: {problem}");
                }
            }
        }
        match (failed, unwritten) {
            (Some(e), _) => Err(e.into()),
            (None, Some(e)) => Err(e),
            (None, None) => Ok(exit),
        }
    }

    /// Whether [`PostRun::finish`] still has to record the run (it was not streamed).
    fn recording_pending(&self) -> bool {
        self.recorded.is_none() && !self.was_streamed
    }

    fn print_diff(&self, d: &Diff) -> Result<(), CliError> {
        let text = format!("\n{}", preflight_report::render_diff_human(d));
        if self.diff_to_stderr {
            crate::output::stderr_raw(&text);
            Ok(())
        } else {
            crate::output::stdout(&text)
        }
    }
}

/// The checklist name of a file, as the loader derives it, without validating it
/// (history and diff must work with a checklist that needs `--var`s).
pub fn checklist_name(file: &Path) -> Option<String> {
    let text =
        preflight_core::input::read_text(file, preflight_core::input::MAX_CHECKLIST_BYTES).ok()?;
    let table: toml::Table = toml::from_str(&text).ok()?;
    table
        .get("checklist")
        .and_then(|c| c.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_string)
        .or_else(|| file.file_stem().map(|s| s.to_string_lossy().into_owned()))
}
