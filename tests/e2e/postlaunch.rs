//! Post-launch: history (SQLite and PostgreSQL), show, diff, baselines, hold windows,
//! watch, notifications and the Prometheus format — against the testbed, whose
//! endpoints change behaviour between runs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::*;

/// `run FILE` with the testbed vars, extra args and environment variables.
fn run_with(env: &Env, file: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.arg("run")
        .arg(file)
        .args(env.var_args())
        .args(extra)
        .arg("--no-progress")
        .env_remove("PREFLIGHT_STORE");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run preflight")
}

fn cmd(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env_remove("PREFLIGHT_STORE")
        .output()
        .expect("run preflight")
}

fn http_item(id: &str, path: &str, extra: &str) -> String {
    format!(
        "[[item]]\nid = \"{id}\"\nseverity = \"critical\"\nprobe = \"http\"\nurl = \"${{api_plain}}{path}\"\nexpect = [\"status == 200\"]\n{extra}\n"
    )
}

/// A checklist whose `blip` item passes, then fails once, then passes again, and whose
/// `warm` item fails once, then passes.
fn changing_checklist(env: &Env) -> std::path::PathBuf {
    let text = [
        HEADER.to_string(),
        http_item("steady", "/api/health", ""),
        http_item("blip", "/fail-once-after/blip/1", ""),
        http_item("warm", "/flaky/warm/1", ""),
    ]
    .concat();
    env.write("launch.toml", &text)
}

