//! `preflight attest FILE ID --by NAME [--note TEXT] [--expires DURATION]`: records that
//! a person checked a manual item, in `<checklist>.attest.toml` (append-only).

use preflight_core::sanitize::line;
use std::io::Write;
use std::path::PathBuf;
use std::time::SystemTime;

use clap::Args;
use preflight_core::attest::{self, Attestation};
use preflight_core::probe::parse_duration;

use crate::{CliError, Exit, registry};

#[derive(Args)]
pub struct AttestArgs {
    /// The checklist file.
    file: PathBuf,
    /// The manual item's id.
    id: String,
    /// Who attests (a name or handle).
    #[arg(long, value_name = "NAME")]
    by: String,
    /// What was checked, links, ticket numbers.
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// The attestation stops counting after this long, e.g. 7d or 24h.
    #[arg(long, value_name = "DURATION")]
    expires: Option<String>,
    /// A variable the checklist expects from `--var` (only the name matters here).
    #[arg(long = "var", value_name = "K=V")]
    vars: Vec<String>,
}

pub fn attest_command(args: AttestArgs) -> Result<Exit, CliError> {
    if args.by.trim().is_empty() {
        return Err(CliError::Usage("--by must name who attests".into()));
    }
    let valid_for = args
        .expires
        .as_deref()
        .map(parse_duration)
        .transpose()
        .map_err(|e| CliError::Usage(format!("invalid --expires: {e}")))?;
    let mut names = Vec::new();
    for v in &args.vars {
        names.push(preflight_core::plan::parse_var(v)?.0);
    }
    let catalog = registry::catalog();
    let checklist = preflight_core::load(&args.file, &names, &catalog)?;
    if let Some(why) = attest::refuse(&checklist, &args.id) {
        return Err(CliError::Usage(why));
    }
    let path = attest::path_for(&args.file);
    // Refuse to append to a file we cannot read back: history must stay parseable.
    let existing =
        match preflight_core::input::read_text(&path, preflight_core::input::MAX_ATTESTATION_BYTES)
        {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(CliError::Internal(format!(
                    "failed to read {}: {e}",
                    path.display()
                )));
            }
        };
    if let Some(text) = &existing {
        attest::parse(&path.display().to_string(), text)?;
    }
    let a = Attestation::new(
        &args.id,
        args.by.trim(),
        SystemTime::now(),
        args.note.clone(),
        valid_for,
    );
    let mut text = String::new();
    if existing.is_none() {
        text.push_str(&attest::file_header(&checklist.name));
    } else if existing
        .as_deref()
        .is_some_and(|t| !t.ends_with('\n') && !t.is_empty())
    {
        text.push('\n');
    }
    text.push_str(&attest::entry_text(&a));
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    written.map_err(|e| CliError::Internal(format!("failed to write {}: {e}", path.display())))?;
    crate::output::stdout(&format!(
        "attested {} by {} at {}{} → {}\n",
        line(&a.id),
        line(&a.by),
        a.at,
        a.expires
            .as_deref()
            .map(|e| format!(", expires {e}"))
            .unwrap_or_default(),
        line(&path.display().to_string())
    ))?;
    Ok(Exit::Go)
}
