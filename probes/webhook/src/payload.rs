//! Default test events: harmless, recognisably from preflight, in each provider's shape.
//!
//! Every default event has a type no real handler acts on (`preflight.test`, or GitHub's
//! own `ping`), so a correct handler verifies the signature, ignores the event and
//! answers 2xx.

use serde_json::{Value, json};

use crate::scheme::SchemeName;

/// The default body for `scheme`, for an event `id` sent at unix time `now`.
pub fn default_payload(scheme: SchemeName, id: &str, now: u64) -> Value {
    match scheme {
        // Stripe's Event object: id, object, api_version, created, type, livemode, data.
        SchemeName::Stripe => json!({
            "id": id,
            "object": "event",
            "api_version": null,
            "created": now,
            "type": "preflight.test",
            "livemode": false,
            "pending_webhooks": 0,
            "request": {"id": null, "idempotency_key": null},
            "data": {"object": {"object": "preflight_test", "note": "preflight webhook check; no action needed"}}
        }),
        // GitHub's ping event (X-GitHub-Event: ping), sent when a hook is created.
        SchemeName::Github => json!({
            "zen": "Preflight: design for failure.",
            "hook_id": 0,
            "hook": {"type": "Repository", "id": 0, "name": "web", "active": true, "events": ["ping"],
                     "config": {"content_type": "json", "insecure_ssl": "0"}}
        }),
        // Standard Webhooks payload structure: type, timestamp (RFC 3339), data.
        SchemeName::StandardWebhooks => json!({
            "type": "preflight.test",
            "timestamp": rfc3339(now),
            "data": {"id": id, "note": "preflight webhook check; no action needed"}
        }),
        // Sumsub's applicant webhook shape, with a type no handler acts on.
        SchemeName::Sumsub => json!({
            "type": "preflight.test",
            "applicantId": "preflight-test",
            "correlationId": id,
            "sandboxMode": true,
            "createdAtMs": sumsub_time(now)
        }),
        SchemeName::HmacSha256 => json!({
            "id": id,
            "type": "preflight.test",
            "created_at": rfc3339(now),
            "data": {"note": "preflight webhook check; no action needed"}
        }),
    }
}

fn rfc3339(secs: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .to_string()
}

/// Sumsub's `createdAtMs` format: `2021-02-25 15:02:10.000` (UTC).
fn sumsub_time(secs: u64) -> String {
    let t = rfc3339(secs);
    format!("{}.000", t.trim_end_matches('Z').replace('T', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_render_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_614_265_330), "2021-02-25T15:02:10Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(sumsub_time(1_700_000_000), "2023-11-14 22:13:20.000");
    }

    #[test]
    fn every_scheme_has_a_harmless_json_event() {
        for s in [
            SchemeName::Stripe,
            SchemeName::Github,
            SchemeName::StandardWebhooks,
            SchemeName::Sumsub,
            SchemeName::HmacSha256,
        ] {
            let p = default_payload(s, "evt_x", 1_700_000_000);
            let text = p.to_string();
            assert!(
                text.contains("preflight") || text.contains("ping"),
                "{s:?}: {text}"
            );
        }
    }
}
