//! From a validated checklist to a plan: pick the environment, resolve variables,
//! select items, interpolate options and collect secrets. Still no network.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::checklist::{Check, Checklist, Item, suggest};
use crate::error::CoreError;
use crate::probe::{Catalog, Options, ProbeEntry};
use crate::redact::{Redactor, is_secret_name};
use crate::schema::shape::coerce_object;
use crate::template::{self, Segment};

/// Which items run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Items whose phases include this (items without phases are in every phase).
    pub phase: Option<String>,
    /// Any of these tags.
    pub tags: Vec<String>,
    /// Any of these ids.
    pub only: Vec<String>,
}

/// Everything from the command line that shapes a plan.
pub struct PlanRequest<'a> {
    /// `--env NAME`.
    pub environment: Option<String>,
    /// `--var k=v`, in order (later wins).
    pub vars: Vec<(String, String)>,
    /// Item selection.
    pub selection: Selection,
    /// `--timeout`: overrides the checklist's default per-item timeout.
    pub timeout: Option<Duration>,
    /// `--concurrency`.
    pub concurrency: Option<usize>,
    /// Reads the process environment; the one place `${env:…}` values come from.
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> PlanRequest<'a> {
    /// Everything from the checklist (no `--env`, `--var`, selection or overrides),
    /// `${env:…}` read through `env`.
    pub fn with_env(env: &'a dyn Fn(&str) -> Option<String>) -> PlanRequest<'a> {
        PlanRequest {
            environment: None,
            vars: Vec::new(),
            selection: Selection::default(),
            timeout: None,
            concurrency: None,
            env,
        }
    }
}

/// One item ready to run.
#[derive(Debug, Clone)]
pub struct PlannedItem {
    /// The item as validated.
    pub item: Item,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Interpolated options, or why they could not be resolved (the item errors).
    pub options: Result<Options, String>,
    /// Indices (in the plan) of the items this one waits for.
    pub needs: Vec<usize>,
    /// For a manual item: its latest attestation, if any (set by [`crate::attest::apply`]).
    pub attestation: Option<crate::attest::Standing>,
}

/// A run, fully resolved.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Checklist display name.
    pub checklist: String,
    /// Checklist file.
    pub path: String,
    /// `--env` name or `default`.
    pub environment: String,
    /// `--phase`, if any.
    pub phase: Option<String>,
    /// GO threshold.
    pub pass_score: u8,
    /// Items in flight at once.
    pub concurrency: usize,
    /// Requests in flight to one host.
    pub per_host: usize,
    /// Selected items, in checklist order.
    pub items: Vec<PlannedItem>,
    /// Resolved vars, readable by expectations.
    pub vars: Arc<serde_json::Map<String, Value>>,
    /// Things the report should mention (ignored needs).
    pub notes: Vec<String>,
    /// Every secret known for this run.
    pub redactor: Redactor,
    /// `${env:…}` names that are not set.
    pub unset_env: BTreeSet<String>,
    /// `[notify]` resolved, or why it could not be (a missing env var). Its URLs are
    /// in the redactor.
    pub notify: Option<Result<crate::notify::ResolvedNotify, String>>,
}

/// Parses `k=v` from `--var`.
pub fn parse_var(text: &str) -> Result<(String, String), CoreError> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(CoreError::BadVar(text.to_string())),
    }
}

struct Resolver<'a> {
    raw: BTreeMap<String, Value>,
    env: &'a dyn Fn(&str) -> Option<String>,
    done: BTreeMap<String, Result<Value, String>>,
    redactor: Redactor,
    unset: BTreeSet<String>,
}

