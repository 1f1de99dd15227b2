//! The PostgreSQL store, for scheduled runs in ephemeral pods.
//!
//! Same tables as SQLite (prefixed `preflight_`), JSON in `jsonb`, one transaction per
//! run; a run's items go in with one `INSERT … SELECT FROM unnest(…)`. The schema is
//! created under an advisory lock so concurrent first runs do not race.

use std::time::Duration;

use serde_json::Value;
use tokio_postgres::{Client, NoTls};

use crate::error::HistoryError;
use crate::record::{DONE, ItemRow, RUNNING, RunRow, summary_from_header};
use crate::{Filter, Mode, SCHEMA_VERSION};
use preflight_model::RunSummary;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS preflight_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE IF NOT EXISTS preflight_runs (
    id             bigserial PRIMARY KEY,
    started_at     text NOT NULL,
    checklist      text NOT NULL,
    checklist_hash text NOT NULL,
    environment    text NOT NULL,
    phase          text,
    verdict        text NOT NULL,
    score          integer NOT NULL,
    duration_ms    bigint NOT NULL,
    header         jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS preflight_runs_by_checklist
    ON preflight_runs (checklist, environment, id);
CREATE TABLE IF NOT EXISTS preflight_items (
    run_id      bigint NOT NULL REFERENCES preflight_runs (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    item_id     text NOT NULL,
    status      text NOT NULL,
    reason      text,
    duration_ms bigint NOT NULL,
    attempts    bigint NOT NULL,
    facts       jsonb,
    detail      jsonb NOT NULL,
    PRIMARY KEY (run_id, position)
);
";

/// Schema 2: runs are written while they go (`state`) and may be shards of a batch.
const MIGRATE_2: &str = "
ALTER TABLE preflight_runs ADD COLUMN IF NOT EXISTS state text NOT NULL DEFAULT 'done';
ALTER TABLE preflight_runs ADD COLUMN IF NOT EXISTS batch text;
ALTER TABLE preflight_runs ADD COLUMN IF NOT EXISTS shard integer;
ALTER TABLE preflight_runs ADD COLUMN IF NOT EXISTS shards integer;
CREATE INDEX IF NOT EXISTS preflight_runs_by_batch ON preflight_runs (batch, id);
UPDATE preflight_meta SET value = '2' WHERE key = 'schema_version';
";

/// Advisory lock key for schema creation ("preflight" in ASCII, truncated).
const SCHEMA_LOCK: i64 = 0x7072_6566_6c69_6768;

/// An open PostgreSQL history.
pub(crate) struct PgStore {
    client: Client,
    shown: String,
    task: tokio::task::JoinHandle<()>,
    /// A version-1 store opened read-only: no state and batch columns.
    v1: bool,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn backend<'a>(
    action: &'static str,
    shown: &'a str,
) -> impl Fn(tokio_postgres::Error) -> HistoryError + 'a {
    move |e| HistoryError::Backend {
        action,
        store: shown.to_string(),
        detail: pg_message(&e),
    }
}

/// The server's message when there is one (tokio-postgres' Display says only "db error").
fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

/// How to secure the connection, from the URL's `sslmode` (libpq's meanings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tls {
    /// `sslmode=disable`: plain TCP.
    Disable,
    /// `prefer` (the default) or `require`: encrypted, certificate not checked.
    Unverified {
        /// `require`: fail when the server does not offer TLS.
        required: bool,
    },
    /// `verify-ca` / `verify-full` (or `require` with `sslrootcert`): the chain is
    /// checked against `sslrootcert` (or the Mozilla roots), and so is the host name.
    Verified {
        /// `sslrootcert`, a PEM file.
        ca: Option<String>,
    },
}

/// Splits `sslmode` and `sslrootcert` off a `postgres://` URL: tokio-postgres gets the
/// rest (with `sslmode=require` for the verified modes).
pub(crate) fn tls_of(dsn: &str) -> Result<(String, Tls), String> {
    let Some((base, query)) = dsn.split_once('?') else {
        return Ok((dsn.to_string(), Tls::Unverified { required: false }));
    };
    let mut mode = "prefer".to_string();
    let mut ca = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", v)) => mode = v.to_string(),
            Some(("sslrootcert", v)) => ca = Some(v.to_string()),
            _ => kept.push(pair.to_string()),
        }
    }
    let tls = match mode.as_str() {
        "disable" => Tls::Disable,
        "prefer" | "allow" => Tls::Unverified { required: false },
        "require" if ca.is_none() => Tls::Unverified { required: true },
        "require" | "verify-ca" | "verify-full" => Tls::Verified { ca },
        other => {
            return Err(format!(
                "unknown sslmode \"{other}\" (disable, prefer, require, verify-ca, verify-full)"
            ));
        }
    };
    let pg_mode = match &tls {
        Tls::Disable => "disable",
        Tls::Unverified { required: false } => "prefer",
        _ => "require",
    };
    kept.push(format!("sslmode={pg_mode}"));
    Ok((format!("{base}?{}", kept.join("&")), tls))
}

