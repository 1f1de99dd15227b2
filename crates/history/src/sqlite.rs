//! The embedded SQLite store (WAL, one transaction per run).
//!
//! An existing file is always inspected read-only first (`PRAGMA quick_check` and the
//! schema version); only a file that passes is opened for writing, so a corrupt or
//! newer store stays byte-identical.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde_json::Value;

use crate::error::HistoryError;
use crate::record::{DONE, ItemRow, RUNNING, RunRow, summary_from_header};
use crate::{Filter, Mode, SCHEMA_VERSION};
use preflight_model::RunSummary;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS preflight_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS preflight_runs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at     TEXT NOT NULL,
    checklist      TEXT NOT NULL,
    checklist_hash TEXT NOT NULL,
    environment    TEXT NOT NULL,
    phase          TEXT,
    verdict        TEXT NOT NULL,
    score          INTEGER NOT NULL,
    duration_ms    INTEGER NOT NULL,
    header         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS preflight_runs_by_checklist
    ON preflight_runs (checklist, environment, id);
CREATE TABLE IF NOT EXISTS preflight_items (
    run_id      INTEGER NOT NULL REFERENCES preflight_runs (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    item_id     TEXT NOT NULL,
    status      TEXT NOT NULL,
    reason      TEXT,
    duration_ms INTEGER NOT NULL,
    attempts    INTEGER NOT NULL,
    facts       TEXT,
    detail      TEXT NOT NULL,
    PRIMARY KEY (run_id, position)
);
";

/// Schema 2: a run is written while it goes (`state` running → done) and may be one
/// shard of a batch.
const MIGRATE_2: &str = "
ALTER TABLE preflight_runs ADD COLUMN state TEXT NOT NULL DEFAULT 'done';
ALTER TABLE preflight_runs ADD COLUMN batch TEXT;
ALTER TABLE preflight_runs ADD COLUMN shard INTEGER;
ALTER TABLE preflight_runs ADD COLUMN shards INTEGER;
CREATE INDEX IF NOT EXISTS preflight_runs_by_batch ON preflight_runs (batch, id);
UPDATE preflight_meta SET value = '2' WHERE key = 'schema_version';
";

/// An open SQLite history.
pub(crate) struct SqliteStore {
    conn: Connection,
    shown: String,
    /// A version-1 store opened read-only: it has no state and batch columns.
    v1: bool,
}

/// The state and batch columns, or stand-ins for a version-1 store.
fn run_columns(v1: bool) -> &'static str {
    if v1 {
        "'done' AS state, NULL AS batch"
    } else {
        "state, batch"
    }
}

fn backend<'a>(
    action: &'static str,
    shown: &'a str,
) -> impl Fn(rusqlite::Error) -> HistoryError + 'a {
    move |e| HistoryError::Backend {
        action,
        store: shown.to_string(),
        detail: e.to_string(),
    }
}

impl SqliteStore {
    pub(crate) fn open(
        path: &Path,
        mode: Mode,
        shown: String,
    ) -> Result<SqliteStore, HistoryError> {
        let size = std::fs::metadata(path).map(|m| m.len()).ok();
        match size {
            Some(n) if n > 0 => {
                let ro = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(|e| corrupt(&shown, &e))?;
                let version = inspect(&ro, &shown)?;
                if mode == Mode::ReadOnly {
                    ro.busy_timeout(Duration::from_secs(10))
                        .map_err(backend("open", &shown))?;
                    return Ok(SqliteStore {
                        conn: ro,
                        shown,
                        v1: version == Some(1),
                    });
                }
            }
            _ if mode == Mode::ReadOnly => return Err(HistoryError::Missing { store: shown }),
            _ => {}
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| HistoryError::Backend {
                action: "create the folder of",
                store: shown.clone(),
                detail: e.to_string(),
            })?;
        }
        let mut conn = Connection::open(path).map_err(backend("open", &shown))?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(backend("open", &shown))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(backend("switch to WAL", &shown))?;
        // WAL with synchronous=NORMAL never corrupts; a power cut may lose the last run.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(backend("open", &shown))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(backend("open", &shown))?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend("lock", &shown))?;
        // Another writer may have created the file between the inspection and now.
        inspect(&tx, &shown)?;
        tx.execute_batch(SCHEMA)
            .map_err(backend("create the schema of", &shown))?;
        // A new store is created at version 1 and migrated like an old one.
        tx.execute(
            "INSERT OR IGNORE INTO preflight_meta (key, value) VALUES ('schema_version', '1')",
            [],
        )
        .map_err(backend("create the schema of", &shown))?;
        let version: String = tx
            .query_row(
                "SELECT value FROM preflight_meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .map_err(backend("create the schema of", &shown))?;
        if version.trim() == "1" {
            tx.execute_batch(MIGRATE_2)
                .map_err(backend("upgrade the schema of", &shown))?;
        }
        tx.commit()
            .map_err(backend("create the schema of", &shown))?;
        Ok(SqliteStore {
            conn,
            shown,
            v1: false,
        })
    }

