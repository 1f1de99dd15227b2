//! Loader tests: every problem at once, with positions and hints; valid files load.

use std::sync::Arc;

use crate::probe::{
    BoxFuture, Catalog, Context, Fact, FactType, Facts, Failure, Observer, Options, Probe,
};

use super::*;

struct FakeHttp;

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "only the types are checked")]
struct FakeOptions {
    /// Where.
    url: String,
    /// How many.
    samples: Option<u32>,
}

impl Probe for FakeHttp {
    type Options = FakeOptions;
    const NAME: &'static str = "http";
    const SUMMARY: &'static str = "a fake";
    const FACTS: &'static [Fact] = &[
        Fact::new("status", FactType::Integer, "status"),
        Fact::new("json", FactType::Any, "json"),
    ];
    const EXAMPLE: &'static str = "";
    fn default_expect(_: &Options) -> Vec<String> {
        vec!["status == 200".into()]
    }
    fn prepare(&self, _: FakeOptions, _: &Context) -> Result<Arc<dyn Observer>, Failure> {
        Ok(Arc::new(FakeHttp))
    }
}

impl Observer for FakeHttp {
    fn host(&self) -> Option<String> {
        None
    }
    fn observe(&self) -> BoxFuture<'_, Result<Facts, Failure>> {
        Box::pin(async { Ok(Facts::new()) })
    }
}

fn catalog() -> Catalog {
    Catalog::new(vec![Arc::new(FakeHttp)])
}

fn problems(text: &str) -> Vec<String> {
    match parse("t.toml", text, &[], &catalog()) {
        Ok(_) => vec![],
        Err(e) => e
            .problems
            .iter()
            .map(|p| {
                format!(
                    "{}: {} | {}",
                    p.location,
                    p.message,
                    p.hint.clone().unwrap_or_default()
                )
            })
            .collect(),
    }
}

#[test]
fn a_valid_checklist_loads_with_defaults() {
    let text = "[checklist]\nname = \"n\"\n\n[vars]\napi = \"http://127.0.0.1\"\n\n[[item]]\nid = \"a\"\nprobe = \"http\"\nurl = \"${api}/x\"\n\n[[item]]\nid = \"b\"\nmanual = true\nneeds = [\"a\"]\n";
    let c = parse("t.toml", text, &[], &catalog()).expect("valid");
    assert_eq!((c.pass_score, c.concurrency, c.per_host), (100, 64, 8));
    assert_eq!(c.items[0].severity, Severity::Normal);
    assert_eq!(c.items[0].line, 7);
    let Check::Probe { expect, .. } = &c.items[0].check else {
        panic!("probe item")
    };
    assert_eq!(
        expect[0].source(),
        "status == 200",
        "default expectations apply"
    );
    assert!(matches!(c.items[1].check, Check::Manual));
}

#[test]
fn every_problem_is_reported_with_position_and_hint() {
    let text = "[checklist]\ntimeout = \"soon\"\nconcurency = 3\n\n[[item]]\nid = \"a\"\nprobe = \"http\"\nurl = \"${apii}\"\nsamples = \"many\"\nseverity = \"urgent\"\n\n[[item]]\nid = \"a\"\nmanual = true\nurl = \"x\"\n\n[[item]]\ntitle = \"no id\"\nmanual = true\n";
    let p = problems(text);
    let joined = p.join("\n");
    for want in [
        "t.toml:2:11: `timeout`: invalid duration \"soon\"",
        "t.toml:3:1: unknown key `concurency` | did you mean `concurrency`?",
        "t.toml:8:7: item \"a\": `url`: unknown variable `${apii}`",
        "t.toml:9:11: item \"a\": `samples`:",
        "t.toml:10:12: item \"a\": `severity`: unknown severity \"urgent\"",
        "item \"a\": `id`: duplicate id (first used on line 5)",
        "t.toml:15:1: item \"a\": unknown key `url`",
        "t.toml:17:1: `id`: item has no id",
    ] {
        assert!(joined.contains(want), "missing {want:?} in\n{joined}");
    }
}

#[test]
fn needs_must_exist_and_not_cycle() {
    let text = "[[item]]\nid = \"a\"\nmanual = true\nneeds = [\"b\"]\n\n[[item]]\nid = \"b\"\nmanual = true\nneeds = [\"a\"]\n\n[[item]]\nid = \"c\"\nmanual = true\nneeds = [\"bb\", \"c\"]\n";
    let joined = problems(text).join("\n");
    assert!(joined.contains("needs form a cycle: a → b → a"), "{joined}");
    assert!(joined.contains("needs unknown item \"bb\""), "{joined}");
    assert!(joined.contains("an item cannot need itself"), "{joined}");
}

#[test]
fn expressions_are_compiled_and_their_names_checked() {
    let text = "[vars]\nlimit = 5\n\n[[item]]\nid = \"a\"\nprobe = \"http\"\nurl = \"http://127.0.0.1\"\nexpect = [\"status == 200 && json.n < limit\", \"statsu == 1\", \"status ==\"]\n";
    let joined = problems(text).join("\n");
    assert!(joined.contains("`statsu == 1` reads `statsu`, which is neither a http fact nor a var | did you mean `status`?"), "{joined}");
    assert!(
        joined.contains("expression `status ==` does not parse"),
        "{joined}"
    );
    assert!(!joined.contains("limit"), "vars are valid names: {joined}");
}

#[test]
fn manual_and_probe_conflicts() {
    let text = "[[item]]\nid = \"a\"\nmanual = true\nprobe = \"http\"\n\n[[item]]\nid = \"b\"\n\n[[item]]\nid = \"c\"\nprobe = \"htpp\"\n";
    let joined = problems(text).join("\n");
    assert!(joined.contains("a manual item has no probe"), "{joined}");
    assert!(
        joined.contains("item \"b\": item has neither `probe` nor `manual = true`"),
        "{joined}"
    );
    assert!(
        joined.contains("unknown probe \"htpp\" | did you mean \"http\"?"),
        "{joined}"
    );
}

#[test]
fn hold_every_within_rules() {
    let text = "[[item]]\nid = \"a\"\nmanual = true\nhold = \"1m\"\n\n[[item]]\nid = \"b\"\nmanual = true\nhold = \"1m\"\nevery = \"2m\"\nwithin = \"1m\"\n";
    let joined = problems(text).join("\n");
    assert!(
        joined.contains("`hold` and `every` go together"),
        "{joined}"
    );
    assert!(joined.contains("`every` is longer than `hold`"), "{joined}");
    assert!(
        joined.contains("`within` and `hold` exclude each other"),
        "{joined}"
    );
}

#[test]
fn syntax_errors_point_at_the_line() {
    let p = problems("[checklist]\nname = \"x\n");
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("t.toml:2:"), "{p:?}");
    assert!(p[0].contains("TOML syntax error"), "{p:?}");
}
