//! An item's probe options: everything that is not an item key. Their shape was
//! checked with the item; here their placeholders are checked, and — when they hold
//! no `${…}` — the probe's own typed parse and validation run at load time.

use super::file::shapes;
use super::loader::Loader;
use crate::probe::{Options, ProbeEntry};
use crate::tree::{Key, Node, NodeValue};

pub(super) fn load(
    l: &mut Loader<'_>,
    it: Option<&str>,
    probe: &ProbeEntry,
    table: &[(Key, Node)],
    bad: &[String],
) -> Options {
    let mut options = Options::new();
    let mut templated = false;
    for (k, v) in table {
        if shapes().item.field(&k.name).is_some() || probe.options().field(&k.name).is_none() {
            continue;
        }
        l.placeholders(it, &k.name, v);
        templated |= has_template(v);
        options.insert(k.name.clone(), v.to_json());
    }
    let clean = !options.keys().any(|k| bad.contains(k));
    if clean && !templated {
        for p in probe.check(&options) {
            let span = p
                .key
                .as_ref()
                .and_then(|key| table.iter().find(|(k, _)| &k.name == key))
                .map(|(_, v)| v.span.clone())
                .unwrap_or_else(|| {
                    table
                        .iter()
                        .find(|(k, _)| k.name == "probe")
                        .map(|(_, v)| v.span.clone())
                        .unwrap_or(0..1)
                });
            l.problem(
                span,
                it,
                p.key.as_deref(),
                p.message,
                Some(format!(
                    "see `preflight explain {}` for its options",
                    probe.name()
                )),
            );
        }
    }
    options
}

fn has_template(node: &Node) -> bool {
    match &node.value {
        NodeValue::String(s) => s.contains("${"),
        NodeValue::Array(a) => a.iter().any(has_template),
        NodeValue::Table(t) => t.iter().any(|(_, v)| has_template(v)),
        _ => false,
    }
}
