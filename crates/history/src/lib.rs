//! preflight-history: every run, recorded; and what changed between two of them.
//!
//! A [`Store`] keeps runs in an embedded SQLite file (`.preflight/history.db` beside
//! the checklist, WAL, one transaction per run) or in PostgreSQL (`postgres://…`, for
//! scheduled runs in ephemeral pods). It stores the report of each run — redacted,
//! with reasons and facts capped — plus indexed columns (time, checklist name and
//! content hash, environment, phase, verdict, score; per item status, reason,
//! duration, attempts, facts). A store that is corrupt or of a newer schema is refused
//! with [`HistoryError::Corrupt`] / [`HistoryError::NewerSchema`] and never written.
//!
//! [`diff()`] compares two reports: regressions, recoveries, appeared and disappeared
//! items, and latency growth.
//!
//! ```no_run
//! # async fn demo(report: preflight_model::Report) -> Result<(), preflight_history::HistoryError> {
//! use preflight_history::{Filter, Location, Mode, Store};
//! let loc = Location::beside(std::path::Path::new("launch.toml"));
//! let mut store = Store::open(&loc, Mode::ReadWrite).await?;
//! let id = store.record(&report, "sha256:…", &Default::default()).await?;
//! let last_two = store.runs(&Filter { limit: Some(2), ..Filter::default() }).await?;
//! assert_eq!(last_two[0].id, id);
//! # Ok(()) }
//! ```

mod baseline;
mod batch;
pub mod diff;
mod error;
mod location;
mod postgres;
mod record;
mod sqlite;

use preflight_core::Redactor;
use preflight_model::{ItemReport, Report};
use sha2::Digest;

pub use baseline::Baseline;
pub use batch::{Merged, ShardRun};
pub use diff::diff;
pub use error::HistoryError;
pub use location::{DEFAULT_FILE, Location};
pub use preflight_model::{Diff, LatencyThreshold, RunSummary};
pub use record::{FACTS_CAP, REASON_CAP};

/// The schema version this build reads and writes (2: runs are written while they
/// go, and may be shards of a batch; a version-1 store is upgraded when written).
pub const SCHEMA_VERSION: i64 = 2;

/// How a store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Never creates or writes anything (`history`, `show`, `diff`).
    ReadOnly,
    /// Creates the store and its schema when missing (`run`, `watch`).
    ReadWrite,
}

/// Which runs to list. Every field narrows; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Checklist name.
    pub checklist: Option<String>,
    /// Environment.
    pub environment: Option<String>,
    /// Phase.
    pub phase: Option<String>,
    /// Only runs with a smaller id (older).
    pub before: Option<i64>,
    /// At most this many, newest first.
    pub limit: Option<usize>,
    /// Runs of this `--batch`.
    pub batch: Option<String>,
    /// Also runs still being written (or whose process died first): `history` lists
    /// them; baselines and the previous run never are one.
    pub include_running: bool,
}

enum Backend {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

/// An open history store.
pub struct Store {
    backend: Backend,
    location: Location,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.location.shown())
            .finish()
    }
}

impl Store {
    /// Opens (in [`Mode::ReadWrite`], creates) the store at `location`. An existing
    /// SQLite file is checked read-only first; a corrupt or newer store is an error
    /// and stays untouched.
    pub async fn open(location: &Location, mode: Mode) -> Result<Store, HistoryError> {
        let shown = location.shown();
        let backend = match location {
            Location::Sqlite(path) => {
                Backend::Sqlite(sqlite::SqliteStore::open(path, mode, shown)?)
            }
            Location::Postgres(dsn) => {
                Backend::Postgres(postgres::PgStore::open(dsn, mode, shown).await?)
            }
        };
        Ok(Store {
            backend,
            location: location.clone(),
        })
    }

    /// Where this store is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Records a run in one transaction and returns its id. Reasons, facts and every
    /// other text pass through `redactor` again, then are capped.
    pub async fn record(
        &mut self,
        report: &Report,
        checklist_hash: &str,
        redactor: &Redactor,
    ) -> Result<i64, HistoryError> {
        let row = record::split(report, checklist_hash, redactor);
        match &mut self.backend {
            Backend::Sqlite(s) => s.record(&row),
            Backend::Postgres(p) => p.record(&row).await,
        }
    }

    /// Runs matching `filter`, newest first.
    pub async fn runs(&self, filter: &Filter) -> Result<Vec<RunSummary>, HistoryError> {
        match &self.backend {
            Backend::Sqlite(s) => s.runs(filter),
            Backend::Postgres(p) => p.runs(filter).await,
        }
    }

    /// The newest run matching `filter`.
    pub async fn latest(&self, filter: &Filter) -> Result<Option<RunSummary>, HistoryError> {
        let f = Filter {
            limit: Some(1),
            ..filter.clone()
        };
        Ok(self.runs(&f).await?.into_iter().next())
    }

    /// Starts recording a run that is written while it goes: its header now
    /// (marked running, so a batch verdict knows it is not done), its items with
    /// [`Store::append`], its outcome with [`Store::finish`].
    pub async fn begin(
        &mut self,
        head: &Report,
        checklist_hash: &str,
        redactor: &Redactor,
    ) -> Result<i64, HistoryError> {
        let row = record::head(head, checklist_hash, redactor);
        match &mut self.backend {
            Backend::Sqlite(s) => s.begin(&row),
            Backend::Postgres(p) => p.begin(&row).await,
        }
    }

