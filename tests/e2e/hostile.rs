//! Hostile targets, hostile checklists, outputs that cannot be written (#12): target
//! text that tries to drive the terminal or forge report lines, expressions that try
//! to crash or stall the run, inputs that never end, a full disk and a closed pipe.

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use preflight_core::sanitize::is_unsafe;
use preflight_testbed::hostile::{FORGED, Hostile};

use crate::support::{bin, item, json, preflight, stderr, stdout};

/// The hostile server, on a runtime that keeps serving while the binary runs.
struct Bad {
    server: Hostile,
    dir: tempfile::TempDir,
    _rt: tokio::runtime::Runtime,
}

impl Bad {
    fn start() -> Bad {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let server = rt.block_on(Hostile::start()).expect("hostile server");
        Bad {
            server,
            dir: tempfile::tempdir().expect("temp dir"),
            _rt: rt,
        }
    }

    fn write(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p.to_str().expect("utf8").to_string()
    }
}

/// Runs the binary, killing it (and failing) if it takes longer than `limit`.
fn within(limit: Duration, args: &[&str]) -> (Output, Duration) {
    let t0 = Instant::now();
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn preflight");
    // Read both pipes on threads so a large output cannot block the child.
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out_pipe.read_to_end(&mut b);
        b
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err_pipe.read_to_end(&mut b);
        b
    });
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("preflight {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    };
    (output, t0.elapsed())
}

/// No control character but line feeds, and no line that starts like an item's
/// verdict for the forged item.
fn assert_inert(what: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| is_unsafe(c) && c != '\n')
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: {bad:?} reached the output:\n{text}"
    );
    for l in text.lines() {
        let forged = l.starts_with("✔ forged") || l.starts_with("  ✔ forged");
        assert!(!forged, "{what}: a forged verdict line {l:?}:\n{text}");
    }
}

/// `text` without the SGR colour sequences (`ESC [ … m`) preflight itself writes.
fn without_sgr(text: &str) -> String {
    regex::Regex::new("\u{1b}\\[[0-9;]*m")
        .expect("regex")
        .replace_all(text, "")
        .into_owned()
}

fn hostile_checklist(bad: &Bad) -> String {
    bad.write(
        "hostile.toml",
        "[checklist]\nname = \"hostile \\u001b]0;title\\u0007\"\ntimeout = \"5s\"\n\n\
         [vars]\nbad = \"\"\nprom = \"\"\n\n\
         [[item]]\nid = \"prom.query\"\ntitle = \"Prometheus answers\"\nsection = \"Targets\"\n\
         probe = \"prometheus\"\nurl = \"${prom}\"\nquery = \"up\"\n\n\
         [[item]]\nid = \"http.body\"\ntitle = \"Body is ok\"\nsection = \"Targets\"\n\
         probe = \"http\"\nurl = \"${bad}/x\"\nexpect = [\"body == 'ok'\"]\n\n\
         [[item]]\nid = \"title.forged\"\n\
         title = \"t\\u001b]0;x\\u0007\\u009b2J\\n  ✔ forged.item  all good\"\n\
         section = \"s\\u001b[2J\\u202e\"\nowner = \"o\\r\\n✔ forged.owner\"\n\
         tags = [\"t\\u001b[31m\"]\nmanual = true\n",
    )
}

