//! `capture` and `public` on an item, and the `${captures.ITEM.NAME}` other items
//! read: the item must exist, capture that name, and be in the reader's `needs`.

use std::collections::HashMap;

use super::loader::{CaptureRead, Loader};
use super::{Capture, Item, expectations};
use crate::names::suggest;
use crate::probe::ProbeEntry;
use crate::template::valid_capture_name;
use crate::tree::{Key, Node, NodeValue};

/// Compiles an item's `capture` table, checking names and expressions like `expect`.
pub(super) fn load(
    l: &mut Loader<'_>,
    it: Option<&str>,
    probe: &ProbeEntry,
    capture: Option<&(Key, Node)>,
    public: Option<&(Key, Node)>,
    bad: &[String],
) -> Vec<Capture> {
    let mut out = Vec::new();
    let entries: &[(Key, Node)] = match capture {
        Some((_, v)) if !bad.iter().any(|b| b == "capture") => v.as_table().unwrap_or(&[]),
        _ => &[],
    };
    for (k, v) in entries {
        if !valid_capture_name(&k.name) {
            l.problem(
                k.span.clone(),
                it,
                Some("capture"),
                format!("`{}` is not a capture name", k.name),
                Some(
                    "use letters, digits, `_` and `-` (it is the last part of ${captures.ITEM.NAME})"
                        .into(),
                ),
            );
            continue;
        }
        let Some(src) = v.as_str() else { continue };
        match l.compile(src) {
            Err(e) => l.problem(
                v.span.clone(),
                it,
                Some("capture"),
                format!(
                    "capture `{}`: expression `{src}` does not parse: {e}",
                    k.name
                ),
                Some("write a CEL expression over the facts, e.g. \"json.access_token\"".into()),
            ),
            Ok(expr) => {
                expectations::check_names(l, it, probe, &expr, &v.span, "capture");
                out.push(Capture {
                    name: k.name.clone(),
                    expr,
                    public: false,
                });
            }
        }
    }
    let Some((pk, pv)) = public else {
        return out;
    };
    if bad.iter().any(|b| b == "public") {
        return out;
    }
    if capture.is_none() {
        l.problem(
            pk.span.clone(),
            it,
            Some("public"),
            "`public` names captures, but the item captures nothing",
            Some("add capture = { name = \"…\" }, or remove `public`".into()),
        );
        return out;
    }
    let names: Vec<String> = entries.iter().map(|(k, _)| k.name.clone()).collect();
    if let NodeValue::Array(list) = &pv.value {
        for n in list {
            let Some(name) = n.as_str() else { continue };
            match out.iter_mut().find(|c| c.name == name) {
                Some(c) => c.public = true,
                None if names.iter().any(|x| x == name) => {}
                None => {
                    let hint = match suggest(name, names.iter().map(String::as_str)) {
                        Some(s) => format!("did you mean \"{s}\"? captures: {}", names.join(", ")),
                        None => format!("captures: {}", names.join(", ")),
                    };
                    l.problem(
                        n.span.clone(),
                        it,
                        Some("public"),
                        format!("`public` lists \"{name}\", which the item does not capture"),
                        Some(hint),
                    );
                }
            }
        }
    }
    out
}

/// Every `${captures.ITEM.NAME}` names an item this one needs, and a name it captures.
pub(super) fn check_reads(l: &mut Loader<'_>, items: &[Item], reads: &[Vec<CaptureRead>]) {
    let by_id: HashMap<&str, &Item> = items.iter().map(|i| (i.id.as_str(), i)).collect();
    for (n, (item, reads)) in items.iter().zip(reads).enumerate() {
        // A template's rows read what its first row reads.
        if super::repeats_template(items, n) {
            continue;
        }
        let it = Some(item.id.as_str());
        let mut seen = Vec::new();
        for r in reads {
            let c = &r.capture;
            if seen.contains(&(c, r.span.start)) {
                continue;
            }
            seen.push((c, r.span.start));
            let field = Some(r.field.as_str());
            if c.item == item.id {
                l.problem(
                    r.span.clone(),
                    it,
                    field,
                    format!("`{c}` reads the item's own capture"),
                    Some("captures are read by the items that need this one".into()),
                );
                continue;
            }
            let Some(source) = by_id.get(c.item.as_str()) else {
                let hint = match suggest(&c.item, items.iter().map(|i| i.id.as_str())) {
                    Some(s) => format!("did you mean ${{captures.{s}.{}}}?", c.name),
                    None => "name the id of another item in this file".into(),
                };
                l.problem(
                    r.span.clone(),
                    it,
                    field,
                    format!("`{c}` reads item \"{}\", which does not exist", c.item),
                    Some(hint),
                );
                continue;
            };
            if !source.capture.iter().any(|x| x.name == c.name) {
                let names: Vec<&str> = source.capture.iter().map(|x| x.name.as_str()).collect();
                let hint = if names.is_empty() {
                    format!(
                        "add capture = {{ {} = \"…\" }} to item \"{}\"",
                        c.name, c.item
                    )
                } else {
                    match suggest(&c.name, names.iter().copied()) {
                        Some(s) => format!(
                            "did you mean ${{captures.{}.{s}}}? it captures: {}",
                            c.item,
                            names.join(", ")
                        ),
                        None => format!("it captures: {}", names.join(", ")),
                    }
                };
                l.problem(
                    r.span.clone(),
                    it,
                    field,
                    format!("`{c}`: item \"{}\" captures no `{}`", c.item, c.name),
                    Some(hint),
                );
                continue;
            }
            if !item.needs.iter().any(|n| n == &c.item) {
                l.problem(
                    r.span.clone(),
                    it,
                    field,
                    format!(
                        "`{c}` reads a capture of \"{}\", which this item does not need",
                        c.item
                    ),
                    Some(format!(
                        "add needs = [\"{}\"]: it runs first, and this item is skipped when it does not pass",
                        c.item
                    )),
                );
            }
        }
    }
}
