//! `[checklist]`: name, pass score, default timeout, concurrency limits.

use std::time::Duration;

use super::file::{SettingsTable, shapes};
use super::loader::Loader;
use crate::tree::Node;

/// The settings with defaults filled in.
pub(super) struct Settings {
    pub name: String,
    pub pass_score: u8,
    pub timeout: Duration,
    pub concurrency: usize,
    pub per_host: usize,
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
    }
}
