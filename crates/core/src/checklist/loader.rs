//! The loader's shared state: the problems found so far, the expression cache, the
//! known variables, and the checks every table uses (shape, placeholders).

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{LineIndex, Problem};
use crate::expect::Expectation;
use crate::names::suggest;
use crate::probe::Catalog;
use crate::schema::check::{Findings, check_table};
use crate::schema::shape::ObjectShape;
use crate::template;
use crate::tree::{Key, Node, NodeValue};

/// One `${captures.…}` in an item's option, checked once every item is known.
#[derive(Debug, Clone)]
pub(super) struct CaptureRead {
    /// What it reads.
    pub capture: template::CaptureRef,
    /// Where it is written.
    pub span: Range<usize>,
    /// The option it is in.
    pub field: String,
}

/// State of one load.
pub(super) struct Loader<'a> {
    pub lines: LineIndex,
    /// Each distinct expression is compiled once: checklists repeat `status == 200`.
    compiled: HashMap<String, Result<Expectation, String>>,
    pub catalog: &'a Catalog,
    pub problems: Vec<Problem>,
    pub known_vars: BTreeSet<String>,
    pub env_refs: BTreeSet<String>,
    /// `${captures.…}` read by the options being loaded, with where (see
    /// [`Loader::option_placeholders`]).
    pub capture_reads: Vec<CaptureRead>,
    /// Whether the strings being checked are item options (where captures may be read).
    in_options: bool,
    /// The columns of the `for_each` template being loaded (`${row.COLUMN}`).
    pub row_columns: Option<Vec<String>>,
    /// Problems in other files (`for_each` data files).
    pub foreign: Vec<crate::error::ProblemReport>,
}

