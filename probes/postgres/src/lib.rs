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
mod error;
pub mod migrations;
pub mod require;
pub mod statement;
mod value;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use preflight_core::probe::{BoxFuture, Egress, OptionProblem};
use preflight_core::{Context, Fact, FactType, Facts, Failure, Observer, Options, Probe};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio_postgres::types::ToSql;

use dsn::{Dsn, SslMode};
use migrations::MigrationsOptions;
use require::RequireOptions;

pub use error::{Error, ServerError};

/// Rows of a query result kept in the `rows` fact; the rest are not read.
pub const MAX_ROWS: usize = 1000;

/// Options of a `postgres` item.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostgresOptions {
    /// Connection string: `postgres://user:password@host:port/db?sslmode=…` or libpq
    /// `host=… user=… password=… dbname=…`; usually `${env:DATABASE_URL}`.
    pub dsn: String,
    /// How TLS is used (default: the DSN's `sslmode`, else `prefer`).
    #[serde(default)]
    pub sslmode: Option<SslModeOption>,
    /// Exactly one read-only SQL statement, reported as `rows`, `row` and `value`.
    #[serde(default)]
    pub query: Option<String>,
    /// Compare the migrations applied with the migration files.
    #[serde(default)]
    pub migrations: Option<MigrationsOptions>,
    /// Objects that must exist, by kind.
    #[serde(default)]
    pub require: Option<RequireOptions>,
    /// PEM certificate (chain) presented when the server asks for one (`clientcert` in
    /// `pg_hba.conf`); needs `client_key`. Like libpq's `sslcert`.
    #[serde(default)]
    pub client_cert: Option<String>,
    /// PEM private key of `client_cert`; a secret: its path is masked in every report.
    /// Like libpq's `sslkey`.
    #[serde(default)]
    pub client_key: Option<String>,
}

/// The `sslmode` option, as in libpq.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(title = "sslmode")]
pub enum SslModeOption {
    /// Plain connection only.
    Disable,
    /// Read as `prefer`.
    Allow,
    /// TLS when the server offers it, else plain; the certificate is not checked.
    Prefer,
    /// TLS required; the certificate is checked only when the DSN has an `sslrootcert`.
    Require,
    /// TLS required; the chain is checked, the host name is not.
    VerifyCa,
    /// TLS required; the chain and the host name are checked.
    VerifyFull,
}

