//! Measures the importer on labelled checklists: our own corpus in
//! `tests/corpus/` (always), and the three shared checklists in
//! `../shared/checklists/` (when that folder exists next to an ancestor of the repo;
//! their labels are in `tests/shared-labels/`, by line number and line hash, so their
//! text never enters the repository).
//!
//! Per style: recall = labelled machine-checkable boxes that became the right probe;
//! precision = probe items (boxes and their parts) whose probe fits the line's label.
//! Targets: recall ≥ 0.8, precision ≥ 0.95, every manual item with a reason, no box
//! found where the labels have none and none missed. The figures are written in
//! docs/import.md; this test fails when they differ (set PREFLIGHT_UPDATE_DOCS=1 to
//! rewrite that table).

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the test reports its figures, and why it skips the shared checklists"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use preflight_import::{Explained, ImportOptions, Imported, import};

/// The probes of this build.
const PROBES: &[&str] = &[
    "http",
    "tls",
    "dns",
    "postgres",
    "webhook",
    "env",
    "tcp",
    "redis",
    "prometheus",
    "command",
];

/// What the open issues add (names from the issues): probes, facts, options, item keys.
const PLANNED: &[&str] = &[
    "websocket",
    "domain",
    "http.cors",
    "http.origin",
    "http.cookies",
    "http.hops",
    "http.security",
    "http.grade",
    "http.score",
    "http.meta_robots",
    "http.addresses",
    "dns.spf",
    "dns.dmarc",
    "dns.dkim",
    "dns.mx",
    "dns.dnssec",
    "dns.ad",
    "tls.starttls",
    "command.json",
    "item.capture",
];

fn with_planned(what: &str) -> bool {
    PROBES.contains(&what) || PLANNED.contains(&what)
}

fn this_build(what: &str) -> bool {
    PROBES.contains(&what)
}

fn run(name: &str, text: &str, available: &dyn Fn(&str) -> bool) -> Imported {
    import(text.as_bytes(), &ImportOptions { name, available }).expect("imports")
}

/// One label: probe alternatives, each with an optional required word.
#[derive(Debug, Clone)]
struct Label(Vec<(String, Option<String>)>);

impl Label {
    fn parse(s: &str) -> Label {
        Label(
            s.split('|')
                .map(|alt| match alt.trim().split_once(':') {
                    Some((p, w)) => (p.to_string(), Some(w.to_string())),
                    None => (alt.trim().to_string(), None),
                })
                .collect(),
        )
    }

    fn manual(&self) -> bool {
        self.0.iter().all(|(p, _)| p == "manual")
    }

    fn fits(&self, probe: &str, checks: &str) -> bool {
        self.0
            .iter()
            .any(|(p, w)| p == probe && w.as_ref().is_none_or(|w| checks.contains(w.as_str())))
    }

    fn allows(&self, probe: &str) -> bool {
        self.0.iter().any(|(p, _)| p == probe)
    }
}

/// Labels by line, and the text with the label comments removed.
fn labelled(text: &str) -> (String, BTreeMap<usize, Vec<Label>>) {
    let mut labels = BTreeMap::new();
    let mut clean = String::new();
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        let mut kept = String::new();
        let mut found = vec![];
        while let Some(a) = rest.find("<!-- pf:") {
            kept.push_str(&rest[..a]);
            let after = &rest[a + 8..];
            let end = after.find("-->").expect("closed label");
            for l in after[..end].split(',') {
                found.push(Label::parse(l.trim()));
            }
            rest = &after[end + 3..];
        }
        kept.push_str(rest);
        if !found.is_empty() {
            labels.insert(i + 1, found);
        }
        clean.push_str(kept.trim_end());
        clean.push('\n');
    }
    (clean, labels)
}

#[derive(Debug, Default, Clone)]
struct Figures {
    boxes: usize,
    checkable: usize,
    recalled: usize,
    probe_items: usize,
    precise: usize,
    problems: Vec<String>,
}

impl Figures {
    fn recall(&self) -> f64 {
        if self.checkable == 0 {
            1.0
        } else {
            self.recalled as f64 / self.checkable as f64
        }
    }

    fn precision(&self) -> f64 {
        if self.probe_items == 0 {
            1.0
        } else {
            self.precise as f64 / self.probe_items as f64
        }
    }
}

