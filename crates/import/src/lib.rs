//! preflight-import: turns the Markdown launch checklists teams already have into a
//! preflight checklist (SPEC §7). Pure: text in, TOML text and an explanation out;
//! no network.
//!
//! Three stages:
//! 1. `scan` reads the Markdown the way a person does and finds the *boxes*: `- [ ]`
//!    lines (nested, run together, in block quotes), `☐` lines, numbered rows
//!    (`1.4 …`), rows of tables with a task column (checkbox cells, owner and status
//!    columns), or the bullets of a document with no boxes at all. Sub-bullets,
//!    code spans and fenced commands under a box are its details.
//! 2. `context` reads what the whole document says: the hosts and URLs it names
//!    (front matter, `URL:` lines, URL tables, earlier sections), the environment
//!    variables, the stack. A box that says "the API" reuses those as `${vars}`.
//! 3. `rules` is the detector table: each box's title and details are matched
//!    against one rule per mapping (a curl command, an HSTS line, a DMARC line…);
//!    the first that fits builds a probe item with the line's own thresholds.
//!
//! **One box → one id.** A box whose title and details are checked by one probe on
//! one target becomes one item with every expectation; checks that need another
//! probe or target become *parts*, ids `BOX/part`, that the box's item `needs` — so
//! the box's id passes only when all of it does, and attestations and Markdown
//! reports stay one line per box. Everything else is `manual = true`, with a
//! `# manual:` reason. A rule whose probe (or planned fact/option) this build lacks
//! is skipped, so the output always passes `preflight check`.
//!
//! ```
//! let md = "# Launch\n## Smoke tests\n- [ ] GET /api/health returns 200\n- [ ] Legal sign-off\n";
//! let out = preflight_import::import(md.as_bytes(), &preflight_import::ImportOptions {
//!     name: "launch",
//!     available: &|what| what == "http",
//! }).unwrap();
//! assert_eq!((out.items, out.automated, out.manual), (2, 1, 1));
//! assert!(out.toml.contains("id = \"smoke-tests.get-api-health\""));
//! assert!(out.toml.contains("# manual: names people"));
//! ```

/// A regex compiled once, where it is used: `rx!(r"\bhsts\b")`.
macro_rules! rx {
    ($re:expr) => {{
        static RE: std::sync::LazyLock<regex::Regex> =
            std::sync::LazyLock::new(|| regex::Regex::new($re).expect("valid regex"));
        &*RE
    }};
}

mod context;
mod draft;
mod ids;
mod manual;
mod measure;
mod rules;
mod scan;

use std::collections::BTreeSet;

use context::Context;
pub use draft::VarNeed;
use draft::{Draft, list};
use rules::{On, Outcome, Unit};
use scan::{Entry, clean_inline};

/// Why a document could not be imported.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImportError {
    /// The input is not UTF-8 text.
    #[error(
        "input is not UTF-8 text (invalid byte at line {line}, column {column}); convert it first, e.g. iconv -f LATIN1 -t UTF-8"
    )]
    NotUtf8 {
        /// 1-based line of the first invalid byte.
        line: usize,
        /// 1-based byte column in that line.
        column: usize,
    },
}

/// How to import.
pub struct ImportOptions<'a> {
    /// Checklist name when the document has no title (usually the file stem).
    pub name: &'a str,
    /// What this build has: a probe (`"websocket"`), a probe's fact or option
    /// (`"http.cors"`, `"tls.starttls"`), or an item key (`"item.capture"`). An item
    /// that would use something unavailable is not written: its line stays manual
    /// with the reason (`# manual: needs the websocket probe`).
    pub available: &'a dyn Fn(&str) -> bool,
}

/// How one box was read, for `import --explain` and for measuring the importer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    /// The box's item id.
    pub id: String,
    /// Its section (`Pre-launch › Security`).
    pub section: String,
    /// 1-based line of the box in the source.
    pub line: usize,
    /// Its title.
    pub title: String,
    /// The probe of the box's item, `None` when manual.
    pub probe: Option<String>,
    /// The rule that recognised it, or the reason it stays manual.
    pub why: String,
    /// Further parts of the box: (id, probe, rule).
    pub parts: Vec<(String, String, String)>,
    /// Options and expectations of the box's items, as written (for measuring).
    pub checks: String,
}

