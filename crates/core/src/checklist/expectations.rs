//! An item's `expect` (or its probe's defaults): compiled once per distinct
//! expression, every name it reads checked against the probe's facts and the vars.

use std::ops::Range;

use super::loader::Loader;
use crate::expect::Expectation;
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
        match l.compile(&src) {
            Err(e) => l.problem(
                span,
                it,
                Some("expect"),
                format!("expression `{}` does not parse: {e}", shown(&src)),
                Some("write a CEL expression, e.g. \"status == 200 && latency_ms < 500\"".into()),
            ),
            Ok(exp) => {
                check_names(l, it, probe, &exp, &span);
                out.push(exp);
            }
        }
    }
    out
}

/// Every top-level name must be a fact of the probe or a var.
fn check_names(
    l: &mut Loader<'_>,
    it: Option<&str>,
    probe: &ProbeEntry,
    exp: &Expectation,
    span: &Range<usize>,
) {
    let facts: Vec<&str> = probe.facts().iter().map(|f| f.name).collect();
    let unknown: Vec<String> = exp
        .names()
        .filter(|n| !facts.contains(n) && !l.known_vars.contains(*n))
        .map(str::to_string)
        .collect();
    for u in unknown {
        let hint = match suggest(&u, facts.iter().copied()) {
            Some(s) => format!(
                "did you mean `{s}`? {} facts: {}",
                probe.name(),
                facts.join(", ")
            ),
            None => format!(
                "{} facts: {}; vars: {}",
                probe.name(),
                facts.join(", "),
                if l.known_vars.is_empty() {
                    "none".to_string()
                } else {
                    l.known_vars.iter().cloned().collect::<Vec<_>>().join(", ")
                }
            ),
        };
        l.problem(
            span.clone(),
            it,
            Some("expect"),
            format!(
                "`{}` reads `{u}`, which is neither a {} fact nor a var",
                exp.source(),
                probe.name()
            ),
            Some(hint),
        );
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
