//! preflight-report: every renderer.
//!
//! A [`Report`] (from `preflight-model`) is rendered in each [`Format`]; so are the
//! views of history: a [`Diff`](preflight_model::Diff) ([`render_diff_human`],
//! [`render_diff_json`]), the list of stored runs ([`render_history`]), the changes
//! `watch` prints ([`render_transitions`]) and notification messages
//! ([`notification`]). The HTML page ([`render_html`]) also shows what history knows
//! ([`HtmlContext`]: the trend and the diff against a baseline). Renderers only read
//! redacted data.

mod diff;
mod group;
mod history;
mod html;
mod human;
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
        Format::Json => {
            let mut s = serde_json::to_string_pretty(report)
                .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
            s.push('\n');
            s
        }
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
