//! The `postgres` probe through the binary, against a throwaway PostgreSQL cluster
//! (one per test binary, a database per test).

use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use preflight_testbed::postgres::Cluster;

use crate::support::{item, json, preflight, stderr, stdout};

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static NEXT: AtomicUsize = AtomicUsize::new(0);

fn pg() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        Cluster::start().unwrap_or_else(|e| {
            panic!("{e} — these tests need a real PostgreSQL (scripts/test.sh installs it)")
        })
    })
}

fn fresh_db(sql: &str) -> String {
    let name = format!(
        "e2e{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    pg().create_database(&name).expect("create database");
    pg().psql_in(&name, sql).expect("fixture");
    pg().dsn_for(&name)
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(&p, text).expect("write");
    p.to_str().expect("utf8").to_string()
}

const HEADER: &str =
    "[checklist]\nname = \"pg\"\ntimeout = \"5s\"\n\n[vars]\ndsn = \"\"\nmigrations = \"\"\n\n";

#[test]
fn sweep_reports_migrations_triggers_and_queries() {
    let dsn = fresh_db(
        "CREATE TABLE _migrations (id serial); INSERT INTO _migrations DEFAULT VALUES;
         CREATE TABLE escrow (id int);
         CREATE FUNCTION g() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
         CREATE TRIGGER escrow_terminal_guard BEFORE UPDATE ON escrow FOR EACH ROW EXECUTE FUNCTION g();
         CREATE TRIGGER task_terminal_guard BEFORE UPDATE ON escrow FOR EACH ROW EXECUTE FUNCTION g();
         ALTER TABLE escrow DISABLE TRIGGER task_terminal_guard;",
    );
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "api/migrations/0001_init.sql", "");
    write(dir.path(), "api/migrations/0002_escrow.sql", "");
    let text = format!(
        "{HEADER}\
         [[item]]\nid = \"db.migrations\"\nprobe = \"postgres\"\ndsn = \"${{dsn}}\"\n\
         migrations = {{ dir = \"${{migrations}}\", table = \"_migrations\" }}\n\n\
         [[item]]\nid = \"db.triggers\"\nprobe = \"postgres\"\ndsn = \"${{dsn}}\"\n\
         require = {{ triggers = [\"escrow_terminal_guard\", \"task_terminal_guard\", \"xp_requires_released_escrow\"] }}\n\n\
         [[item]]\nid = \"db.count\"\nprobe = \"postgres\"\ndsn = \"${{dsn}}\"\n\
         query = \"SELECT count(*) AS n FROM _migrations\"\nexpect = [\"value == 1\", \"row.n == 1\"]\n\n\
         [[item]]\nid = \"db.write\"\nprobe = \"postgres\"\ndsn = \"${{dsn}}\"\n\
         query = \"INSERT INTO _migrations DEFAULT VALUES RETURNING id\"\n"
    );
    let file = write(dir.path(), "pg.toml", &text);
    let migrations = dir.path().join("api/migrations");
    let o = preflight(
        &[
            "run",
            &file,
            "--var",
            &format!("dsn={dsn}"),
            "--var",
            &format!("migrations={}", migrations.display()),
            "--format",
            "json",
            "--no-progress",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = json(&o);
    let m = item(&r, "db.migrations");
    assert_eq!(m["status"], "fail", "{m}");
    assert_eq!(
        m["facts"]["pending"],
        serde_json::json!(["0002_escrow.sql"])
    );
    let t = item(&r, "db.triggers");
    assert_eq!(t["status"], "fail");
    assert_eq!(
        t["facts"]["missing"]["triggers"],
        serde_json::json!(["xp_requires_released_escrow"])
    );
    assert_eq!(
        t["facts"]["disabled_triggers"],
        serde_json::json!(["task_terminal_guard"])
    );
    assert_eq!(
        item(&r, "db.count")["status"],
        "pass",
        "{}",
        item(&r, "db.count")
    );
    let w = item(&r, "db.write");
    assert_eq!(w["status"], "fail");
    assert!(
        w["reason"]
            .as_str()
            .unwrap()
            .contains("read-only transaction"),
        "{w}"
    );
    let left = pg()
        .psql_in(
            dsn.rsplit('/').next().unwrap(),
            "SELECT count(*) FROM _migrations",
        )
        .unwrap();
    assert_eq!(left.trim(), "1", "the write attempt changed nothing");
}

#[test]
fn wrong_password_is_absent_from_every_format() {
    let _ = pg();
    let secret = "S3cret-Wrong-pw-4242";
    let dir = tempfile::tempdir().expect("tmp");
    let text = format!(
        "{HEADER}\
         [[item]]\nid = \"db.url\"\nprobe = \"postgres\"\ndsn = \"postgres://postgres:{secret}@127.0.0.1:{port}/postgres\"\n\n\
         [[item]]\nid = \"db.env\"\nprobe = \"postgres\"\ndsn = \"${{env:PF_TEST_DATABASE_URL}}\"\n\n\
         [[item]]\nid = \"db.kv\"\nprobe = \"postgres\"\n\
         dsn = \"host=127.0.0.1 port={port} user=postgres password={secret}kv dbname=postgres\"\n",
        port = pg().port()
    );
    let file = write(dir.path(), "pw.toml", &text);
    let env_dsn = format!(
        "postgres://postgres:{secret}env@127.0.0.1:{}/postgres?sslmode=disable",
        pg().port()
    );
    for format in ["human", "json", "markdown", "junit"] {
        let o = preflight(
            &["run", &file, "--format", format, "--no-progress"],
            &[("PF_TEST_DATABASE_URL", env_dsn.as_str())],
        );
        assert_eq!(o.status.code(), Some(1), "{format}: {}", stderr(&o));
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert!(!all.contains(secret), "{format} shows the password:\n{all}");
        assert!(
            !all.contains("S3cret"),
            "{format} shows part of the password:\n{all}"
        );
        assert!(
            all.contains("password authentication failed"),
            "{format}: {all}"
        );
        if format == "json" {
            let r = json(&o);
            for id in ["db.url", "db.env", "db.kv"] {
                assert_eq!(item(&r, id)["status"], "fail", "{id}");
            }
        }
    }
}

#[test]
fn slow_query_is_cancelled_by_the_server_within_the_item_timeout() {
    let dsn = fresh_db("");
    let dir = tempfile::tempdir().expect("tmp");
    let file = write(
        dir.path(),
        "slow.toml",
        &format!(
            "{HEADER}[[item]]\nid = \"db.slow\"\nprobe = \"postgres\"\ndsn = \"${{dsn}}\"\n\
             query = \"SELECT pg_sleep(60)\"\ntimeout = \"2s\"\n"
        ),
    );
    let t0 = std::time::Instant::now();
    let o = preflight(
        &[
            "run",
            &file,
            "--var",
            &format!("dsn={dsn}"),
            "--format",
            "json",
            "--no-progress",
        ],
        &[],
    );
    assert!(t0.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = json(&o);
    let slow = item(&r, "db.slow");
    assert_eq!(slow["status"], "fail");
    assert!(
        slow["reason"]
            .as_str()
            .unwrap()
            .contains("canceling statement due to statement timeout"),
        "{slow}"
    );
}

#[test]
fn several_statements_are_rejected_at_load() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = write(
        dir.path(),
        "multi.toml",
        &format!(
            "{HEADER}[[item]]\nid = \"db.sneaky\"\nprobe = \"postgres\"\ndsn = \"${{dsn}}\"\n\
             query = \"COMMIT; BEGIN READ WRITE; DELETE FROM users\"\n"
        ),
    );
    let o = preflight(&["check", &file], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("more than one statement"), "{err}");
    assert!(err.contains("db.sneaky"), "{err}");
}

#[test]
fn example_checklist_passes_check() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/postgres.toml");
    let o = preflight(&["check", example.to_str().expect("utf8")], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("DATABASE_URL"), "{}", stdout(&o));
}

#[test]
fn demo_includes_postgres_items() {
    let _ = pg();
    let o = preflight(&["demo", "--format", "json"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("postgres up"), "{}", stderr(&o));
    let r = json(&o);
    for id in [
        "db.connect",
        "db.migrations",
        "db.triggers",
        "db.indexes",
        "db.users",
    ] {
        assert_eq!(item(&r, id)["status"], "pass", "{}", item(&r, id));
    }
    assert_eq!(item(&r, "bad.db.pending")["status"], "fail");
    assert_eq!(item(&r, "bad.db.write")["status"], "fail");
    assert_eq!(r["verdict"], "go");
}
