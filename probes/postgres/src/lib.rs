//! The `postgres` probe: connection facts, one read-only query, migrations applied
//! against migration files, and required objects.
//!
//! Every session is read-only (`SET SESSION CHARACTERISTICS AS TRANSACTION READ
//! ONLY`), named `preflight`, and has a server-side `statement_timeout` derived from
//! the item's timeout. The user's SQL runs as exactly one statement through the
//! extended protocol inside `BEGIN READ ONLY … ROLLBACK`; a string with several
//! statements is rejected when the checklist loads. The probe observes; core judges.
//!
//! ```toml
//! [[item]]
//! id = "db.migrations"
//! probe = "postgres"
//! dsn = "${env:DATABASE_URL}"
//! migrations = { dir = "api/migrations", table = "_migrations" }
//!
//! [[item]]
//! id = "db.triggers"
//! probe = "postgres"
//! dsn = "${env:DATABASE_URL}"
//! require = { triggers = ["escrow_terminal_guard"] }
//! ```

mod connect;
pub mod dsn;
pub mod migrations;
pub mod require;
pub mod statement;
mod value;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use preflight_core::probe::{BoxFuture, OptionProblem, parse_options};
use preflight_core::{Facts, Failure, Observer, Options, Probe, ProbeDescriptor};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_postgres::types::ToSql;

use connect::{ConnectError, server_message};
use dsn::{Dsn, SslMode};
use migrations::MigrationsOptions;
use require::RequireOptions;

/// Rows of a query result kept in the `rows` fact; the rest are not read.
pub const MAX_ROWS: usize = 1000;
/// Statement timeout used when the item's timeout is unknown.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

