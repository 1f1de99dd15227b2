//! `for_each` on an item: its rows, read at load time from an inline list, a file of
//! one value per line, or a CSV whose header names the columns. Each row becomes an
//! item `ID[key]`; a malformed row is a problem at `file:line` of the data file.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::Template;
use super::loader::Loader;
use crate::error::ProblemReport;
use crate::names::suggest;
use crate::tree::{Node, NodeValue};

/// Problems reported per data file at most; the rest are counted.
const PROBLEMS_PER_FILE: usize = 20;

/// The longest key, in characters: it is part of an id.
pub const KEY_MAX: usize = 256;

/// The column of a row read from a list of values or a file of lines.
pub const VALUE_COLUMN: &str = "value";

/// A template's rows as read.
pub(super) struct Rows {
    /// What the rows share.
    pub template: Arc<Template>,
    /// Each row's values, in column order.
    pub rows: Vec<Box<[String]>>,
}

/// Where a row was written, for problems.
enum Origin {
    /// In the checklist, at this span.
    Inline(std::ops::Range<usize>),
    /// In a data file, at this byte offset.
    File(usize),
}

/// Collects a data file's problems, capped.
struct FileProblems {
    path: String,
    text: Arc<String>,
    found: Vec<ProblemReport>,
    more: usize,
}

impl FileProblems {
    fn push(&mut self, at: usize, message: String, hint: Option<String>) {
        if self.found.len() >= PROBLEMS_PER_FILE {
            self.more += 1;
            return;
        }
        let end = self.text[at..]
            .find('\n')
            .map_or(self.text.len(), |e| at + e);
        self.found.push(ProblemReport::in_file(
            &self.path,
            self.text.clone(),
            at..end.max(at + 1),
            message,
            hint,
        ));
    }
}

/// Reads an item's `for_each`; `None` (with problems recorded) when it has no usable
/// rows. `dir` is the checklist's folder.
pub(super) fn load(
    l: &mut Loader<'_>,
    it: Option<&str>,
    base: &str,
    node: &Node,
    dir: &Path,
) -> Option<Rows> {
    let field = Some("for_each");
    let (file, key, format, spread) = match &node.value {
        NodeValue::String(f) => (f.clone(), None, None, false),
        NodeValue::Array(list) => return inline(l, it, base, node, list),
        NodeValue::Table(t) => {
            let get = |k: &str| t.iter().find(|(key, _)| key.name == k).map(|(_, v)| v);
            let Some(file) = get("file").and_then(Node::as_str) else {
                // The shape check reported it.
                return None;
            };
            let format = get("format").and_then(Node::as_str).map(|f| f == "csv");
            let spread = get("spread").and_then(Node::as_bool).unwrap_or(false);
            (file.to_string(), get("key").cloned(), format, spread)
        }
        // The shape check reported it.
        _ => return None,
    };
    let path = dir.join(&file);
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            l.problem(
                node.span.clone(),
                it,
                field,
                format!("failed to read {shown}: {e}"),
                Some("name a file relative to the checklist's folder".into()),
            );
            return None;
        }
    };
    let csv = format.unwrap_or_else(|| {
        Path::new(&file)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    });
    let mut problems = FileProblems {
        path: shown.clone(),
        text: Arc::new(text),
        found: Vec::new(),
        more: 0,
    };
    let text = problems.text.clone();
    let (columns, records) = if csv {
        match read_csv(&text, &mut problems) {
            Some(r) => r,
            None => {
                finish(l, problems);
                return None;
            }
        }
    } else {
        let records = lines(&text)
            .map(|(at, v)| (at, vec![v.to_string()]))
            .collect();
        (vec![VALUE_COLUMN.to_string()], records)
    };
    let key_index = match &key {
        None => 0,
        Some(k) => {
            let name = k.as_str().unwrap_or_default();
            match columns.iter().position(|c| c == name) {
                Some(i) => i,
                None => {
                    let hint = match suggest(name, columns.iter().map(String::as_str)) {
                        Some(s) => format!("did you mean \"{s}\"? columns: {}", columns.join(", ")),
                        None => format!("columns of {shown}: {}", columns.join(", ")),
                    };
                    l.problem(
                        k.span.clone(),
                        it,
                        field,
                        format!("`key` names no column: \"{name}\""),
                        Some(hint),
                    );
                    finish(l, problems);
                    return None;
                }
            }
        }
    };
    let rows = records
        .into_iter()
        .map(|(at, values)| (Origin::File(at), values))
        .collect();
    let out = build(
        l,
        it,
        base,
        node,
        Template {
            id: base.to_string(),
            columns,
            key: key_index,
            source: file,
            rows: 0,
            spread,
        },
        rows,
        Some(&mut problems),
    );
    finish(l, problems);
    out
}

