//! Checks a spanned TOML table against a [`Shape`]: unknown keys (with "did you
//! mean"), missing required keys, value types, ranges, fixed names and durations —
//! each problem pointing at the key or value in the file.
//!
//! A string holding `${…}` is accepted wherever a value is expected: its type is only
//! known once interpolated, and the plan checks it then.

use std::ops::Range;

use crate::error::Problem;
use crate::names::one_of;
use crate::probe::parse_duration;
use crate::schema::shape::{ObjectShape, Shape};
use crate::tree::{Key, Node, NodeValue};

/// Problems found in one table, plus which top-level keys had them (so the caller
/// can leave those out when it reads the rest).
#[derive(Debug, Default)]
pub struct Findings {
    /// Every problem, with item unset (the caller knows the item).
    pub problems: Vec<Problem>,
    /// Top-level keys with a problem in their value (or unknown).
    pub bad_keys: Vec<String>,
}

/// Checks `entries` (a table's keys and values) against `shape`. `place` names the
/// table in hints ("a http item", "`[checklist]`"); `table_span` is where missing keys
/// are reported; `skip` are keys the caller has already judged.
pub fn check_table(
    entries: &[(Key, Node)],
    shape: &ObjectShape,
    place: &str,
    table_span: Range<usize>,
    skip: &[&str],
) -> Findings {
    let mut f = Findings::default();
    for (k, v) in entries {
        if skip.contains(&k.name.as_str()) {
            continue;
        }
        match shape.field(&k.name) {
            Some(field) => {
                let before = f.problems.len();
                let hint = Hint {
                    key: &k.name,
                    shape: &field.shape,
                };
                check_value(v, &field.shape, &k.name, &hint, &mut f.problems);
                if f.problems.len() > before {
                    f.bad_keys.push(k.name.clone());
                }
            }
            None if shape.closed => {
                f.problems.push(unknown_key(k, shape, place, None));
                f.bad_keys.push(k.name.clone());
            }
            None => {}
        }
    }
    for field in shape.fields.iter().filter(|f| f.required) {
        if !entries.iter().any(|(k, _)| k.name == field.name) && !skip.contains(&&*field.name) {
            f.problems.push(Problem {
                span: table_span.start..table_span.start + 1,
                item: None,
                field: None,
                message: format!("missing required key `{}`", field.name),
                hint: Some(format!(
                    "add {} = {} ({})",
                    field.name,
                    example(&field.shape),
                    if field.doc.is_empty() {
                        field.shape.describe()
                    } else {
                        field.doc.trim_end_matches('.').to_lowercase()
                    }
                )),
            });
        }
    }
    f
}

/// The problem for a key `shape` does not have.
pub fn unknown_key(key: &Key, shape: &ObjectShape, place: &str, field: Option<&str>) -> Problem {
    let names = shape.names();
    let accepts = format!("{place} accepts: {}", names.join(", "));
    let hint = match crate::names::suggest(&key.name, names.iter().copied()) {
        Some(s) => format!("did you mean `{s}`? {accepts}"),
        None => accepts,
    };
    Problem {
        span: key.span.clone(),
        item: None,
        field: field.map(str::to_string),
        message: format!("unknown key `{}`", key.name),
        hint: Some(hint),
    }
}

fn templated(node: &Node) -> bool {
    matches!(&node.value, NodeValue::String(s) if s.contains("${"))
}

/// The top-level key a nested value belongs to, for "write KEY = …" hints.
struct Hint<'a> {
    key: &'a str,
    shape: &'a Shape,
}

