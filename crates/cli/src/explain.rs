//! `preflight explain [PROBE]` and `preflight schema`: what a probe accepts and
//! reports, and the JSON Schema of a checklist — both generated from the probes'
//! own descriptions (their options' derive and their `FACTS`), never kept by hand.

use std::fmt::Write as _;

use clap::{Args, ValueEnum};
use preflight_core::probe::ProbeEntry;
use preflight_core::schema::shape::Field;
use preflight_core::{Catalog, Options};

use crate::{CliError, Exit, registry};

/// How `explain` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    /// Plain text for a terminal.
    Text,
    /// Markdown tables, as the reference pages in docs/probes/ embed them.
    Markdown,
}

#[derive(Args)]
pub struct ExplainArgs {
    /// The probe to describe (omit to list every probe).
    probe: Option<String>,
    /// text, or markdown for docs.
    #[arg(long, value_enum, default_value = "text")]
    format: ExplainFormat,
}

/// `preflight explain`.
pub fn explain_command(args: ExplainArgs) -> Result<Exit, CliError> {
    let catalog = registry::catalog();
    let text = match &args.probe {
        None => list(&catalog, args.format),
        Some(name) => match catalog.get(name) {
            Some(p) => explain(p, args.format),
            None => {
                let e = preflight_core::names::one_of(name, catalog.names()).unwrap_err();
                return Err(CliError::Usage(format!(
                    "unknown probe \"{name}\" ({})",
                    e.hint("known probes:")
                )));
            }
        },
    };
    crate::output::stdout(&text)?;
    Ok(Exit::Go)
}

/// `preflight schema`: the JSON Schema (2020-12) of a checklist file.
pub fn schema_command() -> Result<Exit, CliError> {
    let schema = preflight_core::schema::checklist_schema(&registry::catalog());
    let text = serde_json::to_string_pretty(&schema)
        .map_err(|e| CliError::Internal(format!("failed to write the schema: {e}")))?;
    crate::output::stdout(&format!("{text}\n"))?;
    Ok(Exit::Go)
}

fn list(catalog: &Catalog, format: ExplainFormat) -> String {
    let mut out = String::new();
    match format {
        ExplainFormat::Text => {
            out.push_str("probes (preflight explain PROBE for options and facts):\n");
            for p in catalog.entries() {
                let _ = writeln!(out, "  {:<12} {}", p.name(), p.summary());
            }
        }
        ExplainFormat::Markdown => {
            out.push_str("| probe | what it checks |\n|---|---|\n");
            for p in catalog.entries() {
                let _ = writeln!(
                    out,
                    "| [`{0}`](probes/{0}.md) | {1} |",
                    p.name(),
                    p.summary()
                );
            }
        }
    }
    out
}

/// Everything about one probe.
pub fn explain(p: &ProbeEntry, format: ExplainFormat) -> String {
    match format {
        ExplainFormat::Text => text(p),
        ExplainFormat::Markdown => markdown(p),
    }
}

fn default_of(f: &Field) -> String {
    match &f.default {
        Some(serde_json::Value::String(s)) => format!("\"{s}\""),
        Some(v) if v.as_array().is_some_and(|a| a.is_empty()) => String::new(),
        Some(v) if v.as_object().is_some_and(|o| o.is_empty()) => String::new(),
        Some(v) => v.to_string(),
        None => String::new(),
    }
}

fn note(f: &Field) -> String {
    let mut bits = Vec::new();
    if f.required {
        bits.push("required".to_string());
    }
    let d = default_of(f);
    if !d.is_empty() {
        bits.push(format!("default {d}"));
    }
    if f.secret {
        bits.push("secret".into());
    }
    bits.join(", ")
}

fn text(p: &ProbeEntry) -> String {
    let mut out = format!("{} — {}\n\noptions:\n", p.name(), p.summary());
    for f in &p.options().fields {
        let n = note(f);
        let _ = writeln!(
            out,
            "  {:<18} {:<16} {}{}",
            f.name,
            f.shape.type_name(),
            f.doc,
            if n.is_empty() {
                String::new()
            } else {
                format!(" ({n})")
            }
        );
    }
    out.push_str("\nfacts:\n");
    for f in p.facts() {
        let ty = format!("{}{}", f.ty.as_str(), if f.nullable { "?" } else { "" });
        let when = f.when.map(|w| format!(" ({w})")).unwrap_or_default();
        let _ = writeln!(out, "  {:<18} {:<8} {}{when}", f.name, ty, f.doc);
    }
    out.push_str("\ndefault expect:\n");
    for e in p.default_expect(&Options::new()) {
        let _ = writeln!(out, "  {e}");
    }
    if !p.default_expect_note().is_empty() {
        let _ = writeln!(out, "  ({})", p.default_expect_note());
    }
    out.push_str("\nexample:\n");
    for line in p.example().lines() {
        let _ = writeln!(out, "  {line}");
    }
    out
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn markdown(p: &ProbeEntry) -> String {
    let mut out = format!(
        "{}\n\n### Options\n\n| option | type | | |\n|---|---|---|---|\n",
        p.summary()
    );
    for f in &p.options().fields {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            f.name,
            cell(&f.shape.type_name()),
            cell(&note(f)),
            cell(&f.doc)
        );
    }
    out.push_str("\n### Facts\n\n| fact | type | | |\n|---|---|---|---|\n");
    for f in p.facts() {
        let ty = format!("{}{}", f.ty.as_str(), if f.nullable { "?" } else { "" });
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            f.name,
            ty,
            cell(f.when.unwrap_or("")),
            cell(f.doc)
        );
    }
    out.push_str("\n### Default expectations\n\n```\n");
    for e in p.default_expect(&Options::new()) {
        let _ = writeln!(out, "{e}");
    }
    out.push_str("```\n");
    if !p.default_expect_note().is_empty() {
        let _ = writeln!(out, "\n{}", p.default_expect_note());
    }
    let _ = write!(out, "\n### Example\n\n```toml\n{}```\n", p.example());
    out
}