fn finish(l: &mut Loader<'_>, p: FileProblems) {
    let more = p.more;
    let path = p.path.clone();
    l.foreign.extend(p.found);
    if more > 0 {
        l.foreign.push(ProblemReport::in_file(
            &path,
            p.text,
            0..1,
            format!("… and {more} more problems in this file"),
            None,
        ));
    }
}

/// `for_each = [ … ]`: values, or tables whose keys are the columns.
fn inline(
    l: &mut Loader<'_>,
    it: Option<&str>,
    base: &str,
    node: &Node,
    list: &[Node],
) -> Option<Rows> {
    let field = Some("for_each");
    let columns: Vec<String> = match list.first().map(|n| &n.value) {
        Some(NodeValue::Table(t)) => t.iter().map(|(k, _)| k.name.clone()).collect(),
        _ => vec![VALUE_COLUMN.to_string()],
    };
    let mut rows = Vec::new();
    for n in list {
        let values = match &n.value {
            NodeValue::Table(t) => {
                let mut values = Vec::with_capacity(columns.len());
                let names: Vec<&str> = t.iter().map(|(k, _)| k.name.as_str()).collect();
                let same = names.len() == columns.len()
                    && columns.iter().all(|c| names.contains(&c.as_str()));
                if !same {
                    l.problem(
                        n.span.clone(),
                        it,
                        field,
                        format!(
                            "this row has the columns {}, the first row {}",
                            names.join(", "),
                            columns.join(", ")
                        ),
                        Some("give every row the same keys".into()),
                    );
                    continue;
                }
                for c in &columns {
                    let v = t.iter().find(|(k, _)| &k.name == c).map(|(_, v)| v);
                    match v.and_then(scalar) {
                        Some(s) => values.push(s),
                        None => {
                            l.problem(
                                v.map_or(n.span.clone(), |v| v.span.clone()),
                                it,
                                field,
                                format!("column `{c}` must be a string, number or boolean"),
                                None,
                            );
                        }
                    }
                }
                if values.len() != columns.len() {
                    continue;
                }
                values
            }
            _ if columns.len() == 1 && columns[0] == VALUE_COLUMN => match scalar(n) {
                Some(s) => vec![s],
                None => {
                    l.problem(
                        n.span.clone(),
                        it,
                        field,
                        "a row must be a string, number or boolean".to_string(),
                        None,
                    );
                    continue;
                }
            },
            _ => {
                l.problem(
                    n.span.clone(),
                    it,
                    field,
                    "every row must be a table, as the first one is".to_string(),
                    None,
                );
                continue;
            }
        };
        rows.push((Origin::Inline(n.span.clone()), values));
    }
    build(
        l,
        it,
        base,
        node,
        Template {
            id: base.to_string(),
            columns,
            key: 0,
            source: "inline".into(),
            rows: 0,
            spread: false,
        },
        rows,
        None,
    )
}

