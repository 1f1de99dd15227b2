//! A TOML document as a tree that remembers where every key and value was written,
//! so that validation can point at `file:line:column` for each problem it finds.

use std::ops::Range;

/// A value with the byte range it occupies in the source.
#[derive(Debug, Clone)]
pub struct Node {
    /// Byte range of the value in the source text.
    pub span: Range<usize>,
    /// The value itself.
    pub value: NodeValue,
}

/// A key of a table with the byte range of the key itself.
#[derive(Debug, Clone)]
pub struct Key {
    /// The key as written (unquoted).
    pub name: String,
    /// Byte range of the key in the source text.
    pub span: Range<usize>,
}

/// The TOML value kinds we care about.
#[derive(Debug, Clone)]
pub enum NodeValue {
    /// A string.
    String(String),
    /// An integer that fits in `i64`.
    Integer(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A date-time, kept as written.
    Datetime(String),
    /// An array.
    Array(Vec<Node>),
    /// A table, keys in source order.
    Table(Vec<(Key, Node)>),
}

impl NodeValue {
    /// The TOML type name, for "expected X, found Y" messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeValue::String(_) => "a string",
            NodeValue::Integer(_) => "an integer",
            NodeValue::Float(_) => "a float",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Datetime(_) => "a date-time",
            NodeValue::Array(_) => "an array",
            NodeValue::Table(_) => "a table",
        }
    }
}

impl Node {
    /// Parses TOML text into a spanned tree; on a syntax error returns the message
    /// and the byte range toml reported.
    pub fn parse(text: &str) -> Result<Node, (String, Range<usize>)> {
        let table = toml::de::DeTable::parse(text)
            .map_err(|e| (e.message().to_string(), e.span().unwrap_or(0..0)))?;
        let span = table.span();
        Ok(convert_table(table.into_inner(), span))
    }

    /// The entries if this node is a table.
    pub fn as_table(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            NodeValue::Table(t) => Some(t),
            _ => None,
        }
    }

    /// The boolean if this node is one.
    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            NodeValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The string if this node is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// Converts to a JSON value (date-times become strings).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.value {
            NodeValue::String(s) => Value::String(s.clone()),
            NodeValue::Integer(i) => Value::from(*i),
            NodeValue::Float(f) => Value::from(*f),
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Datetime(d) => Value::String(d.clone()),
            NodeValue::Array(a) => Value::Array(a.iter().map(Node::to_json).collect()),
            NodeValue::Table(t) => Value::Object(
                t.iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

fn convert_table(table: toml::de::DeTable<'_>, span: Range<usize>) -> Node {
    let mut entries: Vec<(Key, Node)> = table
        .into_iter()
        .map(|(k, v)| {
            let key = Key {
                span: k.span(),
                name: k.into_inner().into_owned(),
            };
            let vspan = v.span();
            (key, convert_value(v.into_inner(), vspan))
        })
        .collect();
    entries.sort_by_key(|(k, _)| k.span.start);
    Node {
        span,
        value: NodeValue::Table(entries),
    }
}

fn convert_value(value: toml::de::DeValue<'_>, span: Range<usize>) -> Node {
    use toml::de::DeValue;
    let value = match value {
        DeValue::String(s) => NodeValue::String(s.into_owned()),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => NodeValue::Integer(n),
            Err(_) => NodeValue::Float(f64::MAX),
        },
        DeValue::Float(f) => NodeValue::Float(f.as_str().parse().unwrap_or(f64::NAN)),
        DeValue::Boolean(b) => NodeValue::Bool(b),
        DeValue::Datetime(d) => NodeValue::Datetime(d.to_string()),
        DeValue::Array(a) => NodeValue::Array(
            a.into_iter()
                .map(|v| {
                    let s = v.span();
                    convert_value(v.into_inner(), s)
                })
                .collect(),
        ),
        DeValue::Table(t) => return convert_table(t, span),
    };
    Node { span, value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_spans_of_keys_and_values() {
        let text = "[checklist]\nname = \"x\"\n\n[[item]]\nid = \"a\"\n";
        let root = Node::parse(text).unwrap();
        let t = root.as_table().unwrap();
        let (k, v) = &t[1];
        assert_eq!(k.name, "item");
        let NodeValue::Array(items) = &v.value else {
            panic!("not an array")
        };
        let (idk, idv) = &items[0].as_table().unwrap()[0];
        assert_eq!(&text[idk.span.clone()], "id");
        assert_eq!(idv.as_str(), Some("a"));
    }

    #[test]
    fn syntax_error_has_span() {
        let err = Node::parse("[checklist\nname=1").unwrap_err();
        assert!(err.1.start <= 11, "{err:?}");
    }
}