impl PgStore {
    pub(crate) async fn open(
        dsn: &str,
        mode: Mode,
        shown: String,
    ) -> Result<PgStore, HistoryError> {
        let setup = |detail: String| HistoryError::Backend {
            action: "connect to",
            store: shown.clone(),
            detail,
        };
        let (dsn, tls) = tls_of(dsn).map_err(setup)?;
        let config: tokio_postgres::Config = dsn
            .parse()
            .map_err(|e: tokio_postgres::Error| setup(e.to_string()))?;
        let rustls_config = match &tls {
            Tls::Disable => None,
            Tls::Unverified { .. } => {
                Some(preflight_client::tls_config(true, None).map_err(setup)?)
            }
            Tls::Verified { ca } => {
                Some(preflight_client::tls_config(false, ca.as_deref()).map_err(setup)?)
            }
        };
        let connect = async {
            match rustls_config {
                None => {
                    let (client, conn) = config.connect(NoTls).await?;
                    Ok::<_, tokio_postgres::Error>((
                        client,
                        tokio::spawn(async move {
                            let _ = conn.await;
                        }),
                    ))
                }
                Some(cfg) => {
                    let (client, conn) = config
                        .connect(tokio_postgres_rustls::MakeRustlsConnect::new(cfg))
                        .await?;
                    Ok((
                        client,
                        tokio::spawn(async move {
                            let _ = conn.await;
                        }),
                    ))
                }
            }
        };
        let (client, task) = match tokio::time::timeout(Duration::from_secs(15), connect).await {
            Err(_) => return Err(setup("timed out after 15s".into())),
            Ok(r) => r.map_err(backend("connect to", &shown))?,
        };
        let mut store = PgStore {
            client,
            shown,
            task,
            v1: false,
        };
        store.prepare(mode).await?;
        Ok(store)
    }

