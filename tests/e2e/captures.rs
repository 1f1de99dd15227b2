//! `capture` and `${captures.ITEM.NAME}` through the binary (issue #11): a real
//! OAuth-style client-credentials token endpoint on the testbed, then an API that
//! wants the bearer. The token is used, and never shown: not in any report format,
//! on stderr, in the history store or in a notification.

use std::process::{Command, Output};

use crate::postlaunch::Receiver;
use crate::support::*;

const CLIENT_SECRET_ENV: &str = "PF_OAUTH_CLIENT_SECRET";

/// The token item, the API items that read its capture, and one whose failure would
/// print the token if it were not masked.
fn checklist(notify: &str) -> String {
    format!(
        "[checklist]\nname = \"auth\"\ntimeout = \"5s\"\n\n[vars]\napi = \"\"\nca = \"\"\noauth_client_id = \"\"\n\n{notify}\
[[item]]
id = \"auth.token\"
title = \"The smoke-test client gets a token\"
probe = \"http\"
url = \"${{api}}/oauth/token\"
ca = \"${{ca}}\"
method = \"POST\"
headers = {{ content-type = \"application/x-www-form-urlencoded\" }}
body = \"grant_type=client_credentials&client_id=${{oauth_client_id}}&client_secret=${{env:{CLIENT_SECRET_ENV}}}\"
expect = [\"status == 200\", \"json.token_type == 'Bearer'\"]
capture = {{ token = \"json.access_token\", scope = \"json.scope\" }}
public = [\"scope\"]

[[item]]
id = \"api.me\"
title = \"GET /api/me with the token returns the client\"
needs = [\"auth.token\"]
probe = \"http\"
url = \"${{api}}/api/me\"
ca = \"${{ca}}\"
headers = {{ authorization = \"Bearer ${{captures.auth.token.token}}\" }}
expect = [\"status == 200\", \"json.client_id == vars.oauth_client_id\", \"json.scope == 'read'\"]

[[item]]
id = \"api.admin-refuses\"
title = \"The admin API refuses a non-admin token\"
needs = [\"auth.token\"]
probe = \"http\"
url = \"${{api}}/api/admin/users?scope=${{captures.auth.token.scope}}\"
ca = \"${{ca}}\"
headers = {{ authorization = \"Bearer ${{captures.auth.token.token}}\" }}
expect = [\"status == 403\"]

[[item]]
id = \"api.echo\"
title = \"An echo that shows the token back (fails on purpose)\"
needs = [\"auth.token\"]
probe = \"http\"
url = \"${{api}}/echo\"
ca = \"${{ca}}\"
method = \"POST\"
headers = {{ x-forwarded-credential = \"${{captures.auth.token.token}}\" }}
body = \"token=${{captures.auth.token.token}}\"
expect = [\"json.body == 'nothing'\"]
"
    )
}

fn run(env: &Env, file: &std::path::Path, extra: &[&str], secret: &str, hook: &str) -> Output {
    let mut cmd = Command::new(bin());
    cmd.arg("run")
        .arg(file)
        .args(env.var_args())
        .args(extra)
        .arg("--no-progress")
        .env(CLIENT_SECRET_ENV, secret)
        .env("PF_HOOK", hook);
    cmd.output().expect("run preflight")
}

#[test]
fn a_captured_token_is_used_by_the_items_that_need_it_and_never_shown() {
    let env = Env::start();
    let rx = Receiver::start();
    let hook = format!("http://127.0.0.1:{}/hook", rx.port);
    let notify = "[notify]\njson_webhook = \"${env:PF_HOOK}\"\non = \"always\"\n\n";
    let f = env.write("auth.toml", &checklist(notify));
    let secret = preflight_testbed::oauth::CLIENT_SECRET;

    let o = run(&env, &f, &["--format", "json"], secret, &hook);
    let r = json(&o);
    assert_eq!(item(&r, "auth.token")["status"], "pass", "{r}");
    assert_eq!(item(&r, "api.me")["status"], "pass", "{r}");
    assert_eq!(item(&r, "api.admin-refuses")["status"], "pass", "{r}");
    let echo = item(&r, "api.echo");
    assert_eq!(echo["status"], "fail", "{echo}");
    assert_eq!(
        echo["reason"], "json.body == 'nothing' — json.body was \"token=****\"",
        "{echo}"
    );
    // The public capture is shown; the token is masked in the facts that held it.
    assert_eq!(item(&r, "auth.token")["facts"]["json"]["scope"], "read");
    assert_eq!(
        item(&r, "auth.token")["facts"]["json"]["access_token"],
        "****"
    );
    assert!(
        echo["facts"]["json"]["headers"]["x-forwarded-credential"] == "****",
        "{echo}"
    );

    let mut outputs = vec![format!("{}{}", stdout(&o), stderr(&o))];
    for format in ["human", "junit", "markdown", "prometheus"] {
        let o = run(&env, &f, &["--format", format], secret, &hook);
        assert_eq!(o.status.code(), Some(1), "{format}: {}", stderr(&o));
        outputs.push(format!("{}{}", stdout(&o), stderr(&o)));
    }
    let store = env.dir.path().join(".preflight").join("history.db");
    let shown = preflight(
        &[
            "show",
            "last",
            "--store",
            store.to_str().expect("utf8"),
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
    outputs.push(stdout(&shown));
    for ext in ["", "-wal", "-shm", "-journal"] {
        let p = format!("{}{ext}", store.display());
        if let Ok(bytes) = std::fs::read(&p) {
            outputs.push(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    let notifications = rx.requests();
    assert_eq!(notifications.len(), 5, "one per run: {notifications:?}");
    outputs.extend(notifications.into_iter().map(|(_, body)| body));

    let tokens = env.bed.oauth_tokens();
    assert_eq!(tokens.len(), 5, "one token per run");
    for out in &outputs {
        for t in &tokens {
            assert!(!out.contains(t.as_str()), "a token leaked:\n{out}");
        }
        assert!(!out.contains(secret), "the client secret leaked:\n{out}");
    }
}

#[test]
fn a_token_that_is_not_issued_skips_the_items_that_read_it() {
    let env = Env::start();
    let f = env.write("auth.toml", &checklist(""));
    let o = run(
        &env,
        &f,
        &["--format", "json", "--no-history"],
        "not-the-secret",
        "",
    );
    let r = json(&o);
    let token = item(&r, "auth.token");
    assert_eq!(token["status"], "fail", "{token}");
    assert!(
        token["reason"]
            .as_str()
            .expect("reason")
            .contains("status was 401"),
        "{token}"
    );
    for id in ["api.me", "api.admin-refuses", "api.echo"] {
        assert_eq!(item(&r, id)["status"], "skip", "{r}");
        assert_eq!(
            item(&r, id)["reason"],
            "needs \"auth.token\", which did not pass (fail)"
        );
    }
    assert!(env.bed.oauth_tokens().is_empty());
}

#[test]
fn check_lists_captures_and_the_vars_expressions_read() {
    let env = Env::start();
    let f = env.write("auth.toml", &checklist(""));
    let o = preflight(&["check", f.to_str().expect("utf8")], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    for want in [
        "captures token = json.access_token (secret), scope = json.scope (public)",
        "reads ${captures.auth.token.token}",
        "reads vars oauth_client_id",
    ] {
        assert!(out.contains(want), "{want:?} not in\n{out}");
    }
    // A read of a capture without `needs` is a load error naming file:line.
    let text = checklist("").replace(
        "needs = [\"auth.token\"]\nprobe = \"http\"\nurl = \"${api}/api/me\"",
        "probe = \"http\"\nurl = \"${api}/api/me\"",
    );
    let bad = env.write("bad.toml", &text);
    let o = preflight(&["check", bad.to_str().expect("utf8")], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("bad.toml:29:29: item \"api.me\": `headers`")
            && err.contains("which this item does not need"),
        "{err}"
    );
}
