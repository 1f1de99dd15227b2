//! preflight-import: turns the Markdown launch checklists teams already have into a
//! preflight checklist (SPEC §7). Pure: text in, TOML text and counts out; no network.
//!
//! `- [ ]` lines (nested, run together, with sub-bullets as detail) and table rows
//! with a task column become items, grouped by their headings. A line a probe can
//! check becomes a probe item with `${vars}` for hosts and `${env:…}` for secrets;
//! everything else becomes `manual = true`. A probe the build does not have is never
//! written: such lines stay manual with the hint in a comment, so the output always
//! passes `preflight check`.
//!
//! ```
//! let md = "# Launch\n## Smoke tests\n- [ ] GET /api/health returns 200\n- [ ] Legal sign-off\n";
//! let out = preflight_import::import(md.as_bytes(), &preflight_import::ImportOptions {
//!     name: "launch",
//!     available: &|probe| probe == "http",
//! }).unwrap();
//! assert_eq!((out.items, out.automated, out.manual), (2, 1, 1));
//! assert!(out.toml.contains("id = \"smoke-tests.get-api-health\""));
//! ```

mod detect;
mod scan;

use std::collections::BTreeSet;

pub use detect::VarNeed;
use detect::{Detection, HostNames};
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
    /// Whether this build has a probe of that name (unavailable → manual item).
    pub available: &'a dyn Fn(&str) -> bool,
}

/// The imported checklist and what the user needs to know about it.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The checklist file text (TOML).
    pub toml: String,
    /// Items written.
    pub items: usize,
    /// Probe items.
    pub automated: usize,
    /// Manual items.
    pub manual: usize,
    /// Items ticked in the source (`[x]`, done status): imported as items all the same.
    pub ticked: usize,
    /// Lines a probe could check but this build has no such probe (kept manual).
    pub unavailable: usize,
    /// Variables written to `[vars]`; an empty default must be set by the user.
    pub vars: Vec<VarNeed>,
    /// `${env:…}` names the probe items read (secrets).
    pub env: Vec<String>,
}

fn utf8(bytes: &[u8]) -> Result<&str, ImportError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let ok = &bytes[..e.valid_up_to()];
        let line = ok.iter().filter(|b| **b == b'\n').count() + 1;
        let column = ok.len() - ok.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1) + 1;
        ImportError::NotUtf8 { line, column }
    })
}

const STOP: &[&str] = &[
    "a", "an", "the", "to", "of", "for", "and", "or", "in", "on", "is", "are", "be", "with", "by",
    "at", "from", "all", "any", "its", "this", "that", "it", "as", "per", "into", "our",
];

fn slug_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            cur.push(c.to_ascii_lowercase());
        } else if !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

fn join_slug(words: &[String], max_words: usize, max_len: usize) -> String {
    let mut out = String::new();
    for w in words
        .iter()
        .filter(|w| !STOP.contains(&w.as_str()))
        .take(max_words)
    {
        if !out.is_empty() && out.len() + 1 + w.len() > max_len {
            break;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&w[..w.len().min(max_len)]);
    }
    out
}

/// `12. Smoke tests (against prod)` → `smoke-tests`.
fn section_slug(heading: &str) -> String {
    let mut h = heading.trim();
    // Leading numbering: "12.", "§3", "Step 1:", "1.1".
    let lower = h.to_lowercase();
    for prefix in ["step ", "phase ", "stage ", "part "] {
        if lower.starts_with(prefix) {
            let rest = &h[prefix.len()..];
            let num_end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            if num_end > 0 {
                h = rest[num_end..].trim_start_matches([':', ' ', '-', '—']);
            }
        }
    }
    let h =
        h.trim_start_matches(|c: char| c.is_ascii_digit() || matches!(c, '.' | '§' | ')' | ' '));
    let h = h.split(['(', '[']).next().unwrap_or(h);
    let s = join_slug(&slug_words(h), 3, 32);
    if s.is_empty() { "general".into() } else { s }
}

/// `GET /api/health returns 200` → `get-api-health`.
fn title_slug(title: &str) -> String {
    let lower = title.to_lowercase();
    let cut = [
        " returns",
        " return ",
        " responds",
        " shows",
        " →",
        "→",
        " — ",
        "—",
        " – ",
        " -> ",
        ": ",
    ]
    .iter()
    .filter_map(|m| lower.find(m))
    .filter(|&i| i > 0)
    .min()
    .unwrap_or(lower.len());
    let s = join_slug(&slug_words(&title[..cut]), 4, 40);
    if s.is_empty() {
        let s = join_slug(&slug_words(title), 4, 40);
        if s.is_empty() { "item".into() } else { s }
    } else {
        s
    }
}

