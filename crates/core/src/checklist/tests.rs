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
    let Check::Probe { expect, .. } = &*c.items[0].check else {
        panic!("probe item")
    };
    assert_eq!(
        expect[0].source(),
        "status == 200",
        "default expectations apply"
    );
    assert!(matches!(*c.items[1].check, Check::Manual));
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

#[test]
fn vars_are_read_as_vars_name_and_may_not_be_named_like_a_fact() {
    let ok = "[vars]\ntag = \"v1\"\n\n[[item]]\nid = \"a\"\nprobe = \"http\"\nurl = \"http://127.0.0.1\"\nexpect = [\"json.tag == vars.tag\", \"json.tag == tag\"]\n";
    assert_eq!(problems(ok), Vec::<String>::new());
    let text = "[vars]\nstatus = \"200\"\nrelease = \"v1\"\n\n[[item]]\nid = \"a\"\nprobe = \"http\"\nurl = \"http://127.0.0.1\"\nexpect = [\"json.tag == vars.relase\"]\n\n[[item]]\nid = \"b\"\nprobe = \"http\"\nurl = \"http://127.0.0.1\"\n";
    let joined = problems(text).join("\n");
    assert!(
        joined.contains("t.toml:9:11: item \"a\": `expect`: `json.tag == vars.relase` reads `vars.relase`, which is not a var | did you mean `vars.release`?"),
        "{joined}"
    );
    // The default expectation reads `status`: the var of that name is ambiguous.
    assert!(
        joined.contains("item \"b\": `expect`: `status == 200` reads `status`, which is both a http fact and a var | the bare name reads the fact; rename the var `status`"),
        "{joined}"
    );
    // `--var` names count as vars too.
    let text = "[[item]]\nid = \"a\"\nprobe = \"http\"\nurl = \"http://127.0.0.1\"\nexpect = [\"json.tag == vars.tag\"]\n";
    assert!(parse("t.toml", text, &["tag".into()], &catalog()).is_ok());
}

#[test]
fn captures_are_named_compiled_and_read_only_by_items_that_need_them() {
    let ok = "[[item]]\nid = \"auth.token\"\nprobe = \"http\"\nurl = \"http://127.0.0.1/token\"\ncapture = { token = \"json.access_token\", user = \"json.user\" }\npublic = [\"user\"]\n\n[[item]]\nid = \"me\"\nneeds = [\"auth.token\"]\nprobe = \"http\"\nurl = \"http://127.0.0.1/me?u=${captures.auth.token.user}&t=${captures.auth.token.token}\"\n";
    let c = parse("t.toml", ok, &[], &catalog()).unwrap_or_else(|e| panic!("{:?}", e.problems));
    let names: Vec<(&str, bool)> = c.items[0]
        .capture
        .iter()
        .map(|x| (x.name.as_str(), x.public))
        .collect();
    assert_eq!(names, [("token", false), ("user", true)]);
    assert_eq!(c.items[1].reads_captures.len(), 2);

    let text = "[vars]\nv = \"${captures.a.token}\"\n\n[[item]]\nid = \"a\"\nprobe = \"http\"\nurl = \"http://127.0.0.1\"\ncapture = { token = \"json.access_token\", \"a.b\" = \"status\", bad = \"jsn.x\", worse = \"((\" }\npublic = [\"tokn\"]\n\n[[item]]\nid = \"b\"\nprobe = \"http\"\nurl = \"http://127.0.0.1/${captures.a.token}\"\n\n[[item]]\nid = \"c\"\nneeds = [\"a\"]\nprobe = \"http\"\nurl = \"http://127.0.0.1/${captures.a.tokn}/${captures.x.token}/${captures.c.token}\"\n\n[[item]]\nid = \"d\"\nmanual = true\ncapture = { t = \"status\" }\n\n[[item]]\nid = \"e\"\nprobe = \"http\"\nurl = \"http://127.0.0.1\"\npublic = [\"t\"]\n";
    let joined = problems(text).join("\n");
    for want in [
        "t.toml:2:5: `vars.v`: `${captures.a.token}` is read outside an item's options",
        "item \"a\": `capture`: `a.b` is not a capture name",
        "item \"a\": `capture`: `jsn.x` reads `jsn`, which is neither a http fact nor a var | did you mean `json`?",
        "item \"a\": `capture`: capture `worse`: expression `((` does not parse",
        "item \"a\": `public`: `public` lists \"tokn\", which the item does not capture | did you mean \"token\"?",
        "t.toml:14:7: item \"b\": `url`: `${captures.a.token}` reads a capture of \"a\", which this item does not need | add needs = [\"a\"]",
        "item \"c\": `url`: `${captures.a.tokn}`: item \"a\" captures no `tokn` | did you mean ${captures.a.token}?",
        "item \"c\": `url`: `${captures.x.token}` reads item \"x\", which does not exist",
        "item \"c\": `url`: `${captures.c.token}` reads the item's own capture",
        "item \"d\": unknown key `capture`",
        "item \"e\": `public`: `public` names captures, but the item captures nothing",
    ] {
        assert!(joined.contains(want), "missing {want:?} in\n{joined}");
    }
}

