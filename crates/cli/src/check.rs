//! `preflight check`: validate and print the plan. No network, no secrets needed.

use std::path::PathBuf;

use clap::Args;
use preflight_core::Check;
use preflight_core::attest::Standing;
use preflight_core::sanitize::line;

use crate::{CliError, Exit, PlanArgs, registry, run::load_and_plan};

#[derive(Args)]
pub struct CheckArgs {
    /// Checklist file (default ./preflight.toml).
    file: Option<PathBuf>,
    #[command(flatten)]
    plan: PlanArgs,
}

pub fn check_command(args: CheckArgs) -> Result<Exit, CliError> {
    let file = args.file.clone().unwrap_or_else(crate::default_file);
    let catalog = registry::catalog();
    let (checklist, plan) = load_and_plan(&file, &args.plan, None, None, &catalog)?;
    let mut out = String::new();
    let automated = plan
        .items
        .iter()
        .filter(|i| i.item.probe().is_some())
        .count();
    out.push_str(&format!(
        "{}: valid — \"{}\", {} of {} items selected ({} automated, {} manual), environment {}{}\n",
        line(&checklist.path),
        line(&checklist.name),
        plan.items.len(),
        checklist.items.len(),
        automated,
        plan.items.len() - automated,
        line(&plan.environment),
        plan.phase
            .as_deref()
            .map(|p| format!(", phase {}", line(p)))
            .unwrap_or_default()
    ));
    out.push_str(&format!(
        "pass_score {}%, concurrency {}, per_host {}, default timeout {:?}\n\n",
        plan.pass_score, plan.concurrency, plan.per_host, checklist.timeout
    ));
    for p in &plan.items {
        let i = &p.item;
        let what = match &i.check {
            Check::Manual => match &p.attestation {
                Some(Standing::Valid(a)) => format!("manual: attested by {} at {}", a.by, a.at),
                Some(Standing::Expired(a)) => format!(
                    "manual: pending (attestation by {} expired {})",
                    a.by,
                    a.expires.as_deref().unwrap_or("?")
                ),
                None => "manual: pending".to_string(),
            },
            Check::Probe { probe, expect, .. } => format!(
                "{probe}: {}",
                expect
                    .iter()
                    .map(|e| e.source())
                    .collect::<Vec<_>>()
                    .join(" && ")
            ),
        };
        out.push_str(&format!(
            "  {:<32} {:<9} {}\n",
            line(&i.id),
            i.severity.as_str(),
            line(&plan.redactor.text(&what))
        ));
        let mut extra = Vec::new();
        if !i.needs.is_empty() {
            extra.push(format!("needs {}", i.needs.join(", ")));
        }
        if let Some(ph) = &i.phases {
            extra.push(format!("phases {}", ph.join(", ")));
        }
        if !i.tags.is_empty() {
            extra.push(format!("tags {}", i.tags.join(", ")));
        }
        if let Err(reason) = &p.options {
            extra.push(format!("will error: {}", plan.redactor.text(reason)));
        }
        if !extra.is_empty() {
            out.push_str(&format!("  {:<32} {}\n", "", line(&extra.join("; "))));
        }
    }
    for n in &plan.notes {
        out.push_str(&format!("note: {}\n", line(n)));
    }
    if !checklist.env_refs.is_empty() {
        out.push_str("\nenvironment variables (secrets):\n");
        for name in &checklist.env_refs {
            let state = if plan.unset_env.contains(name) {
                "unset"
            } else {
                "set"
            };
            out.push_str(&format!("  {:<32} {state}\n", line(name)));
        }
    }
    crate::output::stdout(&out)?;
    Ok(Exit::Go)
}
