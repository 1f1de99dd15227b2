//! The checklist model and its loader: TOML text → validated [`Checklist`].
//!
//! Validation collects every problem before returning, so one run of `preflight
//! check` shows them all; none of it touches the network. The loader is split by
//! construct: `settings` (`[checklist]`), `vars` (`[vars]`, `[environments]`),
//! `item` (one `[[item]]`), `options` (its probe options), `expectations`,
//! `captures` (`capture`, `public` and `${captures.…}` reads), `needs` (ids and the
//! `needs` graph) and `notify`; each table's keys come from the typed structs in
//! [`mod@file`].

mod captures;
mod expectations;
pub mod file;
pub mod foreach;
mod item;
mod loader;
mod needs;
mod notify;
mod options;
mod settings;
mod vars;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{InvalidChecklist, Problem};
use crate::expect::Expectation;
use crate::probe::{Catalog, Options};
use crate::tree::{Node, NodeValue};
use loader::Loader;

pub use crate::names::suggest;

/// How much an item weighs in the verdict.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
#[schemars(title = "severity")]
pub enum Severity {
    /// Must pass for GO.
    Critical,
    /// Counts toward the score.
    #[default]
    Normal,
    /// Reported, never scored.
    Advisory,
}

impl Severity {
    /// The spelling used in files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Normal => "normal",
            Severity::Advisory => "advisory",
        }
    }
}

/// What an item does: run a probe, or wait for a person.
#[derive(Debug, Clone)]
pub enum Check {
    /// Done only when attested by a person.
    Manual,
    /// Observed by a probe and judged by expectations.
    Probe {
        /// Probe name.
        probe: String,
        /// Options as written (placeholders unresolved).
        options: Options,
        /// Expectations (the probe's defaults when `expect` was absent).
        expect: Vec<Expectation>,
    },
}

/// A value an item keeps when it passes: `capture = { name = "CEL" }`.
#[derive(Debug, Clone)]
pub struct Capture {
    /// The name later items read it by: `${captures.ITEM.name}`.
    pub name: String,
    /// The expression over the item's facts (and vars).
    pub expr: Expectation,
    /// Listed in `public`: not a secret.
    pub public: bool,
}

/// One checklist line.
#[derive(Debug, Clone)]
pub struct Item {
    /// Unique, stable id.
    pub id: String,
    /// What a person reads.
    pub title: String,
    /// Report grouping.
    pub section: String,
    /// Phases the item belongs to; `None` means every phase.
    pub phases: Option<Vec<String>>,
    /// Free tags for selection.
    pub tags: Vec<String>,
    /// Weight in the verdict.
    pub severity: Severity,
    /// Ids that must pass before this runs.
    pub needs: Vec<String>,
    /// Free text shown in reports.
    pub owner: Option<String>,
    /// Per-attempt timeout; the checklist default when `None`.
    pub timeout: Option<Duration>,
    /// Extra attempts on fail/error.
    pub retries: u32,
    /// Retry until it passes or this elapses.
    pub within: Option<Duration>,
    /// Must pass at every sample for this window.
    pub hold: Option<Duration>,
    /// Sampling interval for `hold`.
    pub every: Option<Duration>,
    /// 1-based line of the item in the file.
    pub line: usize,
    /// Probe or manual (shared by the items of a template).
    pub check: Arc<Check>,
    /// What the item captures when it passes.
    pub capture: Vec<Capture>,
    /// The captures of other items its options read (`${captures.ITEM.NAME}`).
    pub reads_captures: Vec<crate::template::CaptureRef>,
    /// For an item made by a `for_each` template: its row (and through it, the
    /// template).
    pub row: Option<Arc<Row>>,
}

impl Item {
    /// The probe name, or `None` for manual items.
    pub fn probe(&self) -> Option<&str> {
        match &*self.check {
            Check::Probe { probe, .. } => Some(probe),
            Check::Manual => None,
        }
    }

    /// The id of the template that made the item, if one did.
    pub fn template(&self) -> Option<&str> {
        self.row.as_ref().map(|r| r.template.id.as_str())
    }
}

/// A `for_each` item: what the items it made share.
#[derive(Debug)]
pub struct Template {
    /// The id written on the `[[item]]`; each row's item is `ID[key]`.
    pub id: String,
    /// Column names, in order (`value` for one value per row).
    pub columns: Vec<String>,
    /// The column whose value is the key.
    pub key: usize,
    /// Where the rows came from: the data file as written, or `inline`.
    pub source: String,
    /// How many items it made.
    pub rows: usize,
    /// `spread = true`: `--shard` spreads its rows instead of keeping them together.
    pub spread: bool,
}

/// One row of a template: its values, in the template's column order.
#[derive(Debug)]
pub struct Row {
    /// The template.
    pub template: Arc<Template>,
    /// The values.
    pub values: Box<[String]>,
}

impl Row {
    /// The value of `column`.
    pub fn get(&self, column: &str) -> Option<&str> {
        let i = self.template.columns.iter().position(|c| c == column)?;
        self.values.get(i).map(String::as_str)
    }

    /// The key (the value in the item id).
    pub fn key(&self) -> &str {
        &self.values[self.template.key]
    }

    /// The row as `vars.row` reads it: column → text.
    pub fn json(&self) -> Value {
        Value::Object(
            self.template
                .columns
                .iter()
                .zip(self.values.iter())
                .map(|(c, v)| (c.clone(), Value::String(v.clone())))
                .collect(),
        )
    }
}

