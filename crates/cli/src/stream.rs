//! `run` writes its results while it goes: the runner hands each item's outcome over
//! in checklist order; its line goes into every JSON report being written (a temp
//! file each, see `preflight_report::JsonStream`) and to the history store (a
//! thread of its own, in chunks, the run marked running until it ends). What stays
//! in memory is a slim copy of each item (no facts but `latency_ms`, no
//! expectation results) for the other formats, the verdict, the diff and the
//! notification; with `--format html` the full items, since the page shows facts.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use preflight_core::{Catalog, Plan, Redactor};
use preflight_history::{HistoryError, Location, Mode, Store};
use preflight_report::{ItemReport, JsonStream, Report};
use preflight_runner::{CancellationToken, Event, RunOptions};

use crate::CliError;

/// Items sent to the store in one transaction.
const CHUNK: usize = 500;

/// Where and how the run is recorded while it goes.
pub struct Recording {
    /// The store.
    pub location: Location,
    /// `sha256:…` of the checklist file.
    pub hash: String,
    /// The plan's secrets and the store's.
    pub redactor: Redactor,
}

/// What of each item stays in memory once it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retain {
    /// Nothing: only JSON reports (already written), no diff, no notification; the
    /// verdict comes from a running tally.
    Nothing,
    /// What the summarising reports (human, Markdown, HTML) and the notification
    /// show: every item but the passed ones of a template after its first, which
    /// are only counted.
    Summarised {
        /// Keep the facts (HTML shows them).
        facts: bool,
    },
    /// Every item (JUnit, Prometheus and the diff list them all).
    Every {
        /// Keep the facts (HTML shows them).
        facts: bool,
    },
}

/// What a streamed run leaves.
pub struct Streamed {
    /// The report: its items as [`Retain`] says.
    pub report: Report,
    /// The JSON reports, rendered; write them with `finish`.
    pub json: Vec<JsonStream>,
    /// The run's id in the store, or why it is not there; `None` without recording.
    pub recorded: Option<Result<i64, HistoryError>>,
}

#[expect(
    clippy::large_enum_variant,
    reason = "nearly every message is an item: boxing would add an allocation each"
)]
enum Msg {
    Item(usize, ItemReport),
    Finish(Box<Report>),
    Discard,
}

/// The history thread: begins the run, appends items in chunks, ends it. A store
/// problem stops the writing (the run goes on) and is returned at the end.
fn record(rx: Receiver<Msg>, rec: Recording, head: Report) -> Result<i64, HistoryError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| HistoryError::Backend {
            action: "start the writer of",
            store: rec.location.shown(),
            detail: e.to_string(),
        })?;
    rt.block_on(async move {
        let opened = Store::open(&rec.location, Mode::ReadWrite).await;
        let mut store = match opened {
            Ok(s) => s,
            Err(e) => {
                while rx.recv().is_ok() {}
                return Err(e);
            }
        };
        let id = match store.begin(&head, &rec.hash, &rec.redactor).await {
            Ok(id) => id,
            Err(e) => {
                while rx.recv().is_ok() {}
                return Err(e);
            }
        };
        let mut chunk: Vec<(usize, ItemReport)> = Vec::with_capacity(CHUNK);
        let mut failed: Option<HistoryError> = None;
        while let Ok(msg) = rx.recv() {
            match msg {
                Msg::Item(pos, item) => {
                    if failed.is_some() {
                        continue;
                    }
                    chunk.push((pos, item));
                    if chunk.len() >= CHUNK {
                        let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                        if let Err(e) = store.append(id, full, &rec.redactor).await {
                            failed = Some(e);
                        }
                    }
                }
                Msg::Finish(head) => {
                    if let Some(e) = failed {
                        let _ = store.discard(id).await;
                        return Err(e);
                    }
                    if !chunk.is_empty() {
                        store.append(id, chunk, &rec.redactor).await?;
                    }
                    store.finish(id, &head, &rec.hash, &rec.redactor).await?;
                    return Ok(id);
                }
                Msg::Discard => {
                    store.discard(id).await?;
                    return Err(HistoryError::NothingToCompare(
                        "the run was interrupted; it was not recorded".into(),
                    ));
                }
            }
        }
        let _ = store.discard(id).await;
        Err(HistoryError::NothingToCompare(
            "the run ended before it was recorded".into(),
        ))
    })
}