    /// Adds items of run `id`, each at its position in the whole checklist (a
    /// shard's items keep the places they have unsharded), redacted and capped.
    pub async fn append(
        &mut self,
        id: i64,
        items: Vec<(usize, ItemReport)>,
        redactor: &Redactor,
    ) -> Result<(), HistoryError> {
        let rows: Vec<record::ItemRow> = items
            .into_iter()
            .map(|(pos, it)| record::item_row(pos as i64, it, redactor))
            .collect();
        match &mut self.backend {
            Backend::Sqlite(s) => s.append(id, &rows),
            Backend::Postgres(p) => p.append(id, &rows).await,
        }
    }

    /// Ends run `id`: its header (verdict, score, counts; `items` is not read).
    pub async fn finish(
        &mut self,
        id: i64,
        head: &Report,
        checklist_hash: &str,
        redactor: &Redactor,
    ) -> Result<(), HistoryError> {
        let row = record::head(head, checklist_hash, redactor);
        match &mut self.backend {
            Backend::Sqlite(s) => s.finish(id, &row),
            Backend::Postgres(p) => p.finish(id, &row).await,
        }
    }

    /// Removes run `id`, begun and not finished (the run was interrupted).
    pub async fn discard(&mut self, id: i64) -> Result<(), HistoryError> {
        match &mut self.backend {
            Backend::Sqlite(s) => s.discard(id),
            Backend::Postgres(p) => p.discard(id).await,
        }
    }

    /// The stored report of run `id`, ready to render in any format, with its
    /// `run_id` and `checklist_hash` set.
    pub async fn report(&self, id: i64) -> Result<Report, HistoryError> {
        Ok(self.report_at(id, true).await?.0)
    }

    /// Run `id`'s report and each item's position in the whole checklist; without
    /// `facts` when `with_facts` is false (cheaper, for reports that do not show
    /// them).
    pub async fn report_at(
        &self,
        id: i64,
        with_facts: bool,
    ) -> Result<(Report, Vec<i64>), HistoryError> {
        let loaded = match &self.backend {
            Backend::Sqlite(s) => s.load(id, with_facts)?,
            Backend::Postgres(p) => p.load(id, with_facts).await?,
        };
        let Some((header, hash, items)) = loaded else {
            return Err(HistoryError::UnknownRun {
                store: self.location.shown(),
                id,
            });
        };
        let positions = items.iter().map(|i| i.position).collect();
        let report =
            record::join(id, header, hash, items).map_err(|detail| HistoryError::Corrupt {
                store: self.location.shown(),
                detail: format!("run {id}: {detail}"),
            })?;
        Ok((report, positions))
    }
}

/// `sha256:HEX` of a checklist file's content, stored with each run.
pub fn content_hash(text: &str) -> String {
    let digest = sha2::Sha256::digest(text.as_bytes());
    let mut hex = String::with_capacity(71);
    hex.push_str("sha256:");
    for b in digest.iter() {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

#[cfg(test)]
pub(crate) mod fixture {
    use preflight_core::verdict::Counts;
    use preflight_core::{Status, Verdict};
    use preflight_model::{ItemReport, Report};
    use serde_json::json;

    /// A report with `n` http items; item `i` fails when `failing(i)`.
    pub fn report(n: usize, failing: impl Fn(usize) -> bool) -> Report {
        let items: Vec<ItemReport> = (0..n)
            .map(|i| {
                let fail = failing(i);
                serde_json::from_value::<ItemReport>(json!({
                    "id": format!("item.{i}"),
                    "title": format!("GET /api/{i} returns 200"),
                    "section": format!("{}. Section", i % 7),
                    "severity": if i % 3 == 0 { "critical" } else { "normal" },
                    "probe": "http",
                    "status": if fail { "fail" } else { "pass" },
                    "reason": if fail { Some("status == 200 — status was 503") } else { None },
                    "duration_ms": 12,
                    "attempts": 1,
                    "expectations": [{"expr": "status == 200", "ok": !fail}],
                    "facts": {
                        "status": if fail { 503 } else { 200 },
                        "latency_ms": 11.5,
                        "headers": {"content-type": "application/json", "authorization": "****"},
                        "body": "{\"status\":\"healthy\"}",
                    },
                    "owner": "SRE",
                }))
                .expect("fixture item")
            })
            .collect();
        let fails = items.iter().filter(|i| i.status == Status::Fail).count();
        let failing_critical = items
            .iter()
            .filter(|i| i.status == Status::Fail && i.severity == "critical")
            .map(|i| i.id.clone())
            .collect();
        Report {
            schema: 1,
            checklist: "Streamer App".into(),
            environment: "production".into(),
            phase: Some("launch".into()),
            started_at: "2026-05-15T09:00:00Z".into(),
            duration_ms: 842,
            verdict: if fails == 0 {
                Verdict::Go
            } else {
                Verdict::NoGo
            },
            score: ((n - fails) * 100).checked_div(n).unwrap_or(100) as u8,
            pass_score: 100,
            counts: Counts {
                pass: n - fails,
                fail: fails,
                ..Counts::default()
            },
            failing_critical,
            interrupted: false,
            notes: vec![],
            items,
            checklist_hash: None,
            tags: vec![],
            preflight_version: None,
            run_id: None,
            batch: None,
            shard: None,
            hidden_passes: Default::default(),
        }
    }
}
