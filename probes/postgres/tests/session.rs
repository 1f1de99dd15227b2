//! Connection facts, queries, required objects, the read-only guarantees and
//! connection failures, against a real PostgreSQL.

mod support;

use std::time::Duration;

use preflight_core::{AnyProbe, Status};
use preflight_probe_postgres::PostgresProbe;
use preflight_testbed::postgres::Cluster;
use serde_json::json;
use support::{T, fresh_db, options, pg, probe};

#[test]
fn connection_facts_and_session_settings() {
    let (dsn, _) = fresh_db("");
    let run = probe(
        json!({
            "dsn": dsn,
            "query": "SELECT current_setting('application_name') AS app, \
                      current_setting('transaction_read_only') AS ro, \
                      current_setting('default_transaction_read_only') AS session_ro, \
                      current_setting('statement_timeout') AS st"
        }),
        T,
    );
    assert_eq!(run.status, Status::Pass, "{run:?}");
    assert_eq!(run.facts["connected"], true);
    assert!(run.facts["latency_ms"].as_f64().unwrap() > 0.0);
    assert!(
        run.facts["server_version"]
            .as_str()
            .unwrap()
            .starts_with(char::is_numeric)
    );
    // sslmode defaults to prefer and the cluster offers TLS.
    assert_eq!(run.facts["ssl"], true);
    let row = &run.facts["row"];
    assert_eq!(row["app"], "preflight");
    assert_eq!(row["ro"], "on");
    assert_eq!(row["session_ro"], "on");
    let st = row["st"].as_str().unwrap();
    assert!(
        st.ends_with("ms") || st.ends_with('s'),
        "statement_timeout is set: {st}"
    );
    assert_ne!(st, "0");
}