#[test]
fn target_text_is_inert_in_every_format_and_every_view() {
    let bad = Bad::start();
    let file = hostile_checklist(&bad);
    let url = bad.server.url();
    let vars = [
        "--var".to_string(),
        format!("bad={url}"),
        "--var".to_string(),
        format!("prom={url}"),
    ];
    let vars: Vec<&str> = vars.iter().map(String::as_str).collect();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", &file, "--no-progress"];
        args.extend(&vars);
        args.extend(extra);
        preflight(&args, &[])
    };

    // JSON keeps the server's text exactly, escaped.
    let o = run(&["--format", "json", "--no-history"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_inert("json", &stdout(&o));
    let r = json(&o);
    let prom = item(&r, "prom.query");
    // The server blames the query (bad_data), so the item is in error.
    assert_eq!(prom["status"], "error", "{prom}");
    assert!(
        prom["reason"].as_str().expect("reason").contains(FORGED),
        "{prom}"
    );
    for format in ["human", "markdown", "junit", "prometheus"] {
        let o = run(&["--format", format, "--no-history"]);
        assert_eq!(o.status.code(), Some(1), "{format}: {}", stderr(&o));
        assert_inert(format, &stdout(&o));
        assert_inert(&format!("{format} stderr"), &stderr(&o));
    }
    let human = stdout(&run(&["--no-history"]));
    let item_lines = human
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .count();
    assert_eq!(item_lines, 3, "one line per item:\n{human}");
    assert!(human.contains("\\u{1b}]0;pwned\\u{7}"), "{human}");
    let md = stdout(&run(&["--format", "markdown", "--no-history"]));
    assert_eq!(
        md.lines().filter(|l| l.starts_with("- [")).count(),
        3,
        "{md}"
    );
    let xml = stdout(&run(&["--format", "junit", "--no-history"]));
    quick_junit::Report::deserialize_from_str(&xml).expect("valid JUnit XML");
    // In colour, preflight's own colours are the only escape sequences.
    let coloured = stdout(&run(&["--no-history", "--color", "always"]));
    assert!(coloured.contains("\u{1b}["), "colour is on:\n{coloured}");
    assert_inert("human in colour", &without_sgr(&coloured));

    // History: run 1 has the Prometheus item fail (a closed port), run 2 has it
    // in error with the server's text; every view of them is inert.
    let mut first = vec![
        "run",
        &file,
        "--no-progress",
        "--var",
        "prom=http://127.0.0.1:1",
    ];
    first.extend(["--var", vars[1]]);
    let o = preflight(&first, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let o = run(&["--baseline", "last"]);
    assert_inert("run --baseline stdout", &stdout(&o));
    assert_inert("run --baseline stderr", &stderr(&o));
    assert!(stdout(&o).contains("prom.query"), "{}", stdout(&o));
    let views: Vec<Vec<&str>> = vec![
        vec!["history", &file],
        vec!["history", &file, "--format", "json"],
        vec!["show", "last", "--checklist", &file],
        vec!["show", "last", "--checklist", &file, "--format", "markdown"],
        vec!["diff", "--checklist", &file],
        vec!["diff", "--checklist", &file, "--format", "json"],
        vec!["check", &file],
    ];
    for args in views {
        let o = preflight(&args, &[]);
        assert!(
            o.status.code() == Some(0) || o.status.code() == Some(1),
            "{args:?}: {}",
            stderr(&o)
        );
        assert_inert(&format!("{args:?}"), &stdout(&o));
        assert_inert(&format!("{args:?} stderr"), &stderr(&o));
    }
    let diff = stdout(&preflight(&["diff", "--checklist", &file], &[]));
    assert!(
        diff.contains("prom.query  fail → error: Prometheus answered"),
        "{diff}"
    );
    let mut watch = vec!["watch", &file, "--every", "1s", "--count", "1"];
    watch.extend(&vars);
    let o = preflight(&watch, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("prom.query"), "{}", stdout(&o));
    assert_inert("watch", &stdout(&o));
    assert_inert("watch stderr", &stderr(&o));
}

/// clap quotes the argument it refuses: escaped like everything else, whatever argv
/// holds (a pasted escape sequence, a shell variable gone wrong).
#[test]
fn arguments_are_inert_in_usage_errors() {
    let hostile = "\u{1b}]0;pwned\u{7}\u{9b}31m\u{202e}desrever\r\n  ✔ forged.item  all good";
    for args in [
        vec![hostile],
        vec!["run", "x.toml", &format!("--{hostile}")],
        vec!["run", "x.toml", "--color", hostile],
        vec!["history", "--limit", hostile],
    ] {
        let o = Command::new(bin()).args(&args).output().expect("run");
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).starts_with("error: "),
            "{args:?}: {}",
            stderr(&o)
        );
        assert_inert(&format!("{args:?}"), &stderr(&o));
    }
}

