//! preflight-report: every renderer.
//!
//! A [`Report`] (from `preflight-model`) is rendered in each [`Format`]; so are the
//! views of history: a [`Diff`](preflight_model::Diff) ([`render_diff_human`],
//! [`render_diff_json`]), the list of stored runs ([`render_history`]), the changes
//! `watch` prints ([`render_transitions`]) and notification messages
//! ([`notification`]). The HTML page ([`render_html`]) also shows what history knows
//! ([`HtmlContext`]: the trend and the diff against a baseline). Renderers only read
//! redacted data.
//!
//! Text from targets and checklists never reaches the output as control
//! characters or as a line of its own: every renderer escapes it with
//! `preflight_core::sanitize` (JSON with [`to_json_pretty`], losslessly).

mod diff;
mod group;
mod history;
mod html;
mod human;
mod json;
mod junit;
mod markdown;
pub mod notification;
mod prometheus;
mod stream;
mod watch;

pub use diff::{render_diff_human, render_diff_json};
pub use history::render_history;
pub use html::{HtmlContext, render_html};
pub use human::{Styling, render_human, render_human_styled};
pub use json::to_json_pretty;
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use preflight_model::{Attested, ItemReport, Report, Shard};
pub use prometheus::{escape_label, render_prometheus};
pub use stream::JsonStream;
pub use watch::render_transitions;

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Grouped by section, for people.
    Human,
    /// SPEC §6 JSON.
    Json,
    /// The checklist written back with `[x]` / `[ ]`, for a ticket.
    Markdown,
    /// JUnit XML: a testsuite per section.
    Junit,
    /// Prometheus text exposition (textfile collector, Pushgateway).
    Prometheus,
    /// One self-contained HTML page, for people away from the terminal.
    Html,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "human" => Ok(Format::Human),
            "json" => Ok(Format::Json),
            "markdown" => Ok(Format::Markdown),
            "junit" => Ok(Format::Junit),
            "prometheus" => Ok(Format::Prometheus),
            "html" => Ok(Format::Html),
            other => Err(format!(
                "unknown format \"{other}\" (human, json, markdown, junit, prometheus, html)"
            )),
        }
    }
}

/// Renders `report` in `format`.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Human => render_human(report),
        Format::Markdown => render_markdown(report),
        Format::Junit => render_junit(report),
        Format::Prometheus => render_prometheus(report),
        Format::Html => render_html(report, &HtmlContext::default()),
        Format::Json => to_json_pretty(report),
    }
}

/// A fixed report for renderer tests: every status, an attested item, secrets-free.
#[cfg(test)]
pub(crate) fn sample_report() -> Report {
    serde_json::from_value(serde_json::json!({
        "schema": 1,
        "checklist": "Streamer App — production launch",
        "environment": "production",
        "phase": "launch",
        "started_at": "2026-05-15T09:00:00Z",
        "duration_ms": 842,
        "verdict": "no-go",
        "score": 40,
        "pass_score": 95,
        "counts": {"pass": 2, "fail": 1, "error": 1, "skip": 1, "manual": 1},
        "failing_critical": ["smoke.health"],
        "notes": ["item \"x\" needs \"y\", which is not in this run: ignored"],
        "items": [
            {"id": "smoke.health", "title": "GET /api/health returns 200", "section": "12. Smoke tests",
             "severity": "critical", "probe": "http", "status": "fail",
             "reason": "status == 200 — status was 503", "duration_ms": 41, "attempts": 3,
             "expectations": [{"expr": "status == 200", "ok": false}], "owner": "SRE"},
            {"id": "smoke.build", "title": "Build is <pinned> & \"tagged\"", "section": "12. Smoke tests",
             "severity": "normal", "probe": "http", "status": "pass", "duration_ms": 12, "attempts": 1},
            {"id": "smoke.db", "title": "DB reachable", "section": "12. Smoke tests",
             "severity": "normal", "probe": "postgres", "status": "error",
             "reason": "environment variable DATABASE_URL is not set", "duration_ms": 0, "attempts": 0},
            {"id": "smoke.after", "title": "After health", "section": "12. Smoke tests",
             "severity": "advisory", "probe": "http", "status": "skip",
             "reason": "needs \"smoke.health\", which did not pass (fail)", "duration_ms": 0, "attempts": 0},
            {"id": "legal.privacy", "title": "Privacy Policy published", "section": "13. Communication",
             "severity": "normal", "status": "pass", "duration_ms": 0, "attempts": 0,
             "attested": {"by": "alice", "at": "2026-05-14T17:00:00Z", "note": "page live\nsecond line", "expires": null}},
            {"id": "legal.terms", "title": "Terms published", "section": "",
             "severity": "critical", "status": "manual",
             "reason": "manual item: pending attestation", "duration_ms": 0, "attempts": 0}
        ]
    }))
    .expect("sample report")
}

#[cfg(test)]
mod tests {
    use super::*;
    use preflight_core::sanitize::is_unsafe;

    /// Text a hostile target or checklist could put anywhere: an OSC title, a
    /// screen clear, a C1 CSI, a bidi override, and a line that looks like a
    /// verdict.
    const HOSTILE: &str =
        "x\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\u{202e}\u{2028}\r\n  ✔ forged.item  all good\n";