/// Runs `plan`, streaming its results. `decorate` sets what the CLI adds to the
/// report's header (hash, tags, batch, shard).
pub fn sweep(
    plan: Plan,
    catalog: Catalog,
    progress: bool,
    json_outputs: usize,
    retain: Retain,
    recording: Option<Recording>,
    decorate: &dyn Fn(&mut Report),
) -> Result<Streamed, CliError> {
    let mut json = Vec::new();
    for _ in 0..json_outputs {
        json.push(JsonStream::new().map_err(|e| {
            CliError::Internal(format!("failed to create the JSON report's temp file: {e}"))
        })?);
    }
    let plan = Arc::new(plan);
    let mut head = Report::of_items(
        &plan,
        std::time::SystemTime::now(),
        Duration::ZERO,
        false,
        Vec::new(),
    );
    decorate(&mut head);
    let writer: Option<(SyncSender<Msg>, std::thread::JoinHandle<_>)> = recording.map(|rec| {
        let (tx, rx) = sync_channel::<Msg>(4 * CHUNK);
        let h = head.clone();
        let handle = std::thread::spawn(move || record(rx, rec, h));
        (tx, handle)
    });
    let rt = crate::runtime()?;
    let cancel = CancellationToken::new();
    let bar = progress_bar(progress, plan.items.len());
    let mut items: Vec<ItemReport> = Vec::new();
    let mut tally = preflight_core::verdict::Tally::default();
    let mut hidden: std::collections::BTreeMap<String, usize> = Default::default();
    let mut json_error: Option<std::io::Error> = None;
    let positions = plan.positions.clone();
    let end = rt.block_on(async {
        let c2 = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                crate::output::say!("\ninterrupted: finishing the report with what is done");
                c2.cancel();
            }
        });
        let b2 = bar.clone();
        let events = move |e: Event| {
            if let Event::Finished { .. } = e {
                b2.inc(1);
            }
        };
        let p2 = plan.clone();
        let mut opts = RunOptions::for_plan(&plan);
        // Tests shrink the reorder buffer to see results spill to disk and come back.
        if let Some(n) = std::env::var("PREFLIGHT_REORDER_MEMORY")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            opts.reorder_memory = n;
        }
        preflight_runner::run_streaming(plan.clone(), catalog, events, cancel, opts, |i, o| {
            let item = ItemReport::of(&p2, &p2.items[i], o);
            for j in &mut json {
                if let Err(e) = j.item(&item) {
                    json_error.get_or_insert(e);
                }
            }
            tally.add(&item.id, p2.items[i].item.severity, item.status);
            let keep =
                |item: &ItemReport, facts: bool| if facts { item.clone() } else { slim(item) };
            match retain {
                Retain::Nothing => {}
                Retain::Every { facts } => items.push(keep(&item, facts)),
                Retain::Summarised { facts } => match &item.template {
                    Some(t)
                        if item.status == preflight_core::Status::Pass
                            && items
                                .last()
                                .is_some_and(|l: &ItemReport| l.template.as_ref() == Some(t)) =>
                    {
                        *hidden.entry(t.clone()).or_insert(0) += 1;
                    }
                    Some(t)
                        if item.status == preflight_core::Status::Pass
                            && hidden.contains_key(t) =>
                    {
                        *hidden.entry(t.clone()).or_insert(0) += 1;
                    }
                    _ => items.push(keep(&item, facts)),
                },
            }
            if let Some((tx, _)) = &writer {
                let pos = positions.as_ref().map_or(i, |p| p[i]);
                let _ = tx.send(Msg::Item(pos, item));
            }
        })
        .await
    });
    bar.finish_and_clear();
    if let Some(e) = json_error {
        return Err(CliError::Internal(format!(
            "failed to write the JSON report's temp file: {e}"
        )));
    }
    let mut report = Report::of_items(&plan, end.started_at, end.duration, end.interrupted, items);
    if !matches!(retain, Retain::Every { .. }) {
        let s = tally.summary(plan.pass_score);
        report.verdict = s.verdict;
        report.score = s.score;
        report.counts = s.counts;
        report.failing_critical = s.failing_critical;
        report.hidden_passes = hidden;
    }
    decorate(&mut report);
    let recorded = writer.map(|(tx, handle)| {
        let msg = if end.interrupted {
            Msg::Discard
        } else {
            let mut h = report.clone();
            h.items = Vec::new();
            Msg::Finish(Box::new(h))
        };
        let _ = tx.send(msg);
        drop(tx);
        handle.join().unwrap_or_else(|_| {
            Err(HistoryError::NothingToCompare(
                "the history writer crashed".into(),
            ))
        })
    });
    Ok(Streamed {
        report,
        json,
        recorded,
    })
}

/// What the run keeps of an item once it is written: no expectation results, and
/// of the facts only `latency_ms` (the diff against a baseline reads it).
fn slim(item: &ItemReport) -> ItemReport {
    let mut s = item.slim();
    if let Some(l) = item.facts.as_ref().and_then(|f| f.get("latency_ms")) {
        s.facts = Some(serde_json::json!({ "latency_ms": l }));
    }
    s
}

fn progress_bar(progress: bool, len: usize) -> ProgressBar {
    if !progress {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr_with_hz(5));
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} items {msg}")
    {
        b.set_style(style.progress_chars("=> "));
    }
    b.enable_steady_tick(Duration::from_millis(200));
    b
}
