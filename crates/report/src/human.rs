//! The human report: grouped by section, one line per item, reasons for the rest,
//! the verdict last.

use preflight_core::Status;

use crate::Report;

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

/// Renders the human report.
pub fn render_human(r: &Report) -> String {
    let mut out = String::new();
    let phase = r
        .phase
        .as_deref()
        .map(|p| format!(", phase {p}"))
        .unwrap_or_default();
    out.push_str(&format!(
        "{} — environment {}{phase}\n",
        r.checklist, r.environment
    ));
    let mut sections: Vec<&str> = Vec::new();
    for i in &r.items {
        if !sections.contains(&i.section.as_str()) {
            sections.push(&i.section);
        }
    }
    for section in sections {
        out.push('\n');
        out.push_str(if section.is_empty() {
            "(no section)"
        } else {
            section
        });
        out.push('\n');
        for i in r.items.iter().filter(|i| i.section == section) {
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
                .map(|o| format!(" — owner {o}"))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {} {}  {}{sev}{owner}{time}\n",
                symbol(i.status),
                i.id,
                i.title
            ));
            if let Some(a) = &i.attested {
                let until = a
                    .expires
                    .as_deref()
                    .map(|e| format!(", until {e}"))
                    .unwrap_or_default();
                out.push_str(&format!("      attested by {} at {}{until}\n", a.by, a.at));
            }
            if i.status != Status::Pass
                && let Some(reason) = &i.reason
            {
                out.push_str(&format!("      {reason}\n"));
            }
        }
    }
    if !r.notes.is_empty() {
        out.push('\n');
        for n in &r.notes {
            out.push_str(&format!("note: {n}\n"));
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
        format!(" — failing critical: {}", r.failing_critical.join(", "))
    };
    out.push_str(&format!(
        "{}  score {}% (needs {}%){failing}\n",
        r.verdict.label(),
        r.score,
        r.pass_score
    ));
    out
}
