//! The engine: loading, verdicts, exit codes, runner behaviour, http probe, secrets.

use std::time::{Duration, Instant};

use crate::support::*;

fn http_item(id: &str, extra: &str) -> String {
    format!("[[item]]\nid = \"{id}\"\nprobe = \"http\"\nca = \"${{ca}}\"\n{extra}\n\n")
}

#[test]
fn pass_on_health_endpoint() {
    let env = Env::start();
    let f = env.write("c.toml", &format!("{HEADER}{}", http_item("h", "url = \"${api}/api/health\"\nexpect = [\"status == 200\", \"json.status == 'healthy'\"]")));
    let o = env.run(&f, &["--format", "json"]);
    let r = json(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let h = item(&r, "h");
    assert_eq!(h["status"], "pass");
    assert_eq!(r["verdict"], "go");
    assert_eq!(r["score"], 100);
    assert_eq!(h["facts"]["tls_version"], "TLSv1.3");
    assert_eq!(h["facts"]["http_version"], "HTTP/2");
    assert_eq!(h["attempts"], 1);
    assert_eq!(h["expectations"][1]["ok"], true);
}

#[test]
fn fail_on_status_and_on_json_field_with_actual_values() {
    let env = Env::start();
    let text = format!(
        "{HEADER}{}{}",
        http_item(
            "status",
            "url = \"${api}/status/503\"\nexpect = [\"status == 200\"]"
        ),
        http_item(
            "field",
            "url = \"${api}/api/health\"\nexpect = [\"json.status == 'degraded'\", \"json.db.missing == 1\"]"
        ),
    );
    let f = env.write("c.toml", &text);
    let o = env.run(&f, &["--format", "json"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "normal items failing below pass_score 100 → NO-GO"
    );
    let r = json(&o);
    assert_eq!(item(&r, "status")["status"], "fail");
    assert_eq!(
        item(&r, "status")["reason"],
        "status == 200 — status was 503"
    );
    let field = item(&r, "field");
    assert_eq!(field["status"], "fail");
    let reason = field["reason"].as_str().expect("reason");
    assert!(reason.contains("json.status was \"healthy\""), "{reason}");
    assert!(reason.contains("json.db.missing was missing"), "{reason}");
}

#[test]
fn refused_and_hanging_targets_fail_with_reasons_within_the_timeout() {
    let env = Env::start();
    let text = format!(
        "{HEADER}{}{}{}",
        http_item("refused", "url = \"${closed}/\""),
        http_item("hang", "url = \"${hang}/\"\ntimeout = \"1s\""),
        http_item("slow", "url = \"${api}/hang\"\ntimeout = \"1s\""),
    );
    let f = env.write("c.toml", &text);
    let t0 = Instant::now();
    let o = env.run(&f, &["--format", "json"]);
    let took = t0.elapsed();
    let r = json(&o);
    assert!(
        item(&r, "refused")["reason"]
            .as_str()
            .expect("reason")
            .contains("connection refused"),
        "{r}"
    );
    assert_eq!(item(&r, "hang")["reason"], "timed out after 1s");
    assert_eq!(item(&r, "slow")["reason"], "timed out after 1s");
    assert!(
        took < Duration::from_secs(4),
        "took {took:?}: the timeout must bound the item"
    );
}

#[test]
fn missing_env_var_is_an_error_naming_it() {
    let env = Env::start();
    let f = env.write("c.toml", &format!("{HEADER}{}", http_item("e", "url = \"${api}/api/health\"\nheaders = { authorization = \"Bearer ${env:PREFLIGHT_TEST_UNSET_TOKEN}\" }")));
    let o = env.run(&f, &["--format", "json"]);
    let r = json(&o);
    assert_eq!(item(&r, "e")["status"], "error");
    assert_eq!(
        item(&r, "e")["reason"],
        "environment variable PREFLIGHT_TEST_UNSET_TOKEN is not set"
    );
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn needs_skip_critical_no_go_and_advisory_go() {
    let env = Env::start();
    let text = format!(
        "{HEADER}{}{}",
        http_item(
            "base",
            "url = \"${api}/status/500\"\nseverity = \"advisory\""
        ),
        http_item(
            "after",
            "url = \"${api}/api/health\"\nneeds = [\"base\"]\nseverity = \"advisory\""
        ),
    );
    let f = env.write("c.toml", &text);
    let o = env.run(&f, &["--format", "json"]);
    let r = json(&o);
    assert_eq!(item(&r, "after")["status"], "skip");
    assert_eq!(
        item(&r, "after")["reason"],
        "needs \"base\", which did not pass (fail)"
    );
    assert_eq!(r["verdict"], "go", "advisory failures never block GO");
    assert_eq!(o.status.code(), Some(0));

    let text = format!(
        "{HEADER}{}",
        http_item(
            "crit",
            "url = \"${api}/status/502\"\nseverity = \"critical\""
        )
    );
    let f = env.write(
        "d.toml",
        &text.replace("name = \"e2e\"", "name = \"e2e\"\npass_score = 0"),
    );
    let o = env.run(&f, &["--format", "json"]);
    let r = json(&o);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(r["verdict"], "no-go");
    assert_eq!(r["failing_critical"][0], "crit");
    // The human report ends with the verdict line naming the failing critical item.
    let o = env.run(&f, &[]);
    let last = stdout(&o).lines().last().unwrap_or_default().to_string();
    assert!(last.starts_with("NO-GO") && last.contains("crit"), "{last}");
}

#[test]
fn needs_outside_the_selection_is_ignored_and_reported() {
    let env = Env::start();
    let text = format!(
        "{HEADER}{}{}",
        http_item("dns", "url = \"${api}/status/500\""),
        http_item(
            "smoke",
            "url = \"${api}/api/health\"\nneeds = [\"dns\"]\ntags = [\"smoke\"]"
        ),
    );
    let f = env.write("c.toml", &text);
    let o = env.run(&f, &["--tag", "smoke", "--format", "json"]);
    let r = json(&o);
    assert_eq!(r["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(item(&r, "smoke")["status"], "pass");
    assert!(
        r["notes"][0]
            .as_str()
            .unwrap_or_default()
            .contains("ignored"),
        "{r}"
    );
}

#[test]
fn retries_and_within_retry_until_pass() {
    let env = Env::start();
    let text = format!(
        "{HEADER}{}{}{}",
        http_item("retry", "url = \"${api}/flaky/r/2\"\nretries = 2"),
        http_item("within", "url = \"${api}/flaky/w/3\"\nwithin = \"10s\""),
        http_item("gives-up", "url = \"${api}/flaky/g/5\"\nretries = 1"),
    );
    let f = env.write("c.toml", &text);
    let o = env.run(&f, &["--format", "json"]);
    let r = json(&o);
    assert_eq!(item(&r, "retry")["status"], "pass");
    assert_eq!(item(&r, "retry")["attempts"], 3);
    assert_eq!(item(&r, "within")["status"], "pass");
    assert_eq!(item(&r, "within")["attempts"], 4);
    assert_eq!(item(&r, "gives-up")["status"], "fail");
    assert_eq!(
        item(&r, "gives-up")["reason"],
        "status >= 200 && status < 300 — status was 503 (after 2 attempts)"
    );
}

#[test]
fn redirects_bodies_resolve_and_samples() {
    let env = Env::start();
    let port = env.bed.https_addr().port();
    let text = format!(
        "{HEADER}{}{}{}{}{}",
        http_item(
            "redir",
            "url = \"${api}/redirect/3\"\nexpect = [\"redirects.size() == 3\", \"url.endsWith('/redirect/0')\"]"
        ),
        http_item("loop", "url = \"${api}/redirect-loop\""),
        http_item(
            "nofollow",
            "url = \"${api}/redirect/1\"\nfollow_redirects = false\nexpect = [\"status == 302\", \"headers.location == '/redirect/0'\"]"
        ),
        http_item(
            "big",
            "url = \"${api}/big/3000000\"\nexpect = [\"body_truncated\", \"body.size() == 1048576\"]"
        ),
        http_item(
            "resolve",
            &format!(
                "url = \"https://api.demo.test:{port}/api/health\"\nresolve = \"127.0.0.1\"\nsamples = 10\nexpect = [\"status == 200\", \"count == 10\", \"error_rate == 0.0\", \"latency.p99 >= latency.p50\"]"
            )
        ),
    );
    let f = env.write("c.toml", &text);
    let o = env.run(&f, &["--format", "json"]);
    let r = json(&o);
    for id in ["redir", "nofollow", "big", "resolve"] {
        assert_eq!(item(&r, id)["status"], "pass", "{id}: {}", item(&r, id));
    }
    assert!(
        item(&r, "loop")["reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("too many redirects"),
        "{r}"
    );
}

#[test]
fn bad_certificate_fails_and_insecure_skips_the_check() {
    let env = Env::start();
    // No `ca`: the testbed's private CA is not trusted.
    let text = format!(
        "{HEADER}[[item]]\nid = \"untrusted\"\nprobe = \"http\"\nurl = \"${{api}}/api/health\"\n\n[[item]]\nid = \"insecure\"\nprobe = \"http\"\nurl = \"${{api}}/api/health\"\ninsecure = true\n"
    );
    let f = env.write("c.toml", &text);
    let o = env.run(&f, &["--format", "json"]);
    let r = json(&o);
    let reason = item(&r, "untrusted")["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(item(&r, "untrusted")["status"], "fail");
    assert!(
        reason.contains("TLS") && reason.contains("certificate"),
        "{reason}"
    );
    assert_eq!(item(&r, "insecure")["status"], "pass");
}

#[test]
fn env_secret_never_appears_in_any_output() {
    let env = Env::start();
    let secret = "tok_9f8e7d6c5b4a-very-secret";
    let text = format!(
        "{}{}{}",
        HEADER.replace(
            "[vars]\n",
            "[vars]\ntoken = \"${env:PREFLIGHT_E2E_TOKEN}\"\n"
        ),
        // The echo endpoint returns the request headers in its body: the secret comes back.
        http_item(
            "echo",
            "url = \"${api}/echo?t=${token}\"\nheaders = { x-custom = \"${token}\", authorization = \"Bearer ${token}\" }\nexpect = [\"json.headers['x-custom'] == 'nope'\"]"
        ),
        http_item("bad-url", "url = \"${api}/status/500?token=${token}\""),
    );
    let f = env.write("c.toml", &text);
    let dir = env.dir.path();
    let mut cmd = std::process::Command::new(bin());
    cmd.arg("run")
        .arg(&f)
        .args(env.var_args())
        .arg("--no-progress")
        .env("PREFLIGHT_E2E_TOKEN", secret);
    cmd.args(["--format", "json", "--output"])
        .arg(dir.join("r.json"))
        .args(["--format", "human"]);
    let o = cmd.output().expect("run");
    let json_text = std::fs::read_to_string(dir.join("r.json")).expect("json written");
    let everything = format!("{}{}{}", stdout(&o), stderr(&o), json_text);
    assert!(
        json_text.contains("****"),
        "the secret shows as ****: {json_text}"
    );
    assert!(!everything.contains(secret), "secret leaked:\n{everything}");
    assert!(
        !everything.contains("9f8e7d6c5b4a"),
        "part of the secret leaked"
    );
    let r: serde_json::Value = serde_json::from_str(&json_text).expect("json");
    assert_eq!(item(&r, "echo")["status"], "fail");
}

#[test]
fn invalid_checklist_exits_2_with_every_problem_and_runs_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("bad.toml");
    let text = "[checklist]\nname = \"x\"\npass_scor = 90\n\n[[item]]\nid = \"a\"\nprobe = \"http\"\nurll = \"http://127.0.0.1:1\"\n\n[[item]]\nid = \"a\"\nprobe = \"htp\"\n\n[[item]]\nid = \"c\"\nprobe = \"http\"\nurl = \"http://127.0.0.1:1\"\nneeds = [\"zz\"]\nexpect = [\"stauts == 200\", \"status ==\"]\n";
    std::fs::write(&f, text).expect("write");
    for cmd in ["check", "run"] {
        let o = preflight(&[cmd, f.to_str().expect("utf8")], &[]);
        assert_eq!(o.status.code(), Some(2), "{cmd}");
        let err = stderr(&o);
        for want in [
            "bad.toml:3:1",
            "did you mean `pass_score`",
            "bad.toml:8:1",
            "did you mean `url`",
            "duplicate id",
            "unknown probe \"htp\"",
            "did you mean \"http\"",
            "needs unknown item \"zz\"",
            "reads `stauts`",
            "did you mean `status`",
            "does not parse",
        ] {
            assert!(err.contains(want), "{cmd}: missing {want:?} in:\n{err}");
        }
        assert!(stdout(&o).is_empty(), "nothing runs");
    }
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("c.toml");
    std::fs::write(&f, "[[item]]\nid = \"a\"\nmanual = true\n").expect("write");
    let p = f.to_str().expect("utf8");
    for args in [
        vec!["run", p, "--only", "nope"],
        vec!["run", p, "--env", "prod"],
        vec!["run", p, "--format", "yaml"],
        vec!["run", p, "--bogus"],
        vec!["run", "/nonexistent/x.toml"],
    ] {
        let o = preflight(&args, &[]);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn env_and_var_overrides_choose_the_target() {
    let env = Env::start();
    let text = "[checklist]\nname = \"e\"\n\n[vars]\nbase = \"${closed}\"\nclosed = \"x\"\n\n[environments.stage.vars]\nbase = \"${api_plain}\"\napi_plain = \"x\"\n\n[[item]]\nid = \"h\"\nprobe = \"http\"\nurl = \"${base}/api/health\"\n";
    let f = env.write("c.toml", text);
    let o = env.run(&f, &["--format", "json"]);
    assert_eq!(item(&json(&o), "h")["status"], "fail");
    let o = env.run(&f, &["--env", "stage", "--format", "json"]);
    let r = json(&o);
    assert_eq!(item(&r, "h")["status"], "pass", "{r}");
    assert_eq!(r["environment"], "stage");
}

#[test]
fn check_lists_env_refs_without_needing_secrets() {
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("c.toml");
    std::fs::write(&f, "[vars]\ntoken = \"${env:PREFLIGHT_CHECK_UNSET}\"\n\n[[item]]\nid = \"a\"\nprobe = \"http\"\nurl = \"http://127.0.0.1:1/?t=${token}\"\n").expect("write");
    let o = preflight(
        &["check", f.to_str().expect("utf8")],
        &[("PREFLIGHT_CHECK_SET", "x")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("PREFLIGHT_CHECK_UNSET") && out.contains("unset"),
        "{out}"
    );
}

#[test]
fn every_config_file_passes_check_and_rejects_a_stray_key() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let mut files = Vec::new();
    let mut stack = vec![root];
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
    assert!(!files.is_empty());
    let tmp = tempfile::tempdir().expect("tmp");
    for f in files {
        let p = f.to_str().expect("utf8");
        let o = preflight(&["check", p], &[]);
        assert_eq!(o.status.code(), Some(0), "{p}: {}", stderr(&o));
        // A stray key in the first item must be rejected with its line.
        let text = std::fs::read_to_string(&f).expect("read");
        let Some(pos) = text.find("[[item]]\n") else {
            continue;
        };
        let stray = format!(
            "{}[[item]]\nstray_key_xyz = 1\n{}",
            &text[..pos],
            &text[pos + 9..]
        );
        let copy = tmp.path().join(f.file_name().expect("name"));
        std::fs::write(&copy, stray).expect("write");
        let o = preflight(&["check", copy.to_str().expect("utf8")], &[]);
        assert_eq!(o.status.code(), Some(2), "{p} with a stray key");
        assert!(
            stderr(&o).contains("unknown key `stray_key_xyz`"),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn demo_runs_the_testbed_sweep() {
    let o = preflight(&["demo", "--format", "json"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(item(&r, "smoke.health")["status"], "pass");
    assert_eq!(item(&r, "bad.refused")["status"], "fail");
    assert_eq!(r["verdict"], "go");
}

#[test]
fn ctrl_c_reports_what_finished_and_exits_1() {
    let env = Env::start();
    let text = format!(
        "{HEADER}{}{}",
        http_item("quick", "url = \"${api}/api/health\""),
        http_item("stuck", "url = \"${api}/hang\"\ntimeout = \"60s\""),
    );
    let f = env.write("c.toml", &text);
    let mut child = std::process::Command::new(bin())
        .arg("run")
        .arg(&f)
        .args(env.var_args())
        .args(["--no-progress", "--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(1500));
    let t0 = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "Ctrl-C must stop the run promptly"
    );
    assert_eq!(status.code(), Some(1));
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut out)
        .expect("read");
    let r: serde_json::Value = serde_json::from_str(&out).expect("a JSON report is still written");
    assert_eq!(r["interrupted"], true);
    assert_eq!(item(&r, "quick")["status"], "pass");
    assert_eq!(item(&r, "stuck")["status"], "error");
    assert!(
        item(&r, "stuck")["reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("cancelled")
    );
}
