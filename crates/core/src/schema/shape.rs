//! A JSON Schema, as derived by `schemars`, compiled into the few shapes a checklist
//! uses, so the loader can walk a table once per item without chasing `$ref`s.
//!
//! Only what our option structs produce is understood: `type` (with `null`),
//! `properties` / `required` / `additionalProperties`, `items`, `enum`, `anyOf` /
//! `oneOf`, `minimum` / `maximum`, `$ref` into `$defs`, `description`, `default`, and
//! two extensions: `format: "duration"` (humantime text) and `x-secret: true`.

use serde_json::{Map, Value};

/// What a value must look like.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Anything (a `serde_json::Value` option such as `json`).
    Any,
    /// `true` / `false`.
    Bool,
    /// A whole number within an inclusive range.
    Integer {
        /// Smallest allowed value.
        min: Option<i64>,
        /// Largest allowed value.
        max: Option<i64>,
    },
    /// Any number.
    Number,
    /// Text; with `duration`, humantime text such as `"5s"`.
    String {
        /// Humantime text such as `"5s"`.
        duration: bool,
    },
    /// One of a fixed set of names (an enum).
    Name {
        /// The allowed values.
        allowed: Vec<String>,
        /// What such a value is called in messages ("severity"), from the schema's
        /// `title`; "value" when it has none.
        noun: Option<String>,
    },
    /// A list whose elements all have one shape.
    Array(Box<Shape>),
    /// A table with keys chosen by the user (headers, env) whose values have one shape.
    Map(Box<Shape>),
    /// A table with documented keys.
    Object(ObjectShape),
    /// One of several shapes (`integer` or `string`, a string or a list of strings).
    Either(Vec<Shape>),
}

/// A table with documented keys.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObjectShape {
    /// Keys in declaration order.
    pub fields: Vec<Field>,
    /// Unknown keys are errors (`deny_unknown_fields`).
    pub closed: bool,
}

/// One documented key.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The key.
    pub name: String,
    /// What its value must look like.
    pub shape: Shape,
    /// Must be present.
    pub required: bool,
    /// May be `null` (never written in TOML, but part of the type).
    pub nullable: bool,
    /// The doc comment's first paragraph.
    pub doc: String,
    /// The default, when the derive knows it.
    pub default: Option<Value>,
    /// Its value is always a secret.
    pub secret: bool,
}

impl ObjectShape {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Every key name, in order.
    pub fn names(&self) -> Vec<&str> {
        self.fields.iter().map(|f| f.name.as_str()).collect()
    }
}

impl Shape {
    /// Compiles a whole schema document (`$defs` resolved from its root).
    pub fn compile(schema: &Value) -> Shape {
        let defs = schema
            .get("$defs")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        compile(schema, &defs, 0)
    }

    /// The object shape, when this is one.
    pub fn as_object(&self) -> Option<&ObjectShape> {
        match self {
            Shape::Object(o) => Some(o),
            _ => None,
        }
    }

    /// "a string", "an integer from 1 to 65535", …: for "expected X" messages.
    pub fn describe(&self) -> String {
        match self {
            Shape::Any => "any value".into(),
            Shape::Bool => "a boolean".into(),
            Shape::Integer { min, max } => match (min, max) {
                (Some(a), Some(b)) => format!("an integer from {a} to {b}"),
                (Some(a), None) => format!("an integer of at least {a}"),
                _ => "an integer".into(),
            },
            Shape::Number => "a number".into(),
            Shape::String { duration: true } => "a duration such as \"5s\"".into(),
            Shape::String { duration: false } => "a string".into(),
            Shape::Name { allowed, .. } => format!("one of {}", quoted_list(allowed)),
            Shape::Array(el) => match el.as_ref() {
                Shape::String { duration: false } => "an array of strings".into(),
                other => format!("an array of {}", plural(&other.describe())),
            },
            Shape::Map(_) => "a table".into(),
            Shape::Object(_) => "a table".into(),
            Shape::Either(v) => v
                .iter()
                .map(Shape::describe)
                .collect::<Vec<_>>()
                .join(" or "),
        }
    }

