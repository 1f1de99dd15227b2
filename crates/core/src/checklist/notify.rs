//! `[notify]`: webhook URLs (placeholders allowed), `on`, `link`.

use super::file::{NotifyTable, shapes};
use super::loader::{Loader, read_table};
use crate::notify::Notify;
use crate::schema::check::check_table;
use crate::tree::Node;

pub(super) fn load(l: &mut Loader<'_>, node: &Node) -> Option<Notify> {
    let Some(entries) = node.as_table() else {
        l.problem(
            node.span.clone(),
            None,
            Some("notify"),
            "expected a table",
            Some("write [notify] followed by webhook = \"${env:SLACK_WEBHOOK_URL}\"".into()),
        );
        return None;
    };
    let f = check_table(
        entries,
        &shapes().notify,
        "[notify]",
        node.span.clone(),
        &[],
    );
    let bad = l.findings(None, f);
    for (k, v) in entries {
        l.placeholders(None, &format!("notify.{}", k.name), v);
        let is_url = k.name == "webhook" || k.name == "json_webhook";
        if let (true, Some(url)) = (is_url, v.as_str()) {
            let lower = url.to_ascii_lowercase();
            if !(lower.starts_with("http://")
                || lower.starts_with("https://")
                || url.starts_with("${"))
            {
                l.problem(
                    v.span.clone(),
                    None,
                    Some(&format!("notify.{}", k.name)),
                    "expected an http:// or https:// URL",
                    Some(format!("write {} = \"${{env:SLACK_WEBHOOK_URL}}\"", k.name)),
                );
            }
        }
    }
    let table: NotifyTable = read_table(entries, &bad)?;
    if table.webhook.is_none() && table.json_webhook.is_none() {
        l.problem(
            node.span.clone(),
            None,
            Some("notify"),
            "[notify] has no webhook",
            Some("add webhook = \"${env:SLACK_WEBHOOK_URL}\" and/or json_webhook = \"…\"".into()),
        );
    }
    Some(Notify {
        webhook: table.webhook,
        json_webhook: table.json_webhook,
        on: table.on,
        link: table.link,
    })
}