/// Checks one value; `path` names it in messages (`migrations.dir`, `headers.x`).
fn check_value(node: &Node, shape: &Shape, path: &str, key: &Hint<'_>, out: &mut Vec<Problem>) {
    if templated(node) {
        return;
    }
    let mismatch = |out: &mut Vec<Problem>| {
        out.push(Problem {
            span: node.span.clone(),
            item: None,
            field: Some(path.to_string()),
            message: format!(
                "expected {}, found {}",
                shape.describe(),
                node.value.type_name()
            ),
            hint: Some(format!("write {} = {}", key.key, example(key.shape))),
        })
    };
    match (shape, &node.value) {
        (Shape::Any, _) => {}
        (Shape::Bool, NodeValue::Bool(_)) => {}
        (Shape::Number, NodeValue::Integer(_) | NodeValue::Float(_)) => {}
        (Shape::Integer { min, max }, NodeValue::Integer(i)) => {
            let lo = min.unwrap_or(i64::MIN);
            let hi = max.unwrap_or(i64::MAX);
            if *i < lo || *i > hi {
                out.push(Problem {
                    span: node.span.clone(),
                    item: None,
                    field: Some(path.to_string()),
                    message: format!("{i} is out of range"),
                    hint: Some(match (min, max) {
                        (Some(a), Some(b)) => format!("use a whole number from {a} to {b}"),
                        (Some(a), None) => format!("use a whole number of at least {a}"),
                        _ => format!("use a whole number up to {hi}"),
                    }),
                });
            }
        }
        (Shape::Name { allowed, noun }, NodeValue::String(s)) => {
            if let Err(e) = one_of(s, allowed.iter().map(String::as_str)) {
                out.push(Problem {
                    span: node.span.clone(),
                    item: None,
                    field: Some(path.to_string()),
                    message: format!("unknown {} \"{s}\"", noun.as_deref().unwrap_or("value")),
                    hint: Some(e.hint("use")),
                });
            }
        }
        (Shape::String { duration }, NodeValue::String(s)) => {
            if *duration {
                match parse_duration(s) {
                    Ok(d) if d.is_zero() => out.push(Problem {
                        span: node.span.clone(),
                        item: None,
                        field: Some(path.to_string()),
                        message: "must be longer than zero".into(),
                        hint: None,
                    }),
                    Ok(_) => {}
                    Err(e) => out.push(Problem {
                        span: node.span.clone(),
                        item: None,
                        field: Some(path.to_string()),
                        message: format!("invalid duration \"{s}\""),
                        hint: Some(e),
                    }),
                }
            }
        }
        (Shape::Array(el), NodeValue::Array(items)) => {
            for (i, n) in items.iter().enumerate() {
                check_value(n, el, &format!("{path}[{i}]"), key, out);
            }
        }
        (Shape::Map(v), NodeValue::Table(entries)) => {
            for (k, n) in entries {
                check_value(n, v, &format!("{path}.{}", k.name), key, out);
            }
        }
        (Shape::Object(o), NodeValue::Table(entries)) => {
            let inner = check_table(entries, o, &format!("`{path}`"), node.span.clone(), &[]);
            out.extend(inner.problems.into_iter().map(|mut p| {
                p.field = Some(match p.field {
                    Some(f) => format!("{path}.{f}"),
                    None => path.to_string(),
                });
                p
            }));
        }
        (Shape::Either(alts), _) => {
            // The alternative of the same kind as the value explains best.
            let same_kind: Vec<&Shape> = alts.iter().filter(|a| same_kind(a, node)).collect();
            match same_kind.as_slice() {
                [] => mismatch(out),
                [only] => check_value(node, only, path, key, out),
                several => {
                    let mut best: Option<Vec<Problem>> = None;
                    for alt in several {
                        let mut p = Vec::new();
                        check_value(node, alt, path, key, &mut p);
                        if p.is_empty() {
                            return;
                        }
                        if best.as_ref().is_none_or(|b| p.len() < b.len()) {
                            best = Some(p);
                        }
                    }
                    out.extend(best.unwrap_or_default());
                }
            }
        }
        _ => mismatch(out),
    }
}

