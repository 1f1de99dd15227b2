//! `preflight import FILE.md [-o FILE.toml] [--explain]`: a Markdown checklist →
//! checklist TOML, with what this build's catalog can check.

use crate::output::say;
use std::path::PathBuf;

use clap::Args;
use preflight_import::{ImportOptions, import};

use crate::{CliError, Exit, registry};

#[derive(Args)]
pub struct ImportArgs {
    /// The Markdown checklist to import.
    file: PathBuf,
    /// Write the checklist here instead of stdout (refuses to overwrite).
    #[arg(short = 'o', long = "output", value_name = "FILE.toml")]
    output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    force: bool,
    /// Also print, per section, what was recognised in each box and why (on stderr).
    #[arg(long)]
    explain: bool,
}

/// Whether this build has `what`: a probe (`http`), a probe's fact or option
/// (`http.cors`), or an item key (`item.capture`).
fn has(catalog: &preflight_core::Catalog, what: &str) -> bool {
    match what.split_once('.') {
        None => catalog.get(what).is_some(),
        Some(("item", key)) => preflight_core::checklist::file::item_keys().contains(&key),
        Some((probe, key)) => catalog.get(probe).is_some_and(|p| {
            p.facts().iter().any(|f| f.name == key) || p.options().field(key).is_some()
        }),
    }
}

pub fn import_command(args: ImportArgs) -> Result<Exit, CliError> {
    let bytes = preflight_core::input::read(&args.file, preflight_core::input::MAX_IMPORT_BYTES)
        .map_err(|e| CliError::Usage(format!("failed to read {}: {e}", args.file.display())))?;
    let catalog = registry::catalog();
    let available = |what: &str| has(&catalog, what);
    let stem = args
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "imported".into());
    let out = import(
        &bytes,
        &ImportOptions {
            name: &stem,
            available: &available,
        },
    )
    .map_err(|e| CliError::Usage(format!("failed to import {}: {e}", args.file.display())))?;
    match &args.output {
        Some(path) => {
            if path.exists() && !args.force {
                return Err(CliError::Usage(format!(
                    "{} exists; pass --force to overwrite it",
                    path.display()
                )));
            }
            std::fs::write(path, &out.toml).map_err(|e| {
                CliError::Internal(format!("failed to write {}: {e}", path.display()))
            })?;
        }
        None => crate::output::stdout(&out.toml)?,
    }
    if args.explain {
        say!("{}", out.explain().trim_end());
        say!("");
    }
    say!(
        "imported {} items: {} automated, {} manual",
        out.items,
        out.automated,
        out.manual
    );
    if out.unavailable > 0 {
        say!(
            "  {} more could be automated by probes this build does not have (see \"# manual: needs\" comments)",
            out.unavailable
        );
    }
    if out.ticked > 0 {
        say!(
            "  {} were ticked in the source; attest them with `preflight attest`",
            out.ticked
        );
    }
    let to_set: Vec<_> = out.vars.iter().filter(|v| v.default.is_empty()).collect();
    if !to_set.is_empty() {
        say!("vars you must set ([vars] or --var NAME=VALUE):");
        for v in to_set {
            say!("  {:<16} {}", v.name, v.hint);
        }
    }
    let defaulted: Vec<_> = out.vars.iter().filter(|v| !v.default.is_empty()).collect();
    if !defaulted.is_empty() {
        say!("vars defaulted from the source (check them):");
        for v in defaulted {
            say!("  {:<16} {}", v.name, v.default);
        }
    }
    if !out.env.is_empty() {
        say!("secrets read from the environment: {}", out.env.join(", "));
    }
    Ok(Exit::Go)
}
