//! The checklist file's tables as typed structs: where their key names, types,
//! defaults and docs come from. The loader validates each table against the schema
//! derived from these (with positions), then deserializes it; `preflight schema`
//! prints the same schema.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::Severity;
use crate::network::Trust;
use crate::notify::NotifyOn;
use crate::schema::shape::{ObjectShape, Shape};

/// A humantime duration written as text (`"250ms"`, `"5s"`, `"2m"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationText(pub Duration);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        crate::probe::parse_duration(&text)
            .map(DurationText)
            .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for DurationText {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "duration",
            "description": "A duration such as \"250ms\", \"5s\" or \"2m\".",
            "pattern": "^\\s*[0-9]"
        })
    }
}

/// `expect`: one expression or a list of them.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ExpectList {
    /// One expression.
    One(String),
    /// Several; all must hold.
    Many(Vec<String>),
}

/// `[checklist]`: the run's settings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsTable {
    /// Display name in reports (default: the file name without extension).
    pub name: Option<String>,
    /// % of scored items that must pass for GO.
    #[serde(default = "default_pass_score")]
    #[schemars(range(min = 0, max = 100))]
    pub pass_score: u8,
    /// Default per-attempt timeout of every item.
    #[serde(default = "default_timeout")]
    #[schemars(extend("default" = "10s"))]
    pub timeout: DurationText,
    /// Items in flight at once.
    #[serde(default = "default_concurrency")]
    #[schemars(range(min = 1, max = 100000))]
    pub concurrency: usize,
    /// Attempts in flight to one host.
    #[serde(default = "default_per_host")]
    #[schemars(range(min = 1, max = 100000))]
    pub per_host: usize,
    /// Proxy for every HTTP-based item and the notifications: an `http://` or
    /// `https://` URL (`user:password@` allowed, always masked), or `"none"` to ignore
    /// `HTTPS_PROXY` / `HTTP_PROXY`. Default: those variables, with `NO_PROXY`.
    pub proxy: Option<String>,
    /// PEM file of CA certificates every TLS-speaking item trusts besides the roots of
    /// `trust` (an item's own `ca` replaces both); relative to the working directory.
    pub ca: Option<String>,
    /// Roots that verify servers when an item has no `ca`: `webpki` (the Mozilla
    /// roots, default), `system` (the platform store, or `SSL_CERT_FILE` /
    /// `SSL_CERT_DIR`) or `both`.
    #[serde(default)]
    pub trust: Trust,
}

fn default_pass_score() -> u8 {
    100
}
fn default_timeout() -> DurationText {
    DurationText(Duration::from_secs(10))
}
fn default_concurrency() -> usize {
    64
}
fn default_per_host() -> usize {
    8
}

impl Default for SettingsTable {
    fn default() -> Self {
        SettingsTable {
            name: None,
            pass_score: default_pass_score(),
            timeout: default_timeout(),
            concurrency: default_concurrency(),
            per_host: default_per_host(),
            proxy: None,
            ca: None,
            trust: Trust::default(),
        }
    }
}

/// `[environments.NAME]`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentTable {
    /// Variables that override `[vars]` with `--env NAME`.
    #[serde(default)]
    pub vars: BTreeMap<String, Value>,
}

/// The keys every `[[item]]` accepts, whatever its probe.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemTable {
    /// Unique, stable id: `--only`, history and diff use it.
    pub id: String,
    /// What a person reads (default: the id).
    pub title: Option<String>,
    /// Report grouping.
    #[serde(default)]
    pub section: String,
    /// Phases the item belongs to (default: every phase).
    pub phases: Option<Vec<String>>,
    /// Free tags for `--tag`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Weight in the verdict: critical must pass for GO; advisory is never scored.
    #[serde(default)]
    pub severity: Severity,
    /// Ids that must pass before this runs; it is skipped when one does not.
    #[serde(default)]
    pub needs: Vec<String>,
    /// Who owns the item, shown in reports.
    pub owner: Option<String>,
    /// The probe that checks it.
    pub probe: Option<String>,
    /// CEL expressions over the probe's facts; all must hold (default: the probe's).
    pub expect: Option<ExpectList>,
    /// Per-attempt timeout (default: `[checklist] timeout`).
    pub timeout: Option<DurationText>,
    /// Extra attempts on fail/error, with backoff.
    #[serde(default)]
    #[schemars(range(min = 0, max = 10))]
    pub retries: u32,
    /// Retry until it passes or this much time has passed.
    pub within: Option<DurationText>,
    /// Must pass at every sample for this whole window (with `every`).
    pub hold: Option<DurationText>,
    /// Sampling interval of `hold`.
    pub every: Option<DurationText>,
    /// No probe: done only when a person attests it.
    #[serde(default)]
    pub manual: bool,
    /// Values to keep when the item passes, `name = "CEL over its facts"` (e.g.
    /// `token = "json.access_token"`); an item that `needs` this one reads them as
    /// `${captures.ID.name}` in its options. Secrets unless listed in `public`.
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
    /// Captured names that are not secrets: shown as they are in reports.
    #[serde(default)]
    pub public: Vec<String>,
    /// Makes the item a template: one item per row, with id `ID[key]`. Rows come from
    /// a list (`["a.example", "b.example"]`, or tables `[{ old = "/a", new = "/b" }]`),
    /// a file beside the checklist (`"domains.txt"`: one value per line), or a table
    /// (`{ file = "urls.csv", key = "old" }`: a CSV whose header names the columns).
    /// Option strings, `title` and `expect` read the row as `${row.COLUMN}`
    /// (`${row.value}` for one value per row); expressions also read `vars.row.COLUMN`.
    pub for_each: Option<ForEach>,
}