    /// Records a whole run in one transaction.
    pub(crate) fn record(&mut self, run: &RunRow) -> Result<i64, HistoryError> {
        let shown = self.shown.clone();
        let err = backend("record the run in", &shown);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let id = insert_run(&tx, run, DONE).map_err(&err)?;
        insert_items(&tx, id, &run.items).map_err(&err)?;
        tx.commit().map_err(&err)?;
        Ok(id)
    }

    /// Starts a streamed run: its row, marked running.
    pub(crate) fn begin(&mut self, run: &RunRow) -> Result<i64, HistoryError> {
        let shown = self.shown.clone();
        let err = backend("record the run in", &shown);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let id = insert_run(&tx, run, RUNNING).map_err(&err)?;
        tx.commit().map_err(&err)?;
        Ok(id)
    }

    /// Adds items to a streamed run, in one transaction.
    pub(crate) fn append(&mut self, id: i64, items: &[ItemRow]) -> Result<(), HistoryError> {
        let shown = self.shown.clone();
        let err = backend("record the run in", &shown);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        insert_items(&tx, id, items).map_err(&err)?;
        tx.commit().map_err(&err)
    }

    /// Ends a streamed run: its final header, verdict and score; state done.
    pub(crate) fn finish(&mut self, id: i64, run: &RunRow) -> Result<(), HistoryError> {
        let shown = self.shown.clone();
        let err = backend("record the run in", &shown);
        self.conn
            .execute(
                "UPDATE preflight_runs SET verdict = ?2, score = ?3, duration_ms = ?4, header = ?5, state = 'done' WHERE id = ?1",
                params![id, run.verdict, run.score, run.duration_ms, run.header.to_string()],
            )
            .map_err(&err)?;
        Ok(())
    }

    /// Removes a streamed run that did not end (interrupted).
    pub(crate) fn discard(&mut self, id: i64) -> Result<(), HistoryError> {
        let shown = self.shown.clone();
        let err = backend("record the run in", &shown);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        tx.execute("DELETE FROM preflight_items WHERE run_id = ?1", params![id])
            .map_err(&err)?;
        tx.execute("DELETE FROM preflight_runs WHERE id = ?1", params![id])
            .map_err(&err)?;
        tx.commit().map_err(&err)
    }

    pub(crate) fn runs(&self, f: &Filter) -> Result<Vec<RunSummary>, HistoryError> {
        let err = backend("read", &self.shown);
        let sql = format!(
            "SELECT id, checklist_hash, header, state FROM (SELECT *, {} FROM preflight_runs)
             WHERE (?1 IS NULL OR checklist = ?1)
               AND (?2 IS NULL OR environment = ?2)
               AND (?3 IS NULL OR phase = ?3)
               AND (?4 IS NULL OR id < ?4)
               AND (?5 IS NULL OR batch = ?5)
               AND (?6 OR state = 'done')
             ORDER BY id DESC LIMIT ?7",
            if self.v1 {
                run_columns(true)
            } else {
                "1 AS unused"
            }
        );
        let mut st = self.conn.prepare(&sql).map_err(&err)?;
        let limit = f.limit.map_or(-1, |l| l as i64);
        let rows = st
            .query_map(
                params![
                    f.checklist,
                    f.environment,
                    f.phase,
                    f.before,
                    f.batch,
                    f.include_running,
                    limit
                ],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )
            .map_err(&err)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, hash, header, state) = row.map_err(&err)?;
            let header: Value = serde_json::from_str(&header).unwrap_or(Value::Null);
            out.push(summary_from_header(id, hash, &header, &state));
        }
        Ok(out)
    }

    pub(crate) fn load(
        &self,
        id: i64,
        with_facts: bool,
    ) -> Result<Option<(Value, String, Vec<ItemRow>)>, HistoryError> {
        let err = backend("read", &self.shown);
        let header: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT header, checklist_hash FROM preflight_runs WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(&err)?;
        let Some((header, hash)) = header else {
            return Ok(None);
        };
        let header: Value = serde_json::from_str(&header).map_err(|e| HistoryError::Corrupt {
            store: self.shown.clone(),
            detail: format!("run {id} has an unreadable header: {e}"),
        })?;
        let mut st = self
            .conn
            .prepare(if with_facts {
                "SELECT position, item_id, status, reason, duration_ms, attempts, facts, detail
                 FROM preflight_items WHERE run_id = ?1 ORDER BY position"
            } else {
                "SELECT position, item_id, status, reason, duration_ms, attempts, NULL, detail
                 FROM preflight_items WHERE run_id = ?1 ORDER BY position"
            })
            .map_err(&err)?;
        let rows = st
            .query_map(params![id], |r| {
                let facts: Option<String> = r.get(6)?;
                let detail: String = r.get(7)?;
                Ok(ItemRow {
                    position: r.get(0)?,
                    item_id: r.get(1)?,
                    status: r.get(2)?,
                    reason: r.get(3)?,
                    duration_ms: r.get(4)?,
                    attempts: r.get(5)?,
                    facts: facts.and_then(|f| serde_json::from_str(&f).ok()),
                    detail: serde_json::from_str(&detail).unwrap_or(Value::Null),
                })
            })
            .map_err(&err)?;
        let items = rows.collect::<Result<Vec<_>, _>>().map_err(&err)?;
        Ok(Some((header, hash, items)))
    }
}