fn phase_of(headings: &[String]) -> Option<&'static str> {
    for h in headings.iter().rev() {
        let l = h.to_lowercase();
        if l.contains("post-launch")
            || l.contains("post launch")
            || l.contains("post-deploy")
            || l.contains("t+")
        {
            return Some("post-launch");
        }
        if l.contains("pre-launch") || l.contains("pre launch") || l.contains("pre-deploy") {
            return Some("pre-launch");
        }
        if l.contains("launch day") || l.contains("t-0") || l.contains("deployment execution") {
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

/// Imports a Markdown checklist.
pub fn import(bytes: &[u8], opts: &ImportOptions<'_>) -> Result<Imported, ImportError> {
    let text = utf8(bytes)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let scanned = scan::scan(text);
    let name = scanned
        .title
        .clone()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| opts.name.to_string());

    let mut names = HostNames::default();
    let mut vars: Vec<VarNeed> = Vec::new();
    let mut env = BTreeSet::new();
    let mut ids = BTreeSet::new();
    let mut body = String::new();
    let (mut automated, mut manual, mut ticked, mut unavailable) = (0, 0, 0, 0);

    for e in &scanned.entries {
        let context = e.headings.join(" / ");
        let section = e
            .headings
            .iter()
            .rev()
            .take(2)
            .rev()
            .cloned()
            .collect::<Vec<_>>()
            .join(" › ");
        let base = format!(
            "{}.{}",
            section_slug(e.headings.last().map_or("", String::as_str)),
            title_slug(&e.title)
        );
        let mut id = base.clone();
        let mut n = 2;
        while !ids.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        let detected = detect::detect(&e.title, &e.details, &context, &names);
        let (probe, skipped): (Option<Detection>, Option<Detection>) = match detected {
            Some(d) if (opts.available)(d.probe) => (Some(d), None),
            Some(d) => (None, Some(d)),
            None => (None, None),
        };

        body.push_str("\n[[item]]\n");
        body.push_str(&format!(
            "# imported from: \"{}\" (line {})\n",
            comment(&e.title),
            e.line
        ));
        if let Some(p) = &e.parent {
            body.push_str(&format!("# under: \"{}\"\n", comment(p)));
        }
        for d in &e.details {
            body.push_str(&format!("# detail: {}\n", comment(d)));
        }
        if e.ticked {
            ticked += 1;
            body.push_str("# ticked in the source\n");
        }
        body.push_str(&format!("id = {}\n", toml_str(&id)));
        body.push_str(&format!("title = {}\n", toml_str(&e.title)));
        if !section.is_empty() {
            body.push_str(&format!("section = {}\n", toml_str(&section)));
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
        if let Some(o) = &e.owner {
            body.push_str(&format!("owner = {}\n", toml_str(o)));
        }
        match probe {
            Some(d) => {
                automated += 1;
                for note in &d.notes {
                    body.push_str(&format!("# review: {}\n", comment(note)));
                }
                body.push_str(&format!("probe = {}\n", toml_str(d.probe)));
                for (k, v) in &d.options {
                    env_refs(v, &mut env);
                    body.push_str(&format!("{k} = {v}\n"));
                }
                if !d.expect.is_empty() {
                    let list: Vec<String> = d.expect.iter().map(|x| toml_str(x)).collect();
                    body.push_str(&format!("expect = [{}]\n", list.join(", ")));
                }
                for v in d.vars {
                    names.record(&v.default, &v.name);
                    if !vars.iter().any(|x| x.name == v.name) {
                        vars.push(v);
                    }
                }
            }
            None => {
                manual += 1;
                if let Some(d) = skipped {
                    unavailable += 1;
                    body.push_str(&format!(
                        "# detected: a {} check; probe \"{}\" is not in this build, so it stays manual\n",
                        d.probe, d.probe
                    ));
                }
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
        automated,
        manual,
        ticked,
        unavailable,
        vars,
        env: env.into_iter().collect(),
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
    fn unavailable_probe_stays_manual_with_hint() {
        let out = import(
            b"# X\n## DNS\n- [ ] app.example.org points at the CDN\n",
            &ImportOptions {
                name: "t",
                available: &|_| false,
            },
        )
        .unwrap();
        assert_eq!((out.automated, out.manual, out.unavailable), (0, 1, 1));
        assert!(out.toml.contains("probe \"dns\" is not in this build"));
        assert!(out.vars.is_empty());
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