/// The imported checklist and what the user needs to know about it.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The checklist file text (TOML).
    pub toml: String,
    /// Items written (boxes plus their parts).
    pub items: usize,
    /// Boxes found in the source.
    pub boxes: usize,
    /// Probe items.
    pub automated: usize,
    /// Manual items.
    pub manual: usize,
    /// Items ticked in the source (`[x]`, done status): imported as items all the same.
    pub ticked: usize,
    /// Lines a probe could check but this build lacks the probe (or fact) (kept manual).
    pub unavailable: usize,
    /// Variables written to `[vars]`; an empty default must be set by the user.
    pub vars: Vec<VarNeed>,
    /// `${env:…}` names the probe items read (secrets).
    pub env: Vec<String>,
    /// How each box was read, in source order.
    pub explained: Vec<Explained>,
}

impl Imported {
    /// The explanation as text, per section: what was recognised and why.
    pub fn explain(&self) -> String {
        let mut out = String::new();
        let mut section: Option<&str> = None;
        for e in &self.explained {
            if section != Some(e.section.as_str()) {
                section = Some(e.section.as_str());
                let name = if e.section.is_empty() {
                    "(no section)"
                } else {
                    &e.section
                };
                let in_section: Vec<&Explained> = self
                    .explained
                    .iter()
                    .filter(|x| x.section == e.section)
                    .collect();
                let auto = in_section.iter().filter(|x| x.probe.is_some()).count();
                out.push_str(&format!(
                    "\n{} — {} of {} automated\n",
                    comment(name),
                    auto,
                    in_section.len()
                ));
            }
            let title: String = comment(&e.title).chars().take(70).collect();
            match &e.probe {
                Some(p) => {
                    out.push_str(&format!("  ✔ {:<10} line {:<4} {title}\n", p, e.line));
                    out.push_str(&format!("      {} (rule {})\n", e.id, comment(&e.why)));
                    for (id, probe, rule) in &e.parts {
                        out.push_str(&format!("      + {id}: {probe} (rule {rule})\n"));
                    }
                }
                None => {
                    out.push_str(&format!(
                        "  ✋ {:<10} line {:<4} {title}\n",
                        "manual", e.line
                    ));
                    out.push_str(&format!("      {}: {}\n", e.id, comment(&e.why)));
                }
            }
        }
        out
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, ImportError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let ok = &bytes[..e.valid_up_to()];
        let line = ok.iter().filter(|b| **b == b'\n').count() + 1;
        let column = ok.len() - ok.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1) + 1;
        ImportError::NotUtf8 { line, column }
    })
}

fn phase_of(headings: &[String]) -> Option<&'static str> {
    for h in headings.iter().rev() {
        let l = h.to_lowercase();
        if l.contains("post-launch")
            || l.contains("post launch")
            || l.contains("post-deploy")
            || l.contains("after launch")
            || l.contains("t+")
        {
            return Some("post-launch");
        }
        if l.contains("pre-launch")
            || l.contains("pre launch")
            || l.contains("pre-deploy")
            || l.contains("before launch")
        {
            return Some("pre-launch");
        }
        if l.contains("launch day")
            || l.contains("t-0")
            || l.contains("deployment execution")
            || l.contains("go-live day")
            || l == "launch"
        {
            return Some("launch");
        }
    }
    None
}

fn is_critical(e: &Entry) -> bool {
    e.critical_label
        || e.headings.iter().any(|h| {
            let l = h.to_lowercase();
            [
                "critical",
                "mandatory",
                "blocker",
                "go/no-go",
                "go-no-go",
                "go / no-go",
            ]
            .iter()
            .any(|w| l.contains(w))
        })
}

/// A single-line comment body (TOML comments may not hold control characters;
/// bidi controls would make the file read differently from what it says).
fn comment(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() || is_bidi(c) { ' ' } else { c })
        .collect()
}

