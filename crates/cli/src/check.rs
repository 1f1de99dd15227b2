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
    // Proxy and trust, before the items that use them (issue #19).
    out.insert_str(out.len() - 1, &crate::egress::summary(&plan));
    if !checklist.templates.is_empty() {
        out.push_str("templates (for_each):\n");
        for t in &checklist.templates {
            let selected = plan
                .items
                .iter()
                .filter(|p| p.item.template() == Some(t.id.as_str()))
                .count();
            out.push_str(&format!(
                "  {:<32} {} items from {} (columns {}; key {}){}\n",
                line(&format!("{}[…]", t.id)),
                t.rows,
                line(&t.source.to_string()),
                line(&t.columns.join(", ")),
                line(&t.columns[t.key]),
                if selected == t.rows {
                    String::new()
                } else {
                    format!(", {selected} selected")
                }
            ));
        }
        out.push('\n');
    }
    let mut last_template: Option<&str> = None;
    for p in &plan.items {
        let i = &p.item;
        // A template's items are one line: the first, as `ID[…]`.
        if let Some(t) = i.template() {
            if last_template == Some(t) {
                continue;
            }
            last_template = Some(t);
        } else {
            last_template = None;
        }
        let what = match &*i.check {
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
        let shown = match i.template() {
            Some(t) => format!("{t}[…]"),
            None => i.id.clone(),
        };
        out.push_str(&format!(
            "  {:<32} {:<9} {}\n",
            line(&shown),
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
        if let Check::Probe { probe, expect, .. } = &*i.check {
            let facts: Vec<&str> = catalog
                .get(probe)
                .map(|e| e.facts().iter().map(|f| f.name).collect())
                .unwrap_or_default();
            let exprs = expect.iter().chain(i.capture.iter().map(|c| &c.expr));
            let read = vars_read(exprs, &facts, |n| {
                checklist.vars.contains_key(n)
                    || plan.vars.contains_key(n)
                    || checklist.environments.values().any(|e| e.contains_key(n))
            });
            if !read.is_empty() {
                extra.push(format!("reads vars {}", read.join(", ")));
            }
        }
        if !i.capture.is_empty() {
            let names: Vec<String> = i
                .capture
                .iter()
                .map(|c| {
                    let kind = if c.public { "public" } else { "secret" };
                    format!("{} = {} ({kind})", c.name, c.expr.source())
                })
                .collect();
            extra.push(format!("captures {}", names.join(", ")));
        }
        if !i.reads_captures.is_empty() {
            let refs: Vec<String> = i.reads_captures.iter().map(ToString::to_string).collect();
            extra.push(format!("reads {}", refs.join(", ")));
        }
        if let Err(reason) = &*p.options {
            extra.push(format!("will error: {}", plan.redactor.text(reason)));
        }
        if !extra.is_empty() {
            out.push_str(&format!("  {:<32} {}\n", "", line(&extra.join("; "))));
        }
        if let Some(line) = crate::egress::item_line(&plan, &catalog, p) {
            out.push_str(&format!("  {:<32} {line}\n", ""));
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

/// The vars expressions read: `vars.NAME`, and bare names that are vars, not facts.
fn vars_read<'a>(
    exprs: impl Iterator<Item = &'a preflight_core::expect::Expectation>,
    facts: &[&str],
    is_var: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut all = false;
    for e in exprs {
        all |= e.reads_all_vars();
        for v in e.var_reads() {
            out.push(v.to_string());
        }
        for n in e.names() {
            if n != preflight_core::expect::VARS && !facts.contains(&n) && is_var(n) {
                out.push(n.to_string());
            }
        }
    }
    out.sort();
    out.dedup();
    if all {
        out.push("(any: `vars` is read as a whole)".into());
    }
    out
}
