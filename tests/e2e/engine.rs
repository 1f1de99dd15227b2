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
