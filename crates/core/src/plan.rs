//! From a validated checklist to a plan: pick the environment, resolve variables,
//! select items, interpolate options and collect secrets. Still no network.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::checklist::{Check, Checklist, Item, suggest};
use crate::error::CoreError;
use crate::network::{Network, check_proxy};
use crate::probe::{Catalog, Options, ProbeEntry};
use crate::redact::{Redactor, is_secret_name};
use crate::schema::shape::coerce_object;
use crate::template::{self, CaptureError, CaptureRef, Segment};

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
    /// The item as validated (shared with the checklist).
    pub item: Arc<Item>,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Interpolated options, or why they could not be resolved (the item errors).
    /// The items of a template share them: their `${row.…}` are slots.
    pub options: Arc<Result<Options, String>>,
    /// Indices (in the plan) of the items this one waits for.
    pub needs: Vec<usize>,
    /// For a manual item: its latest attestation, if any (set by [`crate::attest::apply`]).
    pub attestation: Option<crate::attest::Standing>,
    /// Option strings that read `${captures.…}` or `${row.…}`: filled in by
    /// [`bind_captures`] when the item starts. While any are left, `options` holds
    /// them as written and has not been converted or checked.
    pub slots: Arc<[CaptureSlot]>,
}

/// An option string that reads captures, filled in when its item starts.
#[derive(Debug, Clone)]
pub struct CaptureSlot {
    /// JSON pointer of the string in the options (`/headers/authorization`).
    pub pointer: String,
    /// Its pieces, vars and env already resolved: literals, captures and row
    /// columns only.
    pub segments: Vec<Segment>,
}

/// Why an item's captures could not be bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindError {
    /// No value under this capture (its item did not pass or is not in the run): the
    /// item is skipped.
    Missing(CaptureRef),
    /// The filled-in options are not valid for the probe: the item errors.
    Invalid(String),
}

impl PlannedItem {
    /// The options as [`bind_captures`] starts from, with `${captures.…}` and
    /// `${row.…}` still to fill in.
    pub fn options(&self) -> &Result<Options, String> {
        &self.options
    }
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
    /// `[checklist] proxy` / `ca` / `trust` resolved, with the environment's proxy and
    /// certificate variables: what every probe's [`crate::probe::Context`] carries.
    /// Proxy credentials are in the redactor.
    pub network: Arc<Network>,
    /// After [`shard`]: each item's index in the plan before it was sharded (its
    /// place in the whole sweep, which merging the shards restores).
    pub positions: Option<Vec<usize>>,
}

/// The share of `count` a unit of items goes to: a stable hash (FNV-1a, 64 bits) of
/// its key, so every shard process, on any machine, splits the same way.
pub fn shard_of(key: &str, count: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % u64::from(count.max(1))) as u32 + 1
}

