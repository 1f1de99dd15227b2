//! The `command` probe: run a local command and report its exit code, output and
//! duration.
//!
//! `argv = ["npx", "tsc", "--noEmit"]` runs the program directly (no shell);
//! `shell = "pg_restore -l backup.dump | grep -c TABLE"` runs `sh -c` on the string, only
//! when asked. The command runs in its own process group. When the attempt ends — the
//! command exited, or the item timed out and the runner dropped the attempt — every
//! process left in that group is killed, so `sleep 100 &` leaves nothing behind.
//! stdout and stderr are read concurrently and kept up to 64 KiB each (the rest is
//! read and discarded, so a flood cannot block the child); the runner redacts secrets
//! in them like everywhere else.
//!
//! ```toml
//! [[item]]
//! id = "build.typecheck"
//! probe = "command"
//! argv = ["npx", "tsc", "--noEmit"]
//! cwd = "api"
//! timeout = "5m"
//! expect = ["exit_code == 0", "stdout == ''"]
//! ```

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use preflight_core::probe::{BoxFuture, OptionProblem, parse_options};
use preflight_core::{Facts, Failure, Observer, Options, Probe, ProbeDescriptor};
use serde::Deserialize;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

/// stdout and stderr are each kept up to this many bytes.
pub const OUTPUT_CAP: usize = 64 * 1024;
/// After the command exits, output still buffered is read for at most this long.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

static DESCRIPTOR: ProbeDescriptor = ProbeDescriptor {
    name: "command",
    options: &["argv", "shell", "cwd", "env"],
    facts: &[
        "exit_code",
        "signal",
        "stdout",
        "stderr",
        "stdout_truncated",
        "stderr_truncated",
        "duration_ms",
    ],
    secret_options: &[],
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandOptions {
    #[serde(default)]
    argv: Option<Vec<String>>,
    #[serde(default)]
    shell: Option<String>,
    #[serde(default)]
    cwd: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
}

impl CommandOptions {
    /// The program and its arguments: `argv`, or `sh -c SHELL`.
    fn program(&self) -> Result<Vec<String>, String> {
        match (&self.argv, &self.shell) {
            (Some(_), Some(_)) => Err("give either `argv` or `shell`, not both".into()),
            (None, None) => Err(
                "give `argv` (e.g. argv = [\"npx\", \"tsc\", \"--noEmit\"]) or `shell` (a string for sh -c)"
                    .into(),
            ),
            (Some(argv), None) => {
                if argv.first().is_none_or(|p| p.is_empty()) {
                    Err("argv must start with a program name".into())
                } else {
                    Ok(argv.clone())
                }
            }
            (None, Some(s)) => Ok(vec!["sh".into(), "-c".into(), s.clone()]),
        }
    }
}

/// The command probe.
#[derive(Debug, Default)]
pub struct CommandProbe;

impl CommandProbe {
    /// A new probe.
    pub fn new() -> CommandProbe {
        CommandProbe
    }
}

impl Probe for CommandProbe {
    fn descriptor(&self) -> &'static ProbeDescriptor {
        &DESCRIPTOR
    }

    fn check(&self, options: &Options) -> Vec<OptionProblem> {
        let opts: CommandOptions = match parse_options(options) {
            Ok(o) => o,
            Err(p) => return vec![p],
        };
        match opts.program() {
            Ok(_) => Vec::new(),
            Err(message) => vec![OptionProblem {
                key: Some(
                    if opts.shell.is_some() {
                        "shell"
                    } else {
                        "argv"
                    }
                    .into(),
                ),
                message,
            }],
        }
    }

    fn default_expect(&self, _: &Options) -> Vec<String> {
        vec!["exit_code == 0".into()]
    }

    fn prepare(&self, options: &Options) -> Result<Arc<dyn Observer>, String> {
        let opts: CommandOptions = parse_options(options).map_err(|p| p.message)?;
        let program = opts.program()?;
        Ok(Arc::new(CommandObserver {
            program,
            cwd: opts.cwd.map(PathBuf::from),
            env: opts.env,
        }))
    }
}

struct CommandObserver {
    program: Vec<String>,
    cwd: Option<PathBuf>,
    env: BTreeMap<String, String>,
}

