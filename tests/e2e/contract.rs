//! The probe contract holds end to end: what each probe emits is what it
//! describes, its example loads, every closed table rejects a stray key at its
//! line, the JSON Schema accepts every shipped checklist, and the reference docs
//! match `explain`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use preflight_cli::registry::catalog;
use preflight_core::probe::conformance;
use serde_json::Value;

use crate::support::{Env, json, preflight, stderr, stdout};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.toml` checklist under `config/`.
fn config_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![repo().join("config")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("config dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "toml")
                && !p.to_string_lossy().ends_with(".attest.toml")
            {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(!files.is_empty());
    files
}

/// Checks every item's facts in a JSON report against its probe's descriptions.
fn assert_conformance(report: &Value, seen: &mut BTreeSet<String>) {
    let cat = catalog();
    for it in report["items"].as_array().expect("items") {
        let (Some(probe), Some(facts)) = (it["probe"].as_str(), it["facts"].as_object()) else {
            continue;
        };
        let p = cat.get(probe).expect("known probe");
        let problems = conformance(p.facts(), facts);
        assert!(
            problems.is_empty(),
            "item {} ({probe}): {problems:?}",
            it["id"]
        );
        seen.insert(probe.to_string());
    }
}

#[test]
fn every_probe_emits_exactly_what_it_describes() {
    let mut seen = BTreeSet::new();
    let o = preflight(&["demo", "--format", "json"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_conformance(&json(&o), &mut seen);
    // The probes the demo does not sweep, against real local targets.
    let env = Env::start();
    let dir = env.dir.path();
    std::fs::write(dir.join(".env"), "API_KEY=sk_live_4f9a8b7c6d5e4f3a2b1c\n").expect("env file");
    let text = format!(
        "[[item]]\nid = \"env\"\nprobe = \"env\"\nnames = [\"API_KEY\"]\nfile = \"{}\"\n\n\
         [[item]]\nid = \"tcp\"\nprobe = \"tcp\"\nhost = \"127.0.0.1\"\nport = {}\n\n\
         [[item]]\nid = \"command\"\nprobe = \"command\"\nargv = [\"sh\", \"-c\", \"echo ok\"]\n",
        dir.join(".env").display(),
        env.bed.https_addr().port()
    );
    let file = env.write("others.toml", &text);
    let o = env.run(&file, &["--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_conformance(&json(&o), &mut seen);
    for probe in [
        "http",
        "tls",
        "dns",
        "webhook",
        "env",
        "tcp",
        "command",
        "domain",
        "websocket",
    ] {
        assert!(seen.contains(probe), "{probe} was not observed: {seen:?}");
    }
}

#[test]
fn every_probe_example_loads() {
    let tmp = tempfile::tempdir().expect("tmp");
    for p in catalog().entries() {
        let file = tmp.path().join(format!("{}.toml", p.name()));
        std::fs::write(&file, p.example()).expect("write");
        let o = preflight(&["check", file.to_str().expect("utf8")], &[]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{} example:\n{}\n{}",
            p.name(),
            p.example(),
            stderr(&o)
        );
    }
}

#[test]
fn no_probe_option_shadows_an_item_key() {
    let item_keys = preflight_core::checklist::file::item_keys();
    for p in catalog().entries() {
        for f in &p.options().fields {
            assert!(
                !item_keys.contains(&f.name.as_str()),
                "{} option `{}` is also an item key",
                p.name(),
                f.name
            );
        }
    }
}

/// The schema, compiled for validation.
fn schema_validator() -> jsonschema::Validator {
    let o = preflight(&["schema"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let schema: Value = serde_json::from_slice(&o.stdout).expect("schema is JSON");
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    jsonschema::draft202012::new(&schema).expect("the schema compiles")
}

fn as_json(text: &str) -> Value {
    let t: toml::Table = toml::from_str(text).expect("toml");
    serde_json::to_value(t).expect("json")
}

#[test]
fn every_config_file_validates_against_the_json_schema() {
    let v = schema_validator();
    for f in config_files() {
        let doc = as_json(&std::fs::read_to_string(&f).expect("read"));
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", f.display());
    }
    // And it is not a schema that accepts anything.
    let bad = as_json(
        "[checklist]\npass_score = 101\n[[item]]\nid = \"a\"\nprobe = \"http\"\nurll = \"x\"\n",
    );
    assert!(!v.is_valid(&bad));
    let bad = as_json("[[item]]\nid = \"a\"\nprobe = \"tcp\"\nhost = \"h\"\nport = 70000\n");
    assert!(!v.is_valid(&bad));
    let good = as_json("[[item]]\nid = \"a\"\nprobe = \"tcp\"\nhost = \"h\"\nport = \"${port}\"\n");
    assert!(v.is_valid(&good));
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// Paths of every table in a TOML value.
fn tables(v: &toml::Value, path: Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match v {
        toml::Value::Table(t) => {
            out.push(path.clone());
            for (k, x) in t {
                let mut p = path.clone();
                p.push(Step::Key(k.clone()));
                tables(x, p, out);
            }
        }
        toml::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let mut p = path.clone();
                p.push(Step::Index(i));
                tables(x, p, out);
            }
        }
        _ => {}
    }
}

fn table_at<'a>(v: &'a mut toml::Value, path: &[Step]) -> &'a mut toml::Table {
    let next = match (path.first(), v) {
        (None, toml::Value::Table(t)) => return t,
        (Some(Step::Key(k)), toml::Value::Table(t)) => t.get_mut(k).expect("key"),
        (Some(Step::Index(i)), toml::Value::Array(a)) => &mut a[*i],
        _ => panic!("path does not lead to a table"),
    };
    table_at(next, &path[1..])
}

/// Whether the checklist format fixes the keys of the table at `path` (so a stray
/// key must be rejected), from the same shapes the loader uses.
fn closed(doc: &toml::Value, path: &[Step]) -> Option<bool> {
    use preflight_core::schema::shape::Shape;
    let key = |i: usize| match path.get(i) {
        Some(Step::Key(k)) => Some(k.as_str()),
        _ => None,
    };
    match (key(0), path.len()) {
        (None, 0) => Some(true),
        (Some("checklist" | "notify"), 1) => Some(true),
        (Some("vars"), _) => Some(false),
        // A stray key here is a new environment, not a key of one.
        (Some("environments"), 1) => None,
        (Some("environments"), 2) => Some(true),
        (Some("environments"), _) => Some(false),
        (Some("item"), 2) => Some(true),
        (Some("item"), _) => {
            let Some(Step::Index(i)) = path.get(1) else {
                return None;
            };
            let probe = doc["item"][*i]["probe"].as_str()?;
            let cat = catalog();
            let entry = cat.get(probe)?;
            let mut shape = Shape::Object(entry.options().clone());
            for step in &path[2..] {
                shape = match (step, shape) {
                    (Step::Key(k), Shape::Object(o)) => o.field(k)?.shape.clone(),
                    (Step::Key(_), Shape::Map(v)) => *v,
                    (Step::Index(_), Shape::Array(el)) => *el,
                    (_, Shape::Either(alts)) => alts
                        .into_iter()
                        .find(|a| matches!(a, Shape::Object(_) | Shape::Map(_)))?,
                    _ => return None,
                };
                if let Shape::Either(alts) = &shape
                    && let Some(o) = alts.iter().find(|a| matches!(a, Shape::Object(_)))
                {
                    shape = o.clone();
                }
            }
            match shape {
                Shape::Object(o) => Some(o.closed),
                Shape::Map(_) | Shape::Any => Some(false),
                _ => None,
            }
        }
        _ => None,
    }
}

#[test]
fn a_stray_key_in_any_closed_table_is_rejected_at_its_line() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut checked = 0;
    for f in config_files() {
        let text = std::fs::read_to_string(&f).expect("read");
        let doc: toml::Value = toml::from_str(&text).expect("toml");
        let mut paths = Vec::new();
        tables(&doc, Vec::new(), &mut paths);
        for path in paths {
            let Some(closed) = closed(&doc, &path) else {
                continue;
            };
            let mut copy = doc.clone();
            table_at(&mut copy, &path).insert("stray_key_xyz".into(), toml::Value::Integer(1));
            let written = toml::to_string(&copy).expect("serialize");
            let line = written
                .lines()
                .position(|l| l.contains("stray_key_xyz"))
                .expect("written")
                + 1;
            let file = tmp.path().join(f.file_name().expect("name"));
            std::fs::write(&file, &written).expect("write");
            let shown = file.to_str().expect("utf8");
            let o = preflight(&["check", shown], &[]);
            let err = stderr(&o);
            let rejected = err.contains("unknown key `stray_key_xyz`");
            if closed {
                assert_eq!(o.status.code(), Some(2), "{}: {path:?}\n{err}", f.display());
                assert!(
                    rejected && err.contains(&format!("{shown}:{line}:")),
                    "{} {path:?}: expected a rejection at line {line}:\n{err}",
                    f.display()
                );
                checked += 1;
            } else {
                assert!(
                    !rejected,
                    "{} {path:?} is open but rejected:\n{err}",
                    f.display()
                );
            }
        }
    }
    assert!(checked > 50, "only {checked} closed tables were checked");
}

#[test]
fn probe_reference_pages_match_explain() {
    for p in catalog().entries() {
        let page = repo().join(format!("docs/probes/{}.md", p.name()));
        let text =
            std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        let begin = "<!-- explain:begin -->\n";
        let end = "<!-- explain:end -->";
        let a = text.find(begin).expect("explain:begin marker") + begin.len();
        let b = text.find(end).expect("explain:end marker");
        let o = preflight(&["explain", p.name(), "--format", "markdown"], &[]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(
            &text[a..b],
            stdout(&o),
            "{} is out of date: run `preflight explain {} --format markdown` and paste it between the markers (scripts/docs.sh does it)",
            page.display(),
            p.name()
        );
    }
}