/// Keeps share `index` of `count` of the plan's items (`--shard K/N`). Items go in
/// units that stay together: an item and everything it `needs` (transitively, and
/// what needs it), and all the items of one `for_each` template (unless it says
/// `spread = true`). A unit's key is its template's id, or the id of its first item;
/// [`shard_of`] that key picks the share.
pub fn shard(plan: &mut Plan, index: u32, count: u32) {
    let n = plan.items.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    fn union(p: &mut [usize], a: usize, b: usize) {
        let (ra, rb) = (find(p, a), find(p, b));
        // The lower index is the root: the unit's first item.
        if ra < rb {
            p[rb] = ra;
        } else if rb < ra {
            p[ra] = rb;
        }
    }
    let mut first_of: HashMap<&str, usize> = HashMap::new();
    for (i, it) in plan.items.iter().enumerate() {
        for &d in &it.needs {
            union(&mut parent, i, d);
        }
        if let Some(t) = it.item.row.as_ref().filter(|r| !r.template.spread) {
            let t = t.template.id.as_str();
            match first_of.get(t) {
                Some(&f) => union(&mut parent, i, f),
                None => {
                    first_of.insert(t, i);
                }
            }
        }
    }
    let mut share: HashMap<usize, u32> = HashMap::new();
    let mut keep = Vec::with_capacity(n / count.max(1) as usize + 1);
    for i in 0..n {
        let root = find(&mut parent, i);
        let s = *share.entry(root).or_insert_with(|| {
            let first = &plan.items[root].item;
            let key = match &first.row {
                Some(r) if !r.template.spread => r.template.id.as_str(),
                _ => first.id.as_str(),
            };
            shard_of(key, count)
        });
        if s == index {
            keep.push(i);
        }
    }
    let new_index: HashMap<usize, usize> = keep.iter().enumerate().map(|(k, &i)| (i, k)).collect();
    let total = n;
    let old = std::mem::take(&mut plan.items);
    let mut old: Vec<Option<PlannedItem>> = old.into_iter().map(Some).collect();
    for &i in &keep {
        if let Some(mut p) = old[i].take() {
            p.needs = p
                .needs
                .iter()
                .filter_map(|d| new_index.get(d).copied())
                .collect();
            plan.items.push(p);
        }
    }
    plan.notes.push(format!(
        "shard {index}/{count}: {} of the {total} selected items (the rest run in the other shards)",
        keep.len()
    ));
    plan.positions = Some(keep);
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

    /// An option value: as [`Resolver::value`], except that strings reading captures
    /// become slots (with their vars and env resolved) and are left as written.
    fn option_value(
        &mut self,
        v: &Value,
        pointer: &str,
        slots: &mut Vec<CaptureSlot>,
    ) -> Result<Value, String> {
        Ok(match v {
            Value::String(s) => {
                let segs = template::parse(s)?;
                if !segs
                    .iter()
                    .any(|g| matches!(g, Segment::Capture(_) | Segment::Row(_)))
                {
                    return self.string(s, &mut Vec::new());
                }
                let mut out: Vec<Segment> = Vec::new();
                let mut lit = String::new();
                for seg in segs {
                    match seg {
                        Segment::Literal(l) => lit.push_str(&l),
                        Segment::Var(name) => match self.var(&name, &mut Vec::new())? {
                            Value::String(v) => lit.push_str(&v),
                            other => lit.push_str(&other.to_string()),
                        },
                        Segment::Env(name) => lit.push_str(&self.env_value(&name)?),
                        Segment::Capture(c) => {
                            if !lit.is_empty() {
                                out.push(Segment::Literal(std::mem::take(&mut lit)));
                            }
                            out.push(Segment::Capture(c));
                        }
                        Segment::Row(c) => {
                            if !lit.is_empty() {
                                out.push(Segment::Literal(std::mem::take(&mut lit)));
                            }
                            out.push(Segment::Row(c));
                        }
                    }
                }
                if !lit.is_empty() {
                    out.push(Segment::Literal(lit));
                }
                slots.push(CaptureSlot {
                    pointer: pointer.to_string(),
                    segments: out,
                });
                Value::String(s.clone())
            }
            Value::Array(a) => Value::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, x)| self.option_value(x, &format!("{pointer}/{i}"), slots))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| {
                        let at = format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1"));
                        Ok((k.clone(), self.option_value(x, &at, slots)?))
                    })
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }

    fn env_value(&mut self, name: &str) -> Result<String, String> {
        match (self.env)(name) {
            Some(v) => {
                self.redactor.add(&v);
                Ok(v)
            }
            None => {
                self.unset.insert(name.to_string());
                Err(format!("environment variable {name} is not set"))
            }
        }
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
                Segment::Env(name) => out.push_str(&self.env_value(&name)?),
                // The loader allows captures only in item options, which go through
                // `option_value`.
                Segment::Capture(c) => {
                    return Err(format!("`{c}` can only be read in an item's options"));
                }
                Segment::Row(c) => {
                    return Err(format!(
                        "`${{row.{c}}}` can only be read in a for_each item's options"
                    ));
                }
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
    slots: &mut Vec<CaptureSlot>,
) -> Result<Options, String> {
    let mut m = match resolver.option_value(&Value::Object(options.clone()), "", slots)? {
        Value::Object(m) => m,
        _ => return Err("options did not resolve to a table".into()),
    };
    if !slots.is_empty() {
        // Converted, checked and searched for secrets once the captures are known.
        return Ok(m);
    }
    finish_options(entry, &mut m, &mut resolver.redactor);
    if &m != options
        && let Some(p) = entry.check(&m).into_iter().next()
    {
        return Err(crate::probe::Failure::options(p).reason());
    }
    Ok(m)
}