#[test]
fn query_rows_row_value_and_types() {
    let (dsn, _) = fresh_db(
        "CREATE TABLE plans (id int, name text, price numeric(10,2), created timestamptz, \
         meta jsonb, key uuid, tags text[], active bool, ratio float8);
         INSERT INTO plans VALUES (1, 'pro', 12.50, '2024-05-01 10:00:00+00', '{\"tier\": 2}', \
         'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{a,b}', true, 0.25), \
         (2, 'free', 0, NULL, NULL, NULL, '{}', false, NULL);",
    );
    let run = probe(
        json!({"dsn": dsn, "query": "SELECT id, name, price, created, meta, key, tags, active, ratio, \
               now()::date AS today FROM plans ORDER BY id;"}),
        T,
    );
    assert_eq!(run.status, Status::Pass, "{run:?}");
    assert_eq!(run.facts["value"], 1);
    let rows = run.facts["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let r = &rows[0];
    assert_eq!(r["name"], "pro");
    assert_eq!(r["price"], 12.5);
    assert_eq!(r["created"], "2024-05-01T10:00:00Z");
    assert_eq!(r["meta"], json!({"tier": 2}));
    assert_eq!(r["key"], "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    assert_eq!(r["tags"], json!(["a", "b"]));
    assert_eq!(r["active"], true);
    assert_eq!(r["ratio"], 0.25);
    assert_eq!(rows[1]["created"], json!(null));
    assert_eq!(rows[1]["price"], 0);
    assert_eq!(r["today"].as_str().unwrap().len(), 10);
    // An expectation over the facts, as a checklist would write it.
    let facts = run.facts.clone();
    let e = preflight_core::expect::Expectation::compile("rows.size() == 2 && row.name == 'pro'")
        .unwrap();
    assert_eq!(e.judge(&facts), preflight_core::expect::Judgement::Holds);
    // No rows: row and value are null.
    let run = probe(json!({"dsn": dsn, "query": "SELECT 1 WHERE false"}), T);
    assert_eq!(run.facts["row"], json!(null));
    assert_eq!(run.facts["value"], json!(null));
}

#[test]
fn sql_error_fails_with_the_server_message() {
    let (dsn, _) = fresh_db("");
    let run = probe(
        json!({"dsn": dsn, "query": "SELECT * FROM no_such_table"}),
        T,
    );
    assert_eq!(run.status, Status::Fail, "{run:?}");
    assert!(
        run.reason
            .contains("relation \"no_such_table\" does not exist"),
        "{}",
        run.reason
    );
}

#[test]
fn writes_are_refused_and_nothing_changes() {
    let (dsn, db) = fresh_db("CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2);");
    for sql in [
        "INSERT INTO t VALUES (3) RETURNING id",
        "DELETE FROM t",
        "WITH gone AS (DELETE FROM t RETURNING id) SELECT count(*) FROM gone",
        "UPDATE t SET id = 0",
        "DROP TABLE t",
        "CREATE TABLE evil (id int)",
        "SET TRANSACTION READ WRITE",
        "SELECT set_config('transaction_read_only', 'off', true)",
    ] {
        let run = probe(json!({"dsn": dsn, "query": sql}), T);
        assert_eq!(run.status, Status::Fail, "{sql}: {run:?}");
        assert!(
            run.reason.contains("read-only") || run.reason.contains("read-write"),
            "{sql}: {}",
            run.reason
        );
    }
    // COMMIT alone ends our read-only transaction; nothing else runs after it.
    let run = probe(json!({"dsn": dsn, "query": "COMMIT"}), T);
    assert_ne!(run.status, Status::Error, "{run:?}");
    assert_eq!(
        pg().psql_in(&db, "SELECT string_agg(id::text, ',' ORDER BY id) FROM t; SELECT to_regclass('evil') IS NULL")
            .unwrap()
            .trim(),
        "1,2\nt"
    );
}

#[test]
fn several_statements_are_a_checklist_error() {
    let p = PostgresProbe::new();
    for sql in [
        "COMMIT; BEGIN READ WRITE; DELETE FROM t",
        "SELECT 1; SELECT 2",
        "SELECT 'a;b'; DROP TABLE t",
    ] {
        let problems = p.check(&options(
            json!({"dsn": "postgres://u@127.0.0.1/db", "query": sql}),
        ));
        assert_eq!(problems.len(), 1, "{sql}");
        assert_eq!(problems[0].key.as_deref(), Some("query"));
        assert!(
            problems[0].message.contains("more than one statement"),
            "{:?}",
            problems[0]
        );
    }
    for sql in ["SELECT 'a;b';", "SELECT $$x;y$$ -- ; z"] {
        assert!(
            p.check(&options(json!({"dsn": "postgres://u@h/db", "query": sql})))
                .is_empty(),
            "{sql}"
        );
    }
}

#[test]
fn statement_timeout_cancels_on_the_server() {
    let (dsn, _) = fresh_db("");
    let timeout = Duration::from_secs(3);
    let run = probe(json!({"dsn": dsn, "query": "SELECT pg_sleep(60)"}), timeout);
    assert_eq!(run.status, Status::Fail, "{run:?}");
    assert!(run.reason.contains("statement timeout"), "{}", run.reason);
    assert!(run.timed_out, "the server's cancel is a timeout: {run:?}");
    assert!(run.elapsed < timeout, "{:?}", run.elapsed);
    // The server cancelled it: no backend is still sleeping.
    std::thread::sleep(Duration::from_millis(300));
    let busy = pg()
        .psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid() AND state = 'active'")
        .unwrap();
    assert_eq!(busy.trim(), "0");
}

#[test]
fn required_objects() {
    let (dsn, _) = fresh_db(
        "CREATE TABLE escrow (id int, state text); CREATE TABLE xp (id int);
         CREATE INDEX performance_indexes_v1 ON escrow (state);
         CREATE FUNCTION guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
         CREATE TRIGGER escrow_terminal_guard BEFORE UPDATE ON escrow FOR EACH ROW EXECUTE FUNCTION guard();
         CREATE TRIGGER xp_requires_released_escrow BEFORE INSERT ON xp FOR EACH ROW EXECUTE FUNCTION guard();
         CREATE ROLE vfapp;",
    );
    let all = json!({
        "dsn": dsn,
        "require": {
            "tables": ["escrow", "public.xp"],
            "triggers": ["escrow_terminal_guard", "xp.xp_requires_released_escrow"],
            "indexes": ["performance_indexes_v1"],
            "roles": ["vfapp"],
            "extensions": ["plpgsql"]
        }
    });
    let run = probe(all.clone(), T);
    assert_eq!(run.status, Status::Pass, "{run:?}");
    assert_eq!(run.facts["disabled_triggers"], json!([]));

    let run = probe(
        json!({"dsn": dsn, "require": {
            "tables": ["escrow", "audit.escrow", "orders"],
            "triggers": ["escrow_terminal_guard", "task_completion_guard", "escrow.xp_requires_released_escrow"],
            "indexes": ["performance_indexes_v2"],
            "roles": ["vfmigrator"],
            "extensions": ["pgcrypto"]
        }}),
        T,
    );
    assert_eq!(run.status, Status::Fail, "{run:?}");
    assert_eq!(
        run.facts["missing"],
        json!({
            "tables": ["audit.escrow", "orders"],
            "triggers": ["task_completion_guard", "escrow.xp_requires_released_escrow"],
            "indexes": ["performance_indexes_v2"],
            "roles": ["vfmigrator"],
            "extensions": ["pgcrypto"]
        })
    );
    assert!(
        run.reason.contains("task_completion_guard"),
        "{}",
        run.reason
    );
}

#[test]
fn disabled_trigger_fails_naming_it() {
    let (dsn, _) = fresh_db(
        "CREATE TABLE escrow (id int);
         CREATE FUNCTION guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
         CREATE TRIGGER escrow_terminal_guard BEFORE UPDATE ON escrow FOR EACH ROW EXECUTE FUNCTION guard();
         CREATE TRIGGER escrow_audit AFTER UPDATE ON escrow FOR EACH ROW EXECUTE FUNCTION guard();
         ALTER TABLE escrow DISABLE TRIGGER escrow_terminal_guard;",
    );
    let run = probe(
        json!({"dsn": dsn, "require": {"triggers": ["escrow_terminal_guard", "escrow_audit"]}}),
        T,
    );
    assert_eq!(run.status, Status::Fail, "{run:?}");
    assert_eq!(
        run.facts["disabled_triggers"],
        json!(["escrow_terminal_guard"])
    );
    assert_eq!(run.facts["missing"]["triggers"], json!([]));
    assert!(
        run.reason.contains("escrow_terminal_guard"),
        "{}",
        run.reason
    );
}

#[test]
fn wrong_password_fails_without_the_password() {
    let (dsn, _) = fresh_db("");
    let secret = "Wr0ng-Pa55word-xyz";
    let bad = dsn.replacen(pg().password(), secret, 1);
    assert!(bad.contains(secret));
    let run = probe(json!({"dsn": bad}), T);
    assert_eq!(run.status, Status::Fail, "{run:?}");
    assert!(
        run.reason.contains("password authentication failed"),
        "{}",
        run.reason
    );
    assert!(!run.reason.contains(secret), "{}", run.reason);
    // The key=value form too, and secrets() finds the password for the redactor.
    let kv = format!(
        "host=127.0.0.1 port={} user=postgres password='{secret}' dbname=postgres",
        pg().port()
    );
    let run = probe(json!({"dsn": kv}), T);
    assert_eq!(run.status, Status::Fail, "{run:?}");
    assert!(!run.reason.contains(secret), "{}", run.reason);
    assert!(
        PostgresProbe::new()
            .secrets(&options(json!({"dsn": kv})))
            .contains(&secret.to_string())
    );
}

#[test]
fn keyword_dsn_connects() {
    let (_, db) = fresh_db("");
    let kv = format!(
        "host=127.0.0.1 port={} user=postgres password={} dbname={db} sslmode=disable",
        pg().port(),
        pg().password()
    );
    let run = probe(json!({"dsn": kv}), T);
    assert_eq!(run.status, Status::Pass, "{run:?}");
    assert_eq!(run.facts["ssl"], false);
}

#[test]
fn tls_modes() {
    let (dsn, _) = fresh_db("");
    let ca = pg().ca_path().display().to_string();
    let run = probe(json!({"dsn": dsn, "sslmode": "require"}), T);
    assert_eq!(
        (run.status, &run.facts["ssl"]),
        (Status::Pass, &json!(true)),
        "{run:?}"
    );
    let run = probe(
        json!({"dsn": format!("{dsn}?sslmode=verify-full&sslrootcert={ca}")}),
        T,
    );
    assert_eq!(
        (run.status, &run.facts["ssl"]),
        (Status::Pass, &json!(true)),
        "{run:?}"
    );
    // The testbed CA is not a public root: verify-full without it fails.
    let run = probe(json!({"dsn": dsn, "sslmode": "verify-full"}), T);
    assert_eq!(run.status, Status::Fail, "{run:?}");
    assert!(
        run.reason.to_lowercase().contains("certificate") || run.reason.contains("Unknown"),
        "{}",
        run.reason
    );
    // verify-ca checks the chain but not the name: "localhost" vs a 127.0.0.1 cert both fine here.
    let run = probe(
        json!({"dsn": format!("{dsn}?sslmode=verify-ca&sslrootcert={ca}")}),
        T,
    );
    assert_eq!(run.status, Status::Pass, "{run:?}");
    let run = probe(json!({"dsn": dsn, "sslmode": "disable"}), T);
    assert_eq!(
        (run.status, &run.facts["ssl"]),
        (Status::Pass, &json!(false)),
        "{run:?}"
    );
}

#[test]
fn stopped_server_fails_within_the_timeout() {
    let mut own = Cluster::start().expect("PostgreSQL starts");
    let dsn = own.dsn();
    assert_eq!(probe(json!({"dsn": dsn}), T).status, Status::Pass);
    own.stop();
    let timeout = Duration::from_secs(2);
    let run = probe(json!({"dsn": dsn}), timeout);
    assert_eq!(run.status, Status::Fail, "{run:?}");
    assert!(
        run.elapsed <= timeout + Duration::from_millis(200),
        "{:?}",
        run.elapsed
    );
    assert!(
        run.reason.contains("failed to connect to 127.0.0.1:"),
        "{}",
        run.reason
    );
    assert!(!run.reason.contains(own.password()), "{}", run.reason);
}

#[test]
fn silent_server_times_out() {
    // A port that accepts and never answers: the item fails by its timeout.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let timeout = Duration::from_secs(1);
    let run = probe(
        json!({"dsn": format!("postgres://u:pw12345@127.0.0.1:{port}/db")}),
        timeout,
    );
    assert_eq!(run.status, Status::Fail, "{run:?}");
    assert!(
        run.elapsed < timeout + Duration::from_millis(500),
        "{:?}",
        run.elapsed
    );
    drop(listener);
}

#[test]
fn rows_are_capped() {
    let (dsn, _) = fresh_db("");
    let run = probe(
        json!({"dsn": dsn, "query": "SELECT g FROM generate_series(1, 200000) g"}),
        T,
    );
    assert_eq!(run.status, Status::Pass, "{run:?}");
    assert_eq!(
        run.facts["rows"].as_array().unwrap().len(),
        preflight_probe_postgres::MAX_ROWS
    );
    assert_eq!(run.facts["value"], 1);
}
