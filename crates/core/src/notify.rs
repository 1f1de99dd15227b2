//! The `[notify]` table: where to send a run's outcome, and when.
//!
//! ```toml
//! [notify]
//! webhook = "${env:SLACK_WEBHOOK_URL}"   # Slack-compatible incoming webhook
//! json_webhook = "${env:HOOK_URL}"       # generic JSON receiver
//! on = "change"                          # change | failure | always (default change)
//! link = "https://ci.example.io/runs"    # shown with the message
//! ```
//!
//! Webhook URLs carry their credential in the path, so a resolved URL is a secret as
//! a whole: the plan adds it to the redactor, and messages show only scheme and host.

/// When notifications are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NotifyOn {
    /// When the verdict or the set of non-passing items changed since the previous
    /// run of the same checklist and environment; a first run only when NO-GO.
    #[default]
    Change,
    /// After every NO-GO run.
    Failure,
    /// After every run.
    Always,
}

impl NotifyOn {
    /// The spelling used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyOn::Change => "change",
            NotifyOn::Failure => "failure",
            NotifyOn::Always => "always",
        }
    }
}

/// `[notify]` as written (placeholders unresolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    /// Slack-compatible incoming-webhook URL.
    pub webhook: Option<String>,
    /// Generic JSON webhook URL.
    pub json_webhook: Option<String>,
    /// When to send.
    pub on: NotifyOn,
    /// Link text shown with the message (a dashboard or CI URL).
    pub link: Option<String>,
}

/// `[notify]` with placeholders resolved; the URLs are secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct ResolvedNotify {
    /// Slack-compatible incoming-webhook URL.
    pub webhook: Option<String>,
    /// Generic JSON webhook URL.
    pub json_webhook: Option<String>,
    /// When to send.
    pub on: NotifyOn,
    /// Link text shown with the message.
    pub link: Option<String>,
    /// How to reach the webhooks: the run's proxy and trust settings.
    pub network: std::sync::Arc<crate::network::Network>,
}

impl std::fmt::Debug for ResolvedNotify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedNotify")
            .field("webhook", &self.webhook.as_deref().map(shown_url))
            .field("json_webhook", &self.json_webhook.as_deref().map(shown_url))
            .field("on", &self.on)
            .field("link", &self.link)
            .finish()
    }
}

/// A webhook URL as it may be printed: scheme and host only (`https://hooks.slack.com/…`).
pub fn shown_url(url: &str) -> String {
    let Some(p) = url.find("://") else {
        return "****".into();
    };
    let rest = &url[p + 3..];
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..host_end];
    let host = host.rsplit('@').next().unwrap_or(host);
    format!("{}://{host}/…", &url[..p])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PlanRequest, plan};
    use crate::probe::Catalog;

    const BASE: &str = "[checklist]\nname = \"n\"\n[[item]]\nid = \"a\"\nmanual = true\n";

    #[test]
    fn resolves_urls_as_secrets() {
        let text = format!(
            "{BASE}[notify]\nwebhook = \"${{env:HOOK}}\"\non = \"failure\"\nlink = \"https://ci/x\"\n"
        );
        let list = crate::checklist::parse("c.toml", &text, &[], &Catalog::default()).unwrap();
        assert_eq!(list.notify.as_ref().unwrap().on, NotifyOn::Failure);
        assert!(list.env_refs.contains("HOOK"));
        let env = |n: &str| (n == "HOOK").then(|| "https://hooks.example/T0/B0/s3cr3t".to_string());
        let req = PlanRequest::with_env(&env);
        let p = plan(&list, &Catalog::default(), &req).unwrap();
        let n = p.notify.unwrap().unwrap();
        assert_eq!(
            n.webhook.as_deref(),
            Some("https://hooks.example/T0/B0/s3cr3t")
        );
        assert_eq!(n.link.as_deref(), Some("https://ci/x"));
        assert_eq!(
            p.redactor
                .text("posting to https://hooks.example/T0/B0/s3cr3t"),
            "posting to ****"
        );
        assert!(!format!("{n:?}").contains("s3cr3t"));
        let none = |_: &str| None;
        let req = PlanRequest { env: &none, ..req };
        let p = plan(&list, &Catalog::default(), &req).unwrap();
        assert!(p.notify.unwrap().unwrap_err().contains("HOOK is not set"));
    }

    #[test]
    fn rejects_bad_notify_tables() {
        let text = format!("{BASE}[notify]\nwebhok = \"https://x\"\non = \"sometimes\"\n");
        let e = crate::checklist::parse("c.toml", &text, &[], &Catalog::default()).unwrap_err();
        let plain = e.plain();
        assert!(plain.contains("did you mean `webhook`"), "{plain}");
        assert!(plain.contains("unknown value \"sometimes\""), "{plain}");
        assert!(plain.contains("[notify] has no webhook"), "{plain}");
        let text = format!("{BASE}[notify]\nwebhook = \"ftp://x\"\n");
        let e = crate::checklist::parse("c.toml", &text, &[], &Catalog::default()).unwrap_err();
        assert!(e.plain().contains("http:// or https://"), "{}", e.plain());
    }

    #[test]
    fn shows_only_scheme_and_host() {
        assert_eq!(
            shown_url("https://hooks.slack.com/services/T0/B0/XyZsecret"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            shown_url("http://u:p@127.0.0.1:9/x"),
            "http://127.0.0.1:9/…"
        );
        assert_eq!(shown_url("garbage"), "****");
    }
}