/// Kills the command's whole process group when dropped: on the normal path after
/// the command exited (stragglers it left behind), and when the runner drops the
/// attempt on timeout.
struct GroupGuard(Pid);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        // ESRCH (nothing left in the group) is the common, harmless case.
        let _ = killpg(self.0, Signal::SIGKILL);
    }
}

impl Observer for CommandObserver {
    fn host(&self) -> Option<String> {
        None
    }

    fn observe(&self) -> BoxFuture<'_, Result<Facts, Failure>> {
        Box::pin(self.run())
    }
}

impl CommandObserver {
    async fn run(&self) -> Result<Facts, Failure> {
        let mut cmd = Command::new(&self.program[0]);
        cmd.args(&self.program[1..])
            .envs(&self.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        let t0 = Instant::now();
        let mut child = cmd.spawn().map_err(|e| {
            let what = match &self.cwd {
                Some(dir) if !dir.is_dir() => {
                    format!("cwd {} is not a directory", dir.display())
                }
                _ => e.to_string(),
            };
            Failure::Probe(format!("failed to start `{}`: {what}", self.program[0]))
        })?;
        let guard = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(|id| GroupGuard(Pid::from_raw(id)));
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let out_task = tokio::spawn(read_capped(stdout));
        let err_task = tokio::spawn(read_capped(stderr));
        // If this future is dropped (timeout), these abort the readers too.
        let out_task = AbortOnDrop(out_task);
        let err_task = AbortOnDrop(err_task);
        let status = child
            .wait()
            .await
            .map_err(|e| Failure::Probe(format!("failed to wait for the command: {e}")))?;
        let duration = t0.elapsed();
        // Kill stragglers that still hold the pipes (`sleep 100 &`), then collect
        // what is buffered.
        drop(guard);
        let (stdout, out_cut) = drained(out_task).await;
        let (stderr, err_cut) = drained(err_task).await;

        let signal = status.signal();
        let exit_code = status
            .code()
            .or_else(|| signal.map(|s| 128 + s))
            .unwrap_or(-1);
        let mut facts = Facts::new();
        facts.insert("exit_code".into(), json!(exit_code));
        facts.insert("signal".into(), json!(signal));
        facts.insert("stdout".into(), json!(stdout));
        facts.insert("stderr".into(), json!(stderr));
        facts.insert("stdout_truncated".into(), json!(out_cut));
        facts.insert("stderr_truncated".into(), json!(err_cut));
        facts.insert(
            "duration_ms".into(),
            json!((duration.as_secs_f64() * 10_000.0).round() / 10.0),
        );
        Ok(facts)
    }
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Output collected so far: bytes kept and whether more was discarded.
type Captured = (Vec<u8>, bool);

/// Waits briefly for a reader to reach EOF; the output as text and the cut flag.
async fn drained(mut task: AbortOnDrop<Captured>) -> (String, bool) {
    let (bytes, cut) = match tokio::time::timeout(DRAIN_GRACE, &mut task.0).await {
        Ok(Ok(captured)) => captured,
        // A process outside the group still holds the pipe: keep nothing rather than
        // wait; the reader is aborted when `task` drops.
        _ => (Vec::new(), true),
    };
    (String::from_utf8_lossy(&bytes).into_owned(), cut)
}

/// Reads a stream to EOF, keeping the first [`OUTPUT_CAP`] bytes.
async fn read_capped<R: AsyncRead + Unpin>(stream: Option<R>) -> Captured {
    let Some(mut stream) = stream else {
        return (Vec::new(), false);
    };
    let mut kept = Vec::new();
    let mut cut = false;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = OUTPUT_CAP - kept.len();
                if n > room {
                    cut = true;
                }
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    (kept, cut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn observer(v: Value) -> Arc<dyn Observer> {
        let opts: Options = serde_json::from_value(v).expect("options");
        assert!(CommandProbe::new().check(&opts).is_empty());
        CommandProbe::new().prepare(&opts).expect("prepare")
    }

    #[tokio::test]
    async fn argv_runs_without_a_shell() {
        let f = observer(json!({"argv": ["echo", "$HOME", "a b"]}))
            .observe()
            .await
            .expect("facts");
        assert_eq!(f["exit_code"], 0);
        // No shell: `$HOME` is passed literally.
        assert_eq!(f["stdout"], "$HOME a b\n");
        assert_eq!(f["stderr"], "");
        assert_eq!(f["signal"], Value::Null);
        assert!(f["duration_ms"].as_f64().expect("ms") < 5000.0);
    }

    #[tokio::test]
    async fn shell_env_cwd_and_exit_code() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("marker"), "x").expect("write");
        let f = observer(json!({
            "shell": "ls; echo \"$GREETING\" >&2; exit 3",
            "cwd": dir.path(),
            "env": {"GREETING": "hello"}
        }))
        .observe()
        .await
        .expect("facts");
        assert_eq!(f["exit_code"], 3);
        assert_eq!(f["stdout"], "marker\n");
        assert_eq!(f["stderr"], "hello\n");
    }

    #[tokio::test]
    async fn missing_program_is_an_error() {
        let e = observer(json!({"argv": ["/nonexistent/preflight-no-such-program"]}))
            .observe()
            .await
            .expect_err("fails");
        match e {
            Failure::Probe(r) => assert!(r.contains("failed to start"), "{r}"),
            other => panic!("{other:?}"),
        }
        let e = observer(json!({"argv": ["true"], "cwd": "/nonexistent/dir"}))
            .observe()
            .await
            .expect_err("fails");
        assert!(matches!(e, Failure::Probe(r) if r.contains("not a directory")));
    }

    #[tokio::test]
    async fn flood_on_both_streams_is_capped_without_deadlock() {
        let f = observer(json!({"shell": "head -c 1000000 /dev/zero | tr '\\0' o; head -c 1000000 /dev/zero | tr '\\0' e >&2; echo done >&2"}))
            .observe()
            .await
            .expect("facts");
        assert_eq!(f["exit_code"], 0);
        assert_eq!(f["stdout"].as_str().expect("text").len(), OUTPUT_CAP);
        assert_eq!(f["stdout_truncated"], true);
        assert_eq!(f["stderr"].as_str().expect("text").len(), OUTPUT_CAP);
        assert_eq!(f["stderr_truncated"], true);
    }

    #[tokio::test]
    async fn killed_by_signal_reports_128_plus_signal() {
        let f = observer(json!({"shell": "kill -TERM $$"}))
            .observe()
            .await
            .expect("facts");
        assert_eq!(f["signal"], 15);
        assert_eq!(f["exit_code"], 143);
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

    async fn gone(marker: &str) -> bool {
        for _ in 0..50 {
            if !running(marker) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_group() {
        // A unique sleep length marks this test's processes in /proc.
        let marker = "sleep 100.0421";
        let obs = observer(json!({"shell": format!("{marker} & {marker}; echo never")}));
        let t0 = Instant::now();
        let r = tokio::time::timeout(Duration::from_millis(500), obs.observe()).await;
        assert!(r.is_err(), "the command must still run at the timeout");
        assert!(t0.elapsed() < Duration::from_secs(2));
        assert!(gone(marker).await, "processes of the group survived");
    }

    #[tokio::test]
    async fn stragglers_are_killed_when_the_command_exits() {
        let marker = "sleep 100.0777";
        let t0 = Instant::now();
        let f = observer(json!({"shell": format!("{marker} & echo started")}))
            .observe()
            .await
            .expect("facts");
        assert_eq!(f["exit_code"], 0);
        assert_eq!(f["stdout"], "started\n");
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
        assert!(gone(marker).await, "a background process survived");
    }

    #[test]
    fn check_wants_exactly_one_of_argv_and_shell() {
        let p = CommandProbe::new();
        let opts = |v: Value| -> Options { serde_json::from_value(v).expect("options") };
        assert_eq!(p.check(&opts(json!({}))).len(), 1);
        assert_eq!(
            p.check(&opts(json!({"argv": ["a"], "shell": "b"}))).len(),
            1
        );
        assert_eq!(p.check(&opts(json!({"argv": []}))).len(), 1);
        assert_eq!(p.check(&opts(json!({"argv": "ls"}))).len(), 1);
        assert!(p.check(&opts(json!({"argv": ["ls", "-l"]}))).is_empty());
    }
}