/// Bidi embeddings, overrides, isolates and marks, and the line separators:
/// printable to TOML, but they reorder or break the text around them.
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn toml_str(text: &str) -> String {
    if !text.chars().any(is_bidi) {
        return toml::Value::String(text.to_string()).to_string();
    }
    // A basic string with those written as escapes (the same text once read).
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() || is_bidi(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn env_refs(v: &toml::Value, out: &mut BTreeSet<String>) {
    match v {
        toml::Value::String(s) => {
            let mut rest = s.as_str();
            while let Some(i) = rest.find("${env:") {
                let after = &rest[i + 6..];
                if let Some(end) = after.find('}') {
                    out.insert(after[..end].to_string());
                    rest = &after[end..];
                } else {
                    break;
                }
            }
        }
        toml::Value::Array(a) => a.iter().for_each(|x| env_refs(x, out)),
        toml::Value::Table(t) => t.values().for_each(|x| env_refs(x, out)),
        _ => {}
    }
}

/// One item to write.
struct Out<'a> {
    entry: &'a Entry,
    id: String,
    section: String,
    /// `None`: manual, with the reason.
    draft: Option<Draft>,
    reason: String,
    /// Part of the box with this id.
    part_of: Option<String>,
    needs: Vec<String>,
}

/// A short, readable name for a part: what distinguishes it from the box's item.
fn part_slug(d: &Draft) -> String {
    if d.rule == "login-then-call" {
        return "login".into();
    }
    let opt = |k: &str| d.get(k).and_then(toml::Value::as_str).unwrap_or("");
    let pick = match d.probe {
        "env" => d
            .get("names")
            .and_then(toml::Value::as_array)
            .and_then(|a| a.first())
            .and_then(toml::Value::as_str)
            .unwrap_or("")
            .to_lowercase(),
        "tls" | "tcp" => format!("{}-{}", d.probe, opt("host")),
        "dns" | "domain" => format!("{}-{}", d.probe, opt("name")),
        "http" | "websocket" | "webhook" => {
            let url = opt("url");
            let path = url
                .split_once("}")
                .map_or(url, |(_, p)| p)
                .trim_matches('/');
            if path.is_empty() || path.starts_with(':') {
                d.rule.to_string()
            } else {
                path.to_string()
            }
        }
        _ => d.rule.to_string(),
    };
    let cleaned: String = pick
        .replace("${", "")
        .replace('}', "")
        .replace("_host", "")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches('-').replace("--", "-");
    let cleaned: String = cleaned.chars().take(32).collect();
    if cleaned.is_empty() {
        format!("{}-check", d.probe)
    } else {
        cleaned.trim_matches('-').to_string()
    }
}

/// Combines a box's drafts: the first is the box's item; others with the same probe
/// and target fold into it; the rest become parts.
fn combine(drafts: Vec<Draft>) -> (Draft, Vec<Draft>) {
    let mut it = drafts.into_iter();
    let mut main = it.next().expect("at least one draft");
    let mut parts: Vec<Draft> = vec![];
    'next: for d in it {
        let mut d = match main.merge(d) {
            Ok(()) => continue,
            Err(d) => *d,
        };
        for p in &mut parts {
            match p.merge(d) {
                Ok(()) => continue 'next,
                Err(back) => d = *back,
            }
        }
        parts.push(d);
    }
    (main, parts)
}