    /// A short type name for docs and `explain`: `string`, `int`, `[string]`, ….
    pub fn type_name(&self) -> String {
        match self {
            Shape::Any => "any".into(),
            Shape::Bool => "bool".into(),
            Shape::Integer { .. } => "int".into(),
            Shape::Number => "number".into(),
            Shape::String { duration: true } => "duration".into(),
            Shape::String { duration: false } => "string".into(),
            Shape::Name { allowed, .. } => allowed.join(" | "),
            Shape::Array(el) => format!("[{}]", el.type_name()),
            Shape::Map(v) => format!("{{name: {}}}", v.type_name()),
            Shape::Object(o) => format!("{{{}}}", o.names().join(", ")),
            Shape::Either(v) => v
                .iter()
                .map(Shape::type_name)
                .collect::<Vec<_>>()
                .join(" or "),
        }
    }
}

/// Turns interpolated text into the type `shape` wants: `--var port=5432` gives the
/// string `"5432"`, which an integer option reads as 5432. Values that do not convert
/// are left alone for the typed parse to report.
pub fn coerce(value: &mut Value, shape: &Shape) {
    match (shape, &mut *value) {
        (Shape::Integer { .. }, Value::String(s)) => {
            if let Ok(i) = s.trim().parse::<i64>() {
                *value = Value::from(i);
            }
        }
        (Shape::Number, Value::String(s)) => {
            if let Ok(f) = s.trim().parse::<f64>()
                && let Some(n) = serde_json::Number::from_f64(f)
            {
                *value = Value::Number(n);
            }
        }
        (Shape::Bool, Value::String(s)) => match s.trim() {
            "true" => *value = Value::Bool(true),
            "false" => *value = Value::Bool(false),
            _ => {}
        },
        (Shape::Array(el), Value::Array(items)) => items.iter_mut().for_each(|v| coerce(v, el)),
        (Shape::Map(el), Value::Object(m)) => m.values_mut().for_each(|v| coerce(v, el)),
        (Shape::Object(o), Value::Object(m)) => coerce_object(m, o),
        (Shape::Either(alts), Value::String(_)) => {
            if alts
                .iter()
                .any(|a| matches!(a, Shape::String { .. } | Shape::Name { .. } | Shape::Any))
            {
                return;
            }
            for alt in alts {
                coerce(value, alt);
                if !value.is_string() {
                    return;
                }
            }
        }
        (Shape::Either(alts), _) => {
            if let Some(alt) = alts.iter().find(|a| !matches!(a, Shape::String { .. })) {
                coerce(value, alt);
            }
        }
        _ => {}
    }
}

/// A stand-in value of `shape`, for checking the other options of an item whose
/// option of this shape is only known once interpolated. Strings stay as written.
pub fn stand_in(written: &Value, shape: &Shape) -> Value {
    match shape {
        Shape::Any | Shape::String { duration: false } => written.clone(),
        Shape::String { duration: true } => Value::from("1s"),
        Shape::Bool => Value::Bool(false),
        Shape::Integer { min, .. } => Value::from(min.unwrap_or(1).max(1)),
        Shape::Number => Value::from(1),
        Shape::Name { allowed, .. } => Value::from(allowed.first().cloned().unwrap_or_default()),
        Shape::Array(_) => Value::Array(Vec::new()),
        Shape::Map(_) | Shape::Object(_) => Value::Object(Map::new()),
        Shape::Either(alts) => {
            if alts
                .iter()
                .any(|a| matches!(a, Shape::String { duration: false } | Shape::Any))
            {
                written.clone()
            } else {
                alts.first()
                    .map(|a| stand_in(written, a))
                    .unwrap_or(Value::Null)
            }
        }
    }
}