#[test]
fn checklist_text_is_inert_in_errors() {
    let bad = Bad::start();
    let file = hostile_checklist(&bad);
    // A flag naming something the checklist does not have quotes the flag.
    let o = preflight(&["check", &file, "--only", "x\u{1b}]0;t\u{7}\u{9b}2J"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("unknown item id"), "{}", stderr(&o));
    assert_inert("--only", &stderr(&o));
    // Problems quote the checklist's values, and the snippet shows its lines.
    let broken = bad.write(
        "broken.toml",
        "[checklist]\nname = \"x\"\n\n[[item]]\nid = \"a\\u001b]0;t\\u0007\"\n\
         probe = \"h\\u001b[2Jttp\\u202e\"\n# a comment with a raw \u{9b} C1 CSI\n",
    );
    let o = preflight(&["check", &broken], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("broken.toml:"), "{}", stderr(&o));
    assert_inert("invalid checklist", &stderr(&o));
    // A TOML syntax error shows the offending line itself.
    let raw = bad.write(
        "raw.toml",
        "[checklist]\nname = \"x\u{1b}]0;t\u{7}\u{1b}[2J\"\n",
    );
    let o = preflight(&["check", &raw], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("raw.toml:2"), "{}", stderr(&o));
    assert_inert("syntax error", &stderr(&o));
}

#[test]
fn expressions_past_the_limits_are_checklist_errors_and_deep_ones_run() {
    let bad = Bad::start();
    let url = bad.server.url();
    let entry = |id: &str, expect: &str| {
        format!(
            "[[item]]\nid = \"{id}\"\nprobe = \"http\"\nurl = \"{url}/big\"\nexpect = [\"{expect}\"]\n\n"
        )
    };
    let header = "[checklist]\nname = \"limits\"\ntimeout = \"5s\"\n\n";
    // 1,500 terms of `+`: passed `check` and crashed `run` (a stack overflow).
    let long_sum = vec!["json"; 1500].join("+");
    // A member chain 3,000 deep: crashed validation.
    let long_member = format!("json{} == 1", ".a".repeat(3000));
    let too_long = format!("status == 200 && body != '{}'", "x".repeat(9000));
    let file = bad.write(
        "limits.toml",
        &format!(
            "{header}{}{}{}",
            entry("sum", &long_sum),
            entry("member", &long_member),
            entry("long", &too_long)
        ),
    );
    let (o, _) = within(Duration::from_secs(60), &["check", &file]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("3 problems"), "{err}");
    assert!(err.contains("limits.toml:9:11"), "{err}");
    assert!(err.contains("it nests 1500 levels deep"), "{err}");
    assert!(err.contains("it nests 3002 levels deep"), "{err}");
    assert!(
        err.contains("bytes long; an expression may be at most 8192"),
        "{err}"
    );
    // The deepest accepted expression runs, on a stack made for it.
    let deep = format!("{} > 0", vec!["status"; 99].join(" + "));
    let file = bad.write("deep.toml", &format!("{header}{}", entry("deep", &deep)));
    let (o, _) = within(
        Duration::from_secs(60),
        &[
            "run",
            &file,
            "--format",
            "json",
            "--no-history",
            "--no-progress",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(item(&json(&o), "deep")["status"], "pass");
}

#[test]
fn judging_is_bounded_by_the_item_timeout() {
    let bad = Bad::start();
    let file = bad.write(
        "quadratic.toml",
        &format!(
            "[checklist]\nname = \"q\"\n\n[[item]]\nid = \"pairs\"\nprobe = \"http\"\n\
             url = \"{}/big\"\ntimeout = \"1s\"\n\
             expect = [\"json.all(x, json.all(y, x == y || x != y))\"]\n",
            bad.server.url()
        ),
    );
    let (o, took) = within(
        Duration::from_secs(60),
        &[
            "run",
            &file,
            "--format",
            "json",
            "--no-history",
            "--no-progress",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let pairs = item(&json(&o), "pairs").clone();
    assert_eq!(pairs["status"], "fail", "{pairs}");
    assert!(
        pairs["reason"]
            .as_str()
            .expect("reason")
            .ends_with("— still evaluating when the 1s timeout ran out"),
        "{pairs}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn judging_is_bounded_in_memory() {
    let bad = Bad::start();
    // Each step allocates a 40,000-element list and keeps it: gigabytes a second.
    let file = bad.write(
        "hungry.toml",
        &format!(
            "[checklist]\nname = \"m\"\n\n[[item]]\nid = \"hungry\"\nprobe = \"http\"\n\
             url = \"{}/big\"\ntimeout = \"2m\"\n\
             expect = [\"json.map(x, json + json).size() > 0\"]\n",
            bad.server.url()
        ),
    );
    let (o, took) = within(
        Duration::from_secs(90),
        &[
            "run",
            &file,
            "--format",
            "json",
            "--no-history",
            "--no-progress",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let hungry = item(&json(&o), "hungry").clone();
    let reason = hungry["reason"].as_str().expect("reason");
    assert_eq!(hungry["status"], "fail", "{reason}");
    assert!(
        reason.ends_with("— stopped: evaluating it took more than 1 GiB of memory"),
        "{reason}"
    );
    assert!(took < Duration::from_secs(60), "{took:?}");
    // No child of this test binary ever grew much past the limit.
    let peak = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .expect("getrusage")
        .max_rss();
    assert!(peak < 2 << 20, "a child reached {peak} KiB");
}

#[test]
fn inputs_that_are_not_regular_files_or_too_large_are_refused() {
    let bad = Bad::start();
    let dir = bad.dir.path();
    let limit = Duration::from_secs(30);
    // A device, a FIFO, an oversized file.
    let fifo = dir.join("fifo.toml");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let big = dir.join("big.toml");
    std::fs::File::create(&big)
        .and_then(|f| f.set_len((4 << 20) + 1))
        .expect("sparse file");
    for (path, why) in [
        ("/dev/zero", "it is a character device, not a regular file"),
        (
            fifo.to_str().expect("utf8"),
            "it is a FIFO (named pipe), not a regular file",
        ),
        (
            big.to_str().expect("utf8"),
            "the file is larger than 4 MiB, the limit",
        ),
    ] {
        for args in [vec!["check", path], vec!["run", path, "--no-progress"]] {
            let (o, _) = within(limit, &args);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
            assert!(stderr(&o).contains(why), "{args:?}: {}", stderr(&o));
        }
        let (o, _) = within(limit, &["import", path]);
        assert_eq!(o.status.code(), Some(2), "import {path}: {}", stderr(&o));
        assert!(stderr(&o).contains(why), "import {path}: {}", stderr(&o));
    }
    // The attestation file beside a checklist.
    let file = bad.write(
        "att.toml",
        "[checklist]\nname = \"a\"\n\n[[item]]\nid = \"legal\"\nmanual = true\n",
    );
    std::os::unix::fs::symlink("/dev/zero", dir.join("att.attest.toml")).expect("symlink");
    let (o, _) = within(limit, &["run", &file, "--no-history", "--no-progress"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("att.attest.toml: it is a character device"),
        "{}",
        stderr(&o)
    );
    let (o, _) = within(limit, &["attest", &file, "legal", "--by", "me"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("character device"), "{}", stderr(&o));
    // Files that probes read: a dotenv file, a CA bundle.
    let file = bad.write(
        "probes.toml",
        &format!(
            "[checklist]\nname = \"p\"\ntimeout = \"5s\"\n\n\
             [[item]]\nid = \"dotenv\"\nprobe = \"env\"\nnames = [\"A\"]\nfile = \"/dev/zero\"\n\n\
             [[item]]\nid = \"ca\"\nprobe = \"http\"\nurl = \"{}/big\"\nca = \"{}\"\n",
            bad.server.url(),
            fifo.display()
        ),
    );
    let (o, _) = within(
        limit,
        &[
            "run",
            &file,
            "--format",
            "json",
            "--no-history",
            "--no-progress",
        ],
    );
    let r = json(&o);
    let dotenv = item(&r, "dotenv");
    assert_eq!(dotenv["status"], "error", "{dotenv}");
    assert!(
        dotenv["reason"]
            .as_str()
            .expect("reason")
            .contains("character device"),
        "{dotenv}"
    );
    let ca = item(&r, "ca");
    assert_eq!(ca["status"], "error", "{ca}");
    assert!(
        ca["reason"].as_str().expect("reason").contains("FIFO"),
        "{ca}"
    );
}

/// A checklist whose report is long (so writing it takes more than one write).
fn long_report(bad: &Bad) -> String {
    let mut text = String::from("[checklist]\nname = \"w\"\n\n");
    for n in 0..400 {
        text.push_str(&format!(
            "[[item]]\nid = \"manual.{n}\"\ntitle = \"{}\"\nmanual = true\n\n",
            "t".repeat(100)
        ));
    }
    bad.write("long.toml", &text)
}

#[test]
fn a_report_that_cannot_be_written_is_an_error_and_a_closed_pipe_is_quiet() {
    let bad = Bad::start();
    let file = long_report(&bad);
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full")
    };
    let commands: Vec<Vec<&str>> = vec![
        vec!["run", &file, "--no-history", "--no-progress"],
        vec![
            "run",
            &file,
            "--no-history",
            "--no-progress",
            "--format",
            "json",
        ],
        vec!["check", &file],
        vec!["explain"],
        vec!["schema"],
        vec!["completions", "bash"],
        vec!["man"],
    ];
    for args in &commands {
        let o = Command::new(bin())
            .args(args)
            .stdout(full())
            .stderr(Stdio::piped())
            .output()
            .expect("run");
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("failed to write the report to stdout: No space left on device"),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
    }
    // The reader goes away before anything is written: the command ends as it
    // would have (NO-GO here, manual items pending), and says nothing about it.
    for args in &commands {
        let mut child = Command::new(bin())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        drop(child.stdout.take());
        let o = child.wait_with_output().expect("wait");
        let expected = if args[0] == "run" { 1 } else { 0 };
        assert_eq!(o.status.code(), Some(expected), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "{args:?}");
    }
}

#[test]
fn postgres_error_text_is_inert_and_migration_files_are_bounded() {
    let mut pg = preflight_testbed::postgres::Cluster::start().unwrap_or_else(|e| {
        panic!("{e} — this test needs a real PostgreSQL (scripts/test.sh installs it)")
    });
    let db = format!("hostile{}", std::process::id());
    pg.create_database(&db).expect("database");
    pg.psql_in(
        &db,
        "CREATE FUNCTION hostile() RETURNS int LANGUAGE plpgsql AS $$ BEGIN \
         RAISE EXCEPTION '%', E'\\x1b]0;pwned\\x07\\x1b[2J\\u009b31m\\u202e\\r\\n  ✔ forged.item  all good'; \
         END $$; CREATE TABLE alembic_version (version_num text); \
         INSERT INTO alembic_version VALUES ('a1');",
    )
    .expect("fixture");
    let dir = tempfile::tempdir().expect("dir");
    let migrations = dir.path().join("versions");
    std::fs::create_dir(&migrations).expect("mkdir");
    std::fs::File::create(migrations.join("a1_big.py"))
        .and_then(|f| f.set_len((8 << 20) + 1))
        .expect("sparse file");
    let file = dir.path().join("pg.toml");
    std::fs::write(
        &file,
        format!(
            "[checklist]\nname = \"pg\"\ntimeout = \"10s\"\n\n[vars]\ndsn = \"\"\n\n\
             [[item]]\nid = \"db.hostile\"\nprobe = \"postgres\"\ndsn = \"${{dsn}}\"\n\
             query = \"SELECT hostile() AS n\"\nexpect = [\"value == 1\"]\n\n\
             [[item]]\nid = \"db.migrations\"\nprobe = \"postgres\"\ndsn = \"${{dsn}}\"\n\
             migrations = {{ dir = \"{}\" }}\n",
            migrations.display()
        ),
    )
    .expect("write");
    let dsn = format!("dsn={}", pg.dsn_for(&db));
    let file = file.to_str().expect("utf8");
    let args = |format: &'static str| {
        vec![
            "run",
            file,
            "--var",
            &dsn,
            "--no-history",
            "--no-progress",
            "--format",
            format,
        ]
    };
    let o = preflight(&args("json"), &[]);
    let r = json(&o);
    let hostile = item(&r, "db.hostile");
    assert_eq!(hostile["status"], "fail", "{hostile}");
    assert!(
        hostile["reason"]
            .as_str()
            .expect("reason")
            .contains("\u{1b}]0;pwned"),
        "{hostile}"
    );
    let migrations = item(&r, "db.migrations");
    assert!(
        migrations["reason"]
            .as_str()
            .expect("reason")
            .contains("the file is larger than 8 MiB, the limit"),
        "{migrations}"
    );
    for format in ["human", "markdown", "junit", "prometheus", "json"] {
        let o = preflight(&args(format), &[]);
        assert_eq!(o.status.code(), Some(1), "{format}: {}", stderr(&o));
        assert_inert(format, &stdout(&o));
    }
    pg.stop();
}
