//! Migrations applied (the tracking table) against migration files (a folder).

pub mod files;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use serde_json::{Map, Value, json};
use tokio_postgres::Transaction;

use files::{MigrationFile, version_cmp};

use crate::error::Error;

/// A migration tool, recognised by its tracking table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    /// Prisma Migrate: `_prisma_migrations`.
    Prisma,
    /// Flyway: `flyway_schema_history`.
    Flyway,
    /// sqlx: `_sqlx_migrations`.
    Sqlx,
    /// Diesel: `__diesel_schema_migrations`.
    Diesel,
    /// Rails (Active Record): `schema_migrations` with one row per version.
    Rails,
    /// golang-migrate: `schema_migrations` with `version` and `dirty`.
    GolangMigrate,
    /// Knex: `knex_migrations`.
    Knex,
    /// Django: `django_migrations`.
    Django,
    /// Alembic: `alembic_version` (the head revision).
    Alembic,
    /// Any other table: its rows are counted.
    Table,
}

/// Tracking tables looked for, in this order, when `table` is absent.
pub const KNOWN_TABLES: &[&str] = &[
    "_prisma_migrations",
    "flyway_schema_history",
    "_sqlx_migrations",
    "__diesel_schema_migrations",
    "schema_migrations",
    "knex_migrations",
    "django_migrations",
    "alembic_version",
];

impl Framework {
    /// The name reported in the `framework` fact.
    pub fn name(self) -> &'static str {
        match self {
            Framework::Prisma => "prisma",
            Framework::Flyway => "flyway",
            Framework::Sqlx => "sqlx",
            Framework::Diesel => "diesel",
            Framework::Rails => "rails",
            Framework::GolangMigrate => "golang-migrate",
            Framework::Knex => "knex",
            Framework::Django => "django",
            Framework::Alembic => "alembic",
            Framework::Table => "table",
        }
    }

    /// Files looked for under `dir` when `glob` is absent.
    pub fn default_glob(self) -> &'static str {
        match self {
            Framework::Prisma => "*/migration.sql",
            Framework::Flyway => "**/V*__*.sql",
            Framework::Sqlx | Framework::Table => "*.sql",
            Framework::Diesel => "*/up.sql",
            Framework::Rails => "*.rb",
            Framework::GolangMigrate => "*.up.sql",
            Framework::Knex => "*.{js,ts,cjs,mjs}",
            Framework::Django => "**/migrations/[0-9]*.py",
            Framework::Alembic => "*.py",
        }
    }

    /// The framework a tracking table belongs to (`schema_migrations` is decided by its
    /// columns later); any other name is a plain table.
    fn of_table(table: &str) -> Framework {
        let bare = table.rsplit('.').next().unwrap_or(table).trim_matches('"');
        match bare {
            "_prisma_migrations" => Framework::Prisma,
            "flyway_schema_history" => Framework::Flyway,
            "_sqlx_migrations" => Framework::Sqlx,
            "__diesel_schema_migrations" => Framework::Diesel,
            "schema_migrations" => Framework::Rails,
            "knex_migrations" => Framework::Knex,
            "django_migrations" => Framework::Django,
            "alembic_version" => Framework::Alembic,
            _ => Framework::Table,
        }
    }
}

/// The `migrations` option.
#[derive(Debug, Clone, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MigrationsOptions {
    /// Folder of migration files, relative to the working directory; without it only
    /// `failed` is checked.
    #[serde(default)]
    pub dir: Option<String>,
    /// Files under `dir` to compare (default: the framework's layout, e.g. `*.sql`).
    #[serde(default)]
    pub glob: Option<String>,
    /// Tracking table (default: the first known framework table that exists); a
    /// known name picks its framework, any other is counted or matched by name.
    #[serde(default)]
    pub table: Option<String>,
}

/// What the tracking table says.
#[derive(Debug, Default)]
struct Recorded {
    /// Applied keys, oldest first.
    applied: Vec<String>,
    /// Keys recorded as failed or dirty.
    failed: Vec<String>,
    /// Plain table without a name column: only a count.
    count_only: Option<i64>,
}

