//! The `webhook` probe end to end: the binary against the testbed's receivers, each
//! verifying one provider's signature scheme, plus careless, slow and closed targets.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use preflight_testbed::webhooks;

use crate::support::*;

/// One webhook item posting to `${api_plain}/wh/<route>`, `extra` lines appended.
fn item_toml(id: &str, route: &str, scheme: &str, extra: &str) -> String {
    format!(
        "[[item]]\nid = \"{id}\"\nprobe = \"webhook\"\nurl = \"${{api_plain}}/wh/{route}\"\nscheme = \"{scheme}\"\n{extra}\n"
    )
}

/// Runs a checklist of `items` and returns (exit code, JSON report).
fn run(env: &Env, items: &str) -> (Option<i32>, serde_json::Value) {
    let f = env.write("webhook.toml", &format!("{HEADER}{items}"));
    let o = env.run(&f, &["--format", "json"]);
    assert!(!stderr(&o).contains("panicked"), "no panic: {}", stderr(&o));
    (o.status.code(), json(&o))
}

#[test]
fn every_scheme_passes_against_its_receiver() {
    let env = Env::start();
    let items = [
        item_toml("stripe", "stripe", "stripe", "secret = \"${wh_stripe_secret}\""),
        item_toml("github", "github", "github", "secret = \"${wh_github_secret}\""),
        item_toml(
            "standard",
            "standard",
            "standard-webhooks",
            "secret = \"${wh_standard_secret}\"",
        ),
        item_toml("sumsub", "sumsub", "sumsub", "secret = \"${wh_sumsub_secret}\""),
        item_toml("hmac", "hmac", "hmac-sha256", "secret = \"${wh_hmac_secret}\""),
        item_toml(
            "hmac-b64",
            "hmac-b64",
            "hmac-sha256",
            "secret = \"${wh_hmac_secret}\"\nheader = \"X-Webhook-Signature\"\nencoding = \"base64\"\nprefix = \"sha256=\"",
        ),
        // Over TLS, trusting the testbed CA.
        "[[item]]\nid = \"tls\"\nprobe = \"webhook\"\nurl = \"${api}/wh/github\"\nca = \"${ca}\"\nscheme = \"github\"\nsecret = \"${wh_github_secret}\"\n".to_string(),
    ]
    .concat();
    let (code, r) = run(&env, &items);
    for id in [
        "stripe", "github", "standard", "sumsub", "hmac", "hmac-b64", "tls",
    ] {
        let i = item(&r, id);
        assert_eq!(i["status"], "pass", "{id}: {i}");
        let f = &i["facts"];
        assert_eq!(f["signed"]["status"], 200, "{id}: {f}");
        assert!(f["signed"]["latency_ms"].is_number(), "{id}: {f}");
        for forged in ["unsigned", "tampered"] {
            let s = f[forged]["status"].as_u64().expect("status");
            assert!((400..500).contains(&s), "{id} {forged}: {f}");
        }
    }
    let exprs: Vec<_> = item(&r, "stripe")["expectations"]
        .as_array()
        .expect("expectations")
        .iter()
        .map(|e| e["expr"].as_str().expect("expr").to_string())
        .collect();
    assert_eq!(
        exprs,
        [
            "signed.status >= 200 && signed.status < 300",
            "unsigned.status >= 400 && unsigned.status < 500",
            "tampered.status >= 400 && tampered.status < 500",
        ]
    );
    assert_eq!(code, Some(0), "{r}");
}

#[test]
fn careless_receiver_fails_on_the_unsigned_event() {
    let env = Env::start();
    let (code, r) = run(
        &env,
        &item_toml(
            "careless",
            "careless",
            "stripe",
            "secret = \"${wh_stripe_secret}\"",
        ),
    );
    let i = item(&r, "careless");
    assert_eq!(i["status"], "fail", "{i}");
    let reason = i["reason"].as_str().expect("reason");
    assert!(
        reason.starts_with(
            "unsigned.status >= 400 && unsigned.status < 500 — unsigned.status was 200"
        ),
        "{reason}"
    );
    assert_eq!(i["facts"]["tampered"]["status"], 200);
    assert_eq!(code, Some(1));
}

#[test]
fn wrong_secret_fails_because_the_signed_event_is_rejected() {
    let env = Env::start();
    let (_, r) = run(
        &env,
        &item_toml(
            "gh",
            "github",
            "github",
            "secret = \"not-the-receivers-secret\"",
        ),
    );
    let i = item(&r, "gh");
    assert_eq!(i["status"], "fail", "{i}");
    assert_eq!(
        i["reason"],
        "signed.status >= 200 && signed.status < 300 — signed.status was 401"
    );
}