impl From<SslModeOption> for SslMode {
    fn from(o: SslModeOption) -> SslMode {
        match o {
            SslModeOption::Disable => SslMode::Disable,
            SslModeOption::Allow | SslModeOption::Prefer => SslMode::Prefer,
            SslModeOption::Require => SslMode::Require,
            SslModeOption::VerifyCa => SslMode::VerifyCa,
            SslModeOption::VerifyFull => SslMode::VerifyFull,
        }
    }
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

/// Whether `require` (as written) lists objects of `kind`: a non-empty list, or a
/// value that is not a list yet (a `${…}` to be interpolated).
fn requires(options: &Options, kind: &str) -> bool {
    match options.get("require").and_then(|r| r.get(kind)) {
        None => false,
        Some(Value::Array(names)) => !names.is_empty(),
        Some(_) => true,
    }
}

impl Probe for PostgresProbe {
    type Options = PostgresOptions;
    const NAME: &'static str = "postgres";
    const SUMMARY: &'static str = "Connects to PostgreSQL read-only: connection facts, optionally one query, migrations applied against migration files, and required objects.";
    const FACTS: &'static [Fact] = &[
        Fact::new("connected", FactType::Bool, "the session was opened"),
        Fact::new(
            "latency_ms",
            FactType::Number,
            "time to connect, TLS, authenticate and set up the session, in ms",
        ),
        Fact::new(
            "server_version",
            FactType::String,
            "the server's version (\"15.18 (Debian 15.18-0+deb12u1)\")",
        ),
        Fact::new(
            "ssl",
            FactType::Bool,
            "this session uses TLS (from pg_stat_ssl)",
        ),
        Fact::new(
            "rows",
            FactType::List,
            "the query's rows as maps column → value, at most 1000",
        )
        .when("with `query`"),
        Fact::new("row", FactType::Map, "the first row, null if none")
            .nullable()
            .when("with `query`"),
        Fact::new(
            "value",
            FactType::Any,
            "the first row's first column, null if none",
        )
        .nullable()
        .when("with `query`"),
        Fact::new(
            "framework",
            FactType::String,
            "migration tool detected: prisma, flyway, sqlx, diesel, rails, golang-migrate, knex, django, alembic or table",
        )
        .when("with `migrations`"),
        Fact::new("table", FactType::String, "the tracking table read")
            .when("with `migrations`"),
        Fact::new(
            "applied",
            FactType::Integer,
            "number of migrations applied",
        )
        .when("with `migrations`"),
        Fact::new(
            "files",
            FactType::Integer,
            "number of migration files under `dir`",
        )
        .when("with `migrations`"),
        Fact::new(
            "pending",
            FactType::List,
            "migration files not applied",
        )
        .when("with `migrations`"),
        Fact::new(
            "unknown",
            FactType::List,
            "migrations applied without a file",
        )
        .when("with `migrations`"),
        Fact::new(
            "failed",
            FactType::List,
            "migrations recorded as failed or dirty",
        )
        .when("with `migrations`"),
        Fact::new(
            "latest",
            FactType::String,
            "the newest applied migration, null if none",
        )
        .nullable()
        .when("with `migrations`"),
        Fact::new(
            "missing",
            FactType::Object,
            "{tables, triggers, indexes, roles, extensions}: required objects that do not exist",
        )
        .when("with `require`"),
        Fact::new(
            "disabled_triggers",
            FactType::List,
            "required triggers that exist but are disabled",
        )
        .when("with `require`"),
    ];
    const SECRET_OPTIONS: &'static [&'static str] = &["client_key"];
    const EXAMPLE: &'static str = r#"[[item]]
