//! Why a line stays manual: one short reason for every manual item, so a reader
//! knows whether to tick it by hand, write a command for it, or wait for a probe.

use std::sync::LazyLock;

use regex::Regex;

fn re(p: &str) -> Regex {
    Regex::new(&format!("(?i){p}")).expect("valid regex")
}

/// Services without a probe: (word in the line, name in the reason).
const VENDORS: &[(&str, &str)] = &[
    ("sentry", "Sentry"),
    ("pagerduty", "PagerDuty"),
    ("opsgenie", "Opsgenie"),
    ("datadog", "Datadog"),
    ("new relic", "New Relic"),
    ("launchdarkly", "LaunchDarkly"),
    ("ld flag", "LaunchDarkly"),
    ("ld environment", "LaunchDarkly"),
    ("ld admin", "LaunchDarkly"),
    ("flipper", "Flipper"),
    ("remote config", "Firebase Remote Config"),
    ("crashlytics", "Crashlytics"),
    ("firebase", "Firebase"),
    ("firestore", "Firebase"),
    ("app store", "the App Store"),
    ("google play", "Google Play"),
    ("testflight", "TestFlight"),
    ("stripe", "Stripe"),
    ("sumsub", "Sumsub"),
    ("kick", "Kick"),
    ("pusher", "Pusher"),
    ("postmark", "Postmark"),
    ("sendgrid", "SendGrid"),
    ("mailchimp", "Mailchimp"),
    ("google postmaster", "Google Postmaster Tools"),
    ("postmaster tools", "Google Postmaster Tools"),
    ("slack", "Slack"),
    ("grafana", "Grafana"),
    ("kibana", "Kibana"),
    ("loki", "Loki"),
    ("tempo", "Tempo"),
    ("jaeger", "Jaeger"),
    ("papertrail", "Papertrail"),
    ("pingdom", "Pingdom"),
    ("statuspage", "Statuspage"),
    ("algolia", "Algolia"),
    ("elasticsearch", "Elasticsearch"),
    ("clickhouse", "ClickHouse"),
    ("airflow", "Airflow"),
    ("flower", "Flower"),
    ("celery", "Celery"),
    ("sidekiq", "Sidekiq"),
    ("superset", "Superset"),
    ("application insights", "Application Insights"),
    ("cloudwatch", "CloudWatch"),
    ("cloud armor", "Google Cloud"),
    ("cloud run", "Google Cloud Run"),
    ("cloud tasks", "Google Cloud Tasks"),
    ("gcp", "Google Cloud"),
    ("azure", "Azure"),
    ("acm", "AWS"),
    ("aws", "AWS"),
    ("s3", "S3"),
    ("r2", "Cloudflare R2"),
    ("backblaze", "Backblaze"),
    ("hetzner", "Hetzner"),
    ("heroku", "Heroku"),
    ("railway", "Railway"),
    ("neon", "Neon"),
    ("vercel", "Vercel"),
    ("netlify", "Netlify"),
    ("cf pages", "Cloudflare Pages"),
    ("cloudflare access", "Cloudflare Access"),
    ("cf access", "Cloudflare Access"),
    ("cf tunnel", "Cloudflare Tunnel"),
    ("cloudflare", "Cloudflare"),
    ("fastly", "Fastly"),
    ("1password", "1Password"),
    ("vault", "Vault"),
    ("argo rollouts", "Argo Rollouts"),
    ("hstspreload", "hstspreload.org"),
    ("preload list", "hstspreload.org"),
    ("bug bounty", "the bug-bounty platform"),
    ("flux", "Flux"),
    ("k6", "k6"),
];

