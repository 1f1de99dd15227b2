//! `[vars]` and `[environments.NAME.vars]`: values as written, and the names
//! placeholders elsewhere may use.

use std::collections::BTreeMap;

use serde_json::Value;

use super::file::shapes;
use super::loader::Loader;
use crate::schema::check::check_table;
use crate::tree::Node;

type Vars = BTreeMap<String, Value>;

/// Reads both tables, records their names as known, then checks their placeholders.
pub(super) fn load(
    l: &mut Loader<'_>,
    vars: Option<&Node>,
    environments: Option<&Node>,
) -> (Vars, BTreeMap<String, Vars>) {
    let base = vars.map(|n| table(l, n, "vars")).unwrap_or_default();
    let mut envs = BTreeMap::new();
    if let Some(node) = environments {
        match node.as_table() {
            Some(entries) => {
                for (ek, ev) in entries {
                    let place = format!("[environments.{}]", ek.name);
                    let Some(t) = ev.as_table() else {
                        l.problem(
                            ev.span.clone(),
                            None,
                            Some(&ek.name),
                            "expected a table",
                            Some(format!("write [environments.{}.vars]", ek.name)),
                        );
                        envs.insert(ek.name.clone(), Vars::new());
                        continue;
                    };
                    let f = check_table(t, &shapes().environment, &place, ev.span.clone(), &[]);
                    let bad = l.findings(None, f);
                    let env_vars = t
                        .iter()
                        .find(|(k, _)| k.name == "vars" && !bad.contains(&k.name))
                        .map(|(_, v)| table(l, v, &format!("environments.{}.vars", ek.name)))
                        .unwrap_or_default();
                    envs.insert(ek.name.clone(), env_vars);
                }
            }
            None => l.problem(
                node.span.clone(),
                None,
                Some("environments"),
                "expected a table",
                Some("write [environments.stage.vars]".into()),
            ),
        }
    }
    l.known_vars.extend(base.keys().cloned());
    for env in envs.values() {
        l.known_vars.extend(env.keys().cloned());
    }
    if let Some(t) = vars.and_then(Node::as_table) {
        for (k, v) in t {
            l.placeholders(None, &format!("vars.{}", k.name), v);
        }
    }
    for (ek, ev) in environments.and_then(Node::as_table).unwrap_or(&[]) {
        for (_, vt) in ev.as_table().unwrap_or(&[]) {
            for (k, v) in vt.as_table().unwrap_or(&[]) {
                l.placeholders(
                    None,
                    &format!("environments.{}.vars.{}", ek.name, k.name),
                    v,
                );
            }
        }
    }
    (base, envs)
}

fn table(l: &mut Loader<'_>, node: &Node, place: &str) -> Vars {
    let Some(t) = node.as_table() else {
        l.problem(
            node.span.clone(),
            None,
            Some(place),
            "expected a table",
            Some(format!(
                "write [{place}] followed by name = \"value\" lines"
            )),
        );
        return Vars::new();
    };
    t.iter()
        .map(|(k, v)| (k.name.clone(), v.to_json()))
        .collect()
}
