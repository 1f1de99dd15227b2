//! The checklist model and its loader: TOML text → validated [`Checklist`].
//!
//! Validation collects every problem before returning, so one run of `preflight
//! check` shows them all; none of it touches the network.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::time::Duration;

use serde_json::Value;

use crate::error::{InvalidChecklist, Problem};
use crate::expect::Expectation;
use crate::probe::{Catalog, Options, parse_duration};
use crate::template;
use crate::tree::{Key, Node, NodeValue};

/// How much an item weighs in the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Must pass for GO.
    Critical,
    /// Counts toward the score.
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
    /// Probe or manual.
    pub check: Check,
}

impl Item {
    /// The probe name, or `None` for manual items.
    pub fn probe(&self) -> Option<&str> {
        match &self.check {
            Check::Probe { probe, .. } => Some(probe),
            Check::Manual => None,
        }
    }
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
    /// Items in file order.
    pub items: Vec<Item>,
    /// Every `${env:NAME}` the file refers to.
    pub env_refs: BTreeSet<String>,
    /// `[notify]`: where to send the outcome, and when.
    pub notify: Option<crate::notify::Notify>,
}

const TOP_KEYS: &[&str] = &["checklist", "vars", "environments", "item", "notify"];
const SETTINGS_KEYS: &[&str] = &["name", "pass_score", "timeout", "concurrency", "per_host"];
const ITEM_KEYS: &[&str] = &[
    "id", "title", "section", "phases", "tags", "severity", "needs", "probe", "expect", "timeout",
    "retries", "owner", "within", "hold", "every", "manual",
];

/// "did you mean" for a misspelt key or name.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

struct Loader<'a> {
    lines: crate::error::LineIndex,
    /// Each distinct expression is compiled once: checklists repeat `status == 200`.
    compiled: HashMap<String, Result<Expectation, String>>,
    catalog: &'a Catalog,
    problems: Vec<Problem>,
    known_vars: BTreeSet<String>,
    env_refs: BTreeSet<String>,
}