/// `for_each`: where a template's rows come from.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ForEach {
    /// A file beside the checklist: `.csv` is read as CSV, anything else as one value
    /// per line.
    File(String),
    /// Rows written inline: strings (the column `value`) or tables (their keys are
    /// the columns).
    List(Vec<RowText>),
    /// A file, with the key column and format spelled out.
    Table(ForEachTable),
}

/// One inline row: a value, or a table of columns.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RowText {
    /// One value (the column `value`).
    Value(String),
    /// Columns and their values.
    Columns(BTreeMap<String, Value>),
}

/// `for_each = { file = "…", key = "…", format = "…" }`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForEachTable {
    /// The data file, relative to the checklist's folder.
    pub file: String,
    /// The column whose value goes in each item's id (default: the first column).
    pub key: Option<String>,
    /// `csv` (a header row, then one row per line) or `lines` (one value per line;
    /// blank lines and lines starting with `#` are skipped). Default: `csv` for a
    /// `.csv` file, else `lines`.
    pub format: Option<DataFormat>,
    /// With `--shard`, spread the rows over the shards (each by its own id) instead
    /// of keeping the template in one shard; `per_host` then holds per shard.
    #[serde(default)]
    pub spread: bool,
}

/// How a `for_each` file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DataFormat {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// One value per line.
    Lines,
}

/// Every key an item accepts besides its probe's options.
pub fn item_keys() -> Vec<&'static str> {
    shapes()
        .item
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect()
}

/// Keys a manual item cannot have.
pub const PROBE_ONLY_KEYS: &[&str] = &["probe", "expect", "capture", "public"];

/// `[notify]`: where to send a run's outcome, and when.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyTable {
    /// Slack-compatible incoming-webhook URL (usually `${env:…}`).
    pub webhook: Option<String>,
    /// Generic JSON webhook URL.
    pub json_webhook: Option<String>,
    /// When to send: change, failure or always.
    #[serde(default)]
    pub on: NotifyOn,
    /// A link shown with the message (a dashboard or CI URL).
    pub link: Option<String>,
}

/// A whole checklist file. `item` entries are checked against the item keys plus
/// their probe's options, so this struct lists them as [`ItemTable`] only.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecklistFile {
    /// Settings of the run.
    #[serde(default)]
    pub checklist: SettingsTable,
    /// Variables, referenced as `${name}` in option strings and `vars.name` in expectations.
    #[serde(default)]
    pub vars: BTreeMap<String, Value>,
    /// Named environments whose vars override `[vars]` with `--env NAME`.
    #[serde(default)]
    pub environments: BTreeMap<String, EnvironmentTable>,
    /// The checklist's items, in order.
    #[serde(default)]
    pub item: Vec<ItemTable>,
    /// Notifications.
    pub notify: Option<NotifyTable>,
}

/// The tables' shapes, compiled once from the schemas above.
pub(crate) struct TableShapes {
    /// The whole file (top-level keys).
    pub file: ObjectShape,
    /// `[checklist]`.
    pub settings: ObjectShape,
    /// `[environments.NAME]`.
    pub environment: ObjectShape,
    /// The keys of every item.
    pub item: ObjectShape,
    /// The keys of a manual item.
    pub manual_item: ObjectShape,
    /// `[notify]`.
    pub notify: ObjectShape,
}

fn object_of<T: JsonSchema>() -> ObjectShape {
    match Shape::compile(&schemars::schema_for!(T).to_value()) {
        Shape::Object(o) => o,
        _ => ObjectShape::default(),
    }
}

/// The compiled table shapes.
pub(crate) fn shapes() -> &'static TableShapes {
    static SHAPES: OnceLock<TableShapes> = OnceLock::new();
    SHAPES.get_or_init(|| {
        let item = object_of::<ItemTable>();
        let mut manual_item = item.clone();
        manual_item
            .fields
            .retain(|f| !PROBE_ONLY_KEYS.contains(&f.name.as_str()));
        TableShapes {
            file: object_of::<ChecklistFile>(),
            settings: object_of::<SettingsTable>(),
            environment: object_of::<EnvironmentTable>(),
            item,
            manual_item,
            notify: object_of::<NotifyTable>(),
        }
    })
}

/// The keys of an item of a probe whose options are `options`: the item keys, then
/// the probe's.
pub(crate) fn probe_item_shape(options: &ObjectShape) -> ObjectShape {
    let mut shape = shapes().item.clone();
    let extra: Vec<_> = options
        .fields
        .iter()
        .filter(|f| shape.field(&f.name).is_none())
        .cloned()
        .collect();
    shape.fields.extend(extra);
    shape.closed = true;
    shape
}
