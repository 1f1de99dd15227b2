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
//! in them like everywhere else. stdout is also parsed as JSON (`json`), from up to
//! 1 MiB of it: CLIs answer with JSON (`kubectl … -o json`, `gh … --json`), and a
//! stdout longer than that, or cut short, is never parsed.
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
use preflight_core::probe::{BoxFuture, OptionProblem};
use preflight_core::{
    Blame, Context, Fact, FactType, Facts, Failure, Observer, Options, Probe, ProbeError,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

/// stdout and stderr are each kept up to this many bytes.
pub const OUTPUT_CAP: usize = 64 * 1024;
/// stdout is parsed as JSON when it is at most this long.
pub const JSON_CAP: usize = 1024 * 1024;
/// After the command exits, output still buffered is read for at most this long.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// Options of a `command` item: exactly one of `argv` and `shell`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandOptions {
    /// Program and arguments, run directly without a shell, e.g.
    /// `["npx", "tsc", "--noEmit"]`.
    pub argv: Option<Vec<String>>,
    /// A command line run with `sh -c`, instead of `argv`.
    pub shell: Option<String>,
    /// Working directory of the command; default: the one preflight runs in.
    pub cwd: Option<String>,
    /// Variables added to the inherited environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

impl CommandOptions {
    /// The program and its arguments: `argv`, or `sh -c SHELL`; else the problem.
    fn program(&self) -> Result<Vec<String>, OptionProblem> {
        match (&self.argv, &self.shell) {
            (Some(_), Some(_)) => Err(OptionProblem::at(
                "shell",
                "give either `argv` or `shell`, not both",
            )),
            (None, None) => Err(OptionProblem::at(
                "argv",
                "give `argv` (e.g. argv = [\"npx\", \"tsc\", \"--noEmit\"]) or `shell` (a string for sh -c)",
            )),
            (Some(argv), None) => {
                if argv.first().is_none_or(|p| p.is_empty()) {
                    Err(OptionProblem::at(
                        "argv",
                        "argv must start with a program name",
                    ))
                } else {
                    Ok(argv.clone())
                }
            }
            (None, Some(s)) => Ok(vec!["sh".into(), "-c".into(), s.clone()]),
        }
    }
}

/// Why a command produced no facts: it could not be started or waited for. The
/// checker lacks something (a program, a directory), so the item errors; a command
/// that runs and fails is a fact (`exit_code`), not an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The program could not be started (not installed, not executable).
    #[error("failed to start `{program}`: {error}")]
    Spawn {
        /// The program, as given.
        program: String,
        /// Why.
        error: std::io::Error,
    },
    /// `cwd` is not a directory.
    #[error("failed to start `{program}`: cwd {} is not a directory", .dir.display())]
    Cwd {
        /// The program, as given.
        program: String,
        /// The working directory, as given.
        dir: PathBuf,
    },
    /// Waiting for the command failed.
    #[error("failed to wait for the command: {0}")]
    Wait(std::io::Error),
}

impl ProbeError for Error {
    fn blame(&self) -> Blame {
        Blame::Checker
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
    type Options = CommandOptions;
    const NAME: &'static str = "command";
    const SUMMARY: &'static str = "Runs a local command with a timeout: exit code, capped stdout \
         and stderr, duration; its whole process group is killed when the attempt ends.";
    const FACTS: &'static [Fact] = &[
        Fact::new(
            "exit_code",
            FactType::Integer,
            "the exit status; 128 + signal when a signal ended the command",
        ),
        Fact::new(
            "signal",
            FactType::Integer,
            "the signal that ended the command, else null",
        )
        .nullable(),
        Fact::new(
            "stdout",
            FactType::String,
            "standard output as text, kept up to 64 KiB",
        ),
        Fact::new(
            "stderr",
            FactType::String,
            "standard error as text, kept up to 64 KiB",
        ),
        Fact::new(
            "stdout_truncated",
            FactType::Bool,
            "stdout was cut (longer than 64 KiB, or still held open after the command exited)",
        ),
        Fact::new(
            "stderr_truncated",
            FactType::Bool,
            "stderr was cut (longer than 64 KiB, or still held open after the command exited)",
        ),
        Fact::new(
            "duration_ms",
            FactType::Number,
            "how long the command ran, in ms",
        ),
        Fact::new(
            "json",
            FactType::Any,
            "stdout parsed as JSON; null when it is not JSON, is longer than 1 MiB, or was still held open after the command exited",
        )
        .nullable(),
    ];
    const EXAMPLE: &'static str = r#"[[item]]
id = "host.kernel"
title = "The release host runs Linux"
probe = "command"
argv = ["uname", "-s"]
timeout = "10s"
expect = ["exit_code == 0", "stdout.startsWith('Linux')"]
"#;

    fn default_expect(_: &Options) -> Vec<String> {
        vec!["exit_code == 0".into(), "signal == null".into()]
    }

