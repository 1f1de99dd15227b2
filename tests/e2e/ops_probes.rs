//! The env, tcp, redis, prometheus and command probes through the binary: facts,
//! default expectations, hostile targets, timeouts, and secrets in every format.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

const FORMATS: [&str; 4] = ["human", "json", "junit", "markdown"];

/// Runs `preflight run FILE --no-progress extra…` with extra environment variables.
fn run_with_env(file: &std::path::Path, extra: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.arg("run").arg(file).arg("--no-progress").args(extra);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run preflight")
}

/// Asserts that no secret appears in any report format, stdout or stderr.
fn assert_never_shown(file: &std::path::Path, envs: &[(&str, &str)], secrets: &[&str]) {
    for format in FORMATS {
        let o = run_with_env(file, &["--format", format], envs);
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{format}: {}",
            stderr(&o)
        );
        let all = format!("{}{}", stdout(&o), stderr(&o));
        for s in secrets {
            assert!(!all.contains(s), "{format} shows the secret {s}:\n{all}");
        }
    }
}

const TOP: &str = "[checklist]\nname = \"ops\"\ntimeout = \"5s\"\n\n";

#[test]
fn tcp_open_closed_and_silent_ports() {
    let env = Env::start();
    let f = env.write(
        "tcp.toml",
        &format!(
            "{TOP}[vars]\nclosed_port = \"{}\"\n\n[[item]]\nid = \"open\"\nprobe = \"tcp\"\nhost = \"127.0.0.1\"\nport = {}\nexpect = [\"connected\", \"latency_ms < 1000\", \"banner == null\"]\n\n\
             [[item]]\nid = \"closed\"\nprobe = \"tcp\"\nhost = \"127.0.0.1\"\nport = \"${{closed_port}}\"\n\n\
             [[item]]\nid = \"must-be-closed\"\nprobe = \"tcp\"\nhost = \"127.0.0.1\"\nport = {}\nexpect = [\"!connected\"]\n",
            env.bed.closed_addr().port(),
            env.bed.hang_addr().port(),
            env.bed.closed_addr().port(),
        ),
    );
    let t0 = Instant::now();
    let o = env.run(&f, &["--format", "json"]);
    let r = json(&o);
    assert_eq!(item(&r, "open")["status"], "pass", "{r}");
    assert_eq!(item(&r, "open")["facts"]["connected"], true);
    let closed = item(&r, "closed");
    assert_eq!(closed["status"], "fail");
    assert_eq!(closed["facts"]["error"], "connection refused");
    assert!(
        closed["reason"]
            .as_str()
            .expect("reason")
            .contains("connected"),
        "{closed}"
    );
    assert_eq!(item(&r, "must-be-closed")["status"], "pass");
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
}

/// Whether any process still runs with `marker` in its command line.
fn running(marker: &str) -> bool {
    std::fs::read_dir("/proc")
        .expect("proc")
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .any(|c| {
            String::from_utf8_lossy(&c)
                .replace('\0', " ")
                .contains(marker)
        })
}

#[test]
fn command_exit_codes_output_and_timeout_kill_the_group() {
    let dir = tempfile::tempdir().expect("tmp");
    let marker = "sleep 100.0913";
    let f = dir.path().join("cmd.toml");
    std::fs::write(
        &f,
        format!(
            "{TOP}[[item]]\nid = \"ok\"\nprobe = \"command\"\nargv = [\"sh\", \"-c\", \"echo ready; echo warn >&2\"]\nexpect = [\"exit_code == 0\", \"stdout.contains('ready')\", \"stderr == 'warn\\\\n'\"]\n\n\
             [[item]]\nid = \"exit3\"\nprobe = \"command\"\nshell = \"exit 3\"\n\n\
             [[item]]\nid = \"hangs\"\nprobe = \"command\"\nshell = \"{marker} & {marker}\"\ntimeout = \"1s\"\n\n\
             [[item]]\nid = \"missing\"\nprobe = \"command\"\nargv = [\"/nonexistent/preflight-no-such-tool\"]\n"
        ),
    )
    .expect("write");
    let t0 = Instant::now();
    let o = run_with_env(&f, &["--format", "json"], &[]);
    let r = json(&o);
    assert_eq!(item(&r, "ok")["status"], "pass", "{r}");
    assert_eq!(item(&r, "exit3")["status"], "fail");
    assert!(
        item(&r, "exit3")["reason"]
            .as_str()
            .expect("reason")
            .contains("exit_code was 3"),
        "{r}"
    );
    let hangs = item(&r, "hangs");
    assert_eq!(hangs["status"], "fail");
    assert!(
        hangs["reason"]
            .as_str()
            .expect("reason")
            .contains("timed out"),
        "{hangs}"
    );
    assert_eq!(item(&r, "missing")["status"], "error");
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert!(
        !running(marker),
        "the timed-out command's processes survived"
    );
}

