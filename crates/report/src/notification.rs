//! Notification messages: a run's outcome as a Slack incoming-webhook message and as
//! a generic JSON payload. Delivery lives in `preflight-notify`.

use preflight_core::Verdict;
use preflight_model::Report;
use serde_json::{Value, json};

/// The one-line summary every message starts with.
pub fn headline(r: &Report) -> String {
    let phase = r
        .phase
        .as_deref()
        .map(|p| format!(", {p}"))
        .unwrap_or_default();
    format!(
        "preflight: {} — {} ({}{phase}), score {}% (needs {}%)",
        r.verdict.label(),
        r.checklist,
        r.environment,
        r.score,
        r.pass_score
    )
}

/// Slack incoming-webhook JSON: `text` plus one mrkdwn section.
pub fn slack_payload(r: &Report, link: Option<&str>, run_id: Option<i64>) -> Value {
    let mut text = format!("*{}*", headline(r));
    if let Some(id) = run_id {
        text.push_str(&format!(" — run {id}"));
    }
    if !r.failing_critical.is_empty() {
        text.push_str(&format!(
            "\nFailing critical: {}",
            r.failing_critical
                .iter()
                .map(|i| format!("`{i}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let c = &r.counts;
    text.push_str(&format!(
        "\n{} pass · {} fail · {} error · {} skip · {} manual",
        c.pass, c.fail, c.error, c.skip, c.manual
    ));
    if let Some(l) = link {
        text.push_str(&format!("\n<{l}|View the report>"));
    }
    json!({
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    })
}

/// The generic JSON payload.
pub fn json_payload(
    r: &Report,
    link: Option<&str>,
    run_id: Option<i64>,
    previous: Option<Verdict>,
) -> Value {
    let failing: Vec<Value> = r
        .items
        .iter()
        .filter(|i| r.failing_critical.contains(&i.id))
        .map(|i| json!({"id": i.id, "status": i.status, "reason": i.reason}))
        .collect();
    json!({
        "source": "preflight",
        "checklist": r.checklist,
        "environment": r.environment,
        "phase": r.phase,
        "run_id": run_id,
        "started_at": r.started_at,
        "verdict": r.verdict,
        "score": r.score,
        "pass_score": r.pass_score,
        "counts": r.counts,
        "failing_critical": failing,
        "previous_verdict": previous,
        "summary": headline(r),
        "link": link,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(verdict: &str, failing: &[&str]) -> Report {
        let items: Vec<Value> = ["a", "b"]
            .iter()
            .map(|id| {
                let fail = failing.contains(id);
                json!({"id": id, "title": id, "section": "", "severity": "critical",
                       "status": if fail { "fail" } else { "pass" }, "duration_ms": 1, "attempts": 1})
            })
            .collect();
        serde_json::from_value(json!({
            "schema": 1, "checklist": "c", "environment": "prod", "phase": null,
            "started_at": "2026-05-15T09:00:00Z", "duration_ms": 1, "verdict": verdict,
            "score": 50, "pass_score": 100,
            "counts": {"pass": 1, "fail": 1, "error": 0, "skip": 0, "manual": 0},
            "failing_critical": failing, "items": items
        }))
        .unwrap()
    }

    #[test]
    fn slack_payload_names_verdict_score_and_failing_critical() {
        let p = slack_payload(&report("no-go", &["a"]), Some("https://ci/run/1"), Some(7));
        let text = p["text"].as_str().unwrap();
        assert!(text.contains("NO-GO"), "{text}");
        assert!(text.contains("score 50%"), "{text}");
        assert!(text.contains("`a`"), "{text}");
        assert!(
            text.contains("<https://ci/run/1|View the report>"),
            "{text}"
        );
        assert_eq!(p["blocks"][0]["text"]["text"], p["text"]);
    }
}