impl Loader<'_> {
    fn compile(&mut self, src: &str) -> Result<Expectation, String> {
        self.compiled
            .entry(src.to_string())
            .or_insert_with(|| Expectation::compile(src))
            .clone()
    }

    fn problem(
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

    fn unknown_key(&mut self, key: &Key, item: Option<&str>, allowed: &[&str], place: &str) {
        let hint = match suggest(&key.name, allowed.iter().copied()) {
            Some(s) => format!(
                "did you mean `{s}`? {place} accepts: {}",
                allowed.join(", ")
            ),
            None => format!("{place} accepts: {}", allowed.join(", ")),
        };
        self.problem(
            key.span.clone(),
            item,
            None,
            format!("unknown key `{}`", key.name),
            Some(hint),
        );
    }

    fn string(&mut self, item: Option<&str>, key: &Key, node: &Node) -> Option<String> {
        match &node.value {
            NodeValue::String(s) => Some(s.clone()),
            other => {
                self.problem(
                    node.span.clone(),
                    item,
                    Some(&key.name),
                    format!("expected a string, found {}", other.type_name()),
                    Some(format!("write {} = \"…\"", key.name)),
                );
                None
            }
        }
    }

    fn strings(&mut self, item: Option<&str>, key: &Key, node: &Node) -> Option<Vec<String>> {
        let NodeValue::Array(a) = &node.value else {
            self.problem(
                node.span.clone(),
                item,
                Some(&key.name),
                format!(
                    "expected an array of strings, found {}",
                    node.value.type_name()
                ),
                Some(format!("write {} = [\"…\", \"…\"]", key.name)),
            );
            return None;
        };
        let mut out = Vec::new();
        for el in a {
            out.push(self.string(item, key, el)?);
        }
        Some(out)
    }

    fn duration(&mut self, item: Option<&str>, key: &Key, node: &Node) -> Option<Duration> {
        let s = self.string(item, key, node)?;
        match parse_duration(&s) {
            Ok(d) if !d.is_zero() => Some(d),
            Ok(_) => {
                self.problem(
                    node.span.clone(),
                    item,
                    Some(&key.name),
                    "must be longer than zero",
                    None,
                );
                None
            }
            Err(e) => {
                self.problem(
                    node.span.clone(),
                    item,
                    Some(&key.name),
                    format!("invalid duration \"{s}\""),
                    Some(e),
                );
                None
            }
        }
    }

    fn integer(
        &mut self,
        item: Option<&str>,
        key: &Key,
        node: &Node,
        range: Range<i64>,
    ) -> Option<i64> {
        match node.value {
            NodeValue::Integer(i) if range.contains(&i) => Some(i),
            NodeValue::Integer(i) => {
                self.problem(
                    node.span.clone(),
                    item,
                    Some(&key.name),
                    format!("{i} is out of range"),
                    Some(format!(
                        "use a whole number from {} to {}",
                        range.start,
                        range.end - 1
                    )),
                );
                None
            }
            ref other => {
                self.problem(
                    node.span.clone(),
                    item,
                    Some(&key.name),
                    format!("expected an integer, found {}", other.type_name()),
                    Some(format!("write {} = {}", key.name, range.start.max(1))),
                );
                None
            }
        }
    }

    /// Checks placeholders in every string of a value; records env refs.
    fn placeholders(&mut self, item: Option<&str>, field: &str, node: &Node) {
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
                            template::Segment::Var(name) if !self.known_vars.contains(&name) => {
                                let known: Vec<&str> =
                                    self.known_vars.iter().map(String::as_str).collect();
                                let mut hint =
                                    format!("define it under [vars] or pass --var {name}=…");
                                if let Some(s) = suggest(&name, known.iter().copied()) {
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

fn vars_table(loader: &mut Loader<'_>, node: &Node, place: &str) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let Some(t) = node.as_table() else {
        loader.problem(
            node.span.clone(),
            None,
            Some(place),
            "expected a table",
            Some(format!(
                "write [{place}] followed by name = \"value\" lines"
            )),
        );
        return out;
    };
    for (k, v) in t {
        out.insert(k.name.clone(), v.to_json());
    }
    out
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
    let mut l = Loader {
        lines: crate::error::LineIndex::new(text),
        compiled: HashMap::new(),
        catalog,
        problems: Vec::new(),
        known_vars: extra_vars.iter().cloned().collect(),
        env_refs: BTreeSet::new(),
    };
    let top = root.as_table().unwrap_or(&[]);
    let get = |name: &str| top.iter().find(|(k, _)| k.name == name);

    // Variables first: placeholders elsewhere are checked against them.
    let mut vars = BTreeMap::new();
    if let Some((_, node)) = get("vars") {
        vars = vars_table(&mut l, node, "vars");
    }
    let mut environments = BTreeMap::new();
    if let Some((_, node)) = get("environments") {
        match node.as_table() {
            Some(envs) => {
                for (ek, ev) in envs {
                    let mut env_vars = BTreeMap::new();
                    match ev.as_table() {
                        Some(t) => {
                            for (k, v) in t {
                                if k.name == "vars" {
                                    env_vars = vars_table(
                                        &mut l,
                                        v,
                                        &format!("environments.{}.vars", ek.name),
                                    );
                                } else {
                                    l.unknown_key(
                                        k,
                                        None,
                                        &["vars"],
                                        &format!("[environments.{}]", ek.name),
                                    );
                                }
                            }
                        }
                        None => l.problem(
                            ev.span.clone(),
                            None,
                            Some(&ek.name),
                            "expected a table",
                            Some(format!("write [environments.{}.vars]", ek.name)),
                        ),
                    }
                    environments.insert(ek.name.clone(), env_vars);
                }
            }
            None => l.problem(
                node.span.clone(),
                None,
                Some("environments"),
                "expected a table",
                Some("write [environments.stage.vars]".into()),
            ),
        }
    }
    l.known_vars.extend(vars.keys().cloned());
    for env in environments.values() {
        l.known_vars.extend(env.keys().cloned());
    }
    for place in ["vars"] {
        if let Some((_, node)) = get(place)
            && let Some(t) = node.as_table()
        {
            for (k, v) in t {
                l.placeholders(None, &format!("vars.{}", k.name), v);
            }
        }
    }
    if let Some((_, node)) = get("environments") {
        for (ek, ev) in node.as_table().unwrap_or(&[]) {
            for (_, vt) in ev.as_table().unwrap_or(&[]) {
                for (k, v) in vt.as_table().unwrap_or(&[]) {
                    l.placeholders(
                        None,
                        &format!("environments.{}.vars.{}", ek.name, k.name),
                        v,
                    );
                }
            }
        }
    }

    for (k, _) in top {
        if !TOP_KEYS.contains(&k.name.as_str()) {
            l.unknown_key(k, None, TOP_KEYS, "a checklist file");
        }
    }

    // [checklist]
    let default_name = std::path::Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "checklist".into());
    let (mut name, mut pass_score, mut timeout, mut concurrency, mut per_host) = (
        default_name,
        100u8,
        Duration::from_secs(10),
        64usize,
        8usize,
    );
    if let Some((_, node)) = get("checklist") {
        match node.as_table() {
            Some(t) => {
                for (k, v) in t {
                    match k.name.as_str() {
                        "name" => name = l.string(None, k, v).unwrap_or(name),
                        "pass_score" => {
                            pass_score = l
                                .integer(None, k, v, 0..101)
                                .map_or(pass_score, |i| i as u8)
                        }
                        "timeout" => timeout = l.duration(None, k, v).unwrap_or(timeout),
                        "concurrency" => {
                            concurrency = l
                                .integer(None, k, v, 1..100_001)
                                .map_or(concurrency, |i| i as usize)
                        }
                        "per_host" => {
                            per_host = l
                                .integer(None, k, v, 1..100_001)
                                .map_or(per_host, |i| i as usize)
                        }
                        _ => l.unknown_key(k, None, SETTINGS_KEYS, "[checklist]"),
                    }
                }
            }
            None => l.problem(
                node.span.clone(),
                None,
                Some("checklist"),
                "expected a table",
                Some("write [checklist] followed by name = \"…\"".into()),
            ),
        }
    }

    let notify = get("notify").and_then(|(_, node)| load_notify(&mut l, node));

    // [[item]]
    let mut items = Vec::new();
    let mut needs_spans: Vec<Option<Range<usize>>> = Vec::new();
    match get("item") {
        Some((
            _,
            Node {
                value: NodeValue::Array(arr),
                ..
            },
        )) => {
            for node in arr {
                if let Some((item, needs_span)) = load_item(&mut l, node) {
                    items.push(item);
                    needs_spans.push(needs_span);
                }
            }
        }
        Some((k, node)) => l.problem(
            node.span.clone(),
            None,
            Some(&k.name),
            "expected [[item]] tables",
            Some("write each item as [[item]] followed by its keys".into()),
        ),
        None => {}
    }

    // Ids unique, needs resolvable and acyclic.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(first) = seen.insert(&item.id, i) {
            let line = items[first].line;
            let span = line_span(text, item.line);
            l.problems.push(Problem {
                span,
                item: Some(item.id.clone()),
                field: Some("id".into()),
                message: format!("duplicate id (first used on line {line})"),
                hint: Some("ids must be unique: history and --only rely on them".into()),
            });
        }
    }
    let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
    for (i, item) in items.iter().enumerate() {
        for need in &item.needs {
            if !ids.contains(&need.as_str()) || need == &item.id {
                let span = needs_spans[i]
                    .clone()
                    .unwrap_or_else(|| line_span(text, item.line));
                let hint = match suggest(need, ids.iter().copied()) {
                    Some(s) if s != item.id => format!("did you mean \"{s}\"?"),
                    _ => "name the id of another item in this file".into(),
                };
                let msg = if need == &item.id {
                    "an item cannot need itself".to_string()
                } else {
                    format!("needs unknown item \"{need}\"")
                };
                l.problems.push(Problem {
                    span,
                    item: Some(item.id.clone()),
                    field: Some("needs".into()),
                    message: msg,
                    hint: Some(hint),
                });
            }
        }
    }
    if let Some(cycle) = find_cycle(&items) {
        let i = items.iter().position(|it| it.id == cycle[0]).unwrap_or(0);
        let span = needs_spans[i]
            .clone()
            .unwrap_or_else(|| line_span(text, items[i].line));
        l.problems.push(Problem {
            span,
            item: Some(cycle[0].clone()),
            field: Some("needs".into()),
            message: format!("needs form a cycle: {}", cycle.join(" → ")),
            hint: Some("remove one of these needs".into()),
        });
    }

    if !l.problems.is_empty() {
        return Err(InvalidChecklist::new(path, text, l.problems));
    }
    Ok(Checklist {
        path: path.to_string(),
        name,
        pass_score,
        timeout,
        concurrency,
        per_host,
        vars,
        environments,
        items,
        env_refs: l.env_refs,
        notify,
    })
}