/// Imports a Markdown checklist.
pub fn import(bytes: &[u8], opts: &ImportOptions<'_>) -> Result<Imported, ImportError> {
    let text = utf8(bytes)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let scanned = scan::scan(text);
    let mut cx = Context::read(text, &scanned);
    let name = scanned
        .title
        .clone()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| opts.name.to_string());

    let mut ids = BTreeSet::new();
    let mut unique = |base: String| {
        let mut id = base.clone();
        let mut n = 2;
        while !ids.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        id
    };
    let mut outs: Vec<Out<'_>> = Vec::new();
    let mut explained = Vec::new();
    for e in &scanned.entries {
        let section = e
            .headings
            .iter()
            .rev()
            .take(2)
            .rev()
            .cloned()
            .collect::<Vec<_>>()
            .join(" › ");
        let id = unique(format!(
            "{}.{}",
            ids::section_slug(e.headings.last().map_or("", String::as_str)),
            ids::title_slug(&e.title)
        ));
        let scope = std::iter::once(e.title.as_str())
            .chain(e.details.iter().map(|d| d.text.as_str()))
            .collect::<Vec<_>>()
            .join(" · ");
        let headings = e.headings.join(" / ").to_lowercase();
        let mut drafts = vec![];
        let mut reason: Option<String> = None;
        let mut detail_reason = None;
        // A command under the box names exactly what to run: it is the check.
        let code_units = std::iter::once((e.title.as_str(), e.code.as_slice())).chain(
            e.details
                .iter()
                .map(|d| (d.text.as_str(), d.code.as_slice())),
        );
        for (text, code) in code_units {
            if code.is_empty() {
                continue;
            }
            let u = Unit {
                text,
                code,
                scope: &scope,
                headings: &headings,
            };
            match rules::judge(&u, On::Code, &mut cx, opts.available) {
                Outcome::Probe(d) => drafts.extend(d),
                Outcome::Manual(r) => {
                    reason.get_or_insert(r);
                }
                Outcome::Nothing => {}
            }
        }
        // A command the box names but import does not know: run by hand or written as a
        // command item, not guessed from the words around it.
        if drafts.is_empty() && reason.is_none() {
            // In a "Command" / "How to verify" column any tool invocation counts.
            let command_column = |d: &&scan::Detail| {
                let l = d.text.to_lowercase();
                [
                    "command",
                    "how to verify",
                    "verification",
                    "verify",
                    "check with",
                    "run",
                ]
                .iter()
                .any(|k| l.starts_with(&format!("{k}:")))
            };
            let flagged = e
                .code
                .iter()
                .chain(e.details.iter().flat_map(|d| d.code.iter()));
            let in_column = e
                .details
                .iter()
                .filter(command_column)
                .flat_map(|d| d.code.iter());
            let found = flagged
                .map(|c| c.trim())
                .find(|c| rules::unknown_command(c, false))
                .or_else(|| {
                    in_column
                        .map(|c| c.trim())
                        .find(|c| rules::unknown_command(c, true))
                });
            if let Some(cmd) = found {
                let tool: String = cmd.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
                reason = Some(format!(
                    "names `{tool}`, a command import does not know to be read-only: write it as a command item if it only reads"
                ));
            }
        }
        if drafts.is_empty() && reason.is_none() {
            let title_unit = Unit {
                text: &e.title,
                code: &e.code,
                scope: &scope,
                headings: &headings,
            };
            match rules::judge(&title_unit, On::Text, &mut cx, opts.available) {
                Outcome::Probe(d) => {
                    let probe = d[0].probe;
                    drafts.extend(d);
                    drafts.extend(rules::also(&title_unit, probe, &mut cx, opts.available));
                }
                Outcome::Manual(r) => reason = Some(r),
                Outcome::Nothing => {}
            }
            // "needs …" and "no host named" may still be answered by a detail.
            let title_says_manual = reason
                .as_deref()
                .is_some_and(|r| !r.starts_with("needs ") && !r.starts_with("no host"));
            if !title_says_manual {
                for d in &e.details {
                    let u = Unit {
                        text: &d.text,
                        code: &d.code,
                        scope: &scope,
                        headings: &headings,
                    };
                    let mut outcome = rules::judge(&u, On::Text, &mut cx, opts.available);
                    if matches!(outcome, Outcome::Nothing) {
                        // "**Redis**" / "- reachable, answers PING": the title is the subject.
                        let joined = format!("{}: {}", e.title.trim_end_matches(':'), d.text);
                        let u = Unit {
                            text: &joined,
                            code: &d.code,
                            scope: &scope,
                            headings: &headings,
                        };
                        outcome = rules::judge(&u, On::Text, &mut cx, opts.available);
                    }
                    match outcome {
                        Outcome::Probe(x) => drafts.extend(x),
                        Outcome::Manual(r) => {
                            detail_reason.get_or_insert(r);
                        }
                        Outcome::Nothing => {}
                    }
                }
            }
        }
        if drafts.is_empty() {
            let why = reason.or(detail_reason).unwrap_or_else(|| {
                let all = std::iter::once(e.title.clone())
                    .chain(e.details.iter().map(|d| d.text.clone()))
                    .collect::<Vec<_>>()
                    .join(" ");
                manual::reason(&all, &headings)
            });
            explained.push(Explained {
                id: id.clone(),
                section: section.clone(),
                line: e.line,
                title: e.title.clone(),
                probe: None,
                why: why.clone(),
                parts: vec![],
                checks: String::new(),
            });
            outs.push(Out {
                entry: e,
                id,
                section,
                draft: None,
                reason: why,
                part_of: None,
                needs: vec![],
            });
            continue;
        }
        let (mut main, mut parts) = combine(drafts);
        main.tidy();
        for p in &mut parts {
            p.tidy();
        }
        let mut part_ids = vec![];
        let mut part_outs = vec![];
        for p in parts {
            let slug = part_slug(&p);
            let pid = unique(format!("{id}/{slug}"));
            part_ids.push(pid.clone());
            part_outs.push(Out {
                entry: e,
                id: pid,
                section: section.clone(),
                draft: Some(p),
                reason: String::new(),
                part_of: Some(id.clone()),
                needs: vec![],
            });
        }

        // A capture is read from the part that takes it.
        if let Some(step) = part_outs
            .iter()
            .find(|p| p.draft.as_ref().is_some_and(|d| d.get("capture").is_some()))
        {
            let sid = step.id.clone();
            for (_, v) in &mut main.options {
                if let toml::Value::Table(t) = v {
                    for (_, x) in t.iter_mut() {
                        if let toml::Value::String(s) = x {
                            *s = s.replace("captures.STEP.", &format!("captures.{sid}."));
                        }
                    }
                }
            }
        }
        explained.push(Explained {
            id: id.clone(),
            section: section.clone(),
            line: e.line,
            title: e.title.clone(),
            probe: Some(main.probe.to_string()),
            why: format!("{}: {}", main.rule, main.why),
            parts: part_outs
                .iter()
                .map(|p| {
                    let d = p.draft.as_ref().expect("part draft");
                    (p.id.clone(), d.probe.to_string(), d.rule.to_string())
                })
                .collect(),
            checks: std::iter::once(&main)
                .chain(part_outs.iter().filter_map(|p| p.draft.as_ref()))
                .map(|d| {
                    format!(
                        "{} {} {}",
                        d.probe,
                        d.options
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(" "),
                        d.expect.join(" ")
                    )
                })
                .collect::<Vec<_>>()
                .join(" | "),
        });
        outs.push(Out {
            entry: e,
            id,
            section,
            draft: Some(main),
            reason: String::new(),
            part_of: None,
            needs: part_ids,
        });
        outs.extend(part_outs);
    }

    // Every environment variable the checklist reads, for "all variables set" items.
    let mut env = BTreeSet::new();
    for o in &outs {
        if let Some(d) = &o.draft {
            for (_, v) in &d.options {
                env_refs(v, &mut env);
            }
        }
    }
    let mut all_names: Vec<String> = cx.env_names.clone();
    for n in &env {
        if !all_names.contains(n) {
            all_names.push(n.clone());
        }
    }
    for o in &mut outs {
        if let Some(d) = &mut o.draft
            && d.all_env_names
        {
            if all_names.is_empty() {
                o.reason = "no variable names in the source: list them and import again".into();
                o.draft = None;
                if let Some(x) = explained.iter_mut().find(|x| x.id == o.id) {
                    x.probe = None;
                    x.why = o.reason.clone();
                    x.checks.clear();
                }
            } else {
                d.set("names", list(&all_names));
                if let Some(x) = explained.iter_mut().find(|x| x.id == o.id) {
                    x.checks = format!("env names={}", list(&all_names));
                }
            }
        }
    }

    let mut vars: Vec<VarNeed> = Vec::new();
    let mut body = String::new();
    let (mut automated, mut manual, mut ticked, mut unavailable) = (0, 0, 0, 0);
    for o in &outs {
        let e = o.entry;
        body.push_str("\n[[item]]\n");
        match &o.part_of {
            None => {
                body.push_str(&format!(
                    "# imported from: \"{}\" (line {})\n",
                    comment(&e.title),
                    e.line
                ));
                if let Some(p) = &e.parent {
                    body.push_str(&format!("# under: \"{}\"\n", comment(p)));
                }
                for d in &e.details {
                    body.push_str(&format!("# detail: {}\n", comment(&d.text)));
                }
                if e.ticked {
                    ticked += 1;
                    body.push_str("# ticked in the source\n");
                }
            }
            Some(b) => body.push_str(&format!(
                "# part of \"{b}\" (line {}): that item needs this one\n",
                e.line
            )),
        }
        body.push_str(&format!("id = {}\n", toml_str(&o.id)));
        let title = match (&o.part_of, &o.draft) {
            (Some(_), Some(d)) => format!("{} — {}", e.title, d.why),
            _ => e.title.clone(),
        };
        body.push_str(&format!("title = {}\n", toml_str(&title)));
        if !o.section.is_empty() {
            body.push_str(&format!("section = {}\n", toml_str(&o.section)));
        }
        if let Some(p) = phase_of(&e.headings) {
            body.push_str(&format!("phases = [{}]\n", toml_str(p)));
        }
        if e.headings
            .iter()
            .any(|h| h.to_lowercase().contains("smoke"))
        {
            body.push_str("tags = [\"smoke\"]\n");
        }
        if is_critical(e) {
            body.push_str("severity = \"critical\"\n");
        }
        if let Some(owner) = &e.owner {
            body.push_str(&format!("owner = {}\n", toml_str(owner)));
        }
        if !o.needs.is_empty() {
            let n: Vec<String> = o.needs.iter().map(|x| toml_str(x)).collect();
            body.push_str(&format!("needs = [{}]\n", n.join(", ")));
        }
        match &o.draft {
            Some(d) => {
                automated += 1;
                for note in &d.notes {
                    body.push_str(&format!("# review: {}\n", comment(note)));
                }
                body.push_str(&format!("probe = {}\n", toml_str(d.probe)));
                for (k, v) in &d.options {
                    body.push_str(&format!("{k} = {v}\n"));
                }
                if !d.expect.is_empty() {
                    let items: Vec<String> = d.expect.iter().map(|x| toml_str(x)).collect();
                    body.push_str(&format!("expect = [{}]\n", items.join(", ")));
                }
                if let Some(t) = d.timeout {
                    body.push_str(&format!("timeout = {}\n", toml_str(t)));
                }
                for v in &d.vars {
                    if !vars.iter().any(|x| x.name == v.name) {
                        vars.push(v.clone());
                    }
                }
            }
            None => {
                manual += 1;
                if o.reason.starts_with("needs the ") || o.reason.starts_with("needs `") {
                    unavailable += 1;
                }
                body.push_str(&format!("# manual: {}\n", comment(&o.reason)));
                body.push_str("manual = true\n");
            }
        }
    }

    let items = automated + manual;
    let mut out = String::new();
    out.push_str(&format!(
        "# Imported from {} by `preflight import`: {items} items, {automated} automated, {manual} manual.\n",
        comment(opts.name)
    ));
    out.push_str(
        "# Review every probe item (\"# review:\" lines), set the [vars] left empty, then run\n# `preflight check` on this file.\n\n",
    );
    out.push_str(&format!(
        "[checklist]\nname = {}\n",
        toml_str(&clean_inline(&name))
    ));
    if !vars.is_empty() {
        out.push_str("\n[vars]\n");
        for v in &vars {
            let hint = if v.default.is_empty() {
                format!("set me: {}", v.hint)
            } else {
                v.hint.clone()
            };
            out.push_str(&format!(
                "{} = {}  # {}\n",
                v.name,
                toml_str(&v.default),
                comment(&hint)
            ));
        }
    }
    out.push_str(&body);
    Ok(Imported {
        toml: out,
        items,
        boxes: scanned.entries.len(),
        automated,
        manual,
        ticked,
        unavailable,
        vars,
        env: env.into_iter().collect(),
        explained,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(_: &str) -> bool {
        true
    }

    fn run(md: &[u8]) -> Imported {
        import(
            md,
            &ImportOptions {
                name: "t",
                available: &all,
            },
        )
        .unwrap()
    }

    #[test]
    fn ids_are_readable_unique_and_stable() {
        let a = run(b"# X\n## 12. Smoke tests (prod)\n- [ ] GET /api/health returns 200\n- [ ] GET /api/health returns 200\n");
        assert!(a.toml.contains("id = \"smoke-tests.get-api-health\""));
        assert!(a.toml.contains("id = \"smoke-tests.get-api-health-2\""));
        assert_eq!(a.toml, run(b"# X\n## 12. Smoke tests (prod)\n- [ ] GET /api/health returns 200\n- [ ] GET /api/health returns 200\n").toml);
    }

    #[test]
    fn bidi_controls_are_escaped_not_written() {
        let out = run("# X\n- [ ] Check \u{202e}gnihtemos\u{2066} ok\n".as_bytes());
        assert!(!out.toml.chars().any(is_bidi), "{}", out.toml);
        assert!(
            out.toml
                .contains("title = \"Check \\u202Egnihtemos\\u2066 ok\""),
            "{}",
            out.toml
        );
        let back: toml::Table = toml::from_str(&out.toml).expect("valid TOML");
        let title = back["item"][0]["title"].as_str().expect("title");
        assert_eq!(title, "Check \u{202e}gnihtemos\u{2066} ok");
    }

    #[test]
    fn non_utf8_is_a_clear_error() {
        let e = import(
            b"# ok\n- [ ] caf\xe9\n",
            &ImportOptions {
                name: "t",
                available: &all,
            },
        )
        .unwrap_err();
        assert_eq!(
            e,
            ImportError::NotUtf8 {
                line: 2,
                column: 10
            }
        );
        assert!(e.to_string().contains("line 2"));
    }

    #[test]
    fn unavailable_probe_stays_manual_with_the_reason() {
        let out = import(
            b"# X\n## DNS\n- [ ] app.example.org CNAME points at the CDN\n",
            &ImportOptions {
                name: "t",
                available: &|_| false,
            },
        )
        .unwrap();
        assert_eq!((out.automated, out.manual, out.unavailable), (0, 1, 1));
        assert!(
            out.toml.contains("# manual: needs the dns probe"),
            "{}",
            out.toml
        );
        assert!(out.vars.is_empty());
    }

    #[test]
    fn a_box_with_details_for_two_probes_has_one_id_and_a_part() {
        let out = run(b"# X\nProduction: https://app.shop.example\n## Web\n- [ ] **HTTPS enforced**\n  - HSTS enabled\n  - TLS 1.0 and 1.1 disabled\n");
        let e = &out.explained[0];
        // The title: HTTP redirects to HTTPS; the details: HSTS (another URL), TLS versions.
        assert_eq!(e.probe.as_deref(), Some("http"), "{}", out.toml);
        let parts: Vec<(&str, &str)> = e
            .parts
            .iter()
            .map(|(id, p, _)| (id.as_str(), p.as_str()))
            .collect();
        assert_eq!(
            parts,
            vec![
                ("web.https-enforced/hsts", "http"),
                ("web.https-enforced/tls-app", "tls")
            ],
            "{}",
            out.toml
        );
        assert!(
            out.toml
                .contains("needs = [\"web.https-enforced/hsts\", \"web.https-enforced/tls-app\"]")
        );
        assert_eq!((out.boxes, out.items), (1, 3));
    }

    #[test]
    fn critical_headings_phases_tags_owner() {
        let out = run(
            b"# X\n## Launch day (T-0)\n### Smoke tests - MANDATORY\n| # | Task | Owner | Status |\n|---|---|---|---|\n| 1 | Check logs | Ann | \xe2\x9c\x85 |\n",
        );
        assert!(out.toml.contains("severity = \"critical\""));
        assert!(out.toml.contains("phases = [\"launch\"]"));
        assert!(out.toml.contains("tags = [\"smoke\"]"));
        assert!(out.toml.contains("owner = \"Ann\""));
        assert_eq!(out.ticked, 1);
    }
}