impl<'a> Loader<'a> {
    pub fn new(text: &str, extra_vars: &[String], catalog: &'a Catalog) -> Loader<'a> {
        Loader {
            lines: LineIndex::new(text),
            compiled: HashMap::new(),
            catalog,
            problems: Vec::new(),
            known_vars: extra_vars.iter().cloned().collect(),
            env_refs: BTreeSet::new(),
            capture_reads: Vec::new(),
            in_options: false,
            row_columns: None,
            foreign: Vec::new(),
        }
    }

    pub fn compile(&mut self, src: &str) -> Result<Expectation, String> {
        self.compiled
            .entry(src.to_string())
            .or_insert_with(|| Expectation::compile(src))
            .clone()
    }

    pub fn problem(
        &mut self,
        span: Range<usize>,
        item: Option<&str>,
        field: Option<&str>,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        self.problems.push(Problem {
            span,
            item: item.map(str::to_string),
            field: field.map(str::to_string),
            message: message.into(),
            hint,
        });
    }

    /// Records a table's shape problems under `item`; returns the keys that had one.
    pub fn findings(&mut self, item: Option<&str>, f: Findings) -> Vec<String> {
        for mut p in f.problems {
            p.item = item.map(str::to_string);
            self.problems.push(p);
        }
        f.bad_keys
    }

    /// Checks `node` is a table of `shape`, then reads it as `T`, leaving out keys
    /// with problems (their defaults apply, so later checks still run).
    pub fn table<T: DeserializeOwned + Default>(
        &mut self,
        node: &Node,
        shape: &ObjectShape,
        place: &str,
        field: &str,
        hint: &str,
    ) -> T {
        let Some(entries) = node.as_table() else {
            self.problem(
                node.span.clone(),
                None,
                Some(field),
                "expected a table",
                Some(hint.to_string()),
            );
            return T::default();
        };
        let f = check_table(entries, shape, place, node.span.clone(), &[]);
        let bad = self.findings(None, f);
        read_table(entries, &bad).unwrap_or_default()
    }

    /// [`Loader::placeholders`] for an item's option: captures may be read there, and
    /// are recorded in `capture_reads`.
    pub fn option_placeholders(&mut self, item: Option<&str>, field: &str, node: &Node) {
        self.in_options = true;
        self.placeholders(item, field, node);
        self.in_options = false;
    }

    /// Checks placeholders in every string of a value; records env refs.
    pub fn placeholders(&mut self, item: Option<&str>, field: &str, node: &Node) {
        match &node.value {
            NodeValue::String(s) => match template::parse(s) {
                Err(e) => self.problem(
                    node.span.clone(),
                    item,
                    Some(field),
                    e,
                    Some("write ${name} or ${env:NAME}; $${ for a literal ${".into()),
                ),
                Ok(segs) => {
                    for seg in segs {
                        match seg {
                            template::Segment::Env(name) => {
                                self.env_refs.insert(name);
                            }
                            template::Segment::Capture(c) if self.in_options => {
                                self.capture_reads.push(CaptureRead {
                                    capture: c,
                                    span: node.span.clone(),
                                    field: field.to_string(),
                                });
                            }
                            template::Segment::Capture(c) => self.problem(
                                node.span.clone(),
                                item,
                                Some(field),
                                format!("`{c}` is read outside an item's options"),
                                Some(format!(
                                    "captures are read in the options of an item that needs \"{}\"; use a var or `${{env:…}}` here",
                                    c.item
                                )),
                            ),
                            template::Segment::Row(column) => self.row_placeholder(
                                item,
                                field,
                                node.span.clone(),
                                &column,
                            ),
                            template::Segment::Var(name) if !self.known_vars.contains(&name) => {
                                let mut hint =
                                    format!("define it under [vars] or pass --var {name}=…");
                                if let Some(s) =
                                    suggest(&name, self.known_vars.iter().map(String::as_str))
                                {
                                    hint = format!("did you mean ${{{s}}}? {hint}");
                                }
                                self.problem(
                                    node.span.clone(),
                                    item,
                                    Some(field),
                                    format!("unknown variable `${{{name}}}`"),
                                    Some(hint),
                                );
                            }
                            _ => {}
                        }
                    }
                }
            },
            NodeValue::Array(a) => a.iter().for_each(|n| self.placeholders(item, field, n)),
            NodeValue::Table(t) => t
                .iter()
                .for_each(|(_, n)| self.placeholders(item, field, n)),
            _ => {}
        }
    }
}

impl Loader<'_> {
    /// The `${row.…}` placeholders of a string that is otherwise not interpolated (a
    /// title): each must name a column.
    pub fn placeholders_of_row(&mut self, item: Option<&str>, field: &str, node: &Node) {
        let Some(s) = node.as_str() else { return };
        let mut rest = s;
        while let Some(pos) = rest.find("${row.") {
            let body = &rest[pos + 6..];
            let Some(end) = body.find('}') else { break };
            let column = body[..end].trim().to_string();
            self.row_placeholder(item, field, node.span.clone(), &column);
            rest = &body[end + 1..];
        }
    }

    /// `${row.COLUMN}`: only in a `for_each` item, naming one of its columns.
    pub fn row_placeholder(
        &mut self,
        item: Option<&str>,
        field: &str,
        span: Range<usize>,
        column: &str,
    ) {
        match &self.row_columns {
            None => self.problem(
                span,
                item,
                Some(field),
                format!("`${{row.{column}}}` is read outside a for_each item"),
                Some("add for_each to the item, or use a var".into()),
            ),
            Some(cols) if !cols.is_empty() && !cols.iter().any(|c| c == column) => {
                let mut hint = format!("columns: {}", cols.join(", "));
                if let Some(s) = suggest(column, cols.iter().map(String::as_str)) {
                    hint = format!("did you mean ${{row.{s}}}? {hint}");
                }
                self.problem(
                    span,
                    item,
                    Some(field),
                    format!("`${{row.{column}}}` names no column of the rows"),
                    Some(hint),
                );
            }
            Some(_) => {}
        }
    }
}

/// Reads a table's entries as `T`, leaving out `skip` keys.
pub(super) fn read_table<T: DeserializeOwned>(
    entries: &[(Key, Node)],
    skip: &[String],
) -> Option<T> {
    let map: serde_json::Map<String, Value> = entries
        .iter()
        .filter(|(k, _)| !skip.contains(&k.name))
        .map(|(k, v)| (k.name.clone(), v.to_json()))
        .collect();
    serde_json::from_value(Value::Object(map)).ok()
}

/// The byte span of line `line` (1-based), for problems with no better place.
pub(super) fn line_span(text: &str, line: usize) -> Range<usize> {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    start..start + 1
}
