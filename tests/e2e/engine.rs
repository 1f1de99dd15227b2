//! The engine: loading, verdicts, exit codes, runner behaviour, http probe, secrets.

use crate::support::*;

#[test]
fn pass_on_health_endpoint() {
    let env = Env::start();
    let f = env.write("c.toml", &format!("{HEADER}[[item]]\nid = \"h\"\nprobe = \"http\"\nurl = \"${{api}}/api/health\"\nca = \"${{ca}}\"\nexpect = [\"status == 200\", \"json.status == 'healthy'\"]\n"));
    let o = env.run(&f, &["--format", "json"]);
    let r = json(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(item(&r, "h")["status"], "pass");
    assert_eq!(r["verdict"], "go");
    assert_eq!(item(&r, "h")["facts"]["tls_version"], "TLSv1.3");
}

#[test]
fn invalid_checklist_exits_2_with_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("bad.toml");
    std::fs::write(&f, "[checklist]\nname = \"x\"\n\n[[item]]\nid = \"a\"\nprobe = \"http\"\nurll = \"http://127.0.0.1:1\"\n").expect("write");
    let o = preflight(&["check", f.to_str().expect("utf8")], &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("bad.toml:7:1"), "{err}");
    assert!(err.contains("did you mean `url`"), "{err}");
}