fn quote_ident(name: &str) -> String {
    name.split('.')
        .map(|p| format!("\"{}\"", p.trim_matches('"').replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

fn db_err(what: &str, e: &tokio_postgres::Error) -> Error {
    Error::server(format!("read {what}"), e)
}

async fn text_rows(
    tx: &Transaction<'_>,
    sql: &str,
    what: &str,
) -> Result<Vec<Vec<Option<String>>>, Error> {
    let rows = tx.query(sql, &[]).await.map_err(|e| db_err(what, &e))?;
    Ok(rows
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.get::<_, Option<String>>(i))
                .collect()
        })
        .collect())
}

async fn columns(tx: &Transaction<'_>, table: &str) -> Result<Vec<String>, Error> {
    let rows = tx
        .query(
            "SELECT attname::text FROM pg_attribute WHERE attrelid = to_regclass($1) \
             AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            &[&table],
        )
        .await
        .map_err(|e| db_err(&format!("the columns of {table}"), &e))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Finds the tracking table: `table` when given, else the first known one present.
async fn detect(tx: &Transaction<'_>, table: Option<&str>) -> Result<(Framework, String), Error> {
    let candidates: Vec<&str> = match table {
        Some(t) => vec![t],
        None => KNOWN_TABLES.to_vec(),
    };
    for t in &candidates {
        let row = tx
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[t])
            .await
            .map_err(|e| db_err(&format!("whether table {t} exists"), &e))?;
        if row.get::<_, bool>(0) {
            let mut fw = Framework::of_table(t);
            if fw == Framework::Rails && columns(tx, t).await?.iter().any(|c| c == "dirty") {
                fw = Framework::GolangMigrate;
            }
            return Ok((fw, t.to_string()));
        }
    }
    Err(match table {
        Some(t) => Error::NoMigrationsTable {
            table: t.to_string(),
        },
        None => Error::NoTrackingTable,
    })
}

async fn recorded(tx: &Transaction<'_>, fw: Framework, table: &str) -> Result<Recorded, Error> {
    let t = quote_ident(table);
    let what = format!("migrations table {table}");
    let mut rec = Recorded::default();
    let sql = match fw {
        Framework::Prisma => format!(
            "SELECT migration_name, CASE WHEN rolled_back_at IS NOT NULL THEN 'rolled_back' \
             WHEN finished_at IS NOT NULL THEN 'ok' ELSE 'failed' END FROM {t} ORDER BY started_at"
        ),
        Framework::Flyway => format!(
            "SELECT version, CASE WHEN success THEN 'ok' ELSE 'failed' END FROM {t} \
             WHERE version IS NOT NULL AND type <> 'SCHEMA' ORDER BY installed_rank"
        ),
        Framework::Sqlx => format!(
            "SELECT version::text, CASE WHEN success THEN 'ok' ELSE 'failed' END FROM {t} ORDER BY version"
        ),
        Framework::Diesel | Framework::Rails => {
            format!("SELECT version::text, 'ok' FROM {t} ORDER BY version")
        }
        Framework::GolangMigrate => {
            format!("SELECT version::text, CASE WHEN dirty THEN 'failed' ELSE 'ok' END FROM {t}")
        }
        Framework::Knex => format!("SELECT name, 'ok' FROM {t} ORDER BY id"),
        Framework::Django => format!("SELECT app || '.' || name, 'ok' FROM {t} ORDER BY id"),
        Framework::Alembic => format!("SELECT version_num, 'ok' FROM {t}"),
        Framework::Table => {
            let cols = columns(tx, table).await?;
            let name_col = ["name", "filename", "file_name", "migration", "version"]
                .into_iter()
                .find(|c| cols.iter().any(|x| x == c));
            match name_col {
                Some(c) => format!("SELECT {}::text, 'ok' FROM {t}", quote_ident(c)),
                None => {
                    let row = tx
                        .query_one(&format!("SELECT count(*) FROM {t}"), &[])
                        .await
                        .map_err(|e| db_err(&what, &e))?;
                    rec.count_only = Some(row.get(0));
                    return Ok(rec);
                }
            }
        }
    };
    for row in text_rows(tx, &sql, &what).await? {
        let (Some(Some(key)), Some(Some(state))) = (row.first(), row.get(1)) else {
            continue;
        };
        let key = match fw {
            Framework::Knex | Framework::Table => key
                .split_once('.')
                .map_or(key.as_str(), |(s, _)| s)
                .to_string(),
            _ => key.clone(),
        };
        match state.as_str() {
            "ok" => rec.applied.push(key),
            "failed" => rec.failed.push(key),
            _ => {}
        }
    }
    // A failed flyway/sqlx run that later succeeded is not failed any more.
    let applied: HashSet<&String> = rec.applied.iter().collect();
    rec.failed.retain(|k| !applied.contains(k));
    if fw == Framework::GolangMigrate {
        // The table holds only the current version; dirty means it failed half-way.
        rec.applied.extend(rec.failed.iter().cloned());
    }
    Ok(rec)
}

