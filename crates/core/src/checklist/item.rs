//! One `[[item]]`: its common keys, manual-or-probe, and the rules between keys.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use super::file::{ItemTable, PROBE_ONLY_KEYS, probe_item_shape, shapes};
use super::foreach::{self, Rows};
use super::loader::{CaptureRead, Loader, read_table};
use super::{Check, Item, Row, captures, expectations, options};
use crate::names::one_of;
use crate::schema::check::check_table;
use crate::template::CaptureRef;
use crate::tree::{Key, Node};

/// An item as loaded, with the spans of what is checked once every item is known.
pub(super) struct Loaded {
    pub item: Item,
    /// Where its `needs` is written.
    pub needs_span: Option<Range<usize>>,
    /// Where each `${captures.…}` its options read is written.
    pub capture_spans: Vec<CaptureRead>,
    /// For a `for_each` item: its rows (the item is their template).
    pub rows: Option<Rows>,
}

/// The item a template makes for one row: id `ID[key]`, `${row.…}` in the title
/// filled in, everything else shared.
pub(super) fn expand(base: &Arc<Item>, row: Row) -> Item {
    Item {
        id: format!("{}[{}]", base.id, row.key()),
        title: crate::template::fill_row(&base.title, &row),
        section: base.section.clone(),
        phases: base.phases.clone(),
        tags: base.tags.clone(),
        severity: base.severity,
        needs: base.needs.clone(),
        owner: base.owner.clone(),
        timeout: base.timeout,
        retries: base.retries,
        within: base.within,
        hold: base.hold,
        every: base.every,
        line: base.line,
        check: base.check.clone(),
        capture: Vec::new(),
        reads_captures: base.reads_captures.clone(),
        row: Some(Arc::new(row)),
    }
}

/// Loads one item; `None` when it has no usable id.
pub(super) fn load(l: &mut Loader<'_>, node: &Node, dir: &Path) -> Option<Loaded> {
    let line = l.lines.line(node.span.start);
    let Some(table) = node.as_table() else {
        l.problem(
            node.span.clone(),
            None,
            Some("item"),
            "expected a table",
            Some("write [[item]] followed by its keys".into()),
        );
        return None;
    };
    let entry = |name: &str| table.iter().find(|(k, _)| k.name == name);
    let id = entry("id")
        .and_then(|(_, v)| v.as_str())
        .map(str::to_string);
    let shown = id.clone().unwrap_or_else(|| format!("<line {line}>"));
    let it = Some(shown.as_str());
    let mut skip: Vec<&str> = Vec::new();
    match entry("id") {
        Some((_, v)) => check_id(l, it, v, id.as_deref()),
        None => {
            l.problem(
                node.span.start..node.span.start + 1,
                None,
                Some("id"),
                "item has no id",
                Some("add id = \"section.short-name\" (unique, stable)".into()),
            );
            skip.push("id");
        }
    }

    // Manual or probe decides which keys the item accepts.
    let manual = matches!(entry("manual").and_then(|(_, v)| v.as_bool()), Some(true));
    let probe_node = entry("probe");
    let probe = match (manual, probe_node) {
        (true, Some((_, v))) => {
            l.problem(
                v.span.clone(),
                it,
                Some("probe"),
                "a manual item has no probe",
                Some("remove `probe`, or remove `manual = true`".into()),
            );
            skip.push("probe");
            None
        }
        (false, None) => {
            l.problem(
                node.span.start..node.span.start + 1,
                it,
                None,
                "item has neither `probe` nor `manual = true`",
                Some(format!(
                    "add probe = \"…\" (one of: {}) or manual = true",
                    l.catalog.names().join(", ")
                )),
            );
            None
        }
        (true, None) => None,
        (false, Some((_, v))) => match v.as_str() {
            None => None, // the shape check reports the type
            Some(name) => match l.catalog.get(name) {
                Some(p) => Some(p.clone()),
                None => {
                    let e = one_of(name, l.catalog.names()).unwrap_err();
                    l.problem(
                        v.span.clone(),
                        it,
                        Some("probe"),
                        format!("unknown probe \"{name}\""),
                        Some(e.hint("known probes:")),
                    );
                    // Its options cannot be judged; only the common keys are.
                    skip.extend(
                        table
                            .iter()
                            .map(|(k, _)| k.name.as_str())
                            .filter(|k| shapes().item.field(k).is_none()),
                    );
                    None
                }
            },
        },
    };
    if manual && let Some((k, _)) = entry("expect") {
        l.problem(
            k.span.clone(),
            it,
            Some("expect"),
            "a manual item has no expectations",
            Some("remove `expect`, or give the item a probe".into()),
        );
        skip.push("expect");
    }

    let (shape, place) = match &probe {
        Some(p) => (
            probe_item_shape(p.options()),
            format!("a {} item", p.name()),
        ),
        None if manual || probe_node.is_none() => {
            (shapes().manual_item.clone(), "a manual item".to_string())
        }
        None => (shapes().item.clone(), "an item".to_string()),
    };
    let findings = check_table(table, &shape, &place, node.span.clone(), &skip);
    let mut bad = l.findings(it, findings);
    bad.extend(skip.iter().map(|s| s.to_string()));
    bad.extend(
        PROBE_ONLY_KEYS
            .iter()
            .filter(|_| manual)
            .map(|s| s.to_string()),
    );

    let common: Vec<(Key, Node)> = table
        .iter()
        .filter(|(k, _)| shapes().item.field(&k.name).is_some())
        .cloned()
        .collect();
    let keys: ItemTable = read_table(&common, &bad).unwrap_or_else(|| ItemTable {
        id: shown.clone(),
        ..empty_item()
    });
    rules(l, it, node, table, &keys);

    // A template's rows first: its options and expectations read their columns.
    let rows = match entry("for_each") {
        Some((_, v)) if !bad.iter().any(|b| b == "for_each") => {
            if let Some((ck, _)) = entry("capture") {
                l.problem(
                    ck.span.clone(),
                    it,
                    Some("capture"),
                    "a for_each item cannot capture",
                    Some("capture in an item of its own, which the template needs".into()),
                );
            }
            let rows = foreach::load(l, it, &shown, v, dir);
            if rows.is_none() {
                // Its other keys are still checked, against no columns.
                l.row_columns = Some(Vec::new());
            }
            rows
        }
        // A for_each with a problem: its columns are unknown, so `${row.…}` is not
        // judged.
        Some(_) => {
            l.row_columns = Some(Vec::new());
            None
        }
        None => None,
    };
    if let Some(r) = &rows {
        l.row_columns = Some(r.template.columns.clone());
    }

    let mut capture_spans = Vec::new();
    let mut capture = Vec::new();
    let check = match probe {
        Some(p) => {
            let (opts, reads) = options::load(l, it, &p, table, &bad);
            capture_spans = reads;
            let at = probe_span(probe_node, node);
            let expect = expectations::load(l, it, &p, entry("expect"), &opts, &at);
            capture = captures::load(l, it, &p, entry("capture"), entry("public"), &bad);
            Check::Probe {
                probe: p.name().to_string(),
                options: opts,
                expect,
            }
        }
        None => Check::Manual,
    };
    let mut reads_captures: Vec<CaptureRef> =
        capture_spans.iter().map(|r| r.capture.clone()).collect();
    reads_captures.sort();
    reads_captures.dedup();
    if let Some(title) = entry("title").filter(|_| !bad.iter().any(|b| b == "title")) {
        l.placeholders_of_row(it, "title", &title.1);
    }
    l.row_columns = None;
    let item = Item {
        id: shown.clone(),
        title: keys.title.unwrap_or_else(|| shown.clone()),
        section: keys.section,
        phases: keys.phases,
        tags: keys.tags,
        severity: keys.severity,
        needs: keys.needs,
        owner: keys.owner,
        timeout: keys.timeout.map(|d| d.0),
        retries: keys.retries,
        within: keys.within.map(|d| d.0),
        hold: keys.hold.map(|d| d.0),
        every: keys.every.map(|d| d.0),
        line,
        check: Arc::new(check),
        capture,
        reads_captures,
        row: None,
    };
    let needs_span = entry("needs").map(|(_, v)| v.span.clone());
    id.map(|_| Loaded {
        item,
        needs_span,
        capture_spans,
        rows,
    })
}