#[test]
fn for_each_makes_one_item_per_row_sharing_the_template() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("urls.csv"), "old,new\n/a,/b\n\"/c,d\",/e\n").unwrap();
    let path = dir.path().join("t.toml");
    let text = "[vars]\napi = \"http://127.0.0.1\"\n\n[[item]]\nid = \"login\"\nmanual = true\n\n[[item]]\nid = \"moved\"\ntitle = \"${row.old} moved to ${row.new}\"\nprobe = \"http\"\nurl = \"${api}${row.old}\"\nneeds = [\"login\"]\nfor_each = { file = \"urls.csv\" }\nexpect = [\"status == 301\", \"json.location == '${row.new}'\"]\n\n[[item]]\nid = \"hosts\"\nprobe = \"http\"\nurl = \"http://${row.value}/\"\nfor_each = [\"a.example\", \"b.example\"]\n";
    let c = parse(&path.display().to_string(), text, &[], &catalog()).expect("valid");
    let ids: Vec<&str> = c.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "login",
            "moved[/a]",
            "moved[/c,d]",
            "hosts[a.example]",
            "hosts[b.example]"
        ]
    );
    assert_eq!(c.items[1].title, "/a moved to /b");
    assert_eq!(c.items[2].needs, ["login"]);
    assert!(Arc::ptr_eq(&c.items[1].check, &c.items[2].check), "shared");
    assert_eq!(c.templates.len(), 2);
    assert_eq!(
        (c.templates[0].rows, c.templates[0].source.as_str()),
        (2, "urls.csv")
    );
    // Expectations are compiled once, shown as written, and read the row.
    let Check::Probe { expect, .. } = &*c.items[1].check else {
        panic!("probe item")
    };
    assert_eq!(expect[1].source(), "json.location == '${row.new}'");
    let facts: crate::probe::Facts =
        serde_json::from_value(serde_json::json!({"status": 301, "json": {"location": "/e"}}))
            .unwrap();
    let vars = serde_json::Map::new();
    let row = c.items[2].row.as_deref();
    let (status, _, _) = crate::verdict::judge_row(expect, &facts, &vars, row);
    assert_eq!(status, crate::Status::Pass);
    let (status, reason, _) =
        crate::verdict::judge_row(expect, &facts, &vars, c.items[1].row.as_deref());
    assert_eq!(status, crate::Status::Fail);
    let reason = reason.unwrap();
    assert!(reason.contains("vars.row.new was \"/b\""), "{reason}");
    // Options: one resolution for the template, the row filled in at start.
    let env = |_: &str| None;
    let mut req = crate::plan::PlanRequest::with_env(&env);
    req.selection.only = vec!["moved".into()];
    let p = crate::plan::plan(&c, &catalog(), &req).unwrap();
    assert_eq!(p.items.len(), 2, "--only TEMPLATE selects its items");
    assert!(Arc::ptr_eq(&p.items[0].options, &p.items[1].options));
    let entry = catalog().get("http").unwrap().clone();
    let mut red = crate::Redactor::default();
    let o = crate::plan::bind_captures(&entry, &p.items[1], &|_| None, &mut red).unwrap();
    assert_eq!(o["url"], "http://127.0.0.1/c,d");
}