/// `[checklist]`'s network defaults as written (placeholders unresolved); the plan
/// resolves them into a [`crate::network::Network`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkSettings {
    /// `proxy`: a URL, `"none"`, or absent (the environment's variables).
    pub proxy: Option<String>,
    /// `ca`: a PEM file trusted besides the `trust` roots.
    pub ca: Option<String>,
    /// `trust`: which roots verify servers.
    pub trust: crate::network::Trust,
}

/// A validated checklist.
#[derive(Debug, Clone)]
pub struct Checklist {
    /// The file it was read from, as given.
    pub path: String,
    /// Display name.
    pub name: String,
    /// % of scored items that must pass for GO.
    pub pass_score: u8,
    /// Default per-item timeout.
    pub timeout: Duration,
    /// Items in flight at once.
    pub concurrency: usize,
    /// Requests in flight to one host.
    pub per_host: usize,
    /// `[vars]`, values as written.
    pub vars: BTreeMap<String, Value>,
    /// `[environments.NAME.vars]`.
    pub environments: BTreeMap<String, BTreeMap<String, Value>>,
    /// Items in file order (a template's items where it was written).
    pub items: Vec<Arc<Item>>,
    /// The `for_each` templates, in file order.
    pub templates: Vec<Arc<Template>>,
    /// Every `${env:NAME}` the file refers to.
    pub env_refs: BTreeSet<String>,
    /// `[notify]`: where to send the outcome, and when.
    pub notify: Option<crate::notify::Notify>,
    /// `[checklist] proxy`, `ca` and `trust`.
    pub network: NetworkSettings,
}

/// Whether item `i` is a later row of the template item `i - 1` comes from: its
/// template's problems were reported with the first row.
fn repeats_template(items: &[Item], i: usize) -> bool {
    i > 0 && items[i].template().is_some() && items[i].template() == items[i - 1].template()
}

/// Parses and validates checklist text. `extra_vars` are names given with `--var`.
pub fn parse(
    path: &str,
    text: &str,
    extra_vars: &[String],
    catalog: &Catalog,
) -> Result<Checklist, InvalidChecklist> {
    let root = match Node::parse(text) {
        Ok(r) => r,
        Err((msg, span)) => {
            let p = Problem {
                span,
                item: None,
                field: None,
                message: format!("TOML syntax error: {}", msg.trim()),
                hint: Some("fix the TOML syntax at this position".into()),
            };
            return Err(InvalidChecklist::new(path, text, vec![p]));
        }
    };
    let mut l = Loader::new(text, extra_vars, catalog);
    let top = root.as_table().unwrap_or(&[]);
    let get = |name: &str| top.iter().find(|(k, _)| k.name == name).map(|(_, v)| v);

    for (k, _) in top {
        if file::shapes().file.field(&k.name).is_none() {
            let p = crate::schema::check::unknown_key(
                k,
                &file::shapes().file,
                "a checklist file",
                None,
            );
            l.problems.push(p);
        }
    }

    // Variables first: placeholders elsewhere are checked against them.
    let (vars, environments) = vars::load(&mut l, get("vars"), get("environments"));
    let settings = settings::load(&mut l, get("checklist"), path);
    let notify = get("notify").and_then(|node| notify::load(&mut l, node));

    let mut items = Vec::new();
    let mut templates = Vec::new();
    let mut needs_spans = Vec::new();
    let mut capture_spans = Vec::new();
    let dir = std::path::Path::new(path)
        .parent()
        .unwrap_or(std::path::Path::new(""))
        .to_path_buf();
    match get("item") {
        Some(Node {
            value: NodeValue::Array(arr),
            ..
        }) => {
            for node in arr {
                let Some(loaded) = item::load(&mut l, node, &dir) else {
                    continue;
                };
                match loaded.rows {
                    None => {
                        items.push(loaded.item);
                        needs_spans.push(loaded.needs_span);
                        capture_spans.push(loaded.capture_spans);
                    }
                    Some(rows) => {
                        templates.push(rows.template.clone());
                        let base = Arc::new(loaded.item);
                        for values in rows.rows {
                            let row = Row {
                                template: rows.template.clone(),
                                values,
                            };
                            items.push(item::expand(&base, row));
                            needs_spans.push(loaded.needs_span.clone());
                            capture_spans.push(loaded.capture_spans.clone());
                        }
                    }
                }
            }
        }
        Some(node) => l.problem(
            node.span.clone(),
            None,
            Some("item"),
            "expected [[item]] tables",
            Some("write each item as [[item]] followed by its keys".into()),
        ),
        None => {}
    }
    needs::check(&mut l, text, &items, &needs_spans);
    captures::check_reads(&mut l, &items, &capture_spans);

    if !l.problems.is_empty() || !l.foreign.is_empty() {
        return Err(InvalidChecklist::new(path, text, l.problems).with(l.foreign));
    }
    let items = items.into_iter().map(Arc::new).collect();
    Ok(Checklist {
        path: path.to_string(),
        name: settings.name,
        pass_score: settings.pass_score,
        timeout: settings.timeout,
        concurrency: settings.concurrency,
        per_host: settings.per_host,
        vars,
        environments,
        items,
        templates,
        env_refs: l.env_refs,
        notify,
        network: settings.network,
    })
}

#[cfg(test)]
mod tests;