id = "db.ready"
title = "Migrations applied, invariant triggers active, plans seeded"
probe = "postgres"
dsn = "postgres://preflight_ro@127.0.0.1:5432/app"
sslmode = "require"
query = "SELECT count(*) FROM plans WHERE active"
migrations = { dir = "api/migrations", table = "_migrations" }
require = { tables = ["plans"], triggers = ["escrow_terminal_guard"] }
expect = ["connected", "value >= 3", "pending.size() == 0", "missing.triggers.size() == 0"]
"#;
    const DEFAULT_EXPECT_NOTE: &'static str = "`connected`; with `migrations` also `pending.size() == 0 && failed.size() == 0`; with `require` also `missing.KIND.size() == 0` for each kind listed and, with `triggers`, `disabled_triggers.size() == 0`.";

    fn default_expect(options: &Options) -> Vec<String> {
        let mut out = vec!["connected".to_string()];
        if options.contains_key("migrations") {
            out.push("pending.size() == 0 && failed.size() == 0".into());
        }
        for kind in require::KINDS {
            if requires(options, kind) {
                out.push(format!("missing.{kind}.size() == 0"));
            }
        }
        if requires(options, "triggers") {
            out.push("disabled_triggers.size() == 0".into());
        }
        out
    }

    fn validate(options: &PostgresOptions) -> Vec<OptionProblem> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, message: String| problems.push(OptionProblem::at(key, message));
        if options.client_cert.is_some() != options.client_key.is_some() {
            let key = if options.client_cert.is_some() {
                "client_cert"
            } else {
                "client_key"
            };
            bad(key, "give client_cert and client_key together".into());
        }
        match Dsn::parse(&options.dsn) {
            Err(e) => bad("dsn", e),
            Ok(d) if d.user.is_none() => bad("dsn", dsn::NO_USER.into()),
            Ok(_) => {}
        }
        if let Some(q) = &options.query
            && let Some(p) = query_problem(q)
        {
            bad("query", p);
        }
        if let Some(m) = &options.migrations {
            if let Some(g) = &m.glob
                && let Err(e) = globset::Glob::new(g)
            {
                bad("migrations", format!("bad glob \"{g}\": {e}"));
            }
            if m.table.as_deref().is_some_and(|t| t.trim().is_empty()) {
                bad("migrations", "`table` is empty".into());
            }
        }
        if let Some(r) = &options.require {
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

    /// Passwords of the DSN in every form (a libpq `password=` is not caught by the
    /// generic URL rules).
    fn secrets(options: &PostgresOptions) -> Vec<String> {
        dsn::secrets_of(&options.dsn)
    }

    fn egress(options: &PostgresOptions) -> Option<Egress> {
        let dsn = Dsn::parse(&options.dsn).ok()?;
        let mode = match options.sslmode {
            Some(m) => m.into(),
            None => dsn.sslmode.unwrap_or(SslMode::Prefer),
        };
        Some(Egress {
            tls: mode != SslMode::Disable,
            ca: dsn.sslrootcert.clone(),
            unverified: matches!(mode, SslMode::Prefer)
                || (mode == SslMode::Require && dsn.sslrootcert.is_none()),
            client_cert: options.client_cert.clone(),
            ..Egress::default()
        })
    }

    fn prepare(
        &self,
        options: PostgresOptions,
        context: &Context,
    ) -> Result<Arc<dyn Observer>, Failure> {
        let secrets = dsn::secrets_of(&options.dsn);
        let scrub = scrubber(&secrets);
        let dsn = Dsn::parse(&options.dsn).map_err(|e| Error::Dsn(e).scrubbed(&scrub))?;
        let mode = match options.sslmode {
            Some(m) => m.into(),
            None => dsn.sslmode.unwrap_or(SslMode::Prefer),
        };
        let timeout = context.timeout;
        let config = connect::pg_config(&dsn, mode, timeout).map_err(|e| e.scrubbed(&scrub))?;
        let extras = connect::TlsExtras {
            network: context.network.clone(),
            client: options.client_cert.zip(options.client_key),
        };
        Ok(Arc::new(PgObserver {
            host: dsn.first_host(),
            config,
            mode,
            extras,
            sslrootcert: dsn.sslrootcert.clone(),
            timeout,
            secrets: secrets.clone(),
            query: options.query,
            migrations: options.migrations,
            require: options.require,
        }))
    }
}

/// Replaces every secret in a text with `****`.
fn scrubber(secrets: &[String]) -> impl Fn(String) -> String + '_ {
    move |text: String| {
        secrets
            .iter()
            .filter(|s| !s.is_empty())
            .fold(text, |t, s| t.replace(s.as_str(), "****"))
    }
}