fn insert_run(tx: &rusqlite::Transaction<'_>, run: &RunRow, state: &str) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO preflight_runs (started_at, checklist, checklist_hash, environment, phase, verdict, score, duration_ms, header, state, batch, shard, shards)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            run.started_at,
            run.checklist,
            run.checklist_hash,
            run.environment,
            run.phase,
            run.verdict,
            run.score,
            run.duration_ms,
            run.header.to_string(),
            state,
            run.batch,
            run.shard.map(|s| s.0),
            run.shard.map(|s| s.1),
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

fn insert_items(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    items: &[ItemRow],
) -> rusqlite::Result<()> {
    let mut st = tx.prepare(
        "INSERT INTO preflight_items (run_id, position, item_id, status, reason, duration_ms, attempts, facts, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for it in items {
        st.execute(params![
            id,
            it.position,
            it.item_id,
            it.status,
            it.reason,
            it.duration_ms,
            it.attempts,
            it.facts.as_ref().map(Value::to_string),
            it.detail.to_string()
        ])?;
    }
    Ok(())
}

fn corrupt(shown: &str, e: &rusqlite::Error) -> HistoryError {
    HistoryError::Corrupt {
        store: shown.to_string(),
        detail: e.to_string(),
    }
}

/// Read-only checks: the file is a sound SQLite database, and either empty or a
/// preflight history of a version this build knows (which it returns).
fn inspect(conn: &Connection, shown: &str) -> Result<Option<i64>, HistoryError> {
    let mut st = conn
        .prepare("PRAGMA quick_check")
        .map_err(|e| corrupt(shown, &e))?;
    let found: Vec<String> = st
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| corrupt(shown, &e))?;
    if found != ["ok"] {
        let mut detail = found.join("; ");
        detail.truncate(300);
        return Err(HistoryError::Corrupt {
            store: shown.to_string(),
            detail: format!("integrity check: {detail}"),
        });
    }
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .and_then(|mut st| {
            st.query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| corrupt(shown, &e))?;
    if tables.is_empty() {
        return Ok(None);
    }
    if !tables.iter().any(|t| t == "preflight_meta") {
        return Err(HistoryError::Corrupt {
            store: shown.to_string(),
            detail: "it is a SQLite database without a preflight_meta table".into(),
        });
    }
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM preflight_meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| corrupt(shown, &e))?;
    let Some(version) = version else {
        return Err(HistoryError::Corrupt {
            store: shown.to_string(),
            detail: "preflight_meta has no schema_version".into(),
        });
    };
    let found: i64 = version.trim().parse().map_err(|_| HistoryError::Corrupt {
        store: shown.to_string(),
        detail: format!("schema_version \"{version}\" is not a number"),
    })?;
    if found > SCHEMA_VERSION {
        return Err(HistoryError::NewerSchema {
            store: shown.to_string(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(Some(found))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use preflight_core::Redactor;

    use crate::fixture::report;
    use crate::{Filter, HistoryError, Location, Mode, Store};

    fn loc(dir: &tempfile::TempDir) -> (PathBuf, Location) {
        let p = dir.path().join(".preflight/history.db");
        (p.clone(), Location::Sqlite(p))
    }

    #[tokio::test]
    async fn records_and_reads_back_a_run() {
        let dir = tempfile::tempdir().unwrap();
        let (_, l) = loc(&dir);
        let mut store = Store::open(&l, Mode::ReadWrite).await.unwrap();
        let r = report(5, |i| i == 3);
        let id = store
            .record(&r, "sha256:ab", &Redactor::default())
            .await
            .unwrap();
        let back = store.report(id).await.unwrap();
        // Loading adds what the store knows: the run id and the checklist's hash.
        let mut expected = r.clone();
        expected.run_id = Some(id);
        expected.checklist_hash = Some("sha256:ab".into());
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&expected).unwrap()
        );
        let runs = store.runs(&Filter::default()).await.unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].checklist_hash, "sha256:ab");
        assert_eq!(runs[0].counts.fail, 1);
        assert_eq!(runs[0].pass_score, 100);
        assert_eq!(runs[0].failing_critical, 1, "item.3 is critical");
        let none = store
            .runs(&Filter {
                environment: Some("stage".into()),
                ..Filter::default()
            })
            .await
            .unwrap();
        assert!(none.is_empty());
        assert!(matches!(
            store.report(999).await,
            Err(HistoryError::UnknownRun { id: 999, .. })
        ));
    }

    #[tokio::test]
    async fn redacts_again_on_the_way_in() {
        let dir = tempfile::tempdir().unwrap();
        let (path, l) = loc(&dir);
        let mut store = Store::open(&l, Mode::ReadWrite).await.unwrap();
        let mut r = report(1, |_| true);
        r.items[0].reason = Some("token s3cr3t-token leaked".into());
        r.items[0].facts = Some(serde_json::json!({"body": "s3cr3t-token", "x-api-key": "abc"}));
        let mut red = Redactor::default();
        red.add("s3cr3t-token");
        let id = store.record(&r, "h", &red).await.unwrap();
        let back = store.report(id).await.unwrap();
        assert_eq!(back.items[0].reason.as_deref(), Some("token **** leaked"));
        assert_eq!(back.items[0].facts.as_ref().unwrap()["x-api-key"], "****");
        drop(store);
        let bytes = std::fs::read(&path).unwrap();
        assert!(!bytes.windows(12).any(|w| w == b"s3cr3t-token"));
    }

    /// A shard's report: items `i` of `report(n)` with `i % of == k - 1`.
    fn shard(n: usize, k: u32, of: u32, failing: usize) -> (preflight_model::Report, Vec<usize>) {
        let mut r = report(n, |i| i == failing);
        let keep: Vec<usize> = (0..n)
            .filter(|i| i % of as usize == (k - 1) as usize)
            .collect();
        r.items = keep.iter().map(|&i| r.items[i].clone()).collect();
        r.batch = Some("b1".into());
        r.shard = Some(preflight_model::Shard {
            index: k,
            count: of,
        });
        r.judge();
        (r, keep)
    }

    async fn stream(
        store: &mut Store,
        r: &preflight_model::Report,
        at: &[usize],
        finish: bool,
    ) -> i64 {
        let red = Redactor::default();
        let mut head = r.clone();
        head.items.clear();
        let id = store.begin(&head, "sha256:x", &red).await.unwrap();
        let items: Vec<(usize, preflight_model::ItemReport)> =
            at.iter().copied().zip(r.items.iter().cloned()).collect();
        for chunk in items.chunks(3) {
            store.append(id, chunk.to_vec(), &red).await.unwrap();
        }
        if finish {
            store.finish(id, &head, "sha256:x", &red).await.unwrap();
        }
        id
    }

    #[tokio::test]
    async fn streamed_shards_merge_into_one_report_and_a_missing_one_is_no_go() {
        let dir = tempfile::tempdir().unwrap();
        let (_, l) = loc(&dir);
        let mut store = Store::open(&l, Mode::ReadWrite).await.unwrap();
        let whole = report(10, |i| i == 4);
        let (r1, p1) = shard(10, 1, 3, 4);
        let (r2, p2) = shard(10, 2, 3, 4);
        let (r3, p3) = shard(10, 3, 3, 4);
        stream(&mut store, &r1, &p1, true).await;
        // Shard 2 first dies half-way (still "running"), then runs again.
        let dead = stream(&mut store, &r2, &p2[..1], false).await;
        let m = store.merged("b1", None, false).await.unwrap();
        assert_eq!(m.report.verdict, preflight_core::Verdict::NoGo);
        let joined = m.problems.join("\n");
        assert!(
            joined.contains(&format!("shard 2/3 is still running (run {dead}")),
            "{joined}"
        );
        assert!(joined.contains("shard 3/3 is missing"), "{joined}");
        assert!(
            store.latest(&Filter::default()).await.unwrap().unwrap().id != dead,
            "a running run is never the latest"
        );
        stream(&mut store, &r2, &p2, true).await;
        stream(&mut store, &r3, &p3, true).await;
        let m = store.merged("b1", None, true).await.unwrap();
        assert!(m.problems.is_empty(), "{:?}", m.problems);
        let ids: Vec<&str> = m.report.items.iter().map(|i| i.id.as_str()).collect();
        let want: Vec<&str> = whole.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, want, "checklist order");
        assert_eq!(m.report.counts.pass, whole.counts.pass);
        assert_eq!(m.report.counts.fail, 1);
        assert_eq!(m.report.failing_critical, whole.failing_critical);
        assert_eq!(m.report.verdict, whole.verdict);
        assert_eq!(m.counted.len(), 3);
        // With four shards expected, the fourth is missing.
        let m = store.merged("b1", Some(4), false).await.unwrap();
        assert!(
            m.problems
                .iter()
                .any(|p| p.contains("shard 4/4 is missing"))
        );
    }

    #[tokio::test]
    async fn read_only_never_creates() {
        let dir = tempfile::tempdir().unwrap();
        let (path, l) = loc(&dir);
        let e = Store::open(&l, Mode::ReadOnly).await.unwrap_err();
        assert!(matches!(e, HistoryError::Missing { .. }), "{e}");
        assert!(!path.exists());
    }

    #[test]
    fn two_writers_at_once_both_land() {
        let dir = tempfile::tempdir().unwrap();
        let (_, l) = loc(&dir);
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let l = l.clone();
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    rt.block_on(async {
                        let mut s = Store::open(&l, Mode::ReadWrite).await.unwrap();
                        for _ in 0..20 {
                            s.record(&report(50, |i| i == w), "h", &Redactor::default())
                                .await
                                .unwrap();
                        }
                    });
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let runs = rt.block_on(async {
            let s = Store::open(&l, Mode::ReadOnly).await.unwrap();
            s.runs(&Filter::default()).await.unwrap()
        });
        assert_eq!(runs.len(), 40);
    }

    #[tokio::test]
    async fn corrupt_file_is_refused_and_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let (path, l) = loc(&dir);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7919 % 251) as u8).collect();
        std::fs::write(&path, &garbage).unwrap();
        for mode in [Mode::ReadWrite, Mode::ReadOnly] {
            let e = Store::open(&l, mode).await.unwrap_err();
            assert!(e.is_store_problem(), "{e}");
            assert!(e.to_string().contains("corrupt"), "{e}");
        }
        assert_eq!(std::fs::read(&path).unwrap(), garbage);
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[tokio::test]
    async fn damaged_pages_are_found_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let (path, l) = loc(&dir);
        {
            let mut s = Store::open(&l, Mode::ReadWrite).await.unwrap();
            for _ in 0..5 {
                s.record(&report(200, |_| false), "h", &Redactor::default())
                    .await
                    .unwrap();
            }
        }
        let mut bytes = std::fs::read(&path).unwrap();
        assert!(bytes.len() > 64 * 1024);
        // Scribble over the middle of the file, keeping the header valid.
        for b in &mut bytes[20_000..40_000] {
            *b = 0x5a;
        }
        std::fs::write(&path, &bytes).unwrap();
        let e = Store::open(&l, Mode::ReadWrite).await.unwrap_err();
        assert!(e.is_store_problem(), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }

    #[tokio::test]
    async fn newer_schema_is_refused_and_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let (path, l) = loc(&dir);
        drop(Store::open(&l, Mode::ReadWrite).await.unwrap());
        {
            let c = rusqlite::Connection::open(&path).unwrap();
            c.execute(
                "UPDATE preflight_meta SET value = '99' WHERE key = 'schema_version'",
                [],
            )
            .unwrap();
            c.pragma_update(None, "journal_mode", "DELETE").unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let e = Store::open(&l, Mode::ReadWrite).await.unwrap_err();
        assert!(
            matches!(
                e,
                HistoryError::NewerSchema {
                    found: 99,
                    supported: 2,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("upgrade preflight"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[tokio::test]
    async fn another_apps_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (path, l) = loc(&dir);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        {
            let c = rusqlite::Connection::open(&path).unwrap();
            c.execute("CREATE TABLE users (id INTEGER)", []).unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let e = Store::open(&l, Mode::ReadWrite).await.unwrap_err();
        assert!(
            e.to_string().contains("without a preflight_meta table"),
            "{e}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
}
