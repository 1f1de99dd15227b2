//! An item's `expect` (or its probe's defaults): compiled once per distinct
//! expression, every name it reads checked against the probe's facts and the vars.

use std::ops::Range;

use super::loader::Loader;
use crate::expect::{Expectation, VARS};

/// `vars.row`: the row of a `for_each` item.
const ROW_VAR: &str = "row";
use crate::names::suggest;
use crate::probe::{Options, ProbeEntry};
use crate::tree::{Key, Node, NodeValue};

pub(super) fn load(
    l: &mut Loader<'_>,
    it: Option<&str>,
    probe: &ProbeEntry,
    written: Option<&(Key, Node)>,
    options: &Options,
    probe_span: &Range<usize>,
) -> Vec<Expectation> {
    let sources: Vec<(String, Range<usize>)> = match written {
        Some((_, v)) => match &v.value {
            NodeValue::Array(a) => a
                .iter()
                .filter_map(|n| n.as_str().map(|s| (s.to_string(), n.span.clone())))
                .collect(),
            NodeValue::String(s) => vec![(s.clone(), v.span.clone())],
            // The shape check reported it.
            _ => Vec::new(),
        },
        None => probe
            .default_expect(options)
            .into_iter()
            .map(|s| (s, probe_span.clone()))
            .collect(),
    };
    let mut out = Vec::new();
    for (src, span) in sources {
        // `${row.COLUMN}` reads the row: compiled once for every row, as `vars.row`.
        let compiled = match (&l.row_columns, src.contains("${")) {
            (Some(_), true) => match super::foreach::rewrite_expr(&src) {
                Ok(rewritten) => l.compile(&rewritten).map(|e| e.shown_as(&src)),
                Err(e) => Err(e),
            },
            _ => l.compile(&src),
        };
        match compiled {
            Err(e) => l.problem(
                span,
                it,
                Some("expect"),
                format!("expression `{}` does not parse: {e}", shown(&src)),
                Some("write a CEL expression, e.g. \"status == 200 && latency_ms < 500\"".into()),
            ),
            Ok(exp) => {
                check_names(l, it, probe, &exp, &span, "expect");
                out.push(exp);
            }
        }
    }
    out
}

/// Every top-level name must be a fact of the probe, a var by its bare name, or
/// `vars` (`vars.NAME` of a known var); a bare name that is both a fact and a var is
/// ambiguous.
pub(super) fn check_names(
    l: &mut Loader<'_>,
    it: Option<&str>,
    probe: &ProbeEntry,
    exp: &Expectation,
    span: &Range<usize>,
    field: &str,
) {
    let facts: Vec<&str> = probe.facts().iter().map(|f| f.name).collect();
    let vars_list = || {
        if l.known_vars.is_empty() {
            "none".to_string()
        } else {
            l.known_vars.iter().cloned().collect::<Vec<_>>().join(", ")
        }
    };
    let mut problems: Vec<(String, String)> = Vec::new();
    for name in exp.names() {
        let is_fact = facts.contains(&name);
        let is_var = l.known_vars.contains(name);
        if name == VARS && !is_fact {
            continue;
        }
        if is_fact && is_var {
            problems.push((
                format!(
                    "`{}` reads `{name}`, which is both a {} fact and a var",
                    exp.source(),
                    probe.name()
                ),
                format!(
                    "the bare name reads the fact; rename the var `{name}` (and read vars as vars.NAME)"
                ),
            ));
        } else if !is_fact && !is_var {
            let hint = match suggest(name, facts.iter().copied()) {
                Some(s) => format!(
                    "did you mean `{s}`? {} facts: {}",
                    probe.name(),
                    facts.join(", ")
                ),
                None => format!(
                    "{} facts: {}; vars (read as vars.NAME): {}",
                    probe.name(),
                    facts.join(", "),
                    vars_list()
                ),
            };
            problems.push((
                format!(
                    "`{}` reads `{name}`, which is neither a {} fact nor a var",
                    exp.source(),
                    probe.name()
                ),
                hint,
            ));
        }
    }
    if !facts.contains(&VARS) {
        if let Some(cols) = l.row_columns.clone() {
            for c in exp.row_reads() {
                if !cols.is_empty() && !cols.iter().any(|x| x == c) {
                    problems.push((
                        format!(
                            "`{}` reads `vars.row.{c}`, which is no column",
                            exp.source()
                        ),
                        format!("columns: {}", cols.join(", ")),
                    ));
                }
            }
        }
        for var in exp.var_reads() {
            if l.known_vars.contains(var) || (var == ROW_VAR && l.row_columns.is_some()) {
                continue;
            }
            let hint = match suggest(var, l.known_vars.iter().map(String::as_str)) {
                Some(s) => format!("did you mean `vars.{s}`? vars: {}", vars_list()),
                None => format!(
                    "define it under [vars] or pass --var {var}=…; vars: {}",
                    vars_list()
                ),
            };
            problems.push((
                format!("`{}` reads `vars.{var}`, which is not a var", exp.source()),
                hint,
            ));
        }
    }
    for (message, hint) in problems {
        l.problem(span.clone(), it, Some(field), message, Some(hint));
    }
}

/// An expression as quoted in a message: cut after 80 characters (a refused one
/// may be kilobytes long).
fn shown(src: &str) -> String {
    match src.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &src[..at]),
        None => src.to_string(),
    }
}
