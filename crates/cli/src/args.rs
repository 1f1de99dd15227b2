//! Flags shared by several commands, declared once.

use std::time::Duration;

use clap::Args;

use crate::exit::CliError;

/// What shapes a plan: environment, selection, variables.
#[derive(Args, Clone, Default)]
pub struct PlanArgs {
    /// Environment whose `[environments.NAME.vars]` override `[vars]`.
    #[arg(long = "env", value_name = "NAME")]
    pub environment: Option<String>,
    /// Run only items whose phases include P.
    #[arg(long, value_name = "P")]
    pub phase: Option<String>,
    /// Run only items with this tag (repeat: any of them).
    #[arg(long = "tag", value_name = "T")]
    pub tags: Vec<String>,
    /// Run only this item id (repeat: any of them).
    #[arg(long = "only", value_name = "ID")]
    pub only: Vec<String>,
    /// Override a variable (repeatable).
    #[arg(long = "var", value_name = "K=V")]
    pub vars: Vec<String>,
}

/// Limits of a sweep that override the checklist's.
#[derive(Args, Clone, Default)]
pub struct LimitArgs {
    /// Items in flight at once (overrides the checklist's `concurrency`).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Default per-item timeout (overrides the checklist's `timeout`), e.g. 5s.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
}

impl LimitArgs {
    /// `--timeout` parsed.
    pub fn timeout(&self) -> Result<Option<Duration>, CliError> {
        self.timeout
            .as_deref()
            .map(|t| positive_duration("timeout", t))
            .transpose()
    }
}

/// Where the run history is.
#[derive(Args, Clone, Default)]
pub struct StoreArgs {
    /// History store: a SQLite file or postgres://… (default .preflight/history.db beside the checklist).
    #[arg(
        long,
        value_name = "PATH|URL",
        env = "PREFLIGHT_STORE",
        hide_env_values = true
    )]
    pub store: Option<String>,
}

/// Whether and where commands that run a checklist record it.
#[derive(Args, Clone, Default)]
pub struct RecordArgs {
    /// Do not record this run in history.
    #[arg(long)]
    pub no_history: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Sharding a run over several processes or machines, and tagging it.
#[derive(Args, Clone, Default)]
pub struct ShardArgs {
    /// Run share K of N of the items (1-based; by a stable hash of the id, a `needs`
    /// chain and a for_each template stay in one shard), e.g. 2/3.
    #[arg(long, value_name = "K/N", env = "PREFLIGHT_SHARD")]
    pub shard: Option<String>,
    /// Run share JOB_COMPLETION_INDEX + 1 of N (a Kubernetes Indexed Job's pod).
    #[arg(long, value_name = "N", conflicts_with = "shard")]
    pub shard_of: Option<u32>,
    /// Tag the run with a batch id: `preflight verdict --batch ID` merges the runs of a batch.
    #[arg(long, value_name = "ID", env = "PREFLIGHT_BATCH")]
    pub batch: Option<String>,
}

impl ShardArgs {
    /// `--shard K/N`, or the Indexed Job's share with `--shard-of N`.
    pub fn shard(&self) -> Result<Option<preflight_report::Shard>, CliError> {
        if let Some(n) = self.shard_of {
            let index = std::env::var("JOB_COMPLETION_INDEX").map_err(|_| {
                CliError::Usage(
                    "--shard-of needs JOB_COMPLETION_INDEX (set in the pods of a Kubernetes Indexed Job)"
                        .into(),
                )
            })?;
            let k: u32 = index.trim().parse().map_err(|_| {
                CliError::Usage(format!("JOB_COMPLETION_INDEX \"{index}\" is not a number"))
            })?;
            return format!("{}/{n}", k + 1)
                .parse()
                .map(Some)
                .map_err(CliError::Usage);
        }
        self.shard
            .as_deref()
            .map(|s| s.parse().map_err(CliError::Usage))
            .transpose()
    }
}

/// Comparing a run with a stored one.
#[derive(Args, Clone)]
pub struct BaselineArgs {
    /// After the report, print the diff against a stored run: phase:NAME (its last run), last, or a run id.
    #[arg(long, value_name = "SPEC")]
    pub baseline: Option<String>,
    /// Exit 1 when the diff against --baseline has a regression (pass → fail/error).
    #[arg(long, requires = "baseline")]
    pub fail_on_regression: bool,
    /// Latency growth that the diff reports: a percentage (50%) or a duration (200ms).
    #[arg(long, value_name = "THRESHOLD", default_value = "50%")]
    pub latency_threshold: String,
}

impl Default for BaselineArgs {
    fn default() -> Self {
        BaselineArgs {
            baseline: None,
            fail_on_regression: false,
            latency_threshold: "50%".into(),
        }
    }
}

/// A duration flag that must be longer than zero.
pub fn positive_duration(flag: &str, text: &str) -> Result<Duration, CliError> {
    preflight_core::probe::parse_duration(text)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            CliError::Usage(format!(
                "invalid --{flag} \"{text}\" (write e.g. 30s, 5m, 24h)"
            ))
        })
}
