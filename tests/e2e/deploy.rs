//! The commands written in `deploy/` are commands this build accepts: every
//! `preflight …` line of the Kubernetes Jobs, the GitHub Actions workflows and the
//! systemd unit is run with `--help` after its arguments, which exits 0 only when
//! the subcommand and every flag before it are known. A renamed flag fails here,
//! not in somebody's cluster at 2 a.m.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{bin, stderr};

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// `${{ matrix.shard }}` and `$(BATCH)` stand for values: any value parses.
fn substitute(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${{") {
        out.push_str(&rest[..at]);
        match rest[at..].find("}}") {
            Some(end) => {
                out.push('1');
                rest = &rest[at + end + 2..];
            }
            None => {
                rest = &rest[at..];
                break;
            }
        }
    }
    out.push_str(rest);
    out.replace("$(BATCH)", "b1")
}

/// Words of a shell line up to its first operator, quotes removed.
fn words(line: &str) -> Vec<String> {
    line.split_whitespace()
        .take_while(|w| !matches!(*w, "||" | "&&" | "|" | ">" | ">>" | ";"))
        .map(|w| w.trim_matches(|c| c == '"' || c == '\'').to_string())
        .collect()
}

/// The `args:` lists of a Kubernetes manifest.
fn manifest_args(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (n, l) in lines.iter().enumerate() {
        if l.trim() != "args:" {
            continue;
        }
        let indent = l.len() - l.trim_start().len();
        let args: Vec<String> = lines[n + 1..]
            .iter()
            .take_while(|a| {
                a.trim_start().starts_with("- ") && a.len() - a.trim_start().len() > indent
            })
            .map(|a| {
                substitute(a.trim_start().trim_start_matches("- "))
                    .trim_matches('"')
                    .to_string()
            })
            .collect();
        out.push(args);
    }
    out
}

/// The `preflight …` commands of shell text (a workflow's `run:` blocks, a unit's
/// `ExecStart=`), with `\` continuations joined.
fn shell_commands(text: &str) -> Vec<Vec<String>> {
    let joined = text.replace("\\\n", " ");
    joined
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let l = substitute(l);
            let w = words(&l);
            // A command starts its line (or follows `run:`); `name: preflight sweep`
            // and `cargo install … preflight-cli` are not invocations.
            let at = usize::from(w.first().is_some_and(|x| x == "run:"));
            let program = w.get(at)?;
            (program == "preflight" || program.ends_with("/preflight"))
                .then(|| w[at + 1..].to_vec())
        })
        .collect()
}

fn accepted(place: &str, args: &[String]) {
    let o = Command::new(bin())
        .args(args)
        .arg("--help")
        .output()
        .expect("run preflight");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{place}: `preflight {}` is not accepted: {}",
        args.join(" "),
        stderr(&o)
    );
}

#[test]
fn every_command_in_deploy_is_accepted_by_this_build() {
    let mut seen = Vec::new();
    for (file, manifest) in [
        ("kubernetes/sweep-shards.yaml", true),
        ("kubernetes/cronjob.yaml", true),
        ("github-actions/preflight-sharded.yml", false),
        ("github-actions/preflight-scheduled.yml", false),
        ("systemd/preflight-post-launch.service", false),
    ] {
        let text = std::fs::read_to_string(deploy().join(file)).expect("deploy file");
        let commands = if manifest {
            manifest_args(&text)
        } else {
            shell_commands(&text)
        };
        assert!(!commands.is_empty(), "{file}: no preflight command found");
        for args in &commands {
            accepted(file, args);
            seen.push(args[0].clone());
        }
    }
    // The sharded sweep is run in shards and merged, on both engines.
    assert!(
        seen.iter().filter(|s| *s == "verdict").count() >= 2,
        "{seen:?}"
    );
    assert!(seen.iter().filter(|s| *s == "run").count() >= 5, "{seen:?}");
}

#[test]
fn an_unknown_flag_is_refused_by_the_help_check() {
    // What the check above relies on: clap refuses a flag it does not know even
    // when `--help` follows it.
    let o = Command::new(bin())
        .args(["run", "x.toml", "--shard-off", "4", "--help"])
        .output()
        .expect("run preflight");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