#[test]
fn send_signed_false_checks_only_the_forgeries() {
    let env = Env::start();
    let (code, r) = run(
        &env,
        &item_toml(
            "forgeries",
            "standard",
            "standard-webhooks",
            "secret = \"whsec_AAECAwQFBgcICQ==\"\nsend_signed = false",
        ),
    );
    let i = item(&r, "forgeries");
    assert_eq!(i["status"], "pass", "{i}");
    assert!(i["facts"].get("signed").is_none(), "{i}");
    assert_eq!(i["expectations"].as_array().map(Vec::len), Some(2));
    assert_eq!(code, Some(0));
}

#[test]
fn unreachable_receiver_fails() {
    let env = Env::start();
    let (_, r) = run(
        &env,
        "[[item]]\nid = \"down\"\nprobe = \"webhook\"\nurl = \"${closed}/wh\"\nscheme = \"github\"\nsecret = \"s3cret-value\"\n",
    );
    let i = item(&r, "down");
    assert_eq!(i["status"], "fail", "{i}");
    let reason = i["reason"].as_str().expect("reason");
    assert!(
        reason.contains("signed request: connection refused"),
        "{reason}"
    );
}

#[test]
fn slow_receiver_fails_by_the_item_timeout() {
    let env = Env::start();
    let t0 = Instant::now();
    let (_, r) = run(
        &env,
        &item_toml(
            "slow",
            "slow",
            "stripe",
            "secret = \"${wh_stripe_secret}\"\ntimeout = \"1s\"",
        ),
    );
    let i = item(&r, "slow");
    assert_eq!(i["status"], "fail", "{i}");
    assert!(
        i["reason"].as_str().expect("reason").contains("timed out"),
        "{i}"
    );
    assert!(t0.elapsed() < Duration::from_secs(20), "{:?}", t0.elapsed());
}

#[test]
fn bad_scheme_is_a_checklist_error() {
    let env = Env::start();
    let f = env.write(
        "bad.toml",
        &format!(
            "{HEADER}{}",
            item_toml("x", "stripe", "paypal", "secret = \"abcdef\"")
        ),
    );
    let o = preflight(&["check", f.to_str().expect("utf8")], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("standard-webhooks"), "{}", stderr(&o));
}

/// Runs `preflight run` with the testbed vars and extra environment.
fn run_with_env(env: &Env, file: &std::path::Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.arg("run")
        .arg(file)
        .args(env.var_args())
        .args(args)
        .arg("--no-progress");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("run preflight")
}

#[test]
fn the_secret_never_appears_in_any_output() {
    let env = Env::start();
    let literal = "literal-webhook-secret-9d41";
    let items = [
        // From the environment: passes.
        item_toml(
            "env",
            "stripe",
            "stripe",
            "secret = \"${env:PF_WH_SECRET}\"",
        ),
        // From the environment, against the wrong receiver: fails, so a reason is shown.
        item_toml(
            "env-wrong",
            "github",
            "github",
            "secret = \"${env:PF_WH_SECRET}\"",
        ),
        // Written literally: still a secret.
        item_toml(
            "literal",
            "hmac",
            "hmac-sha256",
            &format!("secret = \"{literal}\""),
        ),
    ]
    .concat();
    let f = env.write("secret.toml", &format!("{HEADER}{items}"));
    let envs = [("PF_WH_SECRET", webhooks::STRIPE_SECRET)];
    let dir = env.dir.path();
    let mut seen = String::new();
    for format in ["human", "json", "junit", "markdown"] {
        let out = dir.join(format!("report.{format}"));
        let o = run_with_env(
            &env,
            &f,
            &["--format", format, "--output", out.to_str().expect("utf8")],
            &envs,
        );
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
        seen.push_str(&stdout(&o));
        seen.push_str(&stderr(&o));
        let written = std::fs::read_to_string(&out).expect("report written");
        assert!(written.contains("env-wrong"), "{format}: {written}");
        seen.push_str(&written);
        let o = run_with_env(&env, &f, &["--format", format], &envs);
        seen.push_str(&stdout(&o));
        seen.push_str(&stderr(&o));
    }
    let o = preflight(&["check", f.to_str().expect("utf8")], &envs);
    seen.push_str(&stdout(&o));
    seen.push_str(&stderr(&o));

    let o = run_with_env(&env, &f, &["--format", "json"], &envs);
    let r = json(&o);
    assert_eq!(item(&r, "env")["status"], "pass", "{r}");
    assert_eq!(item(&r, "env-wrong")["status"], "fail", "{r}");
    assert!(
        seen.contains("env-wrong"),
        "the reports were produced: {seen}"
    );
    for secret in [webhooks::STRIPE_SECRET, literal] {
        assert!(!seen.contains(secret), "secret {secret} leaked:\n{seen}");
    }
    // The part after whsec_ neither.
    assert!(!seen.contains(webhooks::STRIPE_SECRET.trim_start_matches("whsec_")));
}