#[test]
fn for_each_problems_point_into_the_data_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d.csv"), "old,new\n/a,/b\n/c\n/a,/x\n").unwrap();
    let path = dir.path().join("t.toml");
    let text = "[[item]]\nid = \"m\"\nprobe = \"http\"\nurl = \"http://x${row.olld}\"\nfor_each = { file = \"d.csv\" }\n";
    let e = parse(&path.display().to_string(), text, &[], &catalog()).unwrap_err();
    let all: Vec<String> = e
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
        .collect();
    let joined = all.join("\n");
    assert!(
        joined.contains("d.csv:3:1: this row has 1 field, the header has 2"),
        "{joined}"
    );
    std::fs::write(dir.path().join("d.csv"), "old,new\n/a,/b\n").unwrap();
    let e = parse(&path.display().to_string(), text, &[], &catalog()).unwrap_err();
    let joined = format!(
        "{:?}",
        e.problems
            .iter()
            .map(|p| (&p.message, &p.hint))
            .collect::<Vec<_>>()
    );
    assert!(joined.contains("`${row.olld}` names no column"), "{joined}");
    assert!(joined.contains("did you mean ${row.old}?"), "{joined}");
    std::fs::write(dir.path().join("d.csv"), "old,new\n/a,/b\n/a,/x\n").unwrap();
    let e = parse(&path.display().to_string(), text, &[], &catalog()).unwrap_err();
    let joined: Vec<String> = e
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.location, p.message))
        .collect();
    assert!(
        joined
            .iter()
            .any(|l| l.contains("d.csv:3:1: row 2: duplicate key \"/a\" (first in row 1)")),
        "{joined:?}"
    );
    // A template's needs problem is reported once, not once per row.
    std::fs::write(dir.path().join("d.csv"), "old,new\n/a,/b\n/c,/d\n/e,/f\n").unwrap();
    let text = "[[item]]\nid = \"m\"\nprobe = \"http\"\nurl = \"http://x${row.old}\"\nneeds = [\"nope\"]\nfor_each = { file = \"d.csv\" }\n";
    let e = parse(&path.display().to_string(), text, &[], &catalog()).unwrap_err();
    assert_eq!(
        e.problems.len(),
        1,
        "{:?}",
        e.problems.iter().map(|p| &p.message).collect::<Vec<_>>()
    );
    // Outside a template, `${row.…}` is an error too.
    let text = "[[item]]\nid = \"m\"\nprobe = \"http\"\nurl = \"http://x${row.old}\"\n";
    assert!(
        problems(text)
            .join("\n")
            .contains("outside a for_each item")
    );
}

#[test]
fn shards_split_every_item_once_keeping_needs_and_templates_together() {
    let dir = tempfile::tempdir().unwrap();
    let rows: String = (0..40).map(|i| format!("h{i}\n")).collect();
    std::fs::write(dir.path().join("hosts.txt"), &rows).unwrap();
    let path = dir.path().join("t.toml");
    let mut text = String::from(
        "[[item]]\nid = \"login\"\nmanual = true\n\n[[item]]\nid = \"after\"\nmanual = true\nneeds = [\"login\"]\n\n\
         [[item]]\nid = \"whole\"\nprobe = \"http\"\nurl = \"http://${row.value}/\"\nfor_each = \"hosts.txt\"\n\n\
         [[item]]\nid = \"spread\"\nprobe = \"http\"\nurl = \"http://${row.value}/\"\nfor_each = { file = \"hosts.txt\", spread = true }\n\n",
    );
    for i in 0..30 {
        text.push_str(&format!("[[item]]\nid = \"m{i}\"\nmanual = true\n\n"));
    }
    let c = parse(&path.display().to_string(), &text, &[], &catalog()).expect("valid");
    let env = |_: &str| None;
    let req = crate::plan::PlanRequest::with_env(&env);
    let whole = crate::plan::plan(&c, &catalog(), &req).unwrap();
    let mut seen = vec![0u32; whole.items.len()];
    let mut spread_shards = std::collections::BTreeSet::new();
    for k in 1..=3 {
        let mut p = crate::plan::plan(&c, &catalog(), &req).unwrap();
        crate::plan::shard(&mut p, k, 3);
        let pos = p.positions.clone().unwrap();
        for (n, &at) in pos.iter().enumerate() {
            seen[at] += 1;
            assert_eq!(p.items[n].item.id, whole.items[at].item.id);
        }
        let ids: Vec<&str> = p.items.iter().map(|i| i.item.id.as_str()).collect();
        assert_eq!(
            ids.contains(&"login"),
            ids.contains(&"after"),
            "a needs chain stays together"
        );
        if let Some(a) = ids.iter().position(|i| *i == "after") {
            let l = ids.iter().position(|i| *i == "login").unwrap();
            assert_eq!(p.items[a].needs, [l], "needs point into the shard");
        }
        let whole_rows = ids.iter().filter(|i| i.starts_with("whole[")).count();
        assert!(
            whole_rows == 0 || whole_rows == 40,
            "a template stays in one shard"
        );
        if ids.iter().any(|i| i.starts_with("spread[")) {
            spread_shards.insert(k);
        }
    }
    assert!(
        seen.iter().all(|&n| n == 1),
        "every item in exactly one shard"
    );
    assert_eq!(spread_shards.len(), 3, "spread = true spreads the rows");
    assert_eq!(
        crate::plan::shard_of("whole", 3),
        crate::plan::shard_of("whole", 3)
    );
}
