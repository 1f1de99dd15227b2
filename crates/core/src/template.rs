//! `${name}`, `${env:NAME}` and `${captures.ITEM.NAME}` interpolation.
//!
//! Values read from the environment are secrets: the resolver records each one so the
//! redactor can mask it wherever it ends up (reasons, facts, reports, history).
//! Captures are only known while a run goes: the plan keeps them as segments and the
//! runner fills them in with [`interpolate_captures`] when the reading item starts.

/// One piece of a string with placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Text written as-is (`$${` is the escape for a literal `${`).
    Literal(String),
    /// `${name}`: a checklist variable.
    Var(String),
    /// `${env:NAME}`: a process environment variable, always a secret.
    Env(String),
    /// `${captures.ITEM.NAME}`: a value captured by another item of the same run.
    Capture(CaptureRef),
    /// `${row.COLUMN}`: a column of the row of a `for_each` item.
    Row(String),
}

/// `${captures.ITEM.NAME}`: which item captured the value, and under which name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CaptureRef {
    /// The capturing item's id (it may hold dots).
    pub item: String,
    /// The capture's name (the last dot-separated part).
    pub name: String,
}

impl std::fmt::Display for CaptureRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "${{captures.{}.{}}}", self.item, self.name)
    }
}

/// The prefix that makes a placeholder a capture.
pub const CAPTURES: &str = "captures.";

/// The prefix that makes a placeholder a column of a `for_each` row.
pub const ROW: &str = "row.";

/// Splits `text` into segments; the error describes a malformed placeholder.
pub fn parse(text: &str) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        lit.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(escaped) = after.strip_prefix("$${") {
            lit.push_str("${");
            rest = escaped;
        } else if let Some(body) = after.strip_prefix("${") {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unclosed placeholder `{after}`: add the closing `}}`"))?;
            let name = body[..end].trim();
            if !lit.is_empty() {
                out.push(Segment::Literal(std::mem::take(&mut lit)));
            }
            if let Some(env) = name.strip_prefix("env:") {
                let env = env.trim();
                if !valid_name(env) {
                    return Err(format!(
                        "`${{env:{env}}}` is not a valid environment variable name"
                    ));
                }
                out.push(Segment::Env(env.to_string()));
            } else if let Some(rest) = name.strip_prefix(CAPTURES) {
                out.push(Segment::Capture(capture_ref(rest)?));
            } else if let Some(column) = name.strip_prefix(ROW) {
                if column.is_empty() || column.contains(['{', '}', '$']) {
                    return Err(format!(
                        "`${{{name}}}` names no column: write ${{row.COLUMN}}"
                    ));
                }
                out.push(Segment::Row(column.to_string()));
            } else {
                if !valid_name(name) {
                    return Err(format!(
                        "`${{{name}}}` is not a valid variable name (letters, digits, `_`, `-`, `.`)"
                    ));
                }
                out.push(Segment::Var(name.to_string()));
            }
            rest = &body[end + 1..];
        } else {
            lit.push('$');
            rest = &after[1..];
        }
    }
    lit.push_str(rest);
    if !lit.is_empty() || out.is_empty() {
        out.push(Segment::Literal(lit));
    }
    Ok(out)
}

/// `ITEM.NAME` after `captures.`: the name is the last dot-separated part.
fn capture_ref(rest: &str) -> Result<CaptureRef, String> {
    let shape = "write ${captures.ITEM_ID.NAME}, e.g. ${captures.auth.token.token}";
    let Some((item, name)) = rest.rsplit_once('.') else {
        return Err(format!("`${{captures.{rest}}}` names no capture: {shape}"));
    };
    if item.is_empty() || !item.chars().all(is_id_char) {
        return Err(format!(
            "`${{captures.{rest}}}`: \"{item}\" is not an item id: {shape}"
        ));
    }
    if !valid_capture_name(name) {
        return Err(format!(
            "`${{captures.{rest}}}`: \"{name}\" is not a capture name (letters, digits, `_`, `-`): {shape}"
        ));
    }
    Ok(CaptureRef {
        item: item.to_string(),
        name: name.to_string(),
    })
}

/// Characters an item id may use.
pub fn is_id_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '/')
}