impl Resolver<'_> {
    fn var(&mut self, name: &str, stack: &mut Vec<String>) -> Result<Value, String> {
        if let Some(r) = self.done.get(name) {
            return r.clone();
        }
        if stack.iter().any(|s| s == name) {
            return Err(format!(
                "variables refer to each other in a cycle: {} → {name}",
                stack.join(" → ")
            ));
        }
        let Some(raw) = self.raw.get(name).cloned() else {
            return Err(format!("variable `{name}` is not defined"));
        };
        stack.push(name.to_string());
        let r = self.value(&raw, stack);
        stack.pop();
        self.done.insert(name.to_string(), r.clone());
        r
    }

    fn value(&mut self, v: &Value, stack: &mut Vec<String>) -> Result<Value, String> {
        Ok(match v {
            Value::String(s) => self.string(s, stack)?,
            Value::Array(a) => Value::Array(
                a.iter()
                    .map(|x| self.value(x, stack))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| Ok((k.clone(), self.value(x, stack)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }

    fn string(&mut self, s: &str, stack: &mut Vec<String>) -> Result<Value, String> {
        let segs = template::parse(s)?;
        if let [Segment::Var(name)] = segs.as_slice() {
            // A lone `${n}` keeps the variable's type (number, list, …).
            return self.var(name, stack);
        }
        let mut out = String::new();
        for seg in segs {
            match seg {
                Segment::Literal(l) => out.push_str(&l),
                Segment::Var(name) => match self.var(&name, stack)? {
                    Value::String(v) => out.push_str(&v),
                    other => out.push_str(&other.to_string()),
                },
                Segment::Env(name) => match (self.env)(&name) {
                    Some(v) => {
                        self.redactor.add(&v);
                        out.push_str(&v);
                    }
                    None => {
                        self.unset.insert(name.clone());
                        return Err(format!("environment variable {name} is not set"));
                    }
                },
            }
        }
        Ok(Value::String(out))
    }
}

fn collect_secrets(v: &Value, under_secret: bool, redactor: &mut Redactor) {
    match v {
        Value::String(s) => {
            redactor.add_url_password(s);
            if under_secret {
                redactor.add(s);
                // `Bearer xyz`: the token alone can show up elsewhere too.
                if let Some((_, tok)) = s.split_once(' ') {
                    redactor.add(tok.trim());
                }
            }
        }
        Value::Array(a) => a
            .iter()
            .for_each(|x| collect_secrets(x, under_secret, redactor)),
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| collect_secrets(x, under_secret || is_secret_name(k), redactor)),
        _ => {}
    }
}

/// Interpolates an item's options, converts text to the types the probe wants,
/// records their secrets, and — when they held placeholders — runs the probe's typed
/// checks that the loader could not. An error makes the item `error`.
fn resolve_options(
    entry: &ProbeEntry,
    options: &Options,
    resolver: &mut Resolver<'_>,
) -> Result<Options, String> {
    let mut m = match resolver.value(&Value::Object(options.clone()), &mut Vec::new())? {
        Value::Object(m) => m,
        _ => return Err("options did not resolve to a table".into()),
    };
    coerce_object(&mut m, entry.options());
    for (k, v) in &m {
        collect_secrets(
            v,
            entry.is_secret_option(k) || is_secret_name(k),
            &mut resolver.redactor,
        );
    }
    for s in entry.secrets(&m) {
        resolver.redactor.add(&s);
    }
    if &m != options
        && let Some(p) = entry.check(&m).into_iter().next()
    {
        return Err(crate::probe::Failure::options(p).reason());
    }
    Ok(m)
}

/// Builds a plan. Errors are usage errors (unknown environment, unknown `--only` id).
pub fn plan(
    checklist: &Checklist,
    catalog: &Catalog,
    req: &PlanRequest<'_>,
) -> Result<Plan, CoreError> {
    let mut raw = checklist.vars.clone();
    if let Some(env_name) = &req.environment {
        let Some(env_vars) = checklist.environments.get(env_name) else {
            let names: Vec<&str> = checklist.environments.keys().map(String::as_str).collect();
            let hint = match (suggest(env_name, names.iter().copied()), names.is_empty()) {
                (_, true) => "this checklist defines no [environments.NAME.vars]".to_string(),
                (Some(s), _) => format!("did you mean \"{s}\"? environments: {}", names.join(", ")),
                (None, _) => format!("environments: {}", names.join(", ")),
            };
            return Err(CoreError::UnknownEnvironment {
                name: env_name.clone(),
                hint,
            });
        };
        raw.extend(env_vars.clone());
    }
    for (k, v) in &req.vars {
        raw.insert(k.clone(), Value::String(v.clone()));
    }
    let mut resolver = Resolver {
        raw: raw.clone(),
        env: req.env,
        done: BTreeMap::new(),
        redactor: Redactor::default(),
        unset: BTreeSet::new(),
    };
    let mut vars = serde_json::Map::new();
    for name in raw.keys() {
        if let Ok(v) = resolver.var(name, &mut Vec::new()) {
            vars.insert(name.clone(), v);
        }
    }
    // Every referenced env var is looked up, so `check` can list the unset ones.
    for name in &checklist.env_refs {
        match (req.env)(name) {
            Some(v) => resolver.redactor.add(&v),
            None => {
                resolver.unset.insert(name.clone());
            }
        }
    }

    for id in &req.selection.only {
        if !checklist.items.iter().any(|i| &i.id == id) {
            let hint = suggest(id, checklist.items.iter().map(|i| i.id.as_str()))
                .map(|s| format!("did you mean \"{s}\"?"))
                .unwrap_or_else(|| "run `preflight check FILE` to list the ids".into());
            return Err(CoreError::UnknownItem {
                id: id.clone(),
                hint,
            });
        }
    }
    let sel = &req.selection;
    let selected: Vec<&Item> = checklist
        .items
        .iter()
        .filter(|i| {
            sel.phase
                .as_ref()
                .is_none_or(|p| i.phases.as_ref().is_none_or(|ps| ps.contains(p)))
        })
        .filter(|i| sel.tags.is_empty() || i.tags.iter().any(|t| sel.tags.contains(t)))
        .filter(|i| sel.only.is_empty() || sel.only.contains(&i.id))
        .collect();

    let default_timeout = req.timeout.unwrap_or(checklist.timeout);
    let mut notes = Vec::new();
    let mut items = Vec::with_capacity(selected.len());
    for item in &selected {
        let mut needs = Vec::new();
        for n in &item.needs {
            match selected.iter().position(|s| &s.id == n) {
                Some(i) => needs.push(i),
                None => notes.push(format!(
                    "item \"{}\" needs \"{n}\", which is not in this run: ignored",
                    item.id
                )),
            }
        }
        let options = match &item.check {
            Check::Manual => Ok(Options::new()),
            Check::Probe { probe, options, .. } => match catalog.get(probe) {
                Some(entry) => resolve_options(entry, options, &mut resolver),
                None => Err(format!("probe \"{probe}\" is not in this build")),
            },
        };
        items.push(PlannedItem {
            item: (*item).clone(),
            timeout: item.timeout.unwrap_or(default_timeout),
            options,
            needs,
            attestation: None,
        });
    }
    for v in vars.values() {
        collect_secrets(v, false, &mut resolver.redactor);
    }
    let notify = checklist.notify.as_ref().map(|n| {
        let mut url = |u: &Option<String>| -> Result<Option<String>, String> {
            let Some(u) = u else { return Ok(None) };
            match resolver.string(u, &mut Vec::new())? {
                Value::String(s) => {
                    // The whole URL is a credential (Slack puts the token in the path).
                    resolver.redactor.add(&s);
                    resolver.redactor.add_url_password(&s);
                    Ok(Some(s))
                }
                other => Err(format!("[notify] URL resolved to {other}, not a string")),
            }
        };
        let webhook = url(&n.webhook).map_err(|e| format!("[notify] webhook: {e}"))?;
        let json_webhook =
            url(&n.json_webhook).map_err(|e| format!("[notify] json_webhook: {e}"))?;
        let link = match &n.link {
            Some(l) => match resolver.string(l, &mut Vec::new()) {
                Ok(Value::String(s)) => Some(s),
                Ok(other) => Some(other.to_string()),
                Err(e) => return Err(format!("[notify] link: {e}")),
            },
            None => None,
        };
        Ok(crate::notify::ResolvedNotify {
            webhook,
            json_webhook,
            on: n.on,
            link,
        })
    });
    Ok(Plan {
        checklist: checklist.name.clone(),
        path: checklist.path.clone(),
        environment: req.environment.clone().unwrap_or_else(|| "default".into()),
        phase: sel.phase.clone(),
        pass_score: checklist.pass_score,
        concurrency: req.concurrency.unwrap_or(checklist.concurrency).max(1),
        per_host: checklist.per_host,
        items,
        vars: Arc::new(vars),
        notes,
        redactor: resolver.redactor,
        unset_env: resolver.unset,
        notify,
    })
}