fn scalar(n: &Node) -> Option<String> {
    match &n.value {
        NodeValue::String(s) => Some(s.clone()),
        NodeValue::Integer(i) => Some(i.to_string()),
        NodeValue::Float(f) => Some(f.to_string()),
        NodeValue::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Checks every row's key (usable in an id, unique) and shares the template.
fn build(
    l: &mut Loader<'_>,
    it: Option<&str>,
    base: &str,
    node: &Node,
    mut template: Template,
    rows: Vec<(Origin, Vec<String>)>,
    mut file: Option<&mut FileProblems>,
) -> Option<Rows> {
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    let mut out = Vec::with_capacity(rows.len());
    let mut bad = false;
    let key_name = template.columns[template.key].clone();
    for (n, (origin, values)) in rows.into_iter().enumerate() {
        let key = &values[template.key];
        let problem = if let Err(why) = check_key(key) {
            Some((
                format!(
                    "row {}: key `{key_name}` = \"{}\" {why}",
                    n + 1,
                    shown_key(key)
                ),
                Some(format!(
                    "the key goes in the item id {base}[KEY]; pick another column with `key`"
                )),
            ))
        } else {
            seen.insert(key.clone(), n).map(|first| {
                (
                    format!(
                        "row {}: duplicate key \"{key}\" (first in row {})",
                        n + 1,
                        first + 1
                    ),
                    Some("keys must be unique: each becomes an item id".into()),
                )
            })
        };
        if let Some((message, hint)) = problem {
            bad = true;
            match (&origin, file.as_deref_mut()) {
                (Origin::File(at), Some(f)) => f.push(*at, message, hint),
                (Origin::Inline(span), _) => {
                    l.problem(span.clone(), it, Some("for_each"), message, hint)
                }
                (Origin::File(_), None) => {
                    l.problem(node.span.clone(), it, Some("for_each"), message, hint)
                }
            }
            continue;
        }
        out.push(values.into_boxed_slice());
    }
    if out.is_empty() && !bad {
        l.problem(
            node.span.clone(),
            it,
            Some("for_each"),
            "for_each has no rows: the template would make no items",
            Some("add rows (an empty sweep would pass without checking anything)".into()),
        );
        return None;
    }
    if bad {
        return None;
    }
    template.rows = out.len();
    Some(Rows {
        template: Arc::new(template),
        rows: out,
    })
}

/// A key is part of an id: printable, no spaces or brackets, not too long.
fn check_key(key: &str) -> Result<(), &'static str> {
    if key.is_empty() {
        return Err("is empty");
    }
    if key.chars().count() > KEY_MAX {
        return Err("is longer than 256 characters");
    }
    if key
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '[' || c == ']')
    {
        return Err("holds a space, a control character or a bracket");
    }
    Ok(())
}

fn shown_key(key: &str) -> String {
    key.chars()
        .take(60)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

/// The values of a file of one value per line, with their byte offsets: blank lines
/// and `#` comments skipped, surrounding spaces trimmed.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut at = 0;
    text.split_inclusive('\n').filter_map(move |line| {
        let start = at;
        at += line.len();
        let v = line.trim();
        (!v.is_empty() && !v.starts_with('#')).then_some((start, v))
    })
}

/// Records with the byte offset where each starts.
type Records = Vec<(usize, Vec<String>)>;