/// Converts interpolated text to the probe's types and records the options' secrets.
fn finish_options(entry: &ProbeEntry, m: &mut Options, redactor: &mut Redactor) {
    coerce_object(m, entry.options());
    for (k, v) in m.iter() {
        collect_secrets(v, entry.is_secret_option(k) || is_secret_name(k), redactor);
        // An item's `proxy` URL: its user name is as secret as its password.
        if k == "proxy"
            && let Value::String(url) = v
        {
            redactor.add_url_credentials(url);
        }
    }
    for s in entry.secrets(m) {
        redactor.add(&s);
    }
}

/// Fills in an item's `${captures.…}` from `lookup` (the values captured so far in
/// this run), then converts, checks and records secrets as the plan does for other
/// options. The secrets go to `redactor`. The runner calls this when the item starts.
pub fn bind_captures(
    entry: &ProbeEntry,
    item: &PlannedItem,
    lookup: &dyn Fn(&CaptureRef) -> Option<Value>,
    redactor: &mut Redactor,
) -> Result<Options, BindError> {
    let mut m = (*item.options).clone().map_err(BindError::Invalid)?;
    if item.slots.is_empty() {
        return Ok(m);
    }
    let mut root = Value::Object(std::mem::take(&mut m));
    let row = item.item.row.as_deref();
    for slot in item.slots.iter() {
        let value =
            template::interpolate_captures(&slot.segments, lookup, row).map_err(|e| match e {
                CaptureError::Missing(c) => BindError::Missing(c),
                CaptureError::NoRow(c) => {
                    BindError::Invalid(format!("`${{row.{c}}}`: this item has no such column"))
                }
            })?;
        if let Some(at) = root.pointer_mut(&slot.pointer) {
            *at = value;
        }
    }
    let Value::Object(mut m) = root else {
        return Err(BindError::Invalid(
            "options did not resolve to a table".into(),
        ));
    };
    finish_options(entry, &mut m, redactor);
    if let Some(p) = entry.check(&m).into_iter().next() {
        return Err(BindError::Invalid(
            crate::probe::Failure::options(p).reason(),
        ));
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

    // `--only ID` names an item, or a template (all of its items).
    let only: HashSet<&str> = req.selection.only.iter().map(String::as_str).collect();
    for id in &req.selection.only {
        let known = checklist.templates.iter().any(|t| &t.id == id)
            || checklist.items.iter().any(|i| &i.id == id);
        if !known {
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
    let selected: Vec<&Arc<Item>> = checklist
        .items
        .iter()
        .filter(|i| {
            sel.phase
                .as_ref()
                .is_none_or(|p| i.phases.as_ref().is_none_or(|ps| ps.contains(p)))
        })
        .filter(|i| sel.tags.is_empty() || i.tags.iter().any(|t| sel.tags.contains(t)))
        .filter(|i| {
            only.is_empty()
                || only.contains(i.id.as_str())
                || i.template().is_some_and(|t| only.contains(t))
        })
        .collect();
    let position: HashMap<&str, usize> = selected
        .iter()
        .enumerate()
        .map(|(n, i)| (i.id.as_str(), n))
        .collect();

    let (network, network_error) = resolve_network(checklist, &mut resolver, req.env);
    let network = Arc::new(network);

    let default_timeout = req.timeout.unwrap_or(checklist.timeout);
    let mut notes = Vec::new();
    let mut items = Vec::with_capacity(selected.len());
    // The items of a template share its resolved options (keyed by its check).
    type Resolved = (Arc<Result<Options, String>>, Arc<[CaptureSlot]>);
    let mut shared: HashMap<*const Check, Resolved> = HashMap::new();
    for item in &selected {
        let mut needs = Vec::new();
        for n in &item.needs {
            match position.get(n.as_str()) {
                Some(&i) => needs.push(i),
                None => notes.push(format!(
                    "item \"{}\" needs \"{n}\", which is not in this run: ignored",
                    item.id
                )),
            }
        }
        let key = Arc::as_ptr(&item.check);
        let (options, slots) = match shared.get(&key).filter(|_| item.row.is_some()) {
            Some(r) => r.clone(),
            None => {
                let mut slots = Vec::new();
                let options = match &*item.check {
                    Check::Manual => Ok(Options::new()),
                    Check::Probe { probe, options, .. } => match catalog.get(probe) {
                        Some(entry) => resolve_options(entry, options, &mut resolver, &mut slots)
                            .and_then(|m| match &network_error {
                                // Only items that connect out depend on the network settings.
                                Some(e) if entry.egress(&m).is_some() => Err(e.clone()),
                                _ => Ok(m),
                            }),
                        None => Err(format!("probe \"{probe}\" is not in this build")),
                    },
                };
                let r: Resolved = (Arc::new(options), slots.into());
                if item.row.is_some() {
                    shared.insert(key, r.clone());
                }
                r
            }
        };
        let first_of_template = item.row.is_none()
            || item.template() != items.last().and_then(|p: &PlannedItem| p.item.template());
        for c in item.reads_captures.iter().filter(|_| first_of_template) {
            if !position.contains_key(c.item.as_str()) {
                notes.push(format!(
                    "item \"{}\" reads `{c}`, but \"{}\" is not in this run: it will be skipped",
                    item.id, c.item
                ));
            }
        }
        items.push(PlannedItem {
            item: Arc::clone(item),
            timeout: item.timeout.unwrap_or(default_timeout),
            options,
            needs,
            attestation: None,
            slots,
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
        if let Some(e) = &network_error {
            return Err(format!("notifications: {e}"));
        }
        Ok(crate::notify::ResolvedNotify {
            webhook,
            json_webhook,
            on: n.on,
            link,
            network: network.clone(),
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
        network,
        positions: None,
    })
}

/// `[checklist] proxy` and `ca` interpolated, `trust`, and the environment's proxy
/// and certificate variables (read here, once, through `env`). Proxy credentials go
/// to the redactor. An unusable setting (a missing env var, a bad interpolated proxy)
/// is returned beside the defaults: the items that connect out error with it.
fn resolve_network(
    checklist: &Checklist,
    resolver: &mut Resolver<'_>,
    env: &dyn Fn(&str) -> Option<String>,
) -> (Network, Option<String>) {
    let mut error = None;
    let mut field = |name: &str, value: &Option<String>| -> Option<String> {
        let text = value.as_ref()?;
        let resolved = match resolver.string(text, &mut Vec::new()) {
            Ok(Value::String(s)) => s,
            Ok(other) => other.to_string(),
            Err(e) => {
                error.get_or_insert(format!("[checklist] {name}: {e}"));
                return None;
            }
        };
        if name == "proxy"
            && let Err(e) = check_proxy(&resolved)
        {
            error.get_or_insert(format!("[checklist] proxy: {e}"));
            return None;
        }
        Some(resolved.trim().to_string())
    };
    let proxy = field("proxy", &checklist.network.proxy);
    let ca = field("ca", &checklist.network.ca);
    let network = Network::new(proxy, ca, checklist.network.trust, env);
    for url in network.proxy_env.urls() {
        resolver.redactor.add_url_credentials(&url.value);
    }
    if let Some(p) = &network.proxy {
        resolver.redactor.add_url_credentials(p);
    }
    (network, error)
}
