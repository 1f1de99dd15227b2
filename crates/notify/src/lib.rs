//! preflight-notify: deliver a run's outcome to the webhooks `[notify]` names — a
//! Slack-compatible incoming webhook and/or a generic JSON receiver — when its `on`
//! rule asks. Delivery is retried; a failure is returned as a line naming the URL's
//! host only (the caller prints it) and never changes the verdict.

use std::time::Duration;

use preflight_core::notify::{NotifyOn, ResolvedNotify, shown_url};
use preflight_core::{Redactor, Status, Verdict};
use preflight_model::Report;
use preflight_report::notification::{json_payload, slack_payload};
use serde_json::Value;

/// Attempts per webhook.
const ATTEMPTS: u32 = 3;

/// What the previous run of the same checklist and environment looked like.
#[derive(Debug, Clone)]
pub struct Previous {
    /// Its verdict.
    pub verdict: Verdict,
    /// Ids of its items that did not pass.
    pub failing: Vec<String>,
}

impl Previous {
    /// From a stored report.
    pub fn of(r: &Report) -> Previous {
        Previous {
            verdict: r.verdict,
            failing: failing_ids(r),
        }
    }
}

fn failing_ids(r: &Report) -> Vec<String> {
    r.items
        .iter()
        .filter(|i| i.status != Status::Pass)
        .map(|i| i.id.clone())
        .collect()
}

/// Whether `on` asks for a message about `report` given the previous run.
pub fn should_notify(on: NotifyOn, report: &Report, previous: Option<&Previous>) -> bool {
    match on {
        NotifyOn::Always => true,
        NotifyOn::Failure => report.verdict == Verdict::NoGo,
        NotifyOn::Change => match previous {
            // SPEC §8: the first run notifies only when it is NO-GO.
            None => report.verdict == Verdict::NoGo,
            Some(p) => p.verdict != report.verdict || p.failing != failing_ids(report),
        },
    }
}

/// The client for the webhooks: the run's proxy (`[checklist] proxy`, else the
/// environment's, with `NO_PROXY`) and trust settings.
fn client(
    network: &std::sync::Arc<preflight_core::network::Network>,
) -> Result<reqwest::Client, String> {
    preflight_client::HttpSettings {
        tls: preflight_client::TlsSettings::new(false, None, network.clone()),
        ..preflight_client::HttpSettings::default()
    }
    .builder()?
    .timeout(Duration::from_secs(10))
    .build()
    .map_err(|e| format!("failed to build the HTTP client: {}", e.without_url()))
}

/// Posts `body` with retries; the error never contains the URL.
async fn deliver(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
    redactor: &Redactor,
) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        let request = client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string());
        match request.send().await {
            Ok(resp) if resp.status().is_success() => return Ok(()),
            Ok(resp) => last = format!("HTTP {}", resp.status().as_u16()),
            Err(e) => last = redactor.text(&e.without_url().to_string()),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
        }
    }
    Err(format!("{last} (after {ATTEMPTS} attempts)"))
}

/// Sends the notifications `n` asks for. Returns one line per delivery problem
/// (already redacted, URL shown as host only); the caller prints them.
pub async fn send(
    n: &ResolvedNotify,
    report: &Report,
    run_id: Option<i64>,
    previous: Option<&Previous>,
    redactor: &Redactor,
) -> Vec<String> {
    if !should_notify(n.on, report, previous) {
        return vec![];
    }
    let client = match client(&n.network) {
        Ok(c) => c,
        Err(e) => return vec![format!("notification not sent: {e}")],
    };
    let link = n.link.as_deref();
    let mut problems = Vec::new();
    let targets = [
        (n.webhook.as_deref(), slack_payload(report, link, run_id)),
        (
            n.json_webhook.as_deref(),
            json_payload(report, link, run_id, previous.map(|p| p.verdict)),
        ),
    ];
    for (url, body) in targets {
        let Some(url) = url else { continue };
        let body = redactor.json(&body);
        if let Err(e) = deliver(&client, url, &body, redactor).await {
            problems.push(format!("notification to {} failed: {e}", shown_url(url)));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    fn change_rules() {
        let go = report("go", &[]);
        let nogo = report("no-go", &["a"]);
        let nogo_b = report("no-go", &["b"]);
        // First run: only when NO-GO.
        assert!(!should_notify(NotifyOn::Change, &go, None));
        assert!(should_notify(NotifyOn::Change, &nogo, None));
        let prev = Previous::of(&nogo);
        assert!(!should_notify(NotifyOn::Change, &nogo, Some(&prev)));
        assert!(should_notify(NotifyOn::Change, &nogo_b, Some(&prev)));
        assert!(should_notify(NotifyOn::Change, &go, Some(&prev)));
        assert!(should_notify(NotifyOn::Failure, &nogo, Some(&prev)));
        assert!(!should_notify(NotifyOn::Failure, &go, None));
        assert!(should_notify(
            NotifyOn::Always,
            &go,
            Some(&Previous::of(&go))
        ));
    }
}
