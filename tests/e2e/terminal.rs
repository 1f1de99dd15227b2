//! On a real terminal (a pty from util-linux `script`): colour and the progress bar
//! appear; in a pipe, a file, with `--color never` or `NO_COLOR`, no escape code does.

use std::process::Command;

use crate::support::{Env, bin, stderr, stdout};

const CHECKLIST: &str = "[checklist]\nname = \"tty\"\n\n\
    [[item]]\nid = \"ok\"\nprobe = \"http\"\nurl = \"${api}/api/health\"\nca = \"${ca}\"\n\n\
    [[item]]\nid = \"slow\"\nprobe = \"http\"\nurl = \"${api}/hang\"\nca = \"${ca}\"\ntimeout = \"1500ms\"\nseverity = \"critical\"\n";

/// Runs `preflight run FILE …` under a pty; returns what the terminal received
/// (stdout and stderr interleaved, as a person would see it).
fn on_a_terminal(env: &Env, args: &[&str], envs: &[(&str, &str)]) -> String {
    let file = env.write("tty.toml", CHECKLIST);
    let mut line = format!("{} run {}", bin().display(), file.display());
    for a in env
        .var_args()
        .iter()
        .map(String::as_str)
        .chain(args.iter().copied())
    {
        line.push(' ');
        line.push_str(&shell_quote(a));
    }
    let mut cmd = Command::new("script");
    // -q quiet, -e child's exit code, -c command; the typescript goes nowhere.
    cmd.args(["-q", "-e", "-c", &line, "/dev/null"]);
    cmd.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let o = cmd.output().expect("script from util-linux runs");
    assert_eq!(o.status.code(), Some(1), "NO-GO expected: {}", stderr(&o));
    stdout(&o)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
fn a_terminal_gets_colour_and_a_progress_bar() {
    let env = Env::start();
    let seen = on_a_terminal(&env, &[], &[]);
    assert!(
        seen.contains("\u{1b}[1m\u{1b}[31mNO-GO"),
        "coloured verdict in {seen:?}"
    );
    assert!(
        seen.contains("\u{1b}[32m✔"),
        "coloured pass icon in {seen:?}"
    );
    assert!(seen.contains("items"), "progress bar in {seen:?}");
    assert!(seen.contains("✘\u{1b}[0m slow"), "the icon stays: {seen:?}");
}

#[test]
fn color_never_and_no_color_keep_the_terminal_plain() {
    let env = Env::start();
    for (args, envs) in [
        (&["--color", "never"][..], &[][..]),
        (&[][..], &[("NO_COLOR", "1")][..]),
    ] {
        let seen = on_a_terminal(&env, args, envs);
        let report = &seen[seen.find("tty — environment").expect("report")..];
        assert!(!report.contains("\u{1b}["), "{args:?} {envs:?}: {report:?}");
    }
}

#[test]
fn pipes_and_files_never_get_colour_unless_forced() {
    let env = Env::start();
    let file = env.write("tty.toml", CHECKLIST);
    let out = env.dir.path().join("report.txt");
    let o = env.run(
        &file,
        &["--color", "auto", "--output", out.to_str().expect("utf8")],
    );
    assert_eq!(o.status.code(), Some(1));
    let written = std::fs::read_to_string(&out).expect("report file");
    assert!(!written.contains('\u{1b}'), "{written:?}");
    let o = env.run(&file, &[]);
    assert!(!stdout(&o).contains('\u{1b}'), "{}", stdout(&o));
    assert!(!stderr(&o).contains('\u{1b}'), "{}", stderr(&o));
    // CLICOLOR_FORCE asks for colour even in a pipe; --color always too.
    let mut cmd = Command::new(bin());
    cmd.arg("run")
        .arg(&file)
        .args(env.var_args())
        .arg("--no-progress")
        .env("CLICOLOR_FORCE", "1")
        .env_remove("NO_COLOR");
    let o = cmd.output().expect("run");
    assert!(stdout(&o).contains("\u{1b}["), "{}", stdout(&o));
    let o = env.run(&file, &["--color", "always"]);
    assert!(stdout(&o).contains("\u{1b}["), "{}", stdout(&o));
}