#[test]
fn command_output_is_redacted_in_every_format() {
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("cmd.toml");
    std::fs::write(
        &f,
        format!(
            "{TOP}[[item]]\nid = \"leaky\"\nprobe = \"command\"\nshell = \"echo deploy token is $DEPLOY_TOKEN; echo $DEPLOY_TOKEN >&2; exit 1\"\nenv = {{ DEPLOY_TOKEN = \"${{env:PF_DEPLOY_TOKEN}}\" }}\nexpect = [\"exit_code == 0\", \"stdout == ''\"]\n"
        ),
    )
    .expect("write");
    let secret = "dtok-7f3a9c21e5b8";
    let o = run_with_env(&f, &["--format", "json"], &[("PF_DEPLOY_TOKEN", secret)]);
    let r = json(&o);
    let leaky = item(&r, "leaky");
    assert_eq!(leaky["status"], "fail");
    assert_eq!(
        leaky["facts"]["stdout"], "deploy token is ****\n",
        "{leaky}"
    );
    assert_never_shown(&f, &[("PF_DEPLOY_TOKEN", secret)], &[secret]);
}

#[test]
fn env_from_the_process_environment_never_shows_values() {
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("env.toml");
    std::fs::write(
        &f,
        format!(
            "{TOP}[[item]]\nid = \"stripe.live\"\nprobe = \"env\"\nnames = [\"PF_STRIPE_SECRET_KEY\"]\nprefix = \"sk_live_\"\n\n\
             [[item]]\nid = \"secrets.fresh\"\nprobe = \"env\"\nnames = [\"PF_SESSION_SECRET\", \"PF_ADMIN_SECRET\", \"PF_UNSET_SECRET\"]\nmin_length = 32\n\n\
             [[item]]\nid = \"secrets.entropy\"\nprobe = \"env\"\nnames = [\"PF_SESSION_SECRET\"]\nexpect = [\"entropy_bits.PF_SESSION_SECRET >= 128\"]\n"
        ),
    )
    .expect("write");
    let session = "Zq3v9XkP0rT7mW2bY5nL8cH1dF4gJ6sA0eR3tU7iO9p";
    let stripe = "sk_test_51HqLyjWDarjtT1zdp7dcX";
    let admin = "changeme-admin";
    let envs = [
        ("PF_STRIPE_SECRET_KEY", stripe),
        ("PF_SESSION_SECRET", session),
        ("PF_ADMIN_SECRET", admin),
    ];
    let o = run_with_env(&f, &["--format", "json"], &envs);
    let r = json(&o);
    let stripe_item = item(&r, "stripe.live");
    assert_eq!(stripe_item["status"], "fail", "{r}");
    assert_eq!(
        stripe_item["facts"]["wrong_prefix"],
        serde_json::json!(["PF_STRIPE_SECRET_KEY"])
    );
    let fresh = item(&r, "secrets.fresh");
    assert_eq!(fresh["status"], "fail");
    assert_eq!(
        fresh["facts"]["unset"],
        serde_json::json!(["PF_UNSET_SECRET"])
    );
    assert_eq!(
        fresh["facts"]["placeholders"],
        serde_json::json!(["PF_ADMIN_SECRET"])
    );
    assert_eq!(
        fresh["facts"]["short"],
        serde_json::json!(["PF_ADMIN_SECRET"])
    );
    assert_eq!(item(&r, "secrets.entropy")["status"], "pass", "{r}");
    assert_never_shown(&f, &envs, &[session, stripe, admin]);
}

#[test]
fn env_dotenv_file_reused_from_stage() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("production.env"),
        "SESSION_SECRET=Zq3v9XkP0rT7mW2bY5nL8cH1dF4gJ6sA0eR3tU7iO9p\nSUMSUB_SECRET_KEY=prd:Hk29dLq0Pz7wXr4T\nKICK_CLIENT_SECRET=kick-shared-6c1e90b7d2a4\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("stage.env"),
        "SESSION_SECRET=stage-only-4b8e1f0c9d2a7e3b6f5a\nSUMSUB_SECRET_KEY=sbx:Ab12Cd34Ef56\nKICK_CLIENT_SECRET=kick-shared-6c1e90b7d2a4\n",
    )
    .expect("write");
    let f = dir.path().join("env.toml");
    std::fs::write(
        &f,
        format!(
            "{TOP}[vars]\ndir = \"{}\"\n\n[[item]]\nid = \"not-reused\"\nprobe = \"env\"\nnames = [\"SESSION_SECRET\", \"KICK_CLIENT_SECRET\"]\nfile = \"${{dir}}/production.env\"\nsame_as = \"${{dir}}/stage.env\"\n\n\
             [[item]]\nid = \"sumsub.prd\"\nprobe = \"env\"\nnames = [\"SUMSUB_SECRET_KEY\"]\nfile = \"${{dir}}/production.env\"\nprefix = \"prd:\"\n\n\
             [[item]]\nid = \"no-file\"\nprobe = \"env\"\nnames = [\"X\"]\nfile = \"${{dir}}/missing.env\"\n",
            dir.path().display()
        ),
    )
    .expect("write");
    let o = run_with_env(&f, &["--format", "json"], &[]);
    let r = json(&o);
    let reused = item(&r, "not-reused");
    assert_eq!(reused["status"], "fail", "{r}");
    assert_eq!(
        reused["facts"]["reused"],
        serde_json::json!(["KICK_CLIENT_SECRET"])
    );
    assert!(
        reused["reason"]
            .as_str()
            .expect("reason")
            .contains("KICK_CLIENT_SECRET"),
        "{reused}"
    );
    assert_eq!(item(&r, "sumsub.prd")["status"], "pass", "{r}");
    assert_eq!(item(&r, "no-file")["status"], "error");
    assert_never_shown(
        &f,
        &[],
        &[
            "Zq3v9XkP0rT7",
            "Hk29dLq0Pz7wXr4T",
            "kick-shared-6c1e90b7d2a4",
            "stage-only-4b8e",
            "Ab12Cd34Ef56",
        ],
    );
}