/// [`coerce`] for each documented key of a table.
pub fn coerce_object(map: &mut Map<String, Value>, shape: &ObjectShape) {
    for (k, v) in map.iter_mut() {
        if let Some(f) = shape.field(k) {
            coerce(v, &f.shape);
        }
    }
}

fn quoted_list(v: &[String]) -> String {
    v.iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(s: &str) -> String {
    s.trim_start_matches("an ")
        .trim_start_matches("a ")
        .to_string()
        + "s"
}

/// `$ref`s nest at most this deep (a recursive type would otherwise never end).
const MAX_DEPTH: usize = 16;

fn compile(s: &Value, defs: &Map<String, Value>, depth: usize) -> Shape {
    if depth > MAX_DEPTH {
        return Shape::Any;
    }
    let Some(obj) = s.as_object() else {
        // `true` (anything) or a malformed schema: accept anything.
        return Shape::Any;
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        return match defs.get(name) {
            Some(d) => compile(d, defs, depth + 1),
            None => Shape::Any,
        };
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(alts)) = obj.get(key) {
            let shapes: Vec<Shape> = alts
                .iter()
                .filter(|a| !is_null_schema(a))
                .map(|a| compile(a, defs, depth + 1))
                .collect();
            // Enum variants with docs come as one `const` per variant: one name set.
            if shapes.len() > 1 && shapes.iter().all(|s| matches!(s, Shape::Name { .. })) {
                let allowed = shapes
                    .into_iter()
                    .flat_map(|s| match s {
                        Shape::Name { allowed, .. } => allowed,
                        _ => Vec::new(),
                    })
                    .collect();
                return Shape::Name {
                    allowed,
                    noun: noun(obj),
                };
            }
            return match shapes.len() {
                0 => Shape::Any,
                1 => shapes.into_iter().next().unwrap_or(Shape::Any),
                _ => Shape::Either(shapes),
            };
        }
    }
    if let Some(Value::Array(values)) = obj.get("enum") {
        let names: Vec<String> = values
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        return Shape::Name {
            allowed: names,
            noun: noun(obj),
        };
    }
    if let Some(c) = obj.get("const").and_then(Value::as_str) {
        return Shape::Name {
            allowed: vec![c.to_string()],
            noun: noun(obj),
        };
    }
    let types: Vec<&str> = match obj.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let types: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
    let shapes: Vec<Shape> = types.iter().map(|t| typed(t, obj, defs, depth)).collect();
    match shapes.len() {
        0 => Shape::Any,
        1 => shapes.into_iter().next().unwrap_or(Shape::Any),
        _ => Shape::Either(shapes),
    }
}

fn typed(t: &str, obj: &Map<String, Value>, defs: &Map<String, Value>, depth: usize) -> Shape {
    match t {
        "boolean" => Shape::Bool,
        "integer" => Shape::Integer {
            min: obj.get("minimum").and_then(Value::as_i64),
            max: obj.get("maximum").and_then(Value::as_i64),
        },
        "number" => Shape::Number,
        "string" => Shape::String {
            duration: obj.get("format").and_then(Value::as_str) == Some("duration"),
        },
        "array" => Shape::Array(Box::new(
            obj.get("items")
                .map(|i| compile(i, defs, depth + 1))
                .unwrap_or(Shape::Any),
        )),
        "object" => object(obj, defs, depth),
        _ => Shape::Any,
    }
}

fn object(obj: &Map<String, Value>, defs: &Map<String, Value>, depth: usize) -> Shape {
    let props = obj.get("properties").and_then(Value::as_object);
    let additional = obj.get("additionalProperties");
    let Some(props) = props else {
        return Shape::Map(Box::new(match additional {
            Some(a) if a.is_object() => compile(a, defs, depth + 1),
            _ => Shape::Any,
        }));
    };
    let required: Vec<&str> = obj
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let fields = props
        .iter()
        .map(|(name, s)| Field {
            name: name.clone(),
            shape: compile(s, defs, depth + 1),
            required: required.contains(&name.as_str()),
            nullable: admits_null(s),
            doc: s
                .get("description")
                .and_then(Value::as_str)
                .map(first_paragraph)
                .unwrap_or_default(),
            default: s.get("default").cloned().filter(|d| !d.is_null()),
            secret: s.get("x-secret").and_then(Value::as_bool) == Some(true),
        })
        .collect();
    Shape::Object(ObjectShape {
        fields,
        closed: matches!(additional, Some(Value::Bool(false))),
    })
}