static PEOPLE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(approv\w*|sign(ed)?[- ]?off|notif\w*|announc\w*|brief\w*|emailed|told|tell|inform\w*|agree\w*|acknowledg\w*|hand-?over|on-?call|rotation|staffed|reviewed by|second engineer|assign\w*|booked|retro|meeting|stakeholders?|product owner|marketing|support team|customers?|cohort|contact\w*|escalat\w*|communicat\w*|owners?\b.*\bagree)\b|@[a-z][a-z0-9-]+",
    )
});
static ACTION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(create|add|set up|setup|deploy|run|apply|flip|promote|scale|rotate|generate|register|trigger|take|book|write|document|capture|copy|merge|tag|publish|submit|upload|import|migrate|provision|schedule|revoke|raise|request|ask|order|buy|renew|remove|delete|disable|pin|edit|update|prepare|install|build|release|roll|revert|point|move|switch|enable|configure|invite|send|post|open|close|file|stage|pre-stage|do not|don't|watch|wait)\b",
    )
});
static FLOW: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(flows?|end[- ]to[- ]end|e2e|journey|sign-?up works|login works|log in works|works for|in (the )?browser|manually|by hand|test (card|payment|patient|booking|account|campaign|user|order)|synthetic|round-?trips|persists|lands|arrives?|shows up|appears?|self-disappears|screen|click|card payment|refund\w*|checkout|purchase)\b",
    )
});
static TESTS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(ci\b|pipeline|tests? (pass\w*|green|suite)|passing|test run|scan\w* pass\w*|codeql|snyk|lint|type-?check|reviewers?|pull request|merged|branch)",
    )
});
static DOCS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(document\w*|runbook|changelog|readme|screenshots?|wiki|notes|release notes|rpo|rto|copy\b|banner|privacy|terms|policy page|legal|dpa|contract|gdpr|compliance|cookie banner|footer)\b",
    )
});
static OVER_TIME: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(monitor\w*|watch\w*|review\w*|keep an eye|trends?|look for|check for new|spike|comparable|baseline|patterns?|drift|spend|budget|reputation|warm-?up)\b",
    )
});
static BACKUPS: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\b(backups?|restore\w*|snapshots?|pitr|point-in-time|disaster recovery|replication)\b")
});
static CLOUD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(waf|iam|security group|firewall|bucket|quota|multi-az|node pool|autoscal\w*|rds|elasticache|subnet|vpc|dns provider|registrar|lifecycle|versioning|retention|scaled?|scaling|dynos?|instances|replicas|min instances)\b",
    )
});
static CONFIG: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(configured|config|settings?|sized|tuned|enabled|disabled|limits?|rate limit\w*|quotas?|scopes?|levels?|flags?|feature flags?|targeting|rules?)\b",
    )
});
static NOHOST: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(tls|ssl|certificate|https|hsts|dns|domain|url|endpoint|health|webhook|redirect|latency|p\d\d)\b",
    )
});

/// A one-line reason for a line no rule turned into a probe item.
pub fn reason(text: &str, headings: &str) -> String {
    let lower = text.to_lowercase();
    // The vendor the line names first.
    let vendor = VENDORS
        .iter()
        .filter_map(|(w, n)| {
            let mut from = 0;
            while let Some(i) = lower[from..].find(w) {
                let at = from + i;
                let before = lower[..at].chars().next_back();
                let after = lower[at + w.len()..].chars().next();
                if before.is_none_or(|c| !c.is_alphanumeric())
                    && after.is_none_or(|c| !c.is_alphanumeric())
                {
                    return Some((at, *n));
                }
                from = at + w.len();
            }
            None
        })
        .min_by_key(|(at, _)| *at)
        .map(|(_, n)| n);
    if PEOPLE.is_match(text) {
        return "names people: a person ticks it (preflight attest)".into();
    }
    if FLOW.is_match(text) {
        return "an end-to-end user flow: tick it by hand, or script it and name the command"
            .into();
    }
    if TESTS.is_match(text) {
        return "a test run or review: name the command (in a code span) and import makes it a command item".into();
    }
    if let Some(v) = vendor {
        return format!("needs a probe for {v}");
    }
    if DOCS.is_match(text) && !NOHOST.is_match(text) {
        return "a document or wording, not a system state".into();
    }
    if BACKUPS.is_match(text) {
        return "backups and restores are checked in the provider's tools, not by a probe".into();
    }
    if CLOUD.is_match(text) {
        return "a cloud-provider setting: no probe reads it".into();
    }
    if OVER_TIME.is_match(text) {
        return "an activity over time that needs a person's judgement".into();
    }
    if ACTION
        .is_match(text.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ' '))
    {
        return "an action to take, not a state a probe can observe".into();
    }
    if NOHOST.is_match(text) {
        return "no host named: add the URL or host to the line (or the document) and import again"
            .into();
    }
    if CONFIG.is_match(text) {
        return "application configuration that no probe can read from outside".into();
    }
    let _ = headings;
    "names nothing a probe can observe (no URL, host, command, record, secret name or threshold)"
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_specific() {
        assert!(reason("Sentry error tracking configured", "").contains("Sentry"));
        assert!(reason("Support team briefed on scenarios", "").starts_with("names people"));
        assert!(reason("User registration flow works (Firebase Auth)", "").contains("user flow"));
        assert!(reason("Create separate app for production", "").starts_with("an action"));
        assert!(reason("Certificate valid", "").starts_with("no host named"));
    }
}