static DESCRIPTOR: ProbeDescriptor = ProbeDescriptor {
    name: "postgres",
    options: &["dsn", "sslmode", "query", "migrations", "require"],
    facts: &[
        "connected",
        "latency_ms",
        "server_version",
        "ssl",
        "rows",
        "row",
        "value",
        "framework",
        "table",
        "applied",
        "files",
        "pending",
        "unknown",
        "failed",
        "latest",
        "missing",
        "disabled_triggers",
    ],
    secret_options: &[],
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PgOptions {
    dsn: String,
    #[serde(default)]
    sslmode: Option<String>,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    migrations: Option<MigrationsOptions>,
    #[serde(default)]
    require: Option<RequireOptions>,
}

/// The PostgreSQL probe.
#[derive(Debug, Default)]
pub struct PostgresProbe;

impl PostgresProbe {
    /// A new probe.
    pub fn new() -> PostgresProbe {
        PostgresProbe
    }
}

fn literal(s: &str) -> bool {
    !s.contains("${")
}

fn query_problem(sql: &str) -> Option<String> {
    if sql.trim().trim_end_matches(';').trim().is_empty() {
        return Some("the query is empty".into());
    }
    statement::extra_statement(sql).map(|rest| {
        let mut shown: String = rest.chars().take(40).collect();
        if shown.len() < rest.len() {
            shown.push('…');
        }
        format!(
            "the query holds more than one statement (then \"{shown}\"): write exactly one read-only statement"
        )
    })
}

impl Probe for PostgresProbe {
    fn descriptor(&self) -> &'static ProbeDescriptor {
        &DESCRIPTOR
    }

    fn check(&self, options: &Options) -> Vec<OptionProblem> {
        let opts: PgOptions = match parse_options(options) {
            Ok(o) => o,
            Err(p) => return vec![p],
        };
        let mut problems = Vec::new();
        let mut bad = |key: &str, message: String| problems.push(OptionProblem::at(key, message));
        if literal(&opts.dsn)
            && let Err(e) = Dsn::parse(&opts.dsn)
        {
            bad("dsn", e);
        }
        if let Some(m) = &opts.sslmode
            && literal(m)
            && let Err(e) = SslMode::parse(m)
        {
            bad("sslmode", e);
        }
        if let Some(q) = &opts.query
            && let Some(p) = query_problem(q)
        {
            bad("query", p);
        }
        if let Some(m) = &opts.migrations {
            if let Some(g) = &m.glob
                && literal(g)
                && let Err(e) = globset::Glob::new(g)
            {
                bad("migrations", format!("bad glob \"{g}\": {e}"));
            }
            if m.table.as_deref().is_some_and(|t| t.trim().is_empty()) {
                bad("migrations", "`table` is empty".into());
            }
        }
        if let Some(r) = &opts.require {
            if r.kinds().is_empty() {
                bad(
                    "require",
                    "name at least one of tables, triggers, indexes, roles, extensions".into(),
                );
            }
            let all = [&r.tables, &r.triggers, &r.indexes, &r.roles, &r.extensions];
            if all.iter().any(|v| v.iter().any(|n| n.trim().is_empty())) {
                bad("require", "a name is empty".into());
            }
        }
        problems
    }

    fn default_expect(&self, options: &Options) -> Vec<String> {
        let mut out = vec!["connected".to_string()];
        let Ok(opts) = parse_options::<PgOptions>(options) else {
            return out;
        };
        if opts.migrations.is_some() {
            out.push("pending.size() == 0 && failed.size() == 0".into());
        }
        if let Some(r) = &opts.require {
            for kind in r.kinds() {
                out.push(format!("missing.{kind}.size() == 0"));
            }
            if !r.triggers.is_empty() {
                out.push("disabled_triggers.size() == 0".into());
            }
        }
        out
    }

    fn secrets(&self, options: &Options) -> Vec<String> {
        match options.get("dsn") {
            Some(Value::String(dsn)) => dsn::secrets_of(dsn),
            _ => Vec::new(),
        }
    }

    fn prepare(&self, options: &Options) -> Result<Arc<dyn Observer>, String> {
        self.prepare_timed(options, DEFAULT_TIMEOUT)
    }

    fn prepare_timed(
        &self,
        options: &Options,
        timeout: Duration,
    ) -> Result<Arc<dyn Observer>, String> {
        let opts: PgOptions = parse_options(options).map_err(|p| p.message)?;
        let secrets = dsn::secrets_of(&opts.dsn);
        let scrub = |text: String| -> String {
            secrets
                .iter()
                .filter(|s| !s.is_empty())
                .fold(text, |t, s| t.replace(s.as_str(), "****"))
        };
        let dsn = Dsn::parse(&opts.dsn).map_err(|e| scrub(format!("bad dsn: {e}")))?;
        let mode = match &opts.sslmode {
            Some(m) => SslMode::parse(m)?,
            None => dsn.sslmode.unwrap_or(SslMode::Prefer),
        };
        if let Some(q) = &opts.query
            && let Some(p) = query_problem(q)
        {
            return Err(p);
        }
        let config = connect::pg_config(&dsn, mode, timeout).map_err(scrub)?;
        Ok(Arc::new(PgObserver {
            host: dsn.first_host(),
            config,
            mode,
            sslrootcert: dsn.sslrootcert.clone(),
            timeout,
            secrets,
            query: opts.query,
            migrations: opts.migrations,
            require: opts.require,
        }))
    }
}

struct PgObserver {
    host: String,
    config: tokio_postgres::Config,
    mode: SslMode,
    sslrootcert: Option<String>,
    timeout: Duration,
    secrets: Vec<String>,
    query: Option<String>,
    migrations: Option<MigrationsOptions>,
    require: Option<RequireOptions>,
}

/// Most of what is left of the attempt, so the server cancels before the runner does.
fn budget(deadline: Instant) -> Duration {
    let left = deadline.saturating_duration_since(Instant::now());
    (left * 9 / 10)
        .saturating_sub(Duration::from_millis(50))
        .max(Duration::from_millis(50))
}

impl PgObserver {
    fn scrub(&self, text: String) -> String {
        self.secrets
            .iter()
            .filter(|s| !s.is_empty())
            .fold(text, |t, s| t.replace(s.as_str(), "****"))
    }