fn noun(obj: &Map<String, Value>) -> Option<String> {
    obj.get("title").and_then(Value::as_str).map(str::to_string)
}

fn is_null_schema(s: &Value) -> bool {
    s.get("type").and_then(Value::as_str) == Some("null")
}

fn admits_null(s: &Value) -> bool {
    match s.get("type") {
        Some(Value::Array(ts)) if ts.iter().any(|t| t == "null") => return true,
        Some(Value::String(t)) if t == "null" => return true,
        _ => {}
    }
    if let Some(Value::Array(alts)) = s.get("anyOf").or_else(|| s.get("oneOf")) {
        return alts.iter().any(|a| is_null_schema(a) || admits_null(a));
    }
    false
}

fn first_paragraph(text: &str) -> String {
    text.split("\n\n")
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compiles_what_schemars_derives() {
        let schema = json!({
            "type": "object",
            "properties": {
                "url": {"description": "Where.\n\nMore text.", "type": "string"},
                "port": {"type": "integer", "minimum": 0, "maximum": 65535, "default": 443},
                "kind": {"$ref": "#/$defs/Kind", "default": "A"},
                "sub": {"anyOf": [{"$ref": "#/$defs/Sub"}, {"type": "null"}]},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "secret": {"type": ["string", "null"], "x-secret": true},
                "json": {"description": "anything"}
            },
            "required": ["url"],
            "additionalProperties": false,
            "$defs": {
                "Kind": {"type": "string", "enum": ["A", "AAAA"]},
                "Sub": {"type": "object", "properties": {"dir": {"type": "string"}}, "additionalProperties": false}
            }
        });
        let Shape::Object(o) = Shape::compile(&schema) else {
            panic!("object")
        };
        assert!(o.closed);
        assert_eq!(
            o.names(),
            ["url", "port", "kind", "sub", "headers", "secret", "json"]
        );
        let url = o.field("url").expect("url");
        assert!(url.required && !url.nullable);
        assert_eq!(url.doc, "Where.");
        assert_eq!(
            o.field("port").expect("port").shape.describe(),
            "an integer from 0 to 65535"
        );
        assert_eq!(o.field("kind").expect("kind").default, Some(json!("A")));
        assert_eq!(o.field("kind").expect("kind").shape.type_name(), "A | AAAA");
        let sub = o.field("sub").expect("sub");
        assert!(sub.nullable);
        assert_eq!(sub.shape.type_name(), "{dir}");
        assert_eq!(
            o.field("headers").expect("h").shape,
            Shape::Map(Box::new(Shape::String { duration: false }))
        );
        assert!(o.field("secret").expect("s").secret);
        assert_eq!(o.field("json").expect("j").shape, Shape::Any);
    }

    #[test]
    fn coerces_interpolated_text_to_the_wanted_type() {
        let schema = json!({"type": "object", "properties": {
            "port": {"type": "integer"},
            "insecure": {"type": "boolean"},
            "name": {"type": "string"},
            "ports": {"type": "array", "items": {"type": "integer"}}
        }});
        let o = Shape::compile(&schema).as_object().expect("object").clone();
        let mut m = json!({"port": "5432", "insecure": "true", "name": "7", "ports": ["1", "x"]})
            .as_object()
            .expect("object")
            .clone();
        coerce_object(&mut m, &o);
        assert_eq!(
            Value::Object(m),
            json!({"port": 5432, "insecure": true, "name": "7", "ports": [1, "x"]})
        );
    }
}