struct PgObserver {
    host: String,
    config: tokio_postgres::Config,
    mode: SslMode,
    extras: connect::TlsExtras,
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
    async fn run(&self) -> Result<Facts, Error> {
        let t0 = Instant::now();
        let deadline = t0 + self.timeout;
        let mut session = connect::open(
            &self.config,
            &self.host,
            self.mode,
            self.sslrootcert.as_deref(),
            &self.extras,
            budget(deadline),
        )
        .await?;
        let latency_ms = t0.elapsed().as_secs_f64() * 1000.0;
        let mut facts = Facts::new();
        facts.insert("connected".into(), json!(true));
        facts.insert(
            "latency_ms".into(),
            json!((latency_ms * 10.0).round() / 10.0),
        );
        let client = &mut session.client;

        let tx = client
            .build_transaction()
            .read_only(true)
            .start()
            .await
            .map_err(|e| Error::server("begin a read-only transaction", &e))?;
        let row = tx
            .query_one(
                "SELECT current_setting('server_version'), coalesce((SELECT ssl FROM \
                 pg_catalog.pg_stat_ssl WHERE pid = pg_catalog.pg_backend_pid()), false)",
                &[],
            )
            .await
            .map_err(|e| Error::server("read the server version", &e))?;
        facts.insert("server_version".into(), json!(row.get::<_, String>(0)));
        facts.insert("ssl".into(), json!(row.get::<_, bool>(1)));
        if let Some(m) = &self.migrations {
            facts.extend(migrations::observe(&tx, m).await?);
        }
        if let Some(r) = &self.require {
            facts.extend(require::observe(&tx, r).await?);
        }
        tx.rollback()
            .await
            .map_err(|e| Error::server("roll back", &e))?;

        if let Some(sql) = &self.query {
            let tx = client
                .build_transaction()
                .read_only(true)
                .start()
                .await
                .map_err(|e| Error::server("begin a read-only transaction", &e))?;
            // Taking a snapshot first makes `SET TRANSACTION READ WRITE` impossible.
            let ms = budget(deadline).as_millis().max(1);
            tx.batch_execute(&format!("SELECT 1; SET LOCAL statement_timeout = {ms}"))
                .await
                .map_err(|e| Error::server("prepare the query", &e))?;
            let mut stream = Box::pin(
                tx.query_raw(sql.as_str(), std::iter::empty::<&dyn ToSql>())
                    .await
                    .map_err(|e| Error::server("run the query", &e))?,
            );
            let mut rows = Vec::new();
            while rows.len() < MAX_ROWS {
                match stream.try_next().await {
                    Ok(Some(row)) => rows.push(Value::Object(value::row_to_json(&row)?)),
                    Ok(None) => break,
                    Err(e) => return Err(Error::server("run the query", &e)),
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
        Box::pin(async move {
            let scrub = scrubber(&self.secrets);
            self.run().await.map_err(|e| e.scrubbed(&scrub).into())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use preflight_core::AnyProbe;

    fn opts(v: Value) -> Options {
        serde_json::from_value(v).expect("object")
    }

    fn keys(problems: &[OptionProblem]) -> Vec<String> {
        problems.iter().filter_map(|p| p.key.clone()).collect()
    }

    const DSN: &str = "postgres://app@127.0.0.1/db";

    #[test]
    fn check_reports_bad_literal_options() {
        let p = PostgresProbe::new();
        let problems = p.check(&opts(json!({
            "dsn": "mysql://x",
            "query": " ; ",
            "migrations": {"glob": "[", "table": " "},
            "require": {"tables": [""]},
        })));
        assert_eq!(
            keys(&problems),
            ["dsn", "query", "migrations", "migrations", "require"],
            "{problems:?}"
        );
        // A DSN without a user is caught when the checklist loads, not at run time.
        let problems = p.check(&opts(json!({"dsn": "postgres://127.0.0.1/db"})));
        assert_eq!(keys(&problems), ["dsn"]);
        assert!(
            problems[0].message.contains("names no user"),
            "{problems:?}"
        );
        let problems = p.check(&opts(json!({"dsn": DSN, "require": {}})));
        assert!(problems[0].message.contains("name at least one of"));
    }

    #[test]
    fn options_are_typed_and_nested_tables_closed() {
        let p = PostgresProbe::new();
        for mode in [
            "disable",
            "allow",
            "prefer",
            "require",
            "verify-ca",
            "verify-full",
        ] {
            assert!(
                p.check(&opts(json!({"dsn": DSN, "sslmode": mode})))
                    .is_empty(),
                "{mode}"
            );
        }
        let problems = p.check(&opts(json!({"dsn": DSN, "sslmode": "verify_full"})));
        assert_eq!(keys(&problems), ["sslmode"]);
        let problems = p.check(&opts(
            json!({"dsn": DSN, "migrations": {"dir": "m", "tabel": "x"}}),
        ));
        assert_eq!(keys(&problems), ["migrations"], "{problems:?}");
        assert!(problems[0].message.contains("tabel"), "{problems:?}");
        let problems = p.check(&opts(json!({"dsn": DSN, "require": {"views": ["v"]}})));
        assert_eq!(keys(&problems), ["require"], "{problems:?}");
        let problems = p.check(&opts(json!({"dsn": DSN, "require": {"tables": "t"}})));
        assert_eq!(keys(&problems), ["require"], "{problems:?}");
        let problems = p.check(&opts(json!({"dsn": DSN, "querry": "SELECT 1"})));
        assert_eq!(keys(&problems), ["querry"], "{problems:?}");
        assert_eq!(SslMode::from(SslModeOption::Allow), SslMode::Prefer);
    }

    #[test]
    fn every_option_is_documented() {
        let schema = PostgresProbe::new().options_schema();
        let props = schema["properties"].as_object().expect("properties");
        assert_eq!(
            props.keys().collect::<Vec<_>>(),
            [
                "dsn",
                "sslmode",
                "query",
                "migrations",
                "require",
                "client_cert",
                "client_key"
            ]
        );
        let mut checked = 0;
        for (name, s) in props {
            assert!(s["description"].is_string(), "{name} has no doc: {s}");
            checked += 1;
        }
        for def in ["MigrationsOptions", "RequireOptions"] {
            let d = &schema["$defs"][def];
            assert_eq!(d["additionalProperties"], false, "{def}");
            for (name, s) in d["properties"].as_object().expect(def) {
                assert!(s["description"].is_string(), "{def}.{name} has no doc");
                checked += 1;
            }
        }
        assert_eq!(checked, 7 + 3 + 5);
        assert_eq!(schema["$defs"]["SslModeOption"]["title"], "sslmode");
    }

    #[test]
    fn default_expectations_follow_the_options_as_written() {
        let de = |v: Value| <PostgresProbe as Probe>::default_expect(&opts(v));
        assert_eq!(de(json!({"dsn": "${db}"})), ["connected"]);
        assert_eq!(
            de(json!({"dsn": "${db}", "migrations": {"dir": "${dir}"}})),
            ["connected", "pending.size() == 0 && failed.size() == 0"]
        );
        assert_eq!(
            de(json!({"dsn": "${db}", "sslmode": "${mode}", "require": {
                "tables": ["a"], "triggers": ["t"], "roles": [], "extensions": "${ext}"
            }})),
            [
                "connected",
                "missing.tables.size() == 0",
                "missing.triggers.size() == 0",
                "missing.extensions.size() == 0",
                "disabled_triggers.size() == 0"
            ]
        );
    }

    #[test]
    fn example_loads() {
        let catalog = preflight_core::Catalog::new(vec![Arc::new(PostgresProbe::new())]);
        let list =
            preflight_core::checklist::parse("example.toml", PostgresProbe::EXAMPLE, &[], &catalog)
                .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(list.items.len(), 1);
    }

    #[test]
    fn prepare_uses_the_item_timeout_and_keeps_passwords_out() {
        let p = PostgresProbe::new();
        let o = AnyProbe::prepare(
            &p,
            &opts(json!({"dsn": "postgres://u:pw@db.internal:6432/x"})),
            &Context::new(Duration::from_secs(3)),
        )
        .expect("prepare");
        assert_eq!(o.host().as_deref(), Some("db.internal:6432"));
        assert_eq!(
            p.secrets(&opts(json!({"dsn": "host=h user=u password=hunter22"}))),
            ["hunter22"]
        );
        let e = Error::Dsn("bad hunter22".into()).scrubbed(&scrubber(&["hunter22".into()]));
        assert_eq!(e.to_string(), "bad dsn: bad ****");
        assert_eq!(
            preflight_core::ProbeError::blame(&e),
            preflight_core::Blame::Checker
        );
    }
}