/// RFC 4180 CSV: a header row, then records of as many fields. Returns the columns
/// and each record with the byte offset where it starts.
fn read_csv(text: &str, problems: &mut FileProblems) -> Option<(Vec<String>, Records)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let bom = problems.text.len() - text.len();
    let mut records = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut was_quoted = false;
        loop {
            if i >= bytes.len() {
                if quoted {
                    problems.push(
                        bom + start,
                        "a quoted field is not closed".into(),
                        Some("close it with \" (write \"\" for a quote inside)".into()),
                    );
                    return None;
                }
                fields.push(std::mem::take(&mut field));
                break;
            }
            let c = bytes[i];
            if quoted {
                if c == b'"' {
                    if bytes.get(i + 1) == Some(&b'"') {
                        field.push('"');
                        i += 2;
                    } else {
                        quoted = false;
                        i += 1;
                    }
                    continue;
                }
            } else if c == b',' {
                fields.push(std::mem::take(&mut field));
                was_quoted = false;
                i += 1;
                continue;
            } else if c == b'\n' || c == b'\r' {
                fields.push(std::mem::take(&mut field));
                i += if c == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                break;
            } else if c == b'"' && field.is_empty() && !was_quoted {
                quoted = true;
                was_quoted = true;
                i += 1;
                continue;
            }
            // A whole UTF-8 character.
            let len = utf8_len(c);
            field.push_str(&text[i..(i + len).min(text.len())]);
            i += len;
        }
        let blank = fields.len() == 1 && fields[0].trim().is_empty() && !was_quoted;
        if !blank {
            records.push((bom + start, fields));
        }
    }
    let mut records = records.into_iter();
    let Some((at, header)) = records.next() else {
        problems.push(
            0,
            "the CSV file is empty: it needs a header row".into(),
            Some("write the column names on the first line, e.g. old,new".into()),
        );
        return None;
    };
    let columns: Vec<String> = header.iter().map(|c| c.trim().to_string()).collect();
    let mut ok = true;
    for (n, c) in columns.iter().enumerate() {
        if c.is_empty() || columns[..n].contains(c) {
            problems.push(
                at,
                format!(
                    "header column {} is {}",
                    n + 1,
                    if c.is_empty() { "empty" } else { "a duplicate" }
                ),
                Some("the header names each column once, e.g. old,new".into()),
            );
            ok = false;
        }
    }
    let mut rows = Vec::new();
    for (at, fields) in records {
        if fields.len() != columns.len() {
            problems.push(
                at,
                format!(
                    "this row has {} field{}, the header has {} ({})",
                    fields.len(),
                    if fields.len() == 1 { "" } else { "s" },
                    columns.len(),
                    columns.join(", ")
                ),
                Some("quote a value that holds a comma: \"a,b\"".into()),
            );
            ok = false;
            continue;
        }
        rows.push((at, fields));
    }
    ok.then_some((columns, rows))
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// An expectation with `${row.COLUMN}` rewritten to read `vars.row`: outside a
/// string literal as `vars.row['COLUMN']` (text), inside one by closing the literal,
/// concatenating and reopening it, the whole in parentheses. Compiled once, it
/// serves every row.
pub(super) fn rewrite_expr(src: &str) -> Result<String, String> {
    let mut out = String::with_capacity(src.len() + 32);
    // The open literal: where it starts in `out`, its prefix and delimiter, and
    // whether a placeholder was inside.
    let mut lit: Option<(usize, String, &str, bool)> = None;
    let mut i = 0;
    let bytes = src.as_bytes();
    while i < src.len() {
        let rest = &src[i..];
        if let Some(body) = rest.strip_prefix("${row.") {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unclosed placeholder `{rest}`: add the closing `}}`"))?;
            let column = body[..end].trim();
            if column.is_empty() || column.contains(['\'', '\\', '"']) {
                return Err(format!("`${{row.{column}}}` names no usable column"));
            }
            let read = format!("vars.row['{column}']");
            match &mut lit {
                None => out.push_str(&read),
                Some((_, prefix, delim, inside)) => {
                    *inside = true;
                    out.push_str(&format!("{delim} + {read} + {prefix}{delim}"));
                }
            }
            i += 6 + end + 1;
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        match &mut lit {
            None => {
                if c == '\'' || c == '"' {
                    // The prefix (r, b, rb …) was already copied; find it again.
                    let prefix: String = out
                        .chars()
                        .rev()
                        .take_while(|p| matches!(p, 'r' | 'R' | 'b' | 'B'))
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    let delim: &str = if rest.starts_with("\'\'\'") {
                        "\'\'\'"
                    } else if rest.starts_with("\"\"\"") {
                        "\"\"\""
                    } else if c == '\'' {
                        "'"
                    } else {
                        "\""
                    };
                    let start = out.len() - prefix.len();
                    out.push_str(delim);
                    i += delim.len();
                    lit = Some((start, prefix, delim, false));
                    continue;
                }
            }
            Some((start, prefix, delim, inside)) => {
                let raw = prefix.contains(['r', 'R']);
                if c == '\\' && !raw && i + 1 < bytes.len() {
                    let next = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                    out.push_str(&src[i..i + 1 + next]);
                    i += 1 + next;
                    continue;
                }
                if rest.starts_with(*delim) {
                    out.push_str(delim);
                    i += delim.len();
                    if *inside {
                        out.insert(*start, '(');
                        out.push(')');
                    }
                    lit = None;
                    continue;
                }
            }
        }
        out.push(c);
        i += c.len_utf8();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn row_placeholders_become_reads_of_vars_row() {
        let r = |s: &str| rewrite_expr(s).unwrap();
        assert_eq!(r("status == 301"), "status == 301");
        assert_eq!(
            r("headers.location == '${row.new}'"),
            "headers.location == ('' + vars.row['new'] + '')"
        );
        assert_eq!(
            r("body.contains(\"x ${row.a}-${row.b}\")"),
            "body.contains((\"x \" + vars.row['a'] + \"-\" + vars.row['b'] + \"\"))"
        );
        assert_eq!(
            r("status == int(${row.code})"),
            "status == int(vars.row['code'])"
        );
        assert_eq!(r("r'\\d${row.n}'"), "(r'\\d' + vars.row['n'] + r'')");
        assert_eq!(r("'it\\'s ${row.n}'"), "('it\\'s ' + vars.row['n'] + '')");
        assert!(rewrite_expr("${row.x").is_err());
    }

    use super::*;

    fn probs(text: &str) -> FileProblems {
        FileProblems {
            path: "d.csv".into(),
            text: Arc::new(text.to_string()),
            found: Vec::new(),
            more: 0,
        }
    }

    #[test]
    fn csv_reads_quotes_crlf_and_skips_blank_lines() {
        let t = "old,new\r\n/a,\"/b,c\"\r\n\n\"/q\"\"x\",/é\n";
        let mut p = probs(t);
        let (cols, rows) = read_csv(t, &mut p).unwrap();
        assert_eq!(cols, ["old", "new"]);
        assert_eq!(rows[0].1, ["/a", "/b,c"]);
        assert_eq!(rows[1].1, ["/q\"x", "/é"]);
        // The offset is where the record starts: line 4.
        assert_eq!(crate::error::line_col(t, rows[1].0).0, 4);
    }

    #[test]
    fn csv_problems_name_the_line() {
        let t = "old,new\n/a,/b\n/c\n\"open,/d\n";
        let mut p = probs(t);
        assert!(read_csv(t, &mut p).is_none());
        let locs: Vec<&str> = p.found.iter().map(|f| f.location.as_str()).collect();
        assert_eq!(locs, ["d.csv:4:1"], "the unclosed quote stops reading");
        let t = "old,new\n/a,/b\n/c\n";
        let mut p = probs(t);
        assert!(read_csv(t, &mut p).is_none());
        assert_eq!(p.found[0].location, "d.csv:3:1");
        assert!(p.found[0].message.contains("1 field, the header has 2"));
    }

    #[test]
    fn keys_must_fit_in_an_id() {
        assert!(check_key("a.example").is_ok());
        assert!(check_key("https://x/y?z=1").is_ok());
        assert!(check_key("a b").is_err());
        assert!(check_key("a]").is_err());
        assert!(check_key("").is_err());
        assert!(check_key(&"x".repeat(300)).is_err());
    }

    #[test]
    fn lines_skip_comments_and_blanks() {
        let v: Vec<_> = lines("a\n\n# c\n  b  \r\n").map(|(_, v)| v).collect();
        assert_eq!(v, ["a", "b"]);
    }
}
