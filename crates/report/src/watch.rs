//! What `preflight watch` prints after each run: only what changed.

use std::fmt::Write as _;

use preflight_core::Status;
use preflight_core::sanitize::{indented, line};
use preflight_model::{Diff, Report};

/// What changed since the previous run (given with the diff against it), one line
/// each; the first run states the verdict and lists what is not passing. Ids and
/// reasons are shown with control characters escaped, a reason's line breaks
/// indented under its line.
pub fn render_transitions(previous: Option<(&Report, &Diff)>, r: &Report, n: u32) -> String {
    let at = line(&r.started_at);
    let mut out = String::new();
    let Some((p, d)) = previous else {
        let _ = writeln!(
            out,
            "{at}  run {n}: {} {}% ({} items)",
            r.verdict.label(),
            r.score,
            r.items.len()
        );
        for i in r.items.iter().filter(|i| i.status != Status::Pass) {
            let _ = writeln!(
                out,
                "{at}  {}  → {}{}",
                line(&i.id),
                i.status.as_str(),
                i.reason
                    .as_deref()
                    .map(|x| format!(": {}", indented(x, "    ")))
                    .unwrap_or_default()
            );
        }
        return out;
    };
    if p.verdict != r.verdict {
        let _ = writeln!(
            out,
            "{at}  run {n}: verdict {} → {} (score {}% → {}%)",
            p.verdict.label(),
            r.verdict.label(),
            p.score,
            r.score
        );
    }
    for c in d.regressed.iter().chain(&d.recovered).chain(&d.changed) {
        let reason = match (&c.reason, c.to) {
            (Some(x), to) if to != Status::Pass => format!(": {}", indented(x, "    ")),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{at}  {}  {} → {}{reason}",
            line(&c.id),
            c.from.as_str(),
            c.to.as_str()
        );
    }
    for a in &d.appeared {
        let _ = writeln!(
            out,
            "{at}  {}  appeared ({})",
            line(&a.id),
            a.status.as_str()
        );
    }
    for a in &d.disappeared {
        let _ = writeln!(out, "{at}  {}  disappeared", line(&a.id));
    }
    out
}