fn line_span(text: &str, line: usize) -> Range<usize> {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    start..start + 1
}

fn load_item(l: &mut Loader<'_>, node: &Node) -> Option<(Item, Option<Range<usize>>)> {
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
    let id = match entry("id") {
        Some((k, v)) => l.string(None, k, v),
        None => {
            l.problem(
                node.span.start..node.span.start + 1,
                None,
                Some("id"),
                "item has no id",
                Some("add id = \"section.short-name\" (unique, stable)".into()),
            );
            None
        }
    };
    let id_str = id.clone().unwrap_or_else(|| format!("<line {line}>"));
    if let Some(id) = &id
        && (id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '/')))
    {
        let span = entry("id")
            .map(|(_, v)| v.span.clone())
            .unwrap_or(node.span.clone());
        l.problem(
            span,
            Some(id),
            Some("id"),
            "ids use letters, digits and . - _ : / only",
            Some("write e.g. id = \"smoke.health\"".into()),
        );
    }
    let it = Some(id_str.as_str());

    let mut item = Item {
        id: id_str.clone(),
        title: id_str.clone(),
        section: String::new(),
        phases: None,
        tags: vec![],
        severity: Severity::Normal,
        needs: vec![],
        owner: None,
        timeout: None,
        retries: 0,
        within: None,
        hold: None,
        every: None,
        line,
        check: Check::Manual,
    };
    let mut manual = None;
    let mut probe_name: Option<(String, Range<usize>)> = None;
    let mut expect_node: Option<(&Key, &Node)> = None;
    let mut needs_span = None;
    let mut option_nodes: Vec<(&Key, &Node)> = Vec::new();

    for (k, v) in table {
        match k.name.as_str() {
            "id" => {}
            "title" => item.title = l.string(it, k, v).unwrap_or(item.title),
            "section" => item.section = l.string(it, k, v).unwrap_or_default(),
            "owner" => item.owner = l.string(it, k, v),
            "phases" => item.phases = l.strings(it, k, v),
            "tags" => item.tags = l.strings(it, k, v).unwrap_or_default(),
            "needs" => {
                item.needs = l.strings(it, k, v).unwrap_or_default();
                needs_span = Some(v.span.clone());
            }
            "severity" => {
                if let Some(s) = l.string(it, k, v) {
                    item.severity = match s.as_str() {
                        "critical" => Severity::Critical,
                        "normal" => Severity::Normal,
                        "advisory" => Severity::Advisory,
                        _ => {
                            let hint = suggest(&s, ["critical", "normal", "advisory"])
                                .map(|x| format!("did you mean \"{x}\"? "))
                                .unwrap_or_default();
                            l.problem(
                                v.span.clone(),
                                it,
                                Some("severity"),
                                format!("unknown severity \"{s}\""),
                                Some(format!("{hint}use critical, normal or advisory")),
                            );
                            Severity::Normal
                        }
                    }
                }
            }
            "timeout" => item.timeout = l.duration(it, k, v),
            "within" => item.within = l.duration(it, k, v),
            "hold" => item.hold = l.duration(it, k, v),
            "every" => item.every = l.duration(it, k, v),
            "retries" => item.retries = l.integer(it, k, v, 0..11).map_or(0, |r| r as u32),
            "manual" => match v.value {
                NodeValue::Bool(b) => manual = Some((b, v.span.clone())),
                ref other => l.problem(
                    v.span.clone(),
                    it,
                    Some("manual"),
                    format!("expected a boolean, found {}", other.type_name()),
                    Some("write manual = true".into()),
                ),
            },
            "probe" => probe_name = l.string(it, k, v).map(|s| (s, v.span.clone())),
            "expect" => expect_node = Some((k, v)),
            _ => option_nodes.push((k, v)),
        }
    }
    if item.hold.is_some() != item.every.is_some() {
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
    if item.hold.is_some() && item.within.is_some() {
        let span = entry("within")
            .map(|(k, _)| k.span.clone())
            .unwrap_or(node.span.clone());
        l.problem(
            span,
            it,
            Some("within"),
            "`within` and `hold` exclude each other",
            Some(
                "keep one: within retries until a pass; hold requires a pass at every sample"
                    .into(),
            ),
        );
    }
    if let (Some(h), Some(e)) = (item.hold, item.every)
        && e > h
    {
        let span = entry("every")
            .map(|(_, v)| v.span.clone())
            .unwrap_or(node.span.clone());
        l.problem(
            span,
            it,
            Some("every"),
            "`every` is longer than `hold`",
            Some("sample more often than the window lasts".into()),
        );
    }

    let is_manual = matches!(manual, Some((true, _)));
    match (is_manual, probe_name) {
        (true, Some((_, span))) => {
            l.problem(
                span,
                it,
                Some("probe"),
                "a manual item has no probe",
                Some("remove `probe`, or remove `manual = true`".into()),
            );
        }
        (_, None) => {
            if !is_manual {
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
            }
            for (k, _) in &option_nodes {
                let mut allowed = ITEM_KEYS.to_vec();
                allowed.retain(|x| *x != "probe" && *x != "expect");
                l.unknown_key(k, it, &allowed, "a manual item");
            }
            if let Some((k, _)) = expect_node {
                l.problem(
                    k.span.clone(),
                    it,
                    Some("expect"),
                    "a manual item has no expectations",
                    Some("remove `expect`, or give the item a probe".into()),
                );
            }
        }
        (false, Some((name, span))) => {
            let Some(probe) = l.catalog.get(&name).cloned() else {
                let names = l.catalog.names();
                let hint = match suggest(&name, names.iter().copied()) {
                    Some(s) => format!("did you mean \"{s}\"? known probes: {}", names.join(", ")),
                    None => format!("known probes: {}", names.join(", ")),
                };
                l.problem(
                    span,
                    it,
                    Some("probe"),
                    format!("unknown probe \"{name}\""),
                    Some(hint),
                );
                return id.map(|_| (item, needs_span));
            };
            let desc = probe.descriptor();
            let mut allowed: Vec<&str> = ITEM_KEYS.to_vec();
            allowed.extend_from_slice(desc.options);
            let mut options = Options::new();
            for (k, v) in &option_nodes {
                if desc.options.contains(&k.name.as_str()) {
                    l.placeholders(it, &k.name, v);
                    options.insert(k.name.clone(), v.to_json());
                } else {
                    l.unknown_key(k, it, &allowed, &format!("a {} item", desc.name));
                }
            }
            for p in probe.check(&options) {
                let span = p
                    .key
                    .as_ref()
                    .and_then(|key| option_nodes.iter().find(|(k, _)| &k.name == key))
                    .map(|(_, v)| v.span.clone())
                    .unwrap_or(span.clone());
                let field = p.key.clone();
                l.problem(
                    span,
                    it,
                    field.as_deref(),
                    p.message,
                    Some(format!("see the {} options in the README", desc.name)),
                );
            }
            let mut allowed_names: BTreeSet<&str> = desc.facts.iter().copied().collect();
            let var_names = l.known_vars.clone();
            allowed_names.extend(var_names.iter().map(String::as_str));
            let mut expect = Vec::new();
            let sources: Vec<(String, Range<usize>)> = match expect_node {
                Some((k, v)) => match &v.value {
                    NodeValue::Array(a) => a
                        .iter()
                        .filter_map(|n| l.string(it, k, n).map(|s| (s, n.span.clone())))
                        .collect(),
                    NodeValue::String(s) => vec![(s.clone(), v.span.clone())],
                    other => {
                        l.problem(
                            v.span.clone(),
                            it,
                            Some("expect"),
                            format!("expected an array of strings, found {}", other.type_name()),
                            Some("write expect = [\"status == 200\"]".into()),
                        );
                        vec![]
                    }
                },
                None => probe
                    .default_expect(&options)
                    .into_iter()
                    .map(|s| (s, span.clone()))
                    .collect(),
            };
            for (src, sspan) in sources {
                match l.compile(&src) {
                    Err(e) => l.problem(
                        sspan,
                        it,
                        Some("expect"),
                        format!("expression `{src}` does not parse: {e}"),
                        Some(
                            "write a CEL expression, e.g. \"status == 200 && latency_ms < 500\""
                                .into(),
                        ),
                    ),
                    Ok(exp) => {
                        let unknown: Vec<String> = exp
                            .names()
                            .filter(|n| !allowed_names.contains(n))
                            .map(str::to_string)
                            .collect();
                        for u in unknown {
                            let hint = match suggest(&u, desc.facts.iter().copied()) {
                                Some(s) => format!(
                                    "did you mean `{s}`? {} facts: {}",
                                    desc.name,
                                    desc.facts.join(", ")
                                ),
                                None => format!(
                                    "{} facts: {}; vars: {}",
                                    desc.name,
                                    desc.facts.join(", "),
                                    if var_names.is_empty() {
                                        "none".to_string()
                                    } else {
                                        var_names.iter().cloned().collect::<Vec<_>>().join(", ")
                                    }
                                ),
                            };
                            l.problem(
                                sspan.clone(),
                                it,
                                Some("expect"),
                                format!(
                                    "`{src}` reads `{u}`, which is neither a {} fact nor a var",
                                    desc.name
                                ),
                                Some(hint),
                            );
                        }
                        expect.push(exp);
                    }
                }
            }
            item.check = Check::Probe {
                probe: name,
                options,
                expect,
            };
        }
    }
    id.map(|_| (item, needs_span))
}