    fn hostile_report() -> Report {
        let h = HOSTILE;
        serde_json::from_value(serde_json::json!({
            "schema": 1, "checklist": h, "environment": h, "phase": h,
            "started_at": "2026-05-15T09:00:00Z", "duration_ms": 1,
            "verdict": "no-go", "score": 0, "pass_score": 100,
            "counts": {"pass": 1, "fail": 1, "error": 0, "skip": 0, "manual": 0},
            "failing_critical": [h], "notes": [h],
            "items": [
                {"id": h, "title": h, "section": h, "severity": "critical", "probe": "http",
                 "status": "fail", "reason": h, "duration_ms": 1, "attempts": 1, "owner": h},
                {"id": "ok", "title": "t", "section": h, "severity": "normal",
                 "status": "pass", "duration_ms": 0, "attempts": 0,
                 "attested": {"by": h, "at": h, "note": h, "expires": h}}
            ]
        }))
        .expect("hostile report")
    }

    fn assert_inert(format: &str, text: &str) {
        let bad: Vec<char> = text
            .chars()
            .filter(|&c| is_unsafe(c) && c != '\n')
            .collect();
        assert!(bad.is_empty(), "{format}: {bad:?} in\n{text}");
        for l in text.lines() {
            // Continuation lines are indented deeper than any item line.
            let forged = l.starts_with("✔ forged") || l.starts_with("  ✔ forged");
            assert!(!forged, "{format}: a forged line: {l:?}\n{text}");
        }
    }

    #[test]
    fn hostile_text_is_inert_in_every_format() {
        let r = hostile_report();
        for f in [
            Format::Human,
            Format::Json,
            Format::Markdown,
            Format::Junit,
            Format::Prometheus,
        ] {
            assert_inert(&format!("{f:?}"), &render(&r, f));
        }
        // In colour, our own SGR codes are the only escape sequences.
        let coloured = render_human_styled(&r, Styling { color: true });
        let sgr = regex_lite_sgr(&coloured);
        assert_inert("human in colour", &sgr);
        // The human report: one line per item, reasons indented under it.
        let human = render(&r, Format::Human);
        let item_lines = human
            .lines()
            .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
            .count();
        assert_eq!(item_lines, 2, "{human}");
        // Markdown: one list line per item.
        let md = render(&r, Format::Markdown);
        assert_eq!(
            md.lines().filter(|l| l.starts_with("- [")).count(),
            2,
            "{md}"
        );
        // JUnit stays valid XML with the text in it.
        let xml = render(&r, Format::Junit);
        quick_junit::Report::deserialize_from_str(&xml).expect("valid JUnit XML");
        // JSON reads back to the very same text.
        let back: Report = serde_json::from_str(&render(&r, Format::Json)).unwrap();
        assert_eq!(back.items[0].reason.as_deref(), Some(HOSTILE));
        // History, diff and watch views.
        let d = preflight_history::diff(
            (&r, Some(1)),
            (&hostile_report_passing(), Some(2)),
            preflight_model::LatencyThreshold::default(),
        );
        assert_inert("diff", &render_diff_human(&d));
        assert_inert("diff json", &render_diff_json(&d));
        let d = preflight_history::diff(
            (&hostile_report_passing(), Some(1)),
            (&r, Some(2)),
            preflight_model::LatencyThreshold::default(),
        );
        assert_inert("diff", &render_diff_human(&d));
        assert_inert("watch", &render_transitions(Some((&r, &d)), &r, 2));
        assert_inert("watch", &render_transitions(None, &r, 1));
        let runs = vec![preflight_model::RunSummary {
            id: 1,
            started_at: HOSTILE.into(),
            checklist: HOSTILE.into(),
            checklist_hash: "h".into(),
            environment: HOSTILE.into(),
            phase: Some(HOSTILE.into()),
            verdict: preflight_core::Verdict::Go,
            score: 100,
            counts: r.counts,
            failing_critical: 0,
            pass_score: 100,
            duration_ms: 1,
            interrupted: false,
            running: true,
            batch: Some(HOSTILE.into()),
            shard: None,
        }];
        assert_inert("history", &render_history(&runs));
        // In the page a reason's lines stay inside its table cell; only the
        // characters matter here.
        let page = render_html(&r, &HtmlContext::default());
        let bad: Vec<char> = page
            .chars()
            .filter(|&c| is_unsafe(c) && c != '\n')
            .collect();
        assert!(bad.is_empty(), "html: {bad:?}");
    }

    fn hostile_report_passing() -> Report {
        let mut r = hostile_report();
        for i in &mut r.items {
            i.status = preflight_core::Status::Pass;
        }
        r
    }

    /// `text` without `ESC [ digits/; m` sequences.
    fn regex_lite_sgr(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("\u{1b}[") {
            out.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            let end = after
                .find(|c: char| !(c.is_ascii_digit() || c == ';'))
                .unwrap_or(after.len());
            if after[end..].starts_with('m') {
                rest = &after[end + 1..];
            } else {
                out.push_str("\u{1b}[");
                rest = after;
            }
        }
        out.push_str(rest);
        out
    }
}