/// Observes the migrations facts: framework, table, applied, files, pending, unknown,
/// failed, latest. A missing tracking table is the target's failure; unreadable files
/// (bad `dir` or `glob`) the checker's.
pub async fn observe(
    tx: &Transaction<'_>,
    opts: &MigrationsOptions,
) -> Result<Map<String, Value>, Error> {
    let (fw, table) = detect(tx, opts.table.as_deref()).await?;
    let rec = recorded(tx, fw, &table).await?;
    let files = match &opts.dir {
        Some(dir) => files::scan(fw, Path::new(dir), opts.glob.as_deref())?,
        None => Vec::new(),
    };
    Ok(compare(fw, &table, &rec, &files))
}

fn compare(
    fw: Framework,
    table: &str,
    rec: &Recorded,
    files: &[MigrationFile],
) -> Map<String, Value> {
    let file_keys: HashSet<&str> = files.iter().map(|f| f.key.as_str()).collect();
    let failed: BTreeSet<&str> = rec.failed.iter().map(String::as_str).collect();
    let (applied_count, applied_set, latest): (usize, HashSet<String>, Value) =
        if let Some(n) = rec.count_only {
            let n = usize::try_from(n).unwrap_or(0);
            let done: HashSet<String> = files.iter().take(n).map(|f| f.key.clone()).collect();
            let latest = files
                .get(n.min(files.len()).wrapping_sub(1))
                .map_or(Value::Null, |f| json!(f.key));
            (n, done, latest)
        } else if fw == Framework::GolangMigrate || fw == Framework::Alembic {
            let done = ancestors(fw, &rec.applied, files);
            let latest = match rec.applied.as_slice() {
                [] => Value::Null,
                [one] => json!(one),
                many => json!(many.join(",")),
            };
            (done.len(), done, latest)
        } else {
            let latest = rec.applied.last().map_or(Value::Null, |k| json!(k));
            (
                rec.applied.len(),
                rec.applied.iter().cloned().collect(),
                latest,
            )
        };
    let pending: Vec<&str> = files
        .iter()
        .filter(|f| !applied_set.contains(&f.key) && !failed.contains(f.key.as_str()))
        .map(|f| f.name.as_str())
        .collect();
    // Django: only apps present in `dir` count (django's own apps have no files there).
    let django_apps: HashSet<&str> = files
        .iter()
        .filter_map(|f| f.key.split_once('.').map(|(a, _)| a))
        .collect();
    let mut unknown: Vec<&str> = if rec.count_only.is_some() {
        Vec::new()
    } else {
        rec.applied
            .iter()
            .map(String::as_str)
            .filter(|k| !file_keys.contains(k))
            .filter(|k| {
                fw != Framework::Django
                    || k.split_once('.')
                        .is_some_and(|(a, _)| django_apps.contains(a))
            })
            .collect()
    };
    if files.is_empty() {
        // Without files there is nothing to compare applied migrations with.
        unknown.clear();
    }
    unknown.sort_by(|a, b| version_cmp(a, b));
    unknown.dedup();
    let mut m = Map::new();
    m.insert("framework".into(), json!(fw.name()));
    m.insert("table".into(), json!(table));
    m.insert("applied".into(), json!(applied_count));
    m.insert("files".into(), json!(files.len()));
    m.insert("pending".into(), json!(pending));
    m.insert("unknown".into(), json!(unknown));
    m.insert("failed".into(), json!(failed));
    m.insert("latest".into(), latest);
    m
}