#[test]
fn history_show_and_diff_follow_a_changing_testbed() {
    let env = Env::start();
    let f = changing_checklist(&env);
    let f_s = f.to_str().expect("utf8");
    let db = env.dir.path().join(".preflight/history.db");

    // Launch day: blip passes, warm fails.
    let o = run_with(&env, &f, &["--phase", "launch"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(db.exists(), "default store beside the checklist");
    assert!(stderr(&o).contains("recorded as run 1"), "{}", stderr(&o));

    // T+1h against launch day: blip regressed, warm recovered.
    let o = run_with(
        &env,
        &f,
        &[
            "--phase",
            "post-launch",
            "--baseline",
            "phase:launch",
            "--fail-on-regression",
        ],
        &[],
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(out.contains("diff run 1"), "{out}");
    assert!(
        out.contains("regressed (1):\n  ✘ blip  pass → fail: status == 200 — status was 503"),
        "{out}"
    );
    assert!(
        out.contains("recovered (1):\n  ✔ warm  fail → pass"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("1 regression: blip"), "{out}");

    // history lists both, newest first, with their phases.
    let o = cmd(&["history", f_s, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let runs = json(&o);
    assert_eq!(runs.as_array().expect("array").len(), 2);
    assert_eq!(runs[0]["id"], 2);
    assert_eq!(runs[0]["phase"], "post-launch");
    assert_eq!(runs[1]["phase"], "launch");
    assert!(
        runs[0]["checklist_hash"]
            .as_str()
            .expect("hash")
            .starts_with("sha256:")
    );
    let o = cmd(&["history", f_s]);
    assert!(stdout(&o).contains("post-launch"), "{}", stdout(&o));

    // diff without runs: the last two; exit 1 on the regression.
    let o = cmd(&["diff", "--checklist", f_s]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains("✘ blip  pass → fail"), "{}", stdout(&o));
    let o = cmd(&["diff", "1", "2", "--checklist", f_s, "--format", "json"]);
    let d = json(&o);
    assert_eq!(d["regressed"][0]["id"], "blip");
    assert_eq!(d["recovered"][0]["id"], "warm");
    assert_eq!(d["from"]["id"], 1);

    // show re-renders a stored run in any format.
    let o = cmd(&["show", "2", "--checklist", f_s, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(item(&r, "blip")["status"], "fail");
    assert_eq!(item(&r, "blip")["facts"]["status"], 503);
    assert_eq!(item(&r, "warm")["status"], "pass");
    assert_eq!(r["phase"], "post-launch");
    let o = cmd(&["show", "1", "--checklist", f_s]);
    assert!(stdout(&o).contains("NO-GO"), "{}", stdout(&o));
    let o = cmd(&["show", "9", "--checklist", f_s]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("run 9 is not in"), "{}", stderr(&o));

    // Third run: blip is back; the default diff (last two) shows the recovery, exit 0.
    let o = run_with(&env, &f, &["--format", "json", "--baseline", "last"], &[]);
    assert_eq!(json(&o)["verdict"], "go");
    assert!(
        stderr(&o).contains("✔ blip  fail → pass"),
        "diff goes to stderr with JSON on stdout: {}",
        stderr(&o)
    );
    let o = cmd(&["diff", "--checklist", f_s]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("✔ blip  fail → pass"), "{}", stdout(&o));
    // --baseline phase:launch from the diff command: run 1 → run 3.
    let o = cmd(&[
        "diff",
        "--checklist",
        f_s,
        "--baseline",
        "phase:launch",
        "--format",
        "json",
    ]);
    let d = json(&o);
    assert_eq!(
        (d["from"]["id"].clone(), d["to"]["id"].clone()),
        (1.into(), 3.into())
    );

    // --no-history leaves the store alone; --store elsewhere creates that file.
    let before = std::fs::read(&db).expect("db");
    let o = run_with(&env, &f, &["--no-history"], &[]);
    assert!(!stderr(&o).contains("recorded"), "{}", stderr(&o));
    let other = env.dir.path().join("elsewhere/runs.db");
    let o = run_with(&env, &f, &["--store", other.to_str().expect("utf8")], &[]);
    assert!(stderr(&o).contains("recorded as run 1"), "{}", stderr(&o));
    assert!(other.exists());
    let o = cmd(&["history", f_s, "--format", "json"]);
    assert_eq!(json(&o).as_array().expect("runs").len(), 3);
    drop(before);
}

#[test]
fn hold_window_fails_at_the_sample_that_blips() {
    let env = Env::start();
    let text = [
        HEADER.to_string(),
        http_item(
            "held",
            "/api/health",
            "hold = \"1200ms\"\nevery = \"300ms\"",
        ),
        http_item(
            "blips",
            "/fail-once-after/hold/2",
            "hold = \"1200ms\"\nevery = \"300ms\"",
        ),
    ]
    .concat();
    let f = env.write("hold.toml", &text);
    let t0 = Instant::now();
    let o = run_with(&env, &f, &["--format", "json", "--no-history"], &[]);
    let r = json(&o);
    // Samples at +0, +300, +600, +900 and +1200 ms: the whole window.
    assert!(t0.elapsed() >= Duration::from_millis(1200));
    assert_eq!(item(&r, "held")["status"], "pass");
    assert_eq!(item(&r, "held")["attempts"], 5);
    let blips = item(&r, "blips");
    assert_eq!(blips["status"], "fail");
    assert_eq!(
        blips["attempts"], 3,
        "sampling stops at the first failing sample"
    );
    let reason = blips["reason"].as_str().expect("reason");
    assert!(reason.starts_with("held for "), "{reason}");
    assert!(
        reason.contains(" of the 1200ms window, then sample 3 of 5 (at +"),
        "{reason}"
    );
    assert!(
        reason.contains("Z) failed: status == 200 — status was 503"),
        "{reason}"
    );
    assert!(blips["duration_ms"].as_u64().expect("ms") < 1200, "{blips}");
}

#[test]
fn watch_count_3_prints_only_transitions_and_records_each_run() {
    let env = Env::start();
    let text = [
        HEADER.to_string(),
        http_item("steady", "/api/health", ""),
        http_item("blip", "/fail-once-after/watch/1", ""),
    ]
    .concat();
    let f = env.write("watch.toml", &text);
    let mut c = Command::new(bin());
    c.args([
        "watch",
        f.to_str().expect("utf8"),
        "--every",
        "300ms",
        "--count",
        "3",
    ])
    .args(env.var_args())
    .env_remove("PREFLIGHT_STORE");
    let t0 = Instant::now();
    let o = c.output().expect("watch");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(t0.elapsed() >= Duration::from_millis(600));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(lines[0].ends_with("run 1: GO 100% (2 items)"), "{out}");
    assert!(
        lines[1].ends_with("run 2: verdict GO → NO-GO (score 100% → 50%)"),
        "{out}"
    );
    assert!(
        lines[2].ends_with("blip  pass → fail: status == 200 — status was 503"),
        "{out}"
    );
    assert!(
        lines[3].ends_with("run 3: verdict NO-GO → GO (score 50% → 100%)"),
        "{out}"
    );
    assert!(lines[4].ends_with("blip  fail → pass"), "{out}");
    assert!(!out.contains("steady"), "no transition, no line: {out}");
    assert!(
        stderr(&o).contains("stopped after 3 runs"),
        "{}",
        stderr(&o)
    );
    let o = cmd(&["history", f.to_str().expect("utf8"), "--format", "json"]);
    assert_eq!(json(&o).as_array().expect("runs").len(), 3);
}

#[test]
fn watch_stops_cleanly_on_sigterm() {
    let env = Env::start();
    let text = [HEADER.to_string(), http_item("steady", "/api/health", "")].concat();
    let f = env.write("w.toml", &text);
    let mut child = Command::new(bin())
        .args(["watch", f.to_str().expect("utf8"), "--every", "200ms"])
        .args(env.var_args())
        .env_remove("PREFLIGHT_STORE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("watch");
    std::thread::sleep(Duration::from_millis(900));
    let rc = send_sigterm(child.id());
    assert_eq!(rc, 0);
    let t0 = Instant::now();
    let o = loop {
        if child.try_wait().expect("wait").is_some() {
            break child.wait_with_output().expect("output");
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "watch did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("stopping (signal received)"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).contains("run 1: GO"), "{}", stdout(&o));
}

/// `kill -TERM PID` on our own child.
fn send_sigterm(pid: u32) -> i32 {
    let o = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .output()
        .expect("kill");
    o.status.code().unwrap_or(1)
}

/// A tiny webhook receiver on loopback: records each request (path and body); the
/// first request to a path starting with `/flaky` gets a 500.
pub(crate) struct Receiver {
    pub(crate) port: u16,
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl Receiver {
    pub(crate) fn start() -> Receiver {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let s2 = seen.clone();
        std::thread::spawn(move || {
            let mut flaky_done = false;
            for conn in l.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut reader = BufReader::new(conn.try_clone().expect("clone"));
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let path = request_line.split(' ').nth(1).unwrap_or("").to_string();
                let mut len = 0usize;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; len];
                let _ = reader.read_exact(&mut body);
                let status = if path.starts_with("/flaky") && !flaky_done {
                    flaky_done = true;
                    "500 Internal Server Error"
                } else {
                    "200 OK"
                };
                s2.lock()
                    .expect("lock")
                    .push((path, String::from_utf8_lossy(&body).into_owned()));
                let _ = conn.write_all(
                    format!(
                        "HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                    )
                    .as_bytes(),
                );
            }
        });
        Receiver { port, seen }
    }

    pub(crate) fn requests(&self) -> Vec<(String, String)> {
        self.seen.lock().expect("lock").clone()
    }
}

#[test]
fn notifications_reach_a_local_receiver_without_secrets() {
    let env = Env::start();
    let rx = Receiver::start();
    let slack = format!(
        "http://127.0.0.1:{}/services/T000/B000/sl4ckT0kenXYZ",
        rx.port
    );
    let hook = format!("http://127.0.0.1:{}/flaky/hookS3cretABC", rx.port);
    let text = [
        HEADER.to_string(),
        "[notify]\nwebhook = \"${env:SLACK_WEBHOOK_URL}\"\njson_webhook = \"${env:HOOK_URL}\"\non = \"change\"\nlink = \"https://ci.example.invalid/run\"\n\n".to_string(),
        http_item("smoke.health", "/status/503", ""),
        http_item("steady", "/api/health", ""),
    ]
    .concat();
    let f = env.write("notify.toml", &text);
    let envs = [
        ("SLACK_WEBHOOK_URL", slack.as_str()),
        ("HOOK_URL", hook.as_str()),
    ];
    let o = run_with(&env, &f, &["--format", "json"], &envs);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let all = format!("{}{}", stdout(&o), stderr(&o));
    for secret in ["sl4ckT0kenXYZ", "hookS3cretABC", "/services/T000"] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }
    let reqs = rx.requests();
    // Slack once; the JSON hook twice (a 500, then the retry).
    assert_eq!(reqs.len(), 3, "{reqs:?}");
    let (path, body) = reqs
        .iter()
        .find(|(p, _)| p.starts_with("/services"))
        .expect("slack");
    assert_eq!(path, "/services/T000/B000/sl4ckT0kenXYZ");
    let v: serde_json::Value = serde_json::from_str(body).expect("slack JSON");
    let t = v["text"].as_str().expect("text");
    assert!(t.contains("NO-GO"), "{t}");
    assert!(t.contains("score 50%"), "{t}");
    assert!(t.contains("Failing critical: `smoke.health`"), "{t}");
    assert!(
        t.contains("<https://ci.example.invalid/run|View the report>"),
        "{t}"
    );
    let generic: Vec<_> = reqs
        .iter()
        .filter(|(p, _)| p.starts_with("/flaky"))
        .collect();
    assert_eq!(generic.len(), 2);
    let v: serde_json::Value = serde_json::from_str(&generic[1].1).expect("json");
    assert_eq!(v["verdict"], "no-go");
    assert_eq!(v["score"], 50);
    assert_eq!(v["failing_critical"][0]["id"], "smoke.health");
    assert_eq!(v["run_id"], 1);
    for (_, body) in &reqs {
        assert!(
            !body.contains("sl4ckT0kenXYZ") && !body.contains("hookS3cretABC"),
            "{body}"
        );
    }

    // Same outcome again: on = "change" stays quiet.
    let o = run_with(&env, &f, &[], &envs);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(rx.requests().len(), 3);

    // A receiver that is down: reported (host only), retried, verdict exit code kept.
    let closed = env.bed.closed_addr();
    let down = format!("http://{closed}/services/T1/B1/d0wnS3cret");
    let text = text.replace("on = \"change\"", "on = \"always\"");
    let f2 = env.write("notify2.toml", &text);
    let o = run_with(
        &env,
        &f2,
        &["--no-history"],
        &[("SLACK_WEBHOOK_URL", &down), ("HOOK_URL", &down)],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "warning: notification to http://{closed}/… failed"
        )),
        "{err}"
    );
    assert!(err.contains("(after 3 attempts)"), "{err}");
    assert!(
        !err.contains("d0wnS3cret") && !stdout(&o).contains("d0wnS3cret"),
        "{err}"
    );
}

#[test]
fn corrupt_history_is_reported_and_left_untouched() {
    let env = Env::start();
    let text = [HEADER.to_string(), http_item("steady", "/api/health", "")].concat();
    let f = env.write("c.toml", &text);
    let db = env.dir.path().join(".preflight/history.db");
    std::fs::create_dir_all(db.parent().expect("dir")).expect("mkdir");
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 31 % 253) as u8).collect();
    std::fs::write(&db, &garbage).expect("write");
    let o = run_with(&env, &f, &[], &[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("GO"),
        "the report is still printed: {}",
        stdout(&o)
    );
    let err = stderr(&o);
    assert!(
        err.contains("is corrupt or not a preflight history"),
        "{err}"
    );
    assert!(err.contains("left untouched"), "{err}");
    assert_eq!(std::fs::read(&db).expect("read"), garbage);
    for args in [
        vec!["history", f.to_str().expect("utf8")],
        vec!["diff", "--checklist", f.to_str().expect("utf8")],
        vec!["show", "1", "--checklist", f.to_str().expect("utf8")],
    ] {
        let o = cmd(&args);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("corrupt"), "{}", stderr(&o));
    }
    assert_eq!(std::fs::read(&db).expect("read"), garbage);
    let names: Vec<_> = std::fs::read_dir(db.parent().expect("dir"))
        .expect("ls")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 1, "no -wal or -shm beside it: {names:?}");
}

#[test]
fn prometheus_format_for_the_textfile_collector() {
    let env = Env::start();
    let text = [
        HEADER.to_string(),
        http_item(
            "smoke.health",
            "/api/health",
            "section = \"12. \\\"Smoke\\\"\"\n",
        ),
    ]
    .concat();
    let f = env.write("p.toml", &text);
    let out = env.dir.path().join("preflight.prom");
    let o = run_with(
        &env,
        &f,
        &[
            "--format",
            "prometheus",
            "--output",
            out.to_str().expect("utf8"),
            "--phase",
            "post-launch",
            "--no-history",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).expect("prom file");
    assert!(
        text.contains(
            "preflight_verdict{checklist=\"e2e\",environment=\"default\",phase=\"post-launch\"} 1\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "preflight_score{checklist=\"e2e\",environment=\"default\",phase=\"post-launch\"} 100\n"
        ),
        "{text}"
    );
    assert!(text.contains("preflight_item_passed{id=\"smoke.health\",section=\"12. \\\"Smoke\\\"\",severity=\"critical\",status=\"pass\"} 1\n"), "{text}");
    assert!(
        text.contains("preflight_item_duration_seconds{id=\"smoke.health\"} "),
        "{text}"
    );
}

#[test]
fn postgres_store_records_lists_and_diffs() {
    let cluster = preflight_testbed::postgres::Cluster::start()
        .expect("PostgreSQL test cluster (install postgresql)");
    let dsn = cluster.dsn();
    let env = Env::start();
    let f = changing_checklist(&env);
    let f_s = f.to_str().expect("utf8");
    for phase in ["launch", "post-launch"] {
        let o = run_with(&env, &f, &["--phase", phase, "--store", &dsn], &[]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("recorded as run"), "{err}");
        assert!(err.contains("postgres://postgres:****@127.0.0.1"), "{err}");
        assert!(!err.contains(cluster.password()), "{err}");
    }
    assert!(
        !env.dir.path().join(".preflight").exists(),
        "nothing written beside the checklist"
    );
    let o = cmd(&["history", f_s, "--store", &dsn, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o).as_array().expect("runs").len(), 2);
    let o = cmd(&[
        "diff",
        "--checklist",
        f_s,
        "--store",
        &dsn,
        "--baseline",
        "phase:launch",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains("✘ blip  pass → fail"), "{}", stdout(&o));
    let o = cmd(&["show", "2", "--store", &dsn, "--format", "json"]);
    assert_eq!(item(&json(&o), "warm")["status"], "pass");
    // The password comes from the environment in scheduled runs.
    let o = Command::new(bin())
        .args(["history", f_s])
        .env("PREFLIGHT_STORE", &dsn)
        .output()
        .expect("history");
    assert!(stdout(&o).contains("post-launch"), "{}", stderr(&o));
}
