//! Sweeps: `for_each` templates through the binary, results streamed in checklist
//! order (with a reorder buffer of 2, so most results wait on disk), history rows,
//! and shards of one sweep merged by `preflight verdict` (SQLite here; PostgreSQL
//! with concurrent shard processes in `postgres_shards`).

use std::process::Command;

use crate::support::{Env, HEADER, bin, json, stderr, stdout};

/// 30 rows: `/status/CODE?delay_ms=…`, later rows answering sooner, rows 7 and 19
/// failing (503).
fn sweep(env: &Env) -> std::path::PathBuf {
    let mut csv = String::from("path,delay\n");
    for n in 0..30 {
        let code = if n == 7 || n == 19 { 503 } else { 200 };
        csv.push_str(&format!("/status/{code}?n={n},{}\n", 300 - n * 10));
    }
    env.write("rows.csv", &csv);
    let text = format!(
        "{HEADER}[[item]]\nid = \"first\"\nprobe = \"http\"\nurl = \"${{api_plain}}/status/200\"\n\n\
         [[item]]\nid = \"paths\"\ntitle = \"GET ${{row.path}}\"\nsection = \"sweep\"\nseverity = \"critical\"\n\
         probe = \"http\"\nurl = \"${{api_plain}}${{row.path}}&delay_ms=${{row.delay}}\"\n\
         for_each = {{ file = \"rows.csv\" }}\nexpect = [\"status == 200\", \"vars.row.delay != ''\"]\n\n\
         [[item]]\nid = \"last\"\nprobe = \"http\"\nurl = \"${{api_plain}}/status/200\"\n"
    );
    env.write("sweep.toml", &text)
}