/// golang-migrate and alembic record only the head: applied = the head and everything
/// before it (by version for golang-migrate, by `down_revision` links for alembic).
fn ancestors(fw: Framework, heads: &[String], files: &[MigrationFile]) -> HashSet<String> {
    let mut done: HashSet<String> = heads.iter().cloned().collect();
    if fw == Framework::GolangMigrate {
        for h in heads {
            for f in files {
                if version_cmp(&f.key, h).is_le() {
                    done.insert(f.key.clone());
                }
            }
        }
        return done;
    }
    let parents: HashMap<&str, &Vec<String>> =
        files.iter().map(|f| (f.key.as_str(), &f.parents)).collect();
    let mut stack: Vec<String> = heads.to_vec();
    while let Some(rev) = stack.pop() {
        if let Some(ps) = parents.get(rev.as_str()) {
            for p in ps.iter() {
                if done.insert(p.clone()) {
                    stack.push(p.clone());
                }
            }
        }
    }
    // Parents named by files but absent from the folder are not applied migrations we know of.
    done.retain(|k| heads.contains(k) || parents.contains_key(k.as_str()));
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(key: &str) -> MigrationFile {
        MigrationFile {
            key: key.into(),
            name: format!("{key}.sql"),
            parents: vec![],
        }
    }

    fn rec(applied: &[&str], failed: &[&str]) -> Recorded {
        Recorded {
            applied: applied.iter().map(|s| s.to_string()).collect(),
            failed: failed.iter().map(|s| s.to_string()).collect(),
            count_only: None,
        }
    }

    #[test]
    fn pending_unknown_failed() {
        let m = compare(
            Framework::Sqlx,
            "_sqlx_migrations",
            &rec(&["1", "2", "9"], &["3"]),
            &[f("1"), f("2"), f("3"), f("4")],
        );
        assert_eq!(m["applied"], 3);
        assert_eq!(m["files"], 4);
        assert_eq!(m["pending"], json!(["4.sql"]));
        assert_eq!(m["unknown"], json!(["9"]));
        assert_eq!(m["failed"], json!(["3"]));
        assert_eq!(m["latest"], "9");
    }

    #[test]
    fn plain_count_table() {
        let r = Recorded {
            count_only: Some(2),
            ..Recorded::default()
        };
        let m = compare(
            Framework::Table,
            "_migrations",
            &r,
            &[f("001"), f("002"), f("003")],
        );
        assert_eq!(m["applied"], 2);
        assert_eq!(m["pending"], json!(["003.sql"]));
        assert_eq!(m["latest"], "002");
        let r = Recorded {
            count_only: Some(5),
            ..Recorded::default()
        };
        let m = compare(Framework::Table, "_migrations", &r, &[f("001")]);
        assert_eq!(m["pending"], json!([]));
    }

    #[test]
    fn golang_migrate_head() {
        let m = compare(
            Framework::GolangMigrate,
            "schema_migrations",
            &rec(&["2"], &[]),
            &[f("1"), f("2"), f("3")],
        );
        assert_eq!(m["applied"], 2);
        assert_eq!(m["pending"], json!(["3.sql"]));
        assert_eq!(m["latest"], "2");
    }

    #[test]
    fn alembic_head() {
        let mut files = vec![f("a1"), f("b2"), f("c3")];
        files[1].parents = vec!["a1".into()];
        files[2].parents = vec!["b2".into()];
        let m = compare(
            Framework::Alembic,
            "alembic_version",
            &rec(&["b2"], &[]),
            &files,
        );
        assert_eq!(m["applied"], 2);
        assert_eq!(m["pending"], json!(["c3.sql"]));
        let m = compare(
            Framework::Alembic,
            "alembic_version",
            &rec(&["zz"], &[]),
            &files,
        );
        assert_eq!(m["unknown"], json!(["zz"]));
    }

    #[test]
    fn table_names() {
        assert_eq!(
            Framework::of_table("public._prisma_migrations"),
            Framework::Prisma
        );
        assert_eq!(Framework::of_table("_migrations"), Framework::Table);
        assert_eq!(
            quote_ident("app.schema_versions"),
            "\"app\".\"schema_versions\""
        );
    }
}
