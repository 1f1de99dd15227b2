//! The Postgres part of `preflight demo`: a throwaway cluster when PostgreSQL is
//! installed, its items from `config/demo-postgres.toml`, or a clear "skipped".

use crate::output::say;
use std::path::PathBuf;

use preflight_testbed::postgres::Cluster;

/// The Postgres demo checklist; its `[[item]]`s join the demo sweep.
pub const DEMO_POSTGRES: &str = include_str!("../../../config/demo-postgres.toml");

/// What the demo adds when the cluster is up, or why it skipped Postgres.
pub enum DemoPostgres {
    /// The cluster (stopped and removed on drop) and `--var` pairs pointing at it.
    Up(Cluster, Vec<String>),
    /// Why the Postgres items were left out.
    Skipped(String),
}

/// Starts a cluster and loads the demo database (about two seconds, off the async
/// threads); says on stderr whether Postgres items run or why they are skipped.
pub async fn start(dir: PathBuf) -> DemoPostgres {
    let pg = tokio::task::spawn_blocking(move || {
        let cluster = Cluster::start().map_err(|e| e.to_string())?;
        let vars = cluster.load_demo(&dir).map_err(|e| e.to_string())?;
        let vars = vars.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        Ok::<_, String>(DemoPostgres::Up(cluster, vars))
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r)
    .unwrap_or_else(DemoPostgres::Skipped);
    match &pg {
        DemoPostgres::Up(c, _) => say!(
            "postgres up: 127.0.0.1:{} (items of config/demo-postgres.toml)",
            c.port()
        ),
        DemoPostgres::Skipped(reason) => say!("postgres: skipped ({reason})"),
    }
    pg
}

impl DemoPostgres {
    /// `[[item]]` tables to append to the demo checklist (none when skipped).
    pub fn items(&self) -> &'static str {
        match self {
            DemoPostgres::Up(..) => DEMO_POSTGRES
                .find("\n[[item]]")
                .map_or("", |at| &DEMO_POSTGRES[at..]),
            DemoPostgres::Skipped(_) => "",
        }
    }

    /// `k=v` overrides for the plan.
    pub fn vars(&self) -> Vec<String> {
        match self {
            DemoPostgres::Up(_, vars) => vars.clone(),
            DemoPostgres::Skipped(_) => Vec::new(),
        }
    }

    /// A report note when the Postgres items were skipped.
    pub fn skipped(&self) -> Option<String> {
        match self {
            DemoPostgres::Up(..) => None,
            DemoPostgres::Skipped(reason) => Some(format!("postgres: skipped ({reason})")),
        }
    }
}
