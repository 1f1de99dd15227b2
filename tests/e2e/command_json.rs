//! The `command` probe's `json` fact through the binary, on the example checklists
//! `config/examples/kubernetes.toml` and `config/examples/ci.toml` (issue #11). The
//! real CLIs are replaced by small scripts on PATH that print output of the documented
//! shape (trimmed from real `kubectl`, `helm`, `gh` and `aws` answers): no cluster,
//! GitHub or AWS is ever called.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::support::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/e2e/fixtures/cli");

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/examples")
        .join(name)
}

/// Fake CLIs: each checks it was asked for JSON, then prints `$PF_FIXTURES/NAME.json`
/// (NAME from its arguments).
fn fake_bin(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let scripts = [
        (
            "kubectl",
            r#"[ "$1" = get ] || { echo "kubectl: only get" >&2; exit 2; }
case " $* " in *" --output json "*) ;; *) echo "kubectl: no --output json" >&2; exit 2;; esac
f="$PF_FIXTURES/kubectl-$2.json"
[ -f "$f" ] || { echo "Error from server (NotFound): $2 not found" >&2; exit 1; }
cat "$f""#,
        ),
        (
            "helm",
            r#"[ "$1" = status ] && [ "$2" = api ] || { echo "Error: release: not found" >&2; exit 1; }
case " $* " in *" --output json "*) ;; *) echo "helm: no --output json" >&2; exit 2;; esac
cat "$PF_FIXTURES/helm-status.json""#,
        ),
        (
            "gh",
            r#"[ "$1 $2" = "run list" ] || exit 2
case " $* " in *" --branch main "*) ;; *) echo "gh: not main" >&2; exit 2;; esac
case " $* " in *" --json conclusion,"*) ;; *) echo "gh: no --json" >&2; exit 2;; esac
cat "$PF_FIXTURES/gh-run-list.json""#,
        ),
        (
            "aws",
            r#"[ "$1 $2" = "ecr describe-images" ] || exit 2
case " $* " in *" imageTag=1.4.2 "*) ;; *) echo "An error occurred (ImageNotFoundException)" >&2; exit 254;; esac
cat "$PF_FIXTURES/aws-ecr-describe-images.json""#,
        ),
    ];
    for (name, body) in scripts {
        let p = bin.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    bin
}

/// Copies the fixtures into `dir`, changed by `edit(name, json)`.
fn fixtures(dir: &Path, edit: impl Fn(&str, &mut Value)) -> PathBuf {
    let out = dir.join("fixtures");
    std::fs::create_dir_all(&out).expect("mkdir");
    for entry in std::fs::read_dir(FIXTURES).expect("fixtures") {
        let p = entry.expect("entry").path();
        let name = p.file_stem().expect("stem").to_string_lossy().into_owned();
        let mut v: Value =
            serde_json::from_str(&std::fs::read_to_string(&p).expect("read")).expect("json");
        edit(&name, &mut v);
        std::fs::write(out.join(format!("{name}.json")), v.to_string()).expect("write");
    }
    out
}

fn run(file: &Path, bin: &Path, fixtures: &Path) -> Value {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new(crate::support::bin())
        .arg("run")
        .arg(file)
        .args(["--no-progress", "--no-history", "--format", "json"])
        .env("PATH", path)
        .env("PF_FIXTURES", fixtures)
        .output()
        .expect("run preflight");
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    json(&o)
}

fn reason(r: &Value, id: &str) -> String {
    let i = item(r, id);
    assert_eq!(i["status"], "fail", "{id}: {i}");
    i["reason"].as_str().expect("reason").to_string()
}

#[test]
fn kubernetes_example_reads_kubectl_and_helm_json() {
    let dir = tempfile::tempdir().expect("tmp");
    let bin = fake_bin(dir.path());
    let file = example("kubernetes.toml");
    let good = fixtures(dir.path(), |_, _| {});
    let r = run(&file, &bin, &good);
    assert_eq!(r["verdict"], "go", "{r}");
    assert_eq!(r["counts"]["pass"], 5, "{r}");
    let deploy = item(&r, "k8s.deploy.ready");
    assert_eq!(deploy["facts"]["json"]["spec"]["replicas"], 3);

    let bad = fixtures(dir.path(), |name, v| match name {
        "kubectl-deployment" => {
            v["status"]["readyReplicas"] = json!(2);
            v["spec"]["template"]["spec"]["containers"][1]["image"] =
                json!("registry.shop.example:5000/mirror/envoy:latest");
        }
        "kubectl-horizontalpodautoscaler" => v["spec"]["minReplicas"] = json!(1),
        "kubectl-poddisruptionbudget" => {
            // Only the worker's budget is left: it selects by expression, not by app.
            v["items"].as_array_mut().expect("items").truncate(1);
        }
        "helm-status" => v["info"]["status"] = json!("failed"),
        _ => {}
    });
    let r = run(&file, &bin, &bad);
    assert_eq!(r["verdict"], "no-go");
    assert!(
        reason(&r, "k8s.deploy.ready").contains(
            "json.status.readyReplicas == json.spec.replicas — json.spec.replicas was 3, json.status.readyReplicas was 2"
        ),
        "{r}"
    );
    assert!(reason(&r, "k8s.deploy.image-pinned").contains("!c.image.endsWith(':latest')"));
    assert!(
        reason(&r, "k8s.hpa.min-replicas")
            .contains("json.spec.minReplicas >= 2 — json.spec.minReplicas was 1")
    );
    assert!(reason(&r, "k8s.pdb.exists").contains("json.items.exists("));
    assert!(
        reason(&r, "helm.release.deployed")
            .contains("json.info.status == 'deployed' — json.info.status was \"failed\"")
    );

    // A release that is not there: helm exits 1, nothing on stdout, `json` is null.
    let gone = dir.path().join("gone.toml");
    std::fs::write(
        &gone,
        std::fs::read_to_string(&file)
            .expect("read")
            .replace("release = \"api\"", "release = \"api-canary\""),
    )
    .expect("write");
    let r = run(&gone, &bin, &good);
    let helm = item(&r, "helm.release.deployed");
    assert_eq!(helm["facts"]["json"], Value::Null, "{helm}");
    assert!(
        reason(&r, "helm.release.deployed").contains("exit_code == 0 — exit_code was 1"),
        "{helm}"
    );
}

#[test]
fn ci_example_reads_gh_and_aws_json() {
    let dir = tempfile::tempdir().expect("tmp");
    let bin = fake_bin(dir.path());
    let file = example("ci.toml");
    let good = fixtures(dir.path(), |_, _| {});
    let r = run(&file, &bin, &good);
    assert_eq!(r["verdict"], "go", "{r}");

    let bad = fixtures(dir.path(), |name, v| match name {
        "gh-run-list" => v[0]["conclusion"] = json!("failure"),
        "aws-ecr-describe-images" => {
            v["imageDetails"][0]["imageScanFindingsSummary"]["findingSeverityCounts"]["CRITICAL"] =
                json!(1)
        }
        _ => {}
    });
    let r = run(&file, &bin, &bad);
    assert!(
        reason(&r, "ci.main-green")
            .contains("json[0].conclusion == 'success' — json[0].conclusion was \"failure\""),
        "{r}"
    );
    assert!(reason(&r, "release.image-scanned").contains("'CRITICAL' in"));
}
