//! `[checklist]`: name, pass score, default timeout, concurrency limits, and the
//! network defaults (`proxy`, `ca`, `trust`).

use std::time::Duration;

use super::file::{SettingsTable, shapes};
use super::loader::Loader;
use crate::network::check_proxy;
use crate::tree::Node;

/// The settings with defaults filled in.
pub(super) struct Settings {
    pub name: String,
    pub pass_score: u8,
    pub timeout: Duration,
    pub concurrency: usize,
    pub per_host: usize,
    pub network: super::NetworkSettings,
}

/// Reads `[checklist]` (absent: every default; the name is the file's stem).
pub(super) fn load(l: &mut Loader<'_>, node: Option<&Node>, path: &str) -> Settings {
    let table: SettingsTable = match node {
        Some(n) => l.table(
            n,
            &shapes().settings,
            "[checklist]",
            "checklist",
            "write [checklist] followed by name = \"…\"",
        ),
        None => SettingsTable::default(),
    };
    // `proxy` and `ca` may come from the environment (`${env:CORP_PROXY}`).
    for (k, v) in node.and_then(Node::as_table).unwrap_or(&[]) {
        if k.name != "proxy" && k.name != "ca" {
            continue;
        }
        l.placeholders(None, &format!("checklist.{}", k.name), v);
        let Some(text) = v.as_str().filter(|t| !t.contains("${")) else {
            continue;
        };
        let problem = match k.name.as_str() {
            "proxy" => check_proxy(text).err(),
            _ if text.trim().is_empty() => Some("ca is empty (give a PEM file path)".into()),
            _ => None,
        };
        if let Some(message) = problem {
            l.problem(
                v.span.clone(),
                None,
                Some(&format!("checklist.{}", k.name)),
                message,
                Some(match k.name.as_str() {
                    "proxy" => {
                        "write proxy = \"http://proxy.internal:3128\" or proxy = \"none\"".into()
                    }
                    _ => "write ca = \"certs/company-ca.pem\"".into(),
                }),
            );
        }
    }
    let stem = std::path::Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "checklist".into());
    Settings {
        name: table.name.unwrap_or(stem),
        pass_score: table.pass_score,
        timeout: table.timeout.0,
        concurrency: table.concurrency,
        per_host: table.per_host,
        network: super::NetworkSettings {
            proxy: table.proxy,
            ca: table.ca,
            trust: table.trust,
        },
    }
}