fn same_kind(shape: &Shape, node: &Node) -> bool {
    matches!(
        (shape, &node.value),
        (Shape::Any, _)
            | (Shape::Bool, NodeValue::Bool(_))
            | (Shape::Integer { .. }, NodeValue::Integer(_))
            | (Shape::Number, NodeValue::Integer(_) | NodeValue::Float(_))
            | (
                Shape::String { .. } | Shape::Name { .. },
                NodeValue::String(_)
            )
            | (Shape::Array(_), NodeValue::Array(_))
            | (Shape::Map(_) | Shape::Object(_), NodeValue::Table(_))
    )
}

/// A value of `shape` to show after "write KEY = ".
pub fn example(shape: &Shape) -> String {
    match shape {
        Shape::Any => "\"…\"".into(),
        Shape::Bool => "true".into(),
        Shape::Integer { min, .. } => min.unwrap_or(1).max(1).to_string(),
        Shape::Number => "1.5".into(),
        Shape::String { duration: true } => "\"5s\"".into(),
        Shape::String { duration: false } => "\"…\"".into(),
        Shape::Name { allowed, .. } => {
            format!("\"{}\"", allowed.first().map(String::as_str).unwrap_or("…"))
        }
        Shape::Array(el) => {
            let e = example(el);
            format!("[{e}, {e}]")
        }
        Shape::Map(_) => "{ name = \"…\" }".into(),
        Shape::Object(o) => match o.fields.iter().find(|f| f.required).or(o.fields.first()) {
            Some(f) => format!("{{ {} = {} }}", f.name, example(&f.shape)),
            None => "{ }".into(),
        },
        Shape::Either(alts) => alts.first().map(example).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shape() -> ObjectShape {
        let s = json!({
            "type": "object",
            "properties": {
                "url": {"type": "string"},
                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                "type": {"type": "string", "title": "record type", "enum": ["A", "AAAA", "TXT"]},
                "every": {"type": "string", "format": "duration"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "expect": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
                "sub": {"type": "object", "properties": {"dir": {"type": "string"}}, "required": ["dir"], "additionalProperties": false}
            },
            "required": ["url"],
            "additionalProperties": false
        });
        Shape::compile(&s).as_object().expect("object").clone()
    }

    fn findings(text: &str) -> Vec<String> {
        let root = Node::parse(text).expect("toml");
        let t = root.as_table().expect("table");
        check_table(t, &shape(), "a test item", root.span.clone(), &[])
            .problems
            .into_iter()
            .map(|p| {
                format!(
                    "{}|{}|{}",
                    p.field.unwrap_or_default(),
                    p.message,
                    p.hint.unwrap_or_default()
                )
            })
            .collect()
    }

    #[test]
    fn a_matching_table_has_no_problems() {
        let p = findings(
            "url = \"x\"\nport = 443\ntype = \"TXT\"\nevery = \"5s\"\ntags = [\"a\"]\nexpect = \"x\"\nsub = { dir = \"d\" }\n",
        );
        assert!(p.is_empty(), "{p:?}");
        assert!(findings("url = \"x\"\nexpect = [\"a\", \"b\"]\nport = \"${p}\"\n").is_empty());
    }

    #[test]
    fn each_kind_of_mismatch_is_explained() {
        let p = findings("urll = \"x\"\nport = 70000\ntype = \"AAA\"\nevery = \"soon\"\ntags = [1]\nexpect = 3\nsub = { dirr = \"d\" }\n").join("\n");
        for want in [
            "|unknown key `urll`|did you mean `url`? a test item accepts: url, port",
            "|missing required key `url`|add url = \"…\"",
            "port|70000 is out of range|use a whole number from 1 to 65535",
            "type|unknown record type \"AAA\"|did you mean \"AAAA\"?",
            "every|invalid duration \"soon\"|",
            "tags[0]|expected a string, found an integer|write tags = [\"…\", \"…\"]",
            "expect|expected a string or an array of strings, found an integer|",
            "sub|unknown key `dirr`|did you mean `dir`? `sub` accepts: dir",
            "sub|missing required key `dir`|",
        ] {
            assert!(p.contains(want), "missing {want:?} in\n{p}");
        }
    }
}