    async fn version(&self) -> Result<Option<i64>, HistoryError> {
        let exists = self
            .client
            .query_one("SELECT to_regclass('preflight_meta') IS NOT NULL", &[])
            .await
            .map_err(backend("read", &self.shown))?;
        if !exists.get::<_, bool>(0) {
            return Ok(None);
        }
        let row = self
            .client
            .query_opt(
                "SELECT value FROM preflight_meta WHERE key = 'schema_version'",
                &[],
            )
            .await
            .map_err(backend("read", &self.shown))?;
        let Some(row) = row else {
            return Err(HistoryError::Corrupt {
                store: self.shown.clone(),
                detail: "preflight_meta has no schema_version".into(),
            });
        };
        let text: String = row.get(0);
        let v = text.trim().parse().map_err(|_| HistoryError::Corrupt {
            store: self.shown.clone(),
            detail: format!("schema_version \"{text}\" is not a number"),
        })?;
        if v > SCHEMA_VERSION {
            return Err(HistoryError::NewerSchema {
                store: self.shown.clone(),
                found: v,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(Some(v))
    }

    async fn prepare(&mut self, mode: Mode) -> Result<(), HistoryError> {
        match (self.version().await?, mode) {
            (Some(v), _) if v >= SCHEMA_VERSION => return Ok(()),
            (Some(_), Mode::ReadOnly) => {
                self.v1 = true;
                return Ok(());
            }
            (None, Mode::ReadOnly) => {
                return Err(HistoryError::Missing {
                    store: self.shown.clone(),
                });
            }
            _ => {}
        }
        let shown = self.shown.clone();
        let err = backend("create the schema of", &shown);
        let tx = self.client.transaction().await.map_err(&err)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .await
            .map_err(&err)?;
        tx.batch_execute(SCHEMA).await.map_err(&err)?;
        tx.execute(
            "INSERT INTO preflight_meta (key, value) VALUES ('schema_version', '1') ON CONFLICT (key) DO NOTHING",
            &[],
        )
        .await
        .map_err(&err)?;
        let v: String = tx
            .query_one(
                "SELECT value FROM preflight_meta WHERE key = 'schema_version'",
                &[],
            )
            .await
            .map_err(&err)?
            .get(0);
        if v.trim() == "1" {
            tx.batch_execute(MIGRATE_2).await.map_err(&err)?;
        }
        tx.commit().await.map_err(&err)?;
        self.version().await.map(|_| ())
    }

    /// Records a whole run in one transaction.
    pub(crate) async fn record(&mut self, run: &RunRow) -> Result<i64, HistoryError> {
        let shown = self.shown.clone();
        let err = backend("record the run in", &shown);
        let tx = self.client.transaction().await.map_err(&err)?;
        let id = insert_run(&tx, run, DONE).await.map_err(&err)?;
        insert_items(&tx, id, &run.items).await.map_err(&err)?;
        tx.commit().await.map_err(&err)?;
        Ok(id)
    }

    /// Starts a streamed run: its row, marked running.
    pub(crate) async fn begin(&mut self, run: &RunRow) -> Result<i64, HistoryError> {
        let shown = self.shown.clone();
        let err = backend("record the run in", &shown);
        let tx = self.client.transaction().await.map_err(&err)?;
        let id = insert_run(&tx, run, RUNNING).await.map_err(&err)?;
        tx.commit().await.map_err(&err)?;
        Ok(id)
    }

    /// Adds items to a streamed run.
    pub(crate) async fn append(&mut self, id: i64, items: &[ItemRow]) -> Result<(), HistoryError> {
        let shown = self.shown.clone();
        let err = backend("record the run in", &shown);
        let tx = self.client.transaction().await.map_err(&err)?;
        insert_items(&tx, id, items).await.map_err(&err)?;
        tx.commit().await.map_err(&err)
    }

    /// Ends a streamed run.
    pub(crate) async fn finish(&mut self, id: i64, run: &RunRow) -> Result<(), HistoryError> {
        let shown = self.shown.clone();
        self.client
            .execute(
                "UPDATE preflight_runs SET verdict = $2, score = $3, duration_ms = $4, header = $5, state = 'done' WHERE id = $1",
                &[&id, &run.verdict, &(run.score as i32), &run.duration_ms, &run.header],
            )
            .await
            .map_err(backend("record the run in", &shown))?;
        Ok(())
    }

    /// Removes a streamed run that did not end.
    pub(crate) async fn discard(&mut self, id: i64) -> Result<(), HistoryError> {
        let shown = self.shown.clone();
        let err = backend("record the run in", &shown);
        let tx = self.client.transaction().await.map_err(&err)?;
        tx.execute("DELETE FROM preflight_items WHERE run_id = $1", &[&id])
            .await
            .map_err(&err)?;
        tx.execute("DELETE FROM preflight_runs WHERE id = $1", &[&id])
            .await
            .map_err(&err)?;
        tx.commit().await.map_err(&err)
    }

    pub(crate) async fn runs(&self, f: &Filter) -> Result<Vec<RunSummary>, HistoryError> {
        let limit = f.limit.map(|l| l as i64);
        let sql = format!(
            "SELECT id, checklist_hash, header, state FROM (SELECT *{} FROM preflight_runs) AS r
             WHERE ($1::text IS NULL OR checklist = $1)
               AND ($2::text IS NULL OR environment = $2)
               AND ($3::text IS NULL OR phase = $3)
               AND ($4::int8 IS NULL OR id < $4)
               AND ($5::text IS NULL OR batch = $5)
               AND ($6 OR state = 'done')
             ORDER BY id DESC LIMIT $7",
            if self.v1 {
                ", 'done'::text AS state, NULL::text AS batch"
            } else {
                ""
            }
        );
        let rows = self
            .client
            .query(
                &sql,
                &[
                    &f.checklist,
                    &f.environment,
                    &f.phase,
                    &f.before,
                    &f.batch,
                    &f.include_running,
                    &limit,
                ],
            )
            .await
            .map_err(backend("read", &self.shown))?;
        Ok(rows
            .iter()
            .map(|r| {
                summary_from_header(
                    r.get(0),
                    r.get(1),
                    &r.get::<_, Value>(2),
                    &r.get::<_, String>(3),
                )
            })
            .collect())
    }

    pub(crate) async fn load(
        &self,
        id: i64,
        with_facts: bool,
    ) -> Result<Option<(Value, String, Vec<ItemRow>)>, HistoryError> {
        let err = backend("read", &self.shown);
        let Some(row) = self
            .client
            .query_opt(
                "SELECT header, checklist_hash FROM preflight_runs WHERE id = $1",
                &[&id],
            )
            .await
            .map_err(&err)?
        else {
            return Ok(None);
        };
        let header: Value = row.get(0);
        let hash: String = row.get(1);
        let rows = self
            .client
            .query(
                if with_facts {
                    "SELECT position, item_id, status, reason, duration_ms, attempts, facts, detail
                     FROM preflight_items WHERE run_id = $1 ORDER BY position"
                } else {
                    "SELECT position, item_id, status, reason, duration_ms, attempts, NULL::jsonb, detail
                     FROM preflight_items WHERE run_id = $1 ORDER BY position"
                },
                &[&id],
            )
            .await
            .map_err(&err)?;
        let items = rows
            .iter()
            .map(|r| ItemRow {
                position: i64::from(r.get::<_, i32>(0)),
                item_id: r.get(1),
                status: r.get(2),
                reason: r.get(3),
                duration_ms: r.get(4),
                attempts: r.get(5),
                facts: r.get(6),
                detail: r.get(7),
            })
            .collect();
        Ok(Some((header, hash, items)))
    }
}

async fn insert_run(
    tx: &tokio_postgres::Transaction<'_>,
    run: &RunRow,
    state: &str,
) -> Result<i64, tokio_postgres::Error> {
    let shard = run.shard.map(|s| s.0 as i32);
    let shards = run.shard.map(|s| s.1 as i32);
    let row = tx
        .query_one(
            "INSERT INTO preflight_runs (started_at, checklist, checklist_hash, environment, phase, verdict, score, duration_ms, header, state, batch, shard, shards)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
            &[
                &run.started_at,
                &run.checklist,
                &run.checklist_hash,
                &run.environment,
                &run.phase,
                &run.verdict,
                &(run.score as i32),
                &run.duration_ms,
                &run.header,
                &state,
                &run.batch,
                &shard,
                &shards,
            ],
        )
        .await?;
    Ok(row.get(0))
}

async fn insert_items(
    tx: &tokio_postgres::Transaction<'_>,
    id: i64,
    items: &[ItemRow],
) -> Result<(), tokio_postgres::Error> {
    let positions: Vec<i32> = items.iter().map(|i| i.position as i32).collect();
    let ids: Vec<&str> = items.iter().map(|i| i.item_id.as_str()).collect();
    let statuses: Vec<&str> = items.iter().map(|i| i.status.as_str()).collect();
    let reasons: Vec<Option<&str>> = items.iter().map(|i| i.reason.as_deref()).collect();
    let durations: Vec<i64> = items.iter().map(|i| i.duration_ms).collect();
    let attempts: Vec<i64> = items.iter().map(|i| i.attempts).collect();
    let facts: Vec<Option<&Value>> = items.iter().map(|i| i.facts.as_ref()).collect();
    let details: Vec<&Value> = items.iter().map(|i| &i.detail).collect();
    tx.execute(
        "INSERT INTO preflight_items (run_id, position, item_id, status, reason, duration_ms, attempts, facts, detail)
         SELECT $1, * FROM unnest($2::int4[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::int8[], $8::jsonb[], $9::jsonb[])",
        &[&id, &positions, &ids, &statuses, &reasons, &durations, &attempts, &facts, &details],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_and_sslrootcert_are_read_and_translated() {
        let (d, t) = tls_of("postgres://u:p@h/db").unwrap();
        assert_eq!(
            (d.as_str(), t),
            ("postgres://u:p@h/db", Tls::Unverified { required: false })
        );
        let (d, t) = tls_of("postgres://u:p@h/db?sslmode=disable&application_name=x").unwrap();
        assert_eq!(d, "postgres://u:p@h/db?application_name=x&sslmode=disable");
        assert_eq!(t, Tls::Disable);
        let (d, t) = tls_of("postgres://h/db?sslmode=verify-full&sslrootcert=/ca.pem").unwrap();
        assert_eq!(d, "postgres://h/db?sslmode=require");
        assert_eq!(
            t,
            Tls::Verified {
                ca: Some("/ca.pem".into())
            }
        );
        assert_eq!(
            tls_of("postgres://h/db?sslmode=require").unwrap().1,
            Tls::Unverified { required: true }
        );
        assert!(tls_of("postgres://h/db?sslmode=maybe").is_err());
    }
}
