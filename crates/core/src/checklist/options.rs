//! An item's probe options: everything that is not an item key. Their shape was
//! checked with the item; here their placeholders are checked, and — when they hold
//! no `${…}` — the probe's own typed parse and validation run at load time.

use super::file::shapes;
use super::loader::{CaptureRead, Loader};
use crate::probe::{Options, ProbeEntry};
use crate::schema::shape::stand_in;
use crate::tree::{Key, Node, NodeValue};

/// The options as written, and the `${captures.…}` they read (with where).
pub(super) fn load(
    l: &mut Loader<'_>,
    it: Option<&str>,
    probe: &ProbeEntry,
    table: &[(Key, Node)],
    bad: &[String],
) -> (Options, Vec<CaptureRead>) {
    let mut options = Options::new();
    // What the probe's own checks see: an option known only once interpolated is
    // replaced by a stand-in of its type, and its problems are left to the plan.
    let mut view = Options::new();
    let mut later: Vec<&str> = Vec::new();
    for (k, v) in table {
        let Some(field) = probe.options().field(&k.name) else {
            continue;
        };
        if shapes().item.field(&k.name).is_some() {
            continue;
        }
        l.option_placeholders(it, &k.name, v);
        let value = v.to_json();
        if has_template(v) {
            later.push(&k.name);
            view.insert(k.name.clone(), stand_in(&value, &field.shape));
        } else if !bad.contains(&k.name) {
            view.insert(k.name.clone(), value.clone());
        }
        options.insert(k.name.clone(), value);
    }
    let ours = |p: &crate::probe::OptionProblem| {
        p.key
            .as_deref()
            .is_none_or(|k| !later.contains(&k) && !bad.iter().any(|b| b == k))
    };
    let any_bad = options.keys().any(|k| bad.contains(k));
    // A missing required option was reported with the item's shape.
    let complete = probe
        .options()
        .fields
        .iter()
        .filter(|f| f.required)
        .all(|f| view.contains_key(&f.name));
    if complete {
        for p in probe
            .check(&view)
            .into_iter()
            .filter(|p| ours(p) && !(any_bad && p.key.is_none()))
        {
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
    (options, std::mem::take(&mut l.capture_reads))
}

fn has_template(node: &Node) -> bool {
    match &node.value {
        NodeValue::String(s) => s.contains("${"),
        NodeValue::Array(a) => a.iter().any(has_template),
        NodeValue::Table(t) => t.iter().any(|(_, v)| has_template(v)),
        _ => false,
    }
}