    async fn run(&self) -> Result<Facts, Failure> {
        let t0 = Instant::now();
        let deadline = t0 + self.timeout;
        let mut session = connect::open(
            &self.config,
            self.mode,
            self.sslrootcert.as_deref(),
            budget(deadline),
        )
        .await
        .map_err(|e| match e {
            ConnectError::Target(m) => {
                Failure::Target(self.scrub(format!("failed to connect to {}: {m}", self.host)))
            }
            ConnectError::Setup(m) => Failure::Probe(self.scrub(m)),
        })?;
        let latency_ms = t0.elapsed().as_secs_f64() * 1000.0;
        let mut facts = Facts::new();
        facts.insert("connected".into(), json!(true));
        facts.insert(
            "latency_ms".into(),
            json!((latency_ms * 10.0).round() / 10.0),
        );
        let target = |what: &str, e: &tokio_postgres::Error| {
            Failure::Target(self.scrub(format!("failed to {what}: {}", server_message(e))))
        };
        let client = &mut session.client;

        let tx = client
            .build_transaction()
            .read_only(true)
            .start()
            .await
            .map_err(|e| target("begin a read-only transaction", &e))?;
        let row = tx
            .query_one(
                "SELECT current_setting('server_version'), coalesce((SELECT ssl FROM \
                 pg_catalog.pg_stat_ssl WHERE pid = pg_catalog.pg_backend_pid()), false)",
                &[],
            )
            .await
            .map_err(|e| target("read the server version", &e))?;
        facts.insert("server_version".into(), json!(row.get::<_, String>(0)));
        facts.insert("ssl".into(), json!(row.get::<_, bool>(1)));
        if let Some(m) = &self.migrations {
            let found = migrations::observe(&tx, m).await.map_err(|e| match e {
                migrations::ObserveError::Target(m) => Failure::Target(self.scrub(m)),
                migrations::ObserveError::Files(m) => Failure::Probe(self.scrub(m)),
            })?;
            facts.extend(found);
        }
        if let Some(r) = &self.require {
            let found = require::observe(&tx, r)
                .await
                .map_err(|m| Failure::Target(self.scrub(m)))?;
            facts.extend(found);
        }
        tx.rollback().await.map_err(|e| target("roll back", &e))?;

        if let Some(sql) = &self.query {
            let tx = client
                .build_transaction()
                .read_only(true)
                .start()
                .await
                .map_err(|e| target("begin a read-only transaction", &e))?;
            // Taking a snapshot first makes `SET TRANSACTION READ WRITE` impossible.
            let ms = budget(deadline).as_millis().max(1);
            tx.batch_execute(&format!("SELECT 1; SET LOCAL statement_timeout = {ms}"))
                .await
                .map_err(|e| target("prepare the query", &e))?;
            let mut stream = Box::pin(
                tx.query_raw(sql.as_str(), std::iter::empty::<&dyn ToSql>())
                    .await
                    .map_err(|e| target("run the query", &e))?,
            );
            let mut rows = Vec::new();
            while rows.len() < MAX_ROWS {
                match stream.try_next().await {
                    Ok(Some(row)) => rows.push(Value::Object(
                        value::row_to_json(&row).map_err(|m| Failure::Probe(self.scrub(m)))?,
                    )),
                    Ok(None) => break,
                    Err(e) => return Err(target("run the query", &e)),
                }
            }
            // Rows past MAX_ROWS are discarded with the stream, before the rollback.
            drop(stream);
            let first = rows.first().cloned().unwrap_or(Value::Null);
            let value = first
                .as_object()
                .and_then(|m| m.values().next().cloned())
                .unwrap_or(Value::Null);
            facts.insert("rows".into(), Value::Array(rows));
            facts.insert("row".into(), first);
            facts.insert("value".into(), value);
            // Any error here only means the session is gone; the rollback is implied.
            let _ = tx.rollback().await;
        }
        Ok(facts)
    }
}

impl Observer for PgObserver {
    fn host(&self) -> Option<String> {
        Some(self.host.clone())
    }

    fn observe(&self) -> BoxFuture<'_, Result<Facts, Failure>> {
        Box::pin(self.run())
    }
}