/// redis-server with a password on a free loopback port; killed on drop.
struct Redis {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn redis(password: &str) -> Redis {
    let dir = tempfile::tempdir().expect("tmp");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--dir", &dir.path().display().to_string()])
        .args(["--requirepass", password])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server must be installed (scripts/test.sh installs it)");
    let r = Redis {
        child,
        port,
        _dir: dir,
    };
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "redis-server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    r
}

#[test]
fn redis_healthy_and_url_password_never_shown() {
    let password = "rds-pw-83c1f0a9";
    let srv = redis(password);
    let port = srv.port;
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("redis.toml");
    std::fs::write(
        &f,
        format!(
            "{TOP}[[item]]\nid = \"redis.healthy\"\nprobe = \"redis\"\nurl = \"redis://:{password}@127.0.0.1:{port}/0\"\nexpect = [\"pong\", \"role == 'master'\", \"used_memory > 0\"]\n\n\
             [[item]]\nid = \"redis.wrong\"\nprobe = \"redis\"\nurl = \"redis://default:not-{password}@127.0.0.1:{port}\"\n\n\
             [[item]]\nid = \"redis.hang\"\nprobe = \"redis\"\nurl = \"redis://127.0.0.1:{{hang_port}}\"\ntimeout = \"1s\"\n"
        )
        .replace("{hang_port}", &hang_port()),
    )
    .expect("write");
    let o = run_with_env(&f, &["--format", "json"], &[]);
    let r = json(&o);
    assert_eq!(item(&r, "redis.healthy")["status"], "pass", "{r}");
    let wrong = item(&r, "redis.wrong");
    assert_eq!(wrong["status"], "fail");
    assert!(
        wrong["facts"]["error"]
            .as_str()
            .expect("error")
            .contains("WRONGPASS"),
        "{wrong}"
    );
    let hang = item(&r, "redis.hang");
    assert_eq!(hang["status"], "fail");
    assert!(
        hang["reason"]
            .as_str()
            .expect("reason")
            .contains("timed out"),
        "{hang}"
    );
    assert_never_shown(&f, &[], &[password]);
}

/// A loopback port that accepts and never answers, for the lifetime of the test binary.
fn hang_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    port.to_string()
}

#[test]
fn prometheus_garbage_fails_and_bad_options_are_checklist_errors() {
    let env = Env::start();
    let f = env.write(
        "prom.toml",
        &format!(
            "{HEADER}[[item]]\nid = \"not-prometheus\"\nprobe = \"prometheus\"\nurl = \"${{api_plain}}\"\nquery = \"up\"\n\n\
             [[item]]\nid = \"am-hangs\"\nprobe = \"prometheus\"\nalertmanager = \"${{hang}}\"\nmatch = {{ severity = \"P0\" }}\ntimeout = \"1s\"\n"
        ),
    );
    let o = env.run(&f, &["--format", "json"]);
    let r = json(&o);
    let np = item(&r, "not-prometheus");
    assert_eq!(np["status"], "fail", "{r}");
    assert!(
        np["reason"]
            .as_str()
            .expect("reason")
            .contains("not a Prometheus API response"),
        "{np}"
    );
    assert_eq!(item(&r, "am-hangs")["status"], "fail");

    let bad = env.write(
        "bad.toml",
        "[checklist]\nname = \"x\"\n\n[[item]]\nid = \"p\"\nprobe = \"prometheus\"\nurl = \"http://127.0.0.1:9\"\nmatch = { severity = \"P0\" }\n",
    );
    let o = preflight(&["check", bad.to_str().expect("utf8")], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("alertmanager"), "{}", stderr(&o));
}

#[test]
fn ops_example_checklist_is_valid() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/ops.toml");
    let o = preflight(&["check", file], &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}