fn measure(out: &Imported, labels: &BTreeMap<usize, Vec<Label>>) -> Figures {
    let mut f = Figures::default();
    let mut by_line: BTreeMap<usize, Vec<&Explained>> = BTreeMap::new();
    for e in &out.explained {
        by_line.entry(e.line).or_default().push(e);
    }
    for (line, ls) in labels {
        let got = by_line.remove(line).unwrap_or_default();
        if got.len() != ls.len() {
            f.problems.push(format!(
                "line {line}: {} labels, {} boxes ({})",
                ls.len(),
                got.len(),
                got.iter()
                    .map(|e| e.title.as_str())
                    .collect::<Vec<_>>()
                    .join(" / ")
            ));
        }
        for (k, l) in ls.iter().enumerate() {
            if !l.manual() {
                f.checkable += 1;
            }
            let Some(e) = got.get(k) else { continue };
            f.boxes += 1;
            if e.probe.is_none() && e.why.trim().is_empty() {
                f.problems
                    .push(format!("line {line}: manual without a reason"));
            }
            if let Some(p) = &e.probe {
                f.probe_items += 1;
                if l.fits(p, &e.checks) {
                    f.precise += 1;
                    if !l.manual() {
                        f.recalled += 1;
                    }
                } else {
                    f.problems.push(format!(
                        "line {line}: {p} for a line labelled {:?} ({})",
                        l.0, e.title
                    ));
                }
                for (id, probe, _) in &e.parts {
                    f.probe_items += 1;
                    if l.allows(probe) {
                        f.precise += 1;
                    } else {
                        f.problems.push(format!(
                            "line {line}: part {id} is {probe}, label {:?}",
                            l.0
                        ));
                    }
                }
            } else if !l.manual() {
                f.problems.push(format!(
                    "line {line}: manual ({}) for a line labelled {:?}: {}",
                    e.why, l.0, e.title
                ));
            }
        }
    }
    for (line, es) in by_line {
        for e in es {
            f.problems.push(format!(
                "line {line}: a box where the labels have none: {}",
                e.title
            ));
            if e.probe.is_some() {
                f.probe_items += 1 + e.parts.len();
            }
        }
    }
    f
}

fn row(name: &str, f: &Figures, today: &Figures) -> String {
    format!(
        "| {name} | {} | {} | {}/{} = {:.2} | {}/{} = {:.2} | {:.2} / {:.2} |",
        f.boxes,
        f.checkable,
        f.recalled,
        f.checkable,
        f.recall(),
        f.precise,
        f.probe_items,
        f.precision(),
        today.recall(),
        today.precision(),
    )
}

const HEADER: &str = "| checklist | boxes | checkable | recall | precision | this build (recall / precision) |\n|---|---|---|---|---|---|";

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// Checks the targets and returns the table row; prints the problems.
fn check(
    name: &str,
    text: &str,
    labels: &BTreeMap<usize, Vec<Label>>,
    failures: &mut Vec<String>,
) -> String {
    let out = run(name, text, &with_planned);
    let today = run(name, text, &this_build);
    let f = measure(&out, labels);
    let t = measure(&today, labels);
    for p in &f.problems {
        println!("{name}: {p}");
    }
    for p in t
        .problems
        .iter()
        .filter(|p| !f.problems.contains(p) && !p.contains("manual ("))
    {
        println!("{name} (this build): {p}");
    }
    let structural: Vec<&String> = f
        .problems
        .iter()
        .filter(|p| {
            p.contains("labels,")
                || p.contains("where the labels have none")
                || p.contains("without a reason")
        })
        .collect();
    if f.recall() < 0.8 || f.precision() < 0.95 || !structural.is_empty() {
        failures.push(format!(
            "{name}: recall {:.2}, precision {:.2}, {} structural problems",
            f.recall(),
            f.precision(),
            structural.len()
        ));
    }
    // Without the planned probes precision must hold as well.
    if t.precision() < 0.95 {
        failures.push(format!(
            "{name} (this build): precision {:.2}",
            t.precision()
        ));
    }
    row(name, &f, &t)
}

/// Replaces the table between two markers in docs/import.md, or checks it.
fn docs_table(begin: &str, end: &str, table: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/import.md");
    let doc = std::fs::read_to_string(&path).expect("docs/import.md");
    let (Some(a), Some(b)) = (doc.find(begin), doc.find(end)) else {
        panic!("docs/import.md lacks the {begin} … {end} markers; the table is:\n{table}");
    };
    let current = doc[a + begin.len()..b].trim();
    if current == table.trim() {
        return;
    }
    if std::env::var_os("PREFLIGHT_UPDATE_DOCS").is_some() {
        let new = format!("{}{begin}\n{}\n{}", &doc[..a], table.trim(), &doc[b..]);
        std::fs::write(&path, new).expect("write docs");
        return;
    }
    panic!(
        "the figures in docs/import.md are not the measured ones (PREFLIGHT_UPDATE_DOCS=1 rewrites them):\n{table}"
    );
}

