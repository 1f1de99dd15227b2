//! Golden tests of the human and JSON reports (the report model is built from a fixed
//! run, so nothing needs redacting).

use preflight_report::{Format, Report, render};

fn report() -> Report {
    serde_json::from_value(serde_json::json!({
        "schema": 1,
        "checklist": "Streamer App — production launch",
        "environment": "production",
        "phase": "launch",
        "started_at": "2026-05-15T09:00:00Z",
        "duration_ms": 842,
        "verdict": "no-go",
        "score": 50,
        "pass_score": 95,
        "counts": {"pass": 1, "fail": 1, "error": 1, "skip": 1, "manual": 1},
        "failing_critical": ["smoke.build"],
        "notes": ["item \"smoke.health\" needs \"dns.api\", which is not in this run: ignored"],
        "items": [
            {"id": "smoke.health", "title": "GET /api/health returns 200", "section": "12. Smoke tests", "severity": "critical",
             "probe": "http", "status": "pass", "duration_ms": 41, "attempts": 1,
             "expectations": [{"expr": "status == 200", "ok": true}], "facts": {"status": 200, "latency_ms": 40.2}},
            {"id": "smoke.build", "title": "Build tag pinned", "section": "12. Smoke tests", "severity": "critical",
             "probe": "http", "status": "fail", "reason": "status == 200 — status was 503", "duration_ms": 120, "attempts": 3,
             "expectations": [{"expr": "status == 200", "ok": false}], "facts": {"status": 503}},
            {"id": "web.token", "title": "API token accepted", "section": "3. Security", "severity": "normal",
             "probe": "http", "status": "error", "reason": "environment variable API_TOKEN is not set", "duration_ms": 0, "attempts": 0},
            {"id": "web.after", "title": "Runs after the token check", "section": "3. Security", "severity": "advisory",
             "probe": "http", "status": "skip", "reason": "needs \"web.token\", which did not pass (error)", "duration_ms": 0, "attempts": 0},
            {"id": "legal.privacy", "title": "Privacy Policy published", "section": "", "severity": "normal",
             "status": "manual", "reason": "manual item: pending attestation", "duration_ms": 0, "attempts": 0, "owner": "Legal"}
        ]
    }))
    .expect("fixture is a valid report")
}

#[test]
fn human_report() {
    insta::assert_snapshot!(render(&report(), Format::Human));
}

#[test]
fn json_report_round_trips() {
    let text = render(&report(), Format::Json);
    insta::assert_snapshot!(text);
    let back: Report = serde_json::from_str(&text).expect("parses back");
    assert_eq!(render(&back, Format::Json), text);
}
