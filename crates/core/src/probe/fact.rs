//! Facts described once: name, type, docs, and when a probe reports them.
//!
//! The loader checks expectation names against these, `preflight explain` prints
//! them, and [`conformance`] compares what a probe really emitted with them.

use serde_json::Value;

/// The JSON type of a fact's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactType {
    /// `true` / `false`.
    Bool,
    /// A whole number.
    Integer,
    /// Any number (latencies, ratios).
    Number,
    /// A string.
    String,
    /// A list.
    List,
    /// An object with keys chosen by the target (headers, rows, resolvers).
    Map,
    /// An object with documented keys.
    Object,
    /// Any JSON value (a parsed body).
    Any,
}

impl FactType {
    /// The spelling `explain` and the docs use.
    pub fn as_str(self) -> &'static str {
        match self {
            FactType::Bool => "bool",
            FactType::Integer => "int",
            FactType::Number => "number",
            FactType::String => "string",
            FactType::List => "list",
            FactType::Map => "map",
            FactType::Object => "object",
            FactType::Any => "any",
        }
    }

    /// Whether `value` (not null) has this type.
    pub fn admits(self, value: &Value) -> bool {
        match self {
            FactType::Bool => value.is_boolean(),
            FactType::Integer => value.is_i64() || value.is_u64(),
            FactType::Number => value.is_number(),
            FactType::String => value.is_string(),
            FactType::List => value.is_array(),
            FactType::Map | FactType::Object => value.is_object(),
            FactType::Any => true,
        }
    }
}

/// One top-level fact a probe reports.
#[derive(Debug, Clone, Copy)]
pub struct Fact {
    /// The name expectations read.
    pub name: &'static str,
    /// Its type.
    pub ty: FactType,
    /// One line for people.
    pub doc: &'static str,
    /// May be `null` (e.g. `json` when the body is not JSON).
    pub nullable: bool,
    /// Reported only under a condition, described here (e.g. "with `samples`");
    /// `None` when every observation reports it.
    pub when: Option<&'static str>,
}

impl Fact {
    /// A fact every observation reports, never null.
    pub const fn new(name: &'static str, ty: FactType, doc: &'static str) -> Fact {
        Fact {
            name,
            ty,
            doc,
            nullable: false,
            when: None,
        }
    }

    /// The same fact, which may be `null`.
    pub const fn nullable(mut self) -> Fact {
        self.nullable = true;
        self
    }

    /// The same fact, reported only under `condition`.
    pub const fn when(mut self, condition: &'static str) -> Fact {
        self.when = Some(condition);
        self
    }
}

/// Differences between emitted facts and their descriptions: a fact not described,
/// a value of the wrong type, or an unconditional fact missing. Empty when they agree.
pub fn conformance(described: &[Fact], emitted: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, value) in emitted {
        match described.iter().find(|f| f.name == name) {
            None => problems.push(format!("fact `{name}` is emitted but not described")),
            Some(f) if value.is_null() && !f.nullable => problems.push(format!(
                "fact `{name}` is null but not described as nullable"
            )),
            Some(f) if !value.is_null() && !f.ty.admits(value) => problems.push(format!(
                "fact `{name}` is described as {} but was {value}",
                f.ty.as_str()
            )),
            Some(_) => {}
        }
    }
    for f in described {
        if f.when.is_none() && !emitted.contains_key(f.name) {
            problems.push(format!(
                "fact `{}` is described as always reported but is missing",
                f.name
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FACTS: &[Fact] = &[
        Fact::new("status", FactType::Integer, "HTTP status"),
        Fact::new("json", FactType::Any, "body as JSON").nullable(),
        Fact::new("count", FactType::Integer, "samples taken").when("with `samples`"),
    ];

    #[test]
    fn agreeing_facts_have_no_problems() {
        let f = json!({"status": 200, "json": null});
        assert!(conformance(FACTS, f.as_object().expect("object")).is_empty());
    }

    #[test]
    fn undescribed_mistyped_and_missing_facts_are_named() {
        let f = json!({"status": "200", "extra": 1});
        let p = conformance(FACTS, f.as_object().expect("object")).join("\n");
        assert!(p.contains("`extra` is emitted but not described"), "{p}");
        assert!(p.contains("`status` is described as int"), "{p}");
        assert!(p.contains("`json` is described as always reported"), "{p}");
        assert!(!p.contains("count"), "{p}");
    }
}