/// Whether `name` can name a capture: it is the last dot-separated part of a
/// `${captures.…}` placeholder, so it holds no dot.
pub fn valid_capture_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The variable names a string refers to (not env vars).
pub fn var_refs(text: &str) -> Vec<String> {
    parse(text)
        .map(|segs| {
            segs.into_iter()
                .filter_map(|s| match s {
                    Segment::Var(v) => Some(v),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The capture placeholders a string holds.
pub fn capture_refs(text: &str) -> Vec<CaptureRef> {
    parse(text)
        .map(|segs| {
            segs.into_iter()
                .filter_map(|s| match s {
                    Segment::Capture(c) => Some(c),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Why captures could not be filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureError {
    /// No value was captured under this reference (its item did not pass, or is not
    /// in the run): the reading item is skipped.
    Missing(CaptureRef),
    /// `${row.COLUMN}` outside a row, or a column the row does not have.
    NoRow(String),
}

/// `text` with its `${row.COLUMN}` placeholders filled from `row`; other text, and
/// other placeholders, as written. For titles.
pub fn fill_row(text: &str, row: &crate::checklist::Row) -> String {
    if !text.contains("${row.") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(pos) = rest.find("${row.") {
        out.push_str(&rest[..pos]);
        let body = &rest[pos + 6..];
        match body.find('}') {
            Some(end) => {
                match row.get(body[..end].trim()) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&rest[pos..pos + 6 + end + 1]),
                }
                rest = &body[end + 1..];
            }
            None => {
                out.push_str(&rest[pos..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Fills segments whose variables are already resolved: literals as written,
/// captures from `lookup` and row columns from `row`. A lone capture keeps its
/// value's type (a number stays a number), as a lone `${var}` does.
pub fn interpolate_captures(
    segments: &[Segment],
    lookup: &dyn Fn(&CaptureRef) -> Option<serde_json::Value>,
    row: Option<&crate::checklist::Row>,
) -> Result<serde_json::Value, CaptureError> {
    use serde_json::Value;
    let get = |c: &CaptureRef| lookup(c).ok_or_else(|| CaptureError::Missing(c.clone()));
    if let [Segment::Capture(c)] = segments {
        return get(c);
    }
    let mut out = String::new();
    for seg in segments {
        match seg {
            Segment::Literal(l) => out.push_str(l),
            Segment::Row(c) => match row.and_then(|r| r.get(c)) {
                Some(v) => out.push_str(v),
                None => return Err(CaptureError::NoRow(c.clone())),
            },
            Segment::Capture(c) => match get(c)? {
                Value::String(s) => out.push_str(&s),
                other => out.push_str(&other.to_string()),
            },
            // The plan resolved these before; written back as they were.
            Segment::Var(v) => out.push_str(&format!("${{{v}}}")),
            Segment::Env(e) => out.push_str(&format!("${{env:{e}}}")),
        }
    }
    Ok(Value::String(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_vars_env_and_escapes() {
        let s = parse("${api}/x?t=${env:TOKEN}&$${raw}$5").unwrap();
        assert_eq!(
            s,
            vec![
                Segment::Var("api".into()),
                Segment::Literal("/x?t=".into()),
                Segment::Env("TOKEN".into()),
                Segment::Literal("&${raw}$5".into()),
            ]
        );
    }

    #[test]
    fn captures_name_the_item_and_the_last_part() {
        let s = parse("Bearer ${captures.auth.token.access}").unwrap();
        assert_eq!(
            s,
            vec![
                Segment::Literal("Bearer ".into()),
                Segment::Capture(CaptureRef {
                    item: "auth.token".into(),
                    name: "access".into()
                }),
            ]
        );
        assert_eq!(
            capture_refs("${captures.a/b:c.x-1}"),
            vec![CaptureRef {
                item: "a/b:c".into(),
                name: "x-1".into()
            }]
        );
        for bad in [
            "${captures.}",
            "${captures.x}",
            "${captures..x}",
            "${captures.a.}",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let segs = parse("${captures.a.n}").unwrap();
        let got = interpolate_captures(&segs, &|_| Some(serde_json::json!(42)), None).unwrap();
        assert_eq!(got, serde_json::json!(42));
        let segs = parse("id=${captures.a.n};").unwrap();
        let got = interpolate_captures(&segs, &|_| Some(serde_json::json!(42)), None).unwrap();
        assert_eq!(got, serde_json::json!("id=42;"));
        assert!(matches!(
            interpolate_captures(&segs, &|_| None, None),
            Err(CaptureError::Missing(c)) if c.item == "a"
        ));
    }

    #[test]
    fn rejects_malformed() {
        assert!(parse("${api").is_err());
        assert!(parse("${}").is_err());
        assert!(parse("${env:}").is_err());
        assert!(parse("${a b}").is_err());
    }
}
