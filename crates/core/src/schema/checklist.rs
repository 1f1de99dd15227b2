//! The JSON Schema (2020-12) of a checklist file: the file's tables as derived, with
//! `[[item]]` discriminated by `probe` (one definition per probe: the item keys plus
//! that probe's options) or `manual = true`. Wherever a value is not plain text, a
//! string holding `${…}` is accepted too, since its type is only known once
//! interpolated (in probe options: the only values that are interpolated).

use serde_json::{Map, Value, json};

use crate::checklist::file::{ChecklistFile, ItemTable, PROBE_ONLY_KEYS};
use crate::probe::Catalog;

/// The definition every templated value may use.
const TEMPLATE: &str = "template";

/// The whole schema for the probes in `catalog`.
pub fn checklist_schema(catalog: &Catalog) -> Value {
    let mut root = schemars::schema_for!(ChecklistFile).to_value();
    let mut defs = take_defs(&mut root);
    let item = schemars::schema_for!(ItemTable).to_value();
    let mut item_defs = Map::new();
    let mut item = item;
    for (k, v) in take_defs(&mut item) {
        item_defs.insert(k, v);
    }
    defs.extend(item_defs);
    let item_props = item
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();

    let mut alternatives = Vec::new();
    for entry in catalog.entries() {
        let name = entry.name();
        let mut options = entry.schema().clone();
        let prefix = format!("{name}.");
        for (k, v) in take_defs(&mut options) {
            let mut v = v;
            rename_refs(&mut v, &prefix);
            allow_templates_in(&mut v);
            defs.insert(format!("{prefix}{k}"), v);
        }
        rename_refs(&mut options, &prefix);
        allow_templates_in(&mut options);
        let mut props = item_props.clone();
        if let Some(p) = options.get("properties").and_then(Value::as_object) {
            for (k, v) in p {
                props.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        props.insert(
            "probe".into(),
            json!({"const": name, "description": entry.summary()}),
        );
        let mut required = vec![json!("id"), json!("probe")];
        if let Some(r) = options.get("required").and_then(Value::as_array) {
            required.extend(r.iter().cloned());
        }
        let def = format!("item.{name}");
        defs.insert(
            def.clone(),
            json!({
                "title": format!("{name} item"),
                "description": entry.summary(),
                "type": "object",
                "properties": props,
                "required": required,
                "additionalProperties": false,
            }),
        );
        alternatives.push(json!({"$ref": format!("#/$defs/{def}")}));
    }
    let mut manual = item_props.clone();
    for k in PROBE_ONLY_KEYS {
        manual.remove(*k);
    }
    manual.insert(
        "manual".into(),
        json!({"const": true, "description": "No probe: done only when a person attests it."}),
    );
    defs.insert(
        "item.manual".into(),
        json!({
            "title": "manual item",
            "type": "object",
            "properties": manual,
            "required": ["id", "manual"],
            "additionalProperties": false,
        }),
    );
    alternatives.push(json!({"$ref": "#/$defs/item.manual"}));

    if let Some(props) = root.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert(
            "item".into(),
            json!({
                "description": "The checklist's items, in order: each runs a probe or is manual.",
                "type": "array",
                "items": {"oneOf": alternatives},
            }),
        );
    }
    defs.insert(
        TEMPLATE.into(),
        json!({
            "description": "A value given as `${var}` or `${env:NAME}`, checked once interpolated.",
            "type": "string",
            "pattern": "\\$\\{",
        }),
    );
    let obj = root.as_object_mut().expect("schemars emits an object");
    obj.insert("title".into(), json!("preflight checklist"));
    obj.insert(
        "description".into(),
        json!("A launch checklist for preflight: settings, vars, environments, items, notify."),
    );
    obj.insert("$defs".into(), Value::Object(defs));
    root
}

fn take_defs(schema: &mut Value) -> Map<String, Value> {
    schema
        .as_object_mut()
        .and_then(|o| o.remove("$defs"))
        .and_then(|d| match d {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .unwrap_or_default()
}

fn rename_refs(v: &mut Value, prefix: &str) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref")
                && let Some(name) = r.strip_prefix("#/$defs/")
            {
                *r = format!("#/$defs/{prefix}{name}");
            }
            m.values_mut().for_each(|x| rename_refs(x, prefix));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rename_refs(x, prefix)),
        _ => {}
    }
}

/// Plain text needs nothing; anything else may also be a `${…}` string.
fn is_plain_string(s: &Value) -> bool {
    let Some(o) = s.as_object() else {
        return true;
    };
    let ty = o.get("type");
    let string = ty == Some(&json!("string")) || ty == Some(&json!(["string", "null"]));
    string && !o.contains_key("enum") && !o.contains_key("pattern") && !o.contains_key("format")
}

fn allow_templates_in(schema: &mut Value) {
    let Some(o) = schema.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(props)) = o.get_mut("properties") {
        for (_, p) in props.iter_mut() {
            allow_templates_in(p);
            wrap(p);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(s) = o.get_mut(key)
            && s.is_object()
        {
            allow_templates_in(s);
            wrap(s);
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(alts)) = o.get_mut(key) {
            alts.iter_mut().for_each(allow_templates_in);
        }
    }
}

fn wrap(s: &mut Value) {
    if is_plain_string(s)
        || s.as_object()
            .is_some_and(|o| o.is_empty() || o.contains_key("const"))
    {
        return;
    }
    // An object with only a description (`serde_json::Value`) accepts anything.
    if s.as_object()
        .is_some_and(|o| o.keys().all(|k| k == "description" || k == "default"))
    {
        return;
    }
    let mut inner = s.take();
    let mut outer = Map::new();
    if let Some(o) = inner.as_object_mut() {
        for key in ["description", "default"] {
            if let Some(v) = o.remove(key) {
                outer.insert(key.into(), v);
            }
        }
    }
    outer.insert(
        "anyOf".into(),
        json!([inner, {"$ref": format!("#/$defs/{TEMPLATE}")}]),
    );
    *s = Value::Object(outer);
}
