//! Required objects: tables, triggers, indexes, roles and extensions, by name.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};
use tokio_postgres::Transaction;

use crate::error::Error;

/// The `require` option: names that must exist.
#[derive(Debug, Clone, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequireOptions {
    /// Tables (also views, materialized, partitioned and foreign tables): `schema.name`
    /// or a name visible on the search path.
    #[serde(default)]
    pub tables: Vec<String>,
    /// Triggers that must exist and be enabled: a trigger name (any table) or
    /// `table.trigger`.
    #[serde(default)]
    pub triggers: Vec<String>,
    /// Indexes: `schema.name` or a name visible on the search path.
    #[serde(default)]
    pub indexes: Vec<String>,
    /// Roles, by name.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Installed extensions, by name.
    #[serde(default)]
    pub extensions: Vec<String>,
}

/// The kinds of objects `require` names, in fact order.
pub const KINDS: [&str; 5] = ["tables", "triggers", "indexes", "roles", "extensions"];

impl RequireOptions {
    /// The kinds that name at least one object, in fact order.
    pub fn kinds(&self) -> Vec<&'static str> {
        [
            ("tables", &self.tables),
            ("triggers", &self.triggers),
            ("indexes", &self.indexes),
            ("roles", &self.roles),
            ("extensions", &self.extensions),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, _)| k)
        .collect()
    }
}

/// What the probe was doing when a catalog read fails.
const CATALOG: &str = "read the catalog";

fn bare(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// Relations of the given kinds: (schema, name, visible on the search path).
async fn relations(
    tx: &Transaction<'_>,
    names: &[String],
    kinds: &str,
) -> Result<Vec<(String, String, bool)>, Error> {
    let bare_names: Vec<&str> = names.iter().map(|n| bare(n)).collect();
    let rows = tx
        .query(
            &format!(
                "SELECT n.nspname::text, c.relname::text, pg_catalog.pg_table_is_visible(c.oid) \
                 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relname = ANY($1) AND c.relkind IN ({kinds})"
            ),
            &[&bare_names],
        )
        .await
        .map_err(|e| Error::server(CATALOG, &e))?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

fn missing_relations(names: &[String], found: &[(String, String, bool)]) -> Vec<String> {
    names
        .iter()
        .filter(|n| {
            !found
                .iter()
                .any(|(schema, rel, visible)| match n.split_once('.') {
                    Some((s, r)) => s == schema && r == rel,
                    None => *visible && n.as_str() == rel,
                })
        })
        .cloned()
        .collect()
}

async fn names_present(
    tx: &Transaction<'_>,
    sql: &str,
    names: &[String],
) -> Result<HashSet<String>, Error> {
    let rows = tx
        .query(sql, &[&names])
        .await
        .map_err(|e| Error::server(CATALOG, &e))?;
    Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
}

/// Observes `missing` {tables, triggers, indexes, roles, extensions} and
/// `disabled_triggers` (required triggers whose every instance has `tgenabled = 'D'`).
pub async fn observe(
    tx: &Transaction<'_>,
    req: &RequireOptions,
) -> Result<Map<String, Value>, Error> {
    let tables = if req.tables.is_empty() {
        Vec::new()
    } else {
        let found = relations(tx, &req.tables, "'r','p','v','m','f'").await?;
        missing_relations(&req.tables, &found)
    };
    let indexes = if req.indexes.is_empty() {
        Vec::new()
    } else {
        let found = relations(tx, &req.indexes, "'i','I'").await?;
        missing_relations(&req.indexes, &found)
    };
    let roles = if req.roles.is_empty() {
        Vec::new()
    } else {
        let have = names_present(
            tx,
            "SELECT rolname::text FROM pg_catalog.pg_roles WHERE rolname = ANY($1)",
            &req.roles,
        )
        .await?;
        req.roles
            .iter()
            .filter(|r| !have.contains(*r))
            .cloned()
            .collect()
    };
    let extensions = if req.extensions.is_empty() {
        Vec::new()
    } else {
        let have = names_present(
            tx,
            "SELECT extname::text FROM pg_catalog.pg_extension WHERE extname = ANY($1)",
            &req.extensions,
        )
        .await?;
        req.extensions
            .iter()
            .filter(|e| !have.contains(*e))
            .cloned()
            .collect()
    };
    let (mut triggers, mut disabled) = (Vec::new(), Vec::new());
    if !req.triggers.is_empty() {
        let bare_names: Vec<&str> = req.triggers.iter().map(|n| bare(n)).collect();
        let rows = tx
            .query(
                "SELECT t.tgname::text, c.relname::text, t.tgenabled::text \
                 FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid \
                 WHERE NOT t.tgisinternal AND t.tgname = ANY($1)",
                &[&bare_names],
            )
            .await
            .map_err(|e| Error::server(CATALOG, &e))?;
        let mut states: HashMap<&str, Vec<String>> = HashMap::new();
        for name in &req.triggers {
            let (table, trig) = match name.rsplit_once('.') {
                Some((t, g)) => (Some(bare(t)), g),
                None => (None, name.as_str()),
            };
            let entry = states.entry(name.as_str()).or_default();
            for r in &rows {
                let (tg, rel, enabled): (String, String, String) = (r.get(0), r.get(1), r.get(2));
                if tg == trig && table.is_none_or(|t| t == rel) {
                    entry.push(enabled);
                }
            }
        }
        for name in &req.triggers {
            match states.get(name.as_str()) {
                Some(s) if s.is_empty() => triggers.push(name.clone()),
                Some(s) if s.iter().all(|e| e == "D") => disabled.push(name.clone()),
                _ => {}
            }
        }
    }
    let mut out = Map::new();
    out.insert(
        "missing".into(),
        json!({
            "tables": tables,
            "triggers": triggers,
            "indexes": indexes,
            "roles": roles,
            "extensions": extensions,
        }),
    );
    out.insert("disabled_triggers".into(), json!(disabled));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relation_matching() {
        let found = vec![
            ("public".to_string(), "users".to_string(), true),
            ("audit".to_string(), "log".to_string(), false),
        ];
        let names: Vec<String> = ["users", "public.users", "log", "audit.log", "orders"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(missing_relations(&names, &found), ["log", "orders"]);
    }
}
