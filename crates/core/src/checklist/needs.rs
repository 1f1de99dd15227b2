//! Across items: ids unique, every `needs` names another item, no cycles.

use std::collections::HashMap;
use std::ops::Range;

use super::Item;
use super::loader::{Loader, line_span};
use crate::error::Problem;
use crate::names::suggest;

pub(super) fn check(
    l: &mut Loader<'_>,
    text: &str,
    items: &[Item],
    needs_spans: &[Option<Range<usize>>],
) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(first) = seen.insert(&item.id, i) {
            let line = items[first].line;
            l.problems.push(Problem {
                span: line_span(text, item.line),
                item: Some(item.id.clone()),
                field: Some("id".into()),
                message: format!("duplicate id (first used on line {line})"),
                hint: Some("ids must be unique: history and --only rely on them".into()),
            });
        }
    }
    let span_of = |i: usize| {
        needs_spans[i]
            .clone()
            .unwrap_or_else(|| line_span(text, items[i].line))
    };
    for (i, item) in items.iter().enumerate() {
        // A template's rows share its needs: their problems are the first row's.
        if super::repeats_template(items, i) {
            continue;
        }
        for need in &item.needs {
            if seen.contains_key(need.as_str()) && need != &item.id {
                continue;
            }
            let hint = match suggest(need, items.iter().map(|i| i.id.as_str())) {
                Some(s) if s != item.id => format!("did you mean \"{s}\"?"),
                _ => "name the id of another item in this file".into(),
            };
            let message = if need == &item.id {
                "an item cannot need itself".to_string()
            } else {
                format!("needs unknown item \"{need}\"")
            };
            l.problems.push(Problem {
                span: span_of(i),
                item: Some(item.id.clone()),
                field: Some("needs".into()),
                message,
                hint: Some(hint),
            });
        }
    }
    if let Some(cycle) = find_cycle(items) {
        let i = items.iter().position(|it| it.id == cycle[0]).unwrap_or(0);
        l.problems.push(Problem {
            span: span_of(i),
            item: Some(cycle[0].clone()),
            field: Some("needs".into()),
            message: format!("needs form a cycle: {}", cycle.join(" → ")),
            hint: Some("remove one of these needs".into()),
        });
    }
}

/// A cycle in `needs`, as the ids along it, if there is one.
fn find_cycle(items: &[Item]) -> Option<Vec<String>> {
    let index: HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(i, it)| (it.id.as_str(), i))
        .collect();
    // 0 = unvisited, 1 = on the stack, 2 = done. Iterative, so a long chain of
    // needs cannot overflow the stack.
    let mut state = vec![0u8; items.len()];
    for start in 0..items.len() {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(&mut (i, ref mut next)) = stack.last_mut() {
            let needs = &items[i].needs;
            if *next >= needs.len() {
                state[i] = 2;
                stack.pop();
                continue;
            }
            let need = &needs[*next];
            *next += 1;
            let Some(&j) = index.get(need.as_str()) else {
                continue;
            };
            if j == i {
                continue;
            }
            match state[j] {
                1 => {
                    let pos = stack.iter().position(|&(s, _)| s == j).unwrap_or(0);
                    let mut ids: Vec<String> = stack[pos..]
                        .iter()
                        .map(|&(s, _)| items[s].id.clone())
                        .collect();
                    ids.push(items[j].id.clone());
                    return Some(ids);
                }
                0 => {
                    state[j] = 1;
                    stack.push((j, 0));
                }
                _ => {}
            }
        }
    }
    None
}