/// `[notify]`: webhook URLs (placeholders allowed), `on`, `link`.
fn load_notify(l: &mut Loader<'_>, node: &Node) -> Option<crate::notify::Notify> {
    use crate::notify::{NOTIFY_KEYS, Notify, NotifyOn};
    let Some(t) = node.as_table() else {
        l.problem(
            node.span.clone(),
            None,
            Some("notify"),
            "expected a table",
            Some("write [notify] followed by webhook = \"${env:SLACK_WEBHOOK_URL}\"".into()),
        );
        return None;
    };
    let mut n = Notify {
        webhook: None,
        json_webhook: None,
        on: NotifyOn::Change,
        link: None,
    };
    for (k, v) in t {
        match k.name.as_str() {
            "webhook" | "json_webhook" => {
                let Some(url) = l.string(None, k, v) else {
                    continue;
                };
                l.placeholders(None, &format!("notify.{}", k.name), v);
                let lower = url.to_ascii_lowercase();
                if !(lower.starts_with("http://")
                    || lower.starts_with("https://")
                    || url.starts_with("${"))
                {
                    l.problem(
                        v.span.clone(),
                        None,
                        Some(&format!("notify.{}", k.name)),
                        "expected an http:// or https:// URL",
                        Some(format!("write {} = \"${{env:SLACK_WEBHOOK_URL}}\"", k.name)),
                    );
                }
                if k.name == "webhook" {
                    n.webhook = Some(url);
                } else {
                    n.json_webhook = Some(url);
                }
            }
            "link" => {
                n.link = l.string(None, k, v);
                l.placeholders(None, "notify.link", v);
            }
            "on" => {
                if let Some(s) = l.string(None, k, v) {
                    n.on = match s.as_str() {
                        "change" => NotifyOn::Change,
                        "failure" => NotifyOn::Failure,
                        "always" => NotifyOn::Always,
                        _ => {
                            let hint = suggest(&s, ["change", "failure", "always"])
                                .map(|x| format!("did you mean \"{x}\"? "))
                                .unwrap_or_default();
                            l.problem(
                                v.span.clone(),
                                None,
                                Some("notify.on"),
                                format!("unknown value \"{s}\""),
                                Some(format!("{hint}use change, failure or always")),
                            );
                            NotifyOn::Change
                        }
                    }
                }
            }
            _ => l.unknown_key(k, None, NOTIFY_KEYS, "[notify]"),
        }
    }
    if n.webhook.is_none() && n.json_webhook.is_none() {
        l.problem(
            node.span.clone(),
            None,
            Some("notify"),
            "[notify] has no webhook",
            Some("add webhook = \"${env:SLACK_WEBHOOK_URL}\" and/or json_webhook = \"…\"".into()),
        );
    }
    Some(n)
}