/// A batch's merged report says what the unsharded run said: counts, verdict,
/// score, failing critical items, and every item's status in checklist order.
fn assert_merges_into(merged: &serde_json::Value, whole: &serde_json::Value) {
    for key in ["counts", "verdict", "score", "failing_critical"] {
        assert_eq!(merged[key], whole[key], "{key}");
    }
    let statuses = |r: &serde_json::Value| -> Vec<(String, String)> {
        r["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| (i["id"].to_string(), i["status"].to_string()))
            .collect()
    };
    assert_eq!(statuses(merged), statuses(whole));
}

fn run_env(env: &Env, file: &std::path::Path, extra: &[&str]) -> std::process::Output {
    Command::new(bin())
        .arg("run")
        .arg(file)
        .args(env.var_args())
        .args(extra)
        .arg("--no-progress")
        .env("PREFLIGHT_REORDER_MEMORY", "2")
        .output()
        .expect("run preflight")
}

#[test]
fn a_template_streams_in_checklist_order_groups_and_records_every_row() {
    let env = Env::start();
    let file = sweep(&env);
    let f = file.to_str().expect("utf8");
    let check = Command::new(bin())
        .args(["check", f])
        .args(env.var_args())
        .output()
        .expect("check");
    let text = stdout(&check);
    assert!(
        text.contains("paths[…]") && text.contains("30 items from rows.csv"),
        "{text}"
    );
    assert!(
        !text.contains("paths[/status/200?n=3]"),
        "one line per template: {text}"
    );

    let out = env.dir.path().join("r.json");
    let o = run_env(
        &env,
        &file,
        &[
            "--format",
            "human",
            "--format",
            "json",
            "--output",
            "/dev/stdout",
            "--output",
            out.to_str().expect("utf8"),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let human = stdout(&o);
    assert!(
        human.contains("✘ paths[…]  30 items: 28 pass, 2 fail"),
        "{human}"
    );
    assert!(
        human.contains("✘ paths[/status/503?n=7]  GET /status/503?n=7 [critical]"),
        "{human}"
    );
    assert!(
        !human.contains("n=8]"),
        "passing rows are summarised: {human}"
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("json")).expect("json");
    let ids: Vec<&str> = r["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id"))
        .collect();
    let mut want = vec!["first".to_string()];
    for n in 0..30 {
        let code = if n == 7 || n == 19 { 503 } else { 200 };
        want.push(format!("paths[/status/{code}?n={n}]"));
    }
    want.push("last".into());
    assert_eq!(ids, want, "every item, in checklist order");
    assert_eq!(r["counts"]["fail"], 2);
    assert_eq!(r["items"][1]["template"], "paths");
    assert_eq!(r["items"][1]["facts"]["status"], 200, "facts streamed too");
    assert_eq!(r["verdict"], "no-go");

    // History has every row, in the same order, with the same statuses.
    let show = Command::new(bin())
        .args(["show", "last", "--checklist", f, "--format", "json"])
        .output()
        .expect("show");
    let back = json(&show);
    let back_ids: Vec<&str> = back["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id"))
        .collect();
    assert_eq!(back_ids, ids);
    assert_eq!(back["counts"], r["counts"]);
    assert_eq!(back["items"][8]["status"], "fail");
    assert_eq!(back["items"][8]["facts"]["status"], 503);
}

#[test]
fn shards_of_a_sweep_merge_into_the_verdict_of_the_whole() {
    let env = Env::start();
    let file = sweep(&env);
    let f = file.to_str().expect("utf8");
    let whole = run_env(&env, &file, &["--format", "json", "--no-history"]);
    let whole = json(&whole);
    let mut shard_items = 0;
    for k in 1..=3 {
        let o = run_env(
            &env,
            &file,
            &[
                "--shard",
                &format!("{k}/3"),
                "--batch",
                "b1",
                "--format",
                "json",
            ],
        );
        shard_items += json(&o)["items"].as_array().expect("items").len();
    }
    assert_eq!(shard_items, 32, "every item in exactly one shard");
    let v = Command::new(bin())
        .args([
            "verdict",
            "--batch",
            "b1",
            "--checklist",
            f,
            "--format",
            "json",
        ])
        .output()
        .expect("verdict");
    assert_eq!(v.status.code(), Some(1), "{}", stderr(&v));
    let merged = json(&v);
    assert_merges_into(&merged, &whole);
    // Four shards expected: the fourth is missing, NO-GO naming it.
    let v = Command::new(bin())
        .args([
            "verdict",
            "--batch",
            "b1",
            "--shards",
            "4",
            "--checklist",
            f,
        ])
        .output()
        .expect("verdict");
    assert_eq!(v.status.code(), Some(1));
    assert!(
        stdout(&v).contains("shard 4/4 is missing"),
        "{}",
        stdout(&v)
    );
}

#[test]
fn a_missing_shard_is_no_go_even_when_every_item_run_passed() {
    let env = Env::start();
    let text = format!(
        "{HEADER}[[item]]\nid = \"hosts\"\nprobe = \"http\"\nurl = \"${{api_plain}}/status/200?h=${{row.value}}\"\n\
         for_each = [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\"]\n\n[[item]]\nid = \"one\"\nprobe = \"http\"\nurl = \"${{api_plain}}/status/200\"\n"
    );
    let file = env.write("pass.toml", &text);
    let f = file.to_str().expect("utf8");
    let o = run_env(&env, &file, &["--shard", "1/2", "--batch", "g"]);
    let ran_first = o.status.code() == Some(0);
    let v = Command::new(bin())
        .args(["verdict", "--batch", "g", "--checklist", f])
        .output()
        .expect("verdict");
    assert!(ran_first, "{}", stderr(&o));
    assert_eq!(v.status.code(), Some(1), "never a silent GO");
    let text = stdout(&v);
    assert!(
        text.contains("shard 2/2 is missing") && text.contains("NO-GO"),
        "{text}"
    );
    let o = run_env(&env, &file, &["--shard", "2/2", "--batch", "g"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = Command::new(bin())
        .args(["verdict", "--batch", "g", "--checklist", f])
        .output()
        .expect("verdict");
    assert_eq!(v.status.code(), Some(0), "{}", stdout(&v));
    assert!(stdout(&v).contains("7 pass"), "{}", stdout(&v));
}

/// Three shard processes at once, each twice, writing into one PostgreSQL history:
/// no run is lost, and the batch merges into exactly what the unsharded run says.
#[test]
fn postgres_shards_run_at_once_and_merge_into_the_unsharded_verdict() {
    let pg = preflight_testbed::postgres::Cluster::start().unwrap_or_else(|e| {
        panic!("{e} — this test needs a real PostgreSQL (scripts/test.sh installs it)")
    });
    pg.create_database("shards").expect("create database");
    let dsn = pg.dsn_for("shards");
    let env = Env::start();
    let file = sweep(&env);
    let f = file.to_str().expect("utf8");
    let whole = run_env(&env, &file, &["--format", "json", "--store", &dsn]);
    let whole = json(&whole);
    let children: Vec<_> = (0..6)
        .map(|n| {
            let k = n % 3 + 1;
            Command::new(bin())
                .arg("run")
                .arg(&file)
                .args(env.var_args())
                .args([
                    "--shard",
                    &format!("{k}/3"),
                    "--batch",
                    "pg1",
                    "--store",
                    &dsn,
                ])
                .arg("--no-progress")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn a shard")
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().expect("shard");
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "a shard ran to its verdict: {}",
            stderr(&o)
        );
    }
    let h = Command::new(bin())
        .args(["history", f, "--store", &dsn, "--format", "json"])
        .output()
        .expect("history");
    let runs = json(&h);
    let batch_runs = runs
        .as_array()
        .expect("runs")
        .iter()
        .filter(|r| r["batch"] == "pg1")
        .count();
    assert_eq!(batch_runs, 6, "no run lost: {runs}");
    let v = Command::new(bin())
        .args([
            "verdict", "--batch", "pg1", "--store", &dsn, "--format", "json",
        ])
        .output()
        .expect("verdict");
    assert_eq!(v.status.code(), Some(1), "{}", stderr(&v));
    let merged = json(&v);
    assert_merges_into(&merged, &whole);
    // A shard expected and never run is NO-GO, named.
    let v = Command::new(bin())
        .args([
            "verdict", "--batch", "pg1", "--shards", "4", "--store", &dsn,
        ])
        .output()
        .expect("verdict");
    assert_eq!(v.status.code(), Some(1));
    assert!(
        stdout(&v).contains("shard 4/4 is missing"),
        "{}",
        stdout(&v)
    );
}

/// The demo's templates: a healthy one is one summary line, a broken one is its
/// summary and then the one row that failed, with its reason.
#[test]
fn the_demo_reports_a_template_as_a_summary_and_its_failing_rows() {
    let o = crate::support::preflight(&["demo", "--color", "never"], &[]);
    let out = stdout(&o);
    assert!(
        out.contains("✔ site.old-urls[…]  6 items: 6 pass\n"),
        "{out}"
    );
    assert!(
        !out.contains("site.old-urls[/pricing]"),
        "a passing row of a template is not listed: {out}"
    );
    let at = out
        .find("✘ bad.moved-urls[…]  4 items: 3 pass, 1 fail\n")
        .unwrap_or_else(|| panic!("{out}"));
    let rest = &out[at..];
    let row = rest
        .lines()
        .nth(1)
        .expect("the failing row follows its summary");
    assert!(row.contains("✘ bad.moved-urls[/old-home]"), "{rest}");
    assert!(
        rest.lines()
            .nth(2)
            .is_some_and(|l| l.contains("hops[0].status was 302")),
        "{rest}"
    );
    assert!(!out.contains("bad.moved-urls[/team]"), "{out}");
}
