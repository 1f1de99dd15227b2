//! The human report: grouped by section, one line per item, reasons for the rest,
//! the verdict last.

use anstyle::{AnsiColor, Style};
use preflight_core::sanitize::{indented, line};
use preflight_core::{Status, Verdict};

use crate::group::Entry;
use crate::{ItemReport, Report};

/// Whether the human report may use colour (decided by the CLI: a terminal, and
/// neither `--color never` nor `NO_COLOR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Styling {
    /// Emit ANSI colour codes.
    pub color: bool,
}

impl Styling {
    /// `text` in `style`, or plain when colour is off.
    fn paint(self, style: Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }

    fn status(self, s: Status) -> Style {
        let c = match s {
            Status::Pass => AnsiColor::Green,
            Status::Fail => AnsiColor::Red,
            Status::Error => AnsiColor::Magenta,
            Status::Skip => AnsiColor::Yellow,
            Status::Manual => AnsiColor::Cyan,
        };
        Style::new().fg_color(Some(c.into())).bold()
    }
}

/// The symbol of a status.
pub fn symbol(s: Status) -> &'static str {
    match s {
        Status::Pass => "✔",
        Status::Fail => "✘",
        Status::Error => "!",
        Status::Skip => "↷",
        Status::Manual => "✋",
    }
}

/// Renders the human report without colour.
pub fn render_human(r: &Report) -> String {
    render_human_styled(r, Styling::default())
}

/// Renders the human report, coloured when `styling` allows: status icons, the
/// verdict line and the reasons of items that did not pass. Colour is never the
/// only signal: the icons and words are the same either way.
///
/// Text from the checklist or a target is shown with its control characters
/// escaped; ids, titles and other one-line fields stay on one line, and a reason's
/// own line breaks are indented under it, so nothing can start a line that looks
/// like another item's.
pub fn render_human_styled(r: &Report, styling: Styling) -> String {
    let mut out = String::new();
    let phase = r
        .phase
        .as_deref()
        .map(|p| format!(", phase {}", line(p)))
        .unwrap_or_default();
    out.push_str(&format!(
        "{} — environment {}{phase}\n",
        line(&r.checklist),
        line(&r.environment)
    ));
    let mut sections: Vec<&str> = Vec::new();
    for i in &r.items {
        if !sections.contains(&i.section.as_str()) {
            sections.push(&i.section);
        }
    }
    for section in sections {
        out.push('\n');
        out.push_str(&if section.is_empty() {
            "(no section)".into()
        } else {
            line(section)
        });
        out.push('\n');
        let items = r.items.iter().filter(|i| i.section == section);
        for entry in crate::group::entries(items) {
            match entry {
                Entry::Item(i) => item_lines(&mut out, i, styling, ""),
                Entry::Template { id, items } => {
                    let worst = crate::group::worst(&items);
                    out.push_str(&format!(
                        "  {} {}[…]  {}\n",
                        styling.paint(styling.status(worst), symbol(worst)),
                        line(id),
                        crate::group::summary(&items, r.hidden(id))
                    ));
                    for i in items.iter().filter(|i| i.status != Status::Pass) {
                        item_lines(&mut out, i, styling, "  ");
                    }
                }
            }
        }
    }
    if !r.notes.is_empty() {
        out.push('\n');
        for n in &r.notes {
            out.push_str(&format!("note: {}\n", line(n)));
        }
    }
    let c = &r.counts;
    out.push_str(&format!(
        "\n{} pass, {} fail, {} error, {} skip, {} manual in {} ms{}\n",
        c.pass,
        c.fail,
        c.error,
        c.skip,
        c.manual,
        r.duration_ms,
        if r.interrupted { " (interrupted)" } else { "" }
    ));
    let failing = if r.failing_critical.is_empty() {
        String::new()
    } else {
        let ids: Vec<_> = r.failing_critical.iter().map(|i| line(i)).collect();
        format!(" — failing critical: {}", ids.join(", "))
    };
    let verdict = match r.verdict {
        Verdict::Go => Style::new().fg_color(Some(AnsiColor::Green.into())).bold(),
        Verdict::NoGo => Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
    };
    out.push_str(&format!(
        "{}  score {}% (needs {}%){failing}\n",
        styling.paint(verdict, r.verdict.label()),
        r.score,
        r.pass_score
    ));
    out
}

/// One item's line (and its attestation and reason lines), indented by `indent`
/// more inside a template.
fn item_lines(out: &mut String, i: &ItemReport, styling: Styling, indent: &str) {
    let sev = match i.severity.as_str() {
        "critical" => " [critical]",
        "advisory" => " [advisory]",
        _ => "",
    };
    let time = if i.attempts > 0 {
        format!(
            " ({} ms{})",
            i.duration_ms,
            if i.attempts > 1 {
                format!(", {} attempts", i.attempts)
            } else {
                String::new()
            }
        )
    } else {
        String::new()
    };
    let owner = i
        .owner
        .as_deref()
        .map(|o| format!(" — owner {}", line(o)))
        .unwrap_or_default();
    out.push_str(&format!(
        "{indent}  {} {}  {}{sev}{owner}{time}\n",
        styling.paint(styling.status(i.status), symbol(i.status)),
        line(&i.id),
        line(&i.title)
    ));
    if let Some(a) = &i.attested {
        let until = a
            .expires
            .as_deref()
            .map(|e| format!(", until {}", line(e)))
            .unwrap_or_default();
        out.push_str(&format!(
            "{indent}      attested by {} at {}{until}\n",
            line(&a.by),
            line(&a.at)
        ));
    }
    if i.status != Status::Pass
        && let Some(reason) = &i.reason
    {
        let dim = Style::new().fg_color(Some(styling_reason(i.status).into()));
        let reason = indented(reason, &format!("{indent}        "));
        out.push_str(&format!("{indent}      {}\n", styling.paint(dim, &reason)));
    }
}

fn styling_reason(s: Status) -> AnsiColor {
    match s {
        Status::Fail => AnsiColor::Red,
        Status::Error => AnsiColor::Magenta,
        _ => AnsiColor::BrightBlack,
    }
}