/// A cycle in `needs`, as the ids along it, if there is one.
fn find_cycle(items: &[Item]) -> Option<Vec<String>> {
    let index: HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(i, it)| (it.id.as_str(), i))
        .collect();
    // 0 = unvisited, 1 = on stack, 2 = done
    let mut state = vec![0u8; items.len()];
    fn visit(
        i: usize,
        items: &[Item],
        index: &HashMap<&str, usize>,
        state: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<String>> {
        state[i] = 1;
        stack.push(i);
        for need in &items[i].needs {
            let Some(&j) = index.get(need.as_str()) else {
                continue;
            };
            if j == i {
                continue;
            }
            if state[j] == 1 {
                let pos = stack.iter().position(|&s| s == j).unwrap_or(0);
                let mut ids: Vec<String> =
                    stack[pos..].iter().map(|&s| items[s].id.clone()).collect();
                ids.push(items[j].id.clone());
                return Some(ids);
            }
            if state[j] == 0
                && let Some(c) = visit(j, items, index, state, stack)
            {
                return Some(c);
            }
        }
        stack.pop();
        state[i] = 2;
        None
    }
    for i in 0..items.len() {
        if state[i] == 0
            && let Some(c) = visit(i, items, &index, &mut state, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

#[cfg(test)]
mod tests;
