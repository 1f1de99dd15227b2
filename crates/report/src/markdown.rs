//! The Markdown report: the checklist written back with `[x]` / `[ ]`, section by
//! section, the reason after each unticked line and a header with the verdict — ready
//! to paste into a ticket.

use preflight_core::Status;
use preflight_core::sanitize;

use crate::{ItemReport, Report};

/// Text on one line: newlines folded so a value cannot break the list, other
/// control characters escaped (see `preflight_core::sanitize`).
fn folded(text: &str) -> String {
    let folded = text
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    sanitize::line(&folded).into_owned()
}

/// The characters that can start Markdown markup inline (emphasis, links,
/// images, HTML, code, tables, strikethrough, entities): each is written with a
/// backslash, so a value from a target reads as the text it is.
const MARKUP: &[char] = &[
    '\\', '`', '*', '_', '[', ']', '<', '>', '|', '~', '&', '#', '!',
];

/// One line of Markdown text that renders as exactly the value: [`folded`], then
/// every [`MARKUP`] character escaped.
fn inline(text: &str) -> String {
    let mut out = String::new();
    for c in folded(text).chars() {
        if MARKUP.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Inline code that survives backticks inside the value (code spans take their
/// text literally, so nothing else needs escaping).
fn code(text: &str) -> String {
    let text = folded(text);
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

fn item_line(i: &ItemReport) -> String {
    let tick = if i.status == Status::Pass { "x" } else { " " };
    let title = if i.title.is_empty() { &i.id } else { &i.title };
    let mut line = format!("- [{tick}] {} {}", inline(title), code(&i.id));
    match i.severity.as_str() {
        "critical" => line.push_str(" **critical**"),
        "advisory" => line.push_str(" _advisory_"),
        _ => {}
    }
    if let Some(owner) = &i.owner {
        line.push_str(&format!(" — owner: {}", inline(owner)));
    }
    if let Some(a) = &i.attested {
        line.push_str(&format!(
            " — attested by {} at {}",
            inline(&a.by),
            inline(&a.at)
        ));
        if let Some(n) = &a.note {
            line.push_str(&format!(": {}", inline(n)));
        }
        if let Some(e) = &a.expires {
            line.push_str(&format!(" (expires {})", inline(e)));
        }
    }
    if i.status != Status::Pass {
        let what = match i.status {
            Status::Manual => "manual, pending",
            other => other.as_str(),
        };
        line.push_str(&format!(" — **{what}**"));
        if let Some(reason) = &i.reason {
            line.push_str(&format!(": {}", inline(reason)));
        }
    }
    line.push('\n');
    line
}

/// Renders the Markdown report.
pub fn render_markdown(r: &Report) -> String {
    let mut out = format!("# {} — {}\n\n", inline(&r.checklist), r.verdict.label());
    let phase = r.phase.as_deref().unwrap_or("all");
    out.push_str(&format!(
        "| verdict | score | started | duration | environment | phase |\n\
         |---|---|---|---|---|---|\n\
         | **{}** | {}% (needs {}%) | {} | {} ms | {} | {} |\n\n",
        r.verdict.label(),
        r.score,
        r.pass_score,
        inline(&r.started_at),
        r.duration_ms,
        inline(&r.environment),
        inline(phase)
    ));
    let c = &r.counts;
    out.push_str(&format!(
        "{} pass, {} fail, {} error, {} skip, {} manual pending{}\n",
        c.pass,
        c.fail,
        c.error,
        c.skip,
        c.manual,
        if r.interrupted { " (interrupted)" } else { "" }
    ));
    if !r.failing_critical.is_empty() {
        let ids: Vec<String> = r.failing_critical.iter().map(|i| code(i)).collect();
        out.push_str(&format!("\nFailing critical: {}\n", ids.join(", ")));
    }
    let mut sections: Vec<&str> = Vec::new();
    for i in &r.items {
        if !sections.contains(&i.section.as_str()) {
            sections.push(&i.section);
        }
    }
    for (n, section) in sections.iter().enumerate() {
        out.push('\n');
        if !section.is_empty() {
            out.push_str(&format!("## {}\n\n", inline(section)));
        } else if n > 0 {
            out.push_str("## (no section)\n\n");
        }
        let items = r.items.iter().filter(|i| i.section == *section);
        for entry in crate::group::entries(items) {
            match entry {
                crate::group::Entry::Item(i) => out.push_str(&item_line(i)),
                crate::group::Entry::Template { id, items } => {
                    let tick = if crate::group::worst(&items) == Status::Pass {
                        "x"
                    } else {
                        " "
                    };
                    out.push_str(&format!(
                        "- [{tick}] {} — {}\n",
                        code(&format!("{id}[…]")),
                        crate::group::summary(&items, r.hidden(id))
                    ));
                    for i in items.iter().filter(|i| i.status != Status::Pass) {
                        out.push_str("  ");
                        out.push_str(&item_line(i));
                    }
                }
            }
        }
    }
    if !r.notes.is_empty() {
        out.push('\n');
        for n in &r.notes {
            out.push_str(&format!("> note: {}\n", inline(n)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample_report;

    #[test]
    fn ticks_reasons_and_header() {
        let md = render_markdown(&sample_report());
        insta::assert_snapshot!(md);
        assert!(md.contains("- [ ] GET /api/health returns 200 `smoke.health` **critical** — owner: SRE — **fail**: status == 200 — status was 503"));
        assert!(md.contains("- [x] Privacy Policy published `legal.privacy` — attested by alice"));
        // Sections in report order; the item without a section is not lost.
        let s12 = md.find("## 12. Smoke tests").unwrap();
        let s13 = md.find("## 13. Communication").unwrap();
        assert!(s12 < s13 && md.contains("`legal.terms`"));
    }
}