fn probe_span(probe: Option<&(Key, Node)>, item: &Node) -> Range<usize> {
    probe
        .map(|(_, v)| v.span.clone())
        .unwrap_or(item.span.start..item.span.start + 1)
}

fn empty_item() -> ItemTable {
    ItemTable {
        id: String::new(),
        title: None,
        section: String::new(),
        phases: None,
        tags: Vec::new(),
        severity: Default::default(),
        needs: Vec::new(),
        owner: None,
        probe: None,
        expect: None,
        timeout: None,
        retries: 0,
        within: None,
        hold: None,
        every: None,
        manual: false,
        capture: Default::default(),
        public: Vec::new(),
        for_each: None,
    }
}

/// Ids are non-empty and use a small alphabet: they end up in URLs and file names.
fn check_id(l: &mut Loader<'_>, it: Option<&str>, v: &Node, id: Option<&str>) {
    let Some(id) = id else { return };
    let ok = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '/'));
    if !ok {
        l.problem(
            v.span.clone(),
            it,
            Some("id"),
            "ids use letters, digits and . - _ : / only",
            Some("write e.g. id = \"smoke.health\"".into()),
        );
    }
}

/// `hold` needs `every` (and is shorter), and excludes `within`.
fn rules(
    l: &mut Loader<'_>,
    it: Option<&str>,
    node: &Node,
    table: &[(Key, Node)],
    keys: &ItemTable,
) {
    let key_span = |name: &str| {
        table
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(k, _)| k.span.clone())
            .unwrap_or(node.span.clone())
    };
    let value_span = |name: &str| {
        table
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(_, v)| v.span.clone())
            .unwrap_or(node.span.clone())
    };
    if keys.hold.is_some() != keys.every.is_some() {
        let span = table
            .iter()
            .find(|(k, _)| k.name == "hold" || k.name == "every")
            .map(|(k, _)| k.span.clone())
            .unwrap_or(node.span.clone());
        l.problem(
            span,
            it,
            Some("hold"),
            "`hold` and `every` go together",
            Some("write hold = \"15m\" and every = \"30s\"".into()),
        );
    }
    if keys.hold.is_some() && keys.within.is_some() {
        l.problem(
            key_span("within"),
            it,
            Some("within"),
            "`within` and `hold` exclude each other",
            Some(
                "keep one: within retries until a pass; hold requires a pass at every sample"
                    .into(),
            ),
        );
    }
    if let (Some(h), Some(e)) = (keys.hold, keys.every)
        && e.0 > h.0
    {
        l.problem(
            value_span("every"),
            it,
            Some("every"),
            "`every` is longer than `hold`",
            Some("sample more often than the window lasts".into()),
        );
    }
}