#[test]
fn corpus_meets_the_targets_per_style() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md") && !p.ends_with("README.md"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "at least eight styles");
    let mut failures = vec![];
    let mut rows = vec![HEADER.to_string()];
    let (mut all, mut all_today) = (Figures::default(), Figures::default());
    for path in &files {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let raw = std::fs::read_to_string(path).expect("read");
        let (text, labels) = labelled(&raw);
        rows.push(check(&name, &text, &labels, &mut failures));
        let f = measure(&run(&name, &text, &with_planned), &labels);
        let t = measure(&run(&name, &text, &this_build), &labels);
        for (sum, x) in [(&mut all, &f), (&mut all_today, &t)] {
            sum.boxes += x.boxes;
            sum.checkable += x.checkable;
            sum.recalled += x.recalled;
            sum.probe_items += x.probe_items;
            sum.precise += x.precise;
        }
    }
    rows.push(row("**all**", &all, &all_today));
    let table = rows.join("\n");
    println!("{table}");
    assert!(failures.is_empty(), "{}\n{table}", failures.join("\n"));
    docs_table("<!-- corpus:begin -->", "<!-- corpus:end -->", &table);
}

fn fnv(s: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{h:08x}")
}

/// `../shared/checklists` next to the repository or one of its ancestors.
fn shared_dir() -> Option<PathBuf> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let repo = repo.canonicalize().ok()?;
    repo.ancestors()
        .map(|a| a.join("shared/checklists"))
        .find(|p| p.is_dir())
}

#[test]
fn shared_checklists_meet_the_targets() {
    let Some(dir) = shared_dir() else {
        eprintln!(
            "skipped: no shared/checklists folder next to the repository (only the repo is here, as in CI)"
        );
        return;
    };
    let labels_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/shared-labels");
    let mut failures = vec![];
    let mut rows = vec![HEADER.to_string()];
    for name in [
        "creatorbridge-deploy",
        "hustlexp-launch",
        "streamer-app-launch",
    ] {
        let path = dir.join(format!("{name}.md"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("skipped {name}: {} is missing", path.display());
            return;
        };
        let lines: Vec<&str> = text.split('\n').collect();
        let spec =
            std::fs::read_to_string(labels_dir.join(format!("{name}.labels"))).expect("labels");
        let mut labels = BTreeMap::new();
        for l in spec
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let mut parts = l.splitn(3, ' ');
            let n: usize = parts.next().unwrap().parse().expect("line number");
            let hash = parts.next().unwrap();
            let got = fnv(lines.get(n - 1).copied().unwrap_or("").trim_end());
            if got != hash {
                eprintln!("skipped {name}: line {n} changed since it was labelled");
                return;
            }
            labels.insert(
                n,
                parts
                    .next()
                    .unwrap()
                    .split(',')
                    .map(|x| Label::parse(x.trim()))
                    .collect(),
            );
        }
        rows.push(check(name, &text, &labels, &mut failures));
    }
    let table = rows.join("\n");
    println!("{table}");
    assert!(failures.is_empty(), "{}\n{table}", failures.join("\n"));
    docs_table("<!-- shared:begin -->", "<!-- shared:end -->", &table);
}

#[test]
fn every_corpus_output_is_valid_toml_and_names_a_reason_per_manual_item() {
    for entry in std::fs::read_dir(corpus_dir()).expect("corpus") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let (text, _) = labelled(&std::fs::read_to_string(&path).expect("read"));
        for available in [&with_planned as &dyn Fn(&str) -> bool, &this_build] {
            let out = run("c", &text, available);
            let parsed: toml::Table = out
                .toml
                .parse()
                .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), out.toml));
            let items = parsed["item"].as_array().map_or(0, Vec::len);
            assert_eq!(items, out.items, "{}", path.display());
            assert_eq!(
                out.toml.matches("manual = true").count(),
                out.toml.matches("# manual: ").count(),
                "{}",
                path.display()
            );
        }
    }
}

/// `cargo test -p preflight-import --test corpus -- --ignored`: writes what the corpus
/// imports to (with every planned probe, and with this build's) under
/// `target/import-corpus/`, with the explanation, for reading.
#[test]
#[ignore = "writes files for a person to read"]
fn write_corpus_outputs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/import-corpus");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for entry in std::fs::read_dir(corpus_dir()).expect("corpus") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "md") || path.ends_with("README.md") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let (text, _) = labelled(&std::fs::read_to_string(&path).expect("read"));
        for (suffix, available) in [
            ("planned", &with_planned as &dyn Fn(&str) -> bool),
            ("build", &this_build),
        ] {
            let out = run(&name, &text, available);
            let body = format!(
                "{}\n# ---- explain\n{}",
                out.toml,
                out.explain()
                    .lines()
                    .map(|l| format!("# {l}\n"))
                    .collect::<String>()
            );
            std::fs::write(dir.join(format!("{name}.{suffix}.toml")), body).expect("write");
        }
    }
}