    fn validate(options: &CommandOptions) -> Vec<OptionProblem> {
        options.program().err().into_iter().collect()
    }

    fn prepare(&self, options: CommandOptions, _: &Context) -> Result<Arc<dyn Observer>, Failure> {
        // Validated before prepare; a problem here still errors the item.
        let program = options.program().map_err(Failure::options)?;
        Ok(Arc::new(CommandObserver {
            program,
            cwd: options.cwd.map(PathBuf::from),
            env: options.env,
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
        Ok(self.execute().await?)
    }

    async fn execute(&self) -> Result<Facts, Error> {
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
        let mut child = cmd.spawn().map_err(|error| {
            let program = self.program[0].clone();
            match &self.cwd {
                Some(dir) if !dir.is_dir() => Error::Cwd {
                    program,
                    dir: dir.clone(),
                },
                _ => Error::Spawn { program, error },
            }
        })?;
        let guard = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(|id| GroupGuard(Pid::from_raw(id)));
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let out_task = tokio::spawn(read_capped(stdout, JSON_CAP));
        let err_task = tokio::spawn(read_capped(stderr, OUTPUT_CAP));
        // If this future is dropped (timeout), these abort the readers too.
        let out_task = AbortOnDrop(out_task);
        let err_task = AbortOnDrop(err_task);
        let status = child.wait().await.map_err(Error::Wait)?;
        let duration = t0.elapsed();
        // Kill stragglers that still hold the pipes (`sleep 100 &`), then collect
        // what is buffered.
        drop(guard);
        let (out_bytes, out_cut) = drained(out_task).await;
        let (err_bytes, err_cut) = drained(err_task).await;
        // Never a prefix of a document: stdout cut at the JSON cap is not parsed.
        let parsed = if out_cut {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&out_bytes).unwrap_or(serde_json::Value::Null)
        };
        let (stdout, out_cut) = text_capped(&out_bytes, out_cut);
        let (stderr, err_cut) = text_capped(&err_bytes, err_cut);

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
        facts.insert("json".into(), parsed);
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

/// Waits briefly for a reader to reach EOF; the bytes kept and the cut flag.
async fn drained(mut task: AbortOnDrop<Captured>) -> Captured {
    match tokio::time::timeout(DRAIN_GRACE, &mut task.0).await {
        Ok(Ok(captured)) => captured,
        // A process outside the group still holds the pipe: keep nothing rather than
        // wait; the reader is aborted when `task` drops.
        _ => (Vec::new(), true),
    }
}

/// The first [`OUTPUT_CAP`] bytes as text, and whether anything was cut.
fn text_capped(bytes: &[u8], cut: bool) -> (String, bool) {
    let kept = &bytes[..bytes.len().min(OUTPUT_CAP)];
    (
        String::from_utf8_lossy(kept).into_owned(),
        cut || bytes.len() > OUTPUT_CAP,
    )
}

/// Reads a stream to EOF, keeping the first `cap` bytes.
async fn read_capped<R: AsyncRead + Unpin>(stream: Option<R>, cap: usize) -> Captured {
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
                let room = cap - kept.len();
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
    use preflight_core::AnyProbe;
    use preflight_core::probe::conformance;
    use serde_json::Value;

    /// Checks and prepares the options as core does.
    fn observer(v: Value) -> Arc<dyn Observer> {
        let opts: Options = serde_json::from_value(v).expect("options");
        let p = CommandProbe::new();
        assert!(p.check(&opts).is_empty(), "{:?}", p.check(&opts));
        let obs =
            AnyProbe::prepare(&p, &opts, &Context::new(Duration::from_secs(5))).expect("prepare");
        Arc::new(Conforming(obs))
    }

    /// An observer whose every set of facts is held to the probe's description.
    struct Conforming(Arc<dyn Observer>);

    impl Observer for Conforming {
        fn host(&self) -> Option<String> {
            self.0.host()
        }

        fn observe(&self) -> BoxFuture<'_, Result<Facts, Failure>> {
            Box::pin(async move {
                let facts = self.0.observe().await?;
                let problems = conformance(CommandProbe::FACTS, &facts);
                assert!(problems.is_empty(), "{problems:?} in {facts:?}");
                Ok(facts)
            })
        }
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
        assert_eq!(e.blame(), Blame::Checker, "{e:?}");
        assert!(
            e.reason()
                .starts_with("failed to start `/nonexistent/preflight-no-such-program`: "),
            "{e}"
        );
        assert!(matches!(
            e.downcast_ref::<Error>(),
            Some(Error::Spawn { .. })
        ));
        let e = observer(json!({"argv": ["true"], "cwd": "/nonexistent/dir"}))
            .observe()
            .await
            .expect_err("fails");
        assert_eq!(e.blame(), Blame::Checker, "{e:?}");
        assert_eq!(
            e.reason(),
            "failed to start `true`: cwd /nonexistent/dir is not a directory"
        );
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

    #[tokio::test]
    async fn stdout_is_parsed_as_json_when_it_is_json() {
        let f = observer(json!({"argv": ["printf", "%s", r#" {"status": {"readyReplicas": 3}, "tags": ["a"]}"#]}))
            .observe()
            .await
            .expect("facts");
        assert_eq!(
            f["json"],
            json!({"status": {"readyReplicas": 3}, "tags": ["a"]})
        );
        for not_json in ["ready\n", "", "{\"open\": ", "[1, 2] trailing"] {
            let f = observer(json!({"argv": ["printf", "%s", not_json]}))
                .observe()
                .await
                .expect("facts");
            assert_eq!(f["json"], Value::Null, "{not_json:?}");
        }
        // Longer than the stdout cap but within the JSON cap: still one whole document.
        let f = observer(json!({"shell": "printf '['; i=0; while [ $i -lt 20000 ]; do printf '\"xxxxxxxx\",'; i=$((i+1)); done; printf '1]'"}))
            .observe()
            .await
            .expect("facts");
        assert_eq!(f["stdout_truncated"], true);
        assert_eq!(f["stdout"].as_str().expect("text").len(), OUTPUT_CAP);
        assert_eq!(f["json"].as_array().expect("array").len(), 20001);
        // Past the JSON cap: never a prefix parsed as a document.
        let f = observer(
            json!({"shell": "printf '\"'; head -c 2000000 /dev/zero | tr '\\0' x; printf '\"'"}),
        )
        .observe()
        .await
        .expect("facts");
        assert_eq!(f["stdout_truncated"], true);
        assert_eq!(f["json"], Value::Null);
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

    #[tokio::test]
    async fn a_failing_command_is_a_fact_not_an_error() {
        let f = observer(json!({"argv": ["sh", "-c", "echo nope >&2; exit 1"]}))
            .observe()
            .await
            .expect("facts");
        assert_eq!(f["exit_code"], 1);
        assert_eq!(f["stderr"], "nope\n");
        assert_eq!(f["stdout_truncated"], false);
        let f = observer(json!({"argv": ["false"]}))
            .observe()
            .await
            .expect("facts");
        assert_eq!(f["exit_code"], 1);
    }

    #[test]
    fn check_wants_exactly_one_of_argv_and_shell() {
        let p = CommandProbe::new();
        let opts = |v: Value| -> Options { serde_json::from_value(v).expect("options") };
        let key = |v: Value| -> Vec<Option<String>> {
            p.check(&opts(v)).into_iter().map(|p| p.key).collect()
        };
        assert_eq!(key(json!({})), [Some("argv".to_string())]);
        assert_eq!(
            key(json!({"argv": ["a"], "shell": "b"})),
            [Some("shell".to_string())]
        );
        assert_eq!(key(json!({"argv": []})), [Some("argv".to_string())]);
        assert_eq!(key(json!({"argv": [""]})), [Some("argv".to_string())]);
        assert_eq!(key(json!({"argv": "ls"})), [Some("argv".to_string())]);
        assert_eq!(
            key(json!({"shell": "ls", "env": {"PORT": 8080}})),
            [Some("env".to_string())]
        );
        assert_eq!(key(json!({"shell": "ls", "cmd": "x"})).len(), 1);
        assert!(p.check(&opts(json!({"argv": ["ls", "-l"]}))).is_empty());
        assert!(
            p.check(&opts(
                json!({"shell": "ls", "cwd": "/tmp", "env": {"A": "1"}})
            ))
            .is_empty()
        );
        let problems = p.check(&opts(json!({"argv": ["a"], "shell": "b"})));
        assert_eq!(
            problems[0].message,
            "give either `argv` or `shell`, not both"
        );
    }

    #[test]
    fn options_schema_documents_every_option() {
        let schema = CommandProbe::new().options_schema();
        let props = schema["properties"].as_object().expect("properties");
        assert_eq!(
            props.keys().collect::<Vec<_>>(),
            ["argv", "shell", "cwd", "env"]
        );
        for (k, v) in props {
            assert!(v["description"].is_string(), "{k} has no doc");
        }
        assert_eq!(schema["additionalProperties"], false);
    }

    #[tokio::test]
    async fn the_example_loads_and_holds() {
        let catalog = preflight_core::Catalog::new(vec![Arc::new(CommandProbe::new())]);
        let list =
            preflight_core::checklist::parse("example.toml", CommandProbe::EXAMPLE, &[], &catalog)
                .expect("the example loads");
        let preflight_core::Check::Probe {
            options, expect, ..
        } = &*list.items[0].check
        else {
            panic!("a probe item")
        };
        let facts = observer(Value::Object(options.clone()))
            .observe()
            .await
            .expect("facts");
        for e in expect {
            assert_eq!(
                e.judge(&facts),
                preflight_core::expect::Judgement::Holds,
                "{} over {facts:?}",
                e.source()
            );
        }
    }
}
