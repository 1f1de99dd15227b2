//! Prometheus text exposition (format 0.0.4), for the node_exporter textfile
//! collector or a Pushgateway (SPEC §8).
//!
//! Metrics: `preflight_verdict{checklist,environment,phase}` (1 = GO),
//! `preflight_score{…}`, `preflight_run_timestamp_seconds{…}`,
//! `preflight_item_passed{id,section,severity,status}` (1/0) and
//! `preflight_item_duration_seconds{id}`. Label values are escaped.

use std::fmt::Write as _;

use preflight_core::{Status, Verdict};

use crate::Report;

/// Escapes a label value: backslash, double quote and line feed as the format
/// says; any other control character (see `preflight_core::sanitize`) becomes the
/// text `\u{1b}`, so a `.prom` file shown in a terminal cannot drive it.
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if preflight_core::sanitize::is_unsafe(c) => {
                let _ = write!(out, "\\\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

fn header(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
}

/// Renders the report as Prometheus text exposition.
pub fn render_prometheus(r: &Report) -> String {
    let mut out = String::new();
    let run = labels(&[
        ("checklist", &r.checklist),
        ("environment", &r.environment),
        ("phase", r.phase.as_deref().unwrap_or("")),
    ]);
    header(
        &mut out,
        "preflight_verdict",
        "1 when the run is GO, 0 when NO-GO.",
    );
    let go = u8::from(r.verdict == Verdict::Go);
    let _ = writeln!(out, "preflight_verdict{run} {go}");
    header(
        &mut out,
        "preflight_score",
        "Readiness score: passed / scored x 100, floored.",
    );
    let _ = writeln!(out, "preflight_score{run} {}", r.score);
    if let Ok(t) = humantime::parse_rfc3339(&r.started_at)
        && let Ok(since) = t.duration_since(std::time::UNIX_EPOCH)
    {
        header(
            &mut out,
            "preflight_run_timestamp_seconds",
            "Unix time the run started (alert when it gets old).",
        );
        let _ = writeln!(
            out,
            "preflight_run_timestamp_seconds{run} {}",
            since.as_secs()
        );
    }
    header(
        &mut out,
        "preflight_item_passed",
        "1 when the item passed, else 0; status holds pass, fail, error, skip or manual.",
    );
    for i in &r.items {
        let l = labels(&[
            ("id", &i.id),
            ("section", &i.section),
            ("severity", &i.severity),
            ("status", i.status.as_str()),
        ]);
        let _ = writeln!(
            out,
            "preflight_item_passed{l} {}",
            u8::from(i.status == Status::Pass)
        );
    }
    header(
        &mut out,
        "preflight_item_duration_seconds",
        "Wall time spent on the item, all attempts.",
    );
    for i in &r.items {
        let _ = writeln!(
            out,
            "preflight_item_duration_seconds{} {}",
            labels(&[("id", &i.id)]),
            i.duration_ms as f64 / 1000.0
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_label_values() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(
            escape_label("x\u{1b}]0;t\u{7}\u{9b}\u{202e}"),
            "x\\\\u{1b}]0;t\\\\u{7}\\\\u{9b}\\\\u{202e}"
        );
    }

    #[test]
    fn renders_every_metric_with_escaped_labels() {
        let r: Report = serde_json::from_value(serde_json::json!({
            "schema": 1, "checklist": "Streamer \"App\"", "environment": "production",
            "phase": "post-launch", "started_at": "2026-05-15T09:00:00Z", "duration_ms": 842,
            "verdict": "no-go", "score": 50, "pass_score": 95,
            "counts": {"pass": 1, "fail": 1, "error": 0, "skip": 0, "manual": 0},
            "failing_critical": ["smoke.health"],
            "items": [
                {"id": "smoke.health", "title": "t", "section": "12. Smoke\\tests", "severity": "critical",
                 "status": "fail", "duration_ms": 41, "attempts": 1},
                {"id": "legal.privacy", "title": "t", "section": "", "severity": "normal",
                 "status": "pass", "duration_ms": 0, "attempts": 0}
            ]
        }))
        .unwrap();
        let text = render_prometheus(&r);
        let run = r#"{checklist="Streamer \"App\"",environment="production",phase="post-launch"}"#;
        assert!(
            text.contains(&format!("preflight_verdict{run} 0\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("preflight_score{run} 50\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "preflight_run_timestamp_seconds{run} 1778835600\n"
            )),
            "{text}"
        );
        assert!(text.contains(
            r#"preflight_item_passed{id="smoke.health",section="12. Smoke\\tests",severity="critical",status="fail"} 0"#
        ), "{text}");
        assert!(text.contains(r#"preflight_item_passed{id="legal.privacy",section="",severity="normal",status="pass"} 1"#));
        assert!(text.contains("preflight_item_duration_seconds{id=\"smoke.health\"} 0.041\n"));
        // Every sample line is `name{labels} value`; every metric has HELP and TYPE.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
        assert_eq!(text.matches("# TYPE").count(), 5);
    }
}
