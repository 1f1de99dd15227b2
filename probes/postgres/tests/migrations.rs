//! Migrations against a real PostgreSQL: every framework's tracking table, a folder
//! that matches it (pass) and one with an extra file (fail naming it).

mod support;

use preflight_core::Status;
use serde_json::json;
use support::{T, files, fresh_db, probe};

/// Sets up `sql`, then checks `up_to_date` passes and `drifting` fails naming `pending`.
fn case(
    framework: &str,
    sql: &str,
    up_to_date: &[(&str, &str)],
    drifting: &[(&str, &str)],
    pending: &str,
) {
    let (dsn, _) = fresh_db(sql);
    let good = files(up_to_date);
    let run = probe(
        json!({"dsn": dsn, "migrations": {"dir": good.path().to_str().unwrap()}}),
        T,
    );
    assert_eq!(run.status, Status::Pass, "{framework} up to date: {run:?}");
    assert_eq!(run.facts["framework"], framework, "{run:?}");
    assert_eq!(run.facts["pending"], json!([]));
    assert!(
        run.facts["applied"].as_u64() > Some(0),
        "{framework}: {run:?}"
    );

    let mut all: Vec<(&str, &str)> = up_to_date.to_vec();
    all.extend_from_slice(drifting);
    let bad = files(&all);
    let run = probe(
        json!({"dsn": dsn, "migrations": {"dir": bad.path().to_str().unwrap()}}),
        T,
    );
    assert_eq!(run.status, Status::Fail, "{framework} drifting: {run:?}");
    assert_eq!(
        run.facts["pending"],
        json!([pending]),
        "{framework}: {run:?}"
    );
    assert!(run.reason.contains("pending"), "{}", run.reason);
}

const PRISMA: &str = "CREATE TABLE _prisma_migrations (id varchar(36) PRIMARY KEY, \
    checksum varchar(64) NOT NULL, finished_at timestamptz, migration_name varchar(255) NOT NULL, \
    logs text, rolled_back_at timestamptz, started_at timestamptz NOT NULL DEFAULT now(), \
    applied_steps_count integer NOT NULL DEFAULT 0);";

#[test]
fn prisma() {
    let sql = format!(
        "{PRISMA} INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at) VALUES \
         ('a', 'x', now(), '20240101000000_init', now() - interval '2 min'), \
         ('b', 'x', now(), '20240102000000_users', now() - interval '1 min'), \
         ('c', 'x', NULL, '20240103000000_bad', now() - interval '1 day');
         UPDATE _prisma_migrations SET rolled_back_at = now() WHERE id = 'c';"
    );
    case(
        "prisma",
        &sql,
        &[
            ("20240101000000_init/migration.sql", "CREATE TABLE a();"),
            ("20240102000000_users/migration.sql", "CREATE TABLE b();"),
            ("migration_lock.toml", "provider = \"postgresql\""),
        ],
        &[("20240104000000_orders/migration.sql", "")],
        "20240104000000_orders/migration.sql",
    );
}

#[test]
fn prisma_failed_migration_fails() {
    let (dsn, _) = fresh_db(&format!(
        "{PRISMA} INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs) VALUES \
         ('a', 'x', now(), '20240101000000_init', NULL), \
         ('b', 'x', NULL, '20240102000000_users', 'ERROR: relation exists');"
    ));
    let dir = files(&[
        ("20240101000000_init/migration.sql", ""),
        ("20240102000000_users/migration.sql", ""),
    ]);
    let run = probe(
        json!({"dsn": dsn, "migrations": {"dir": dir.path().to_str().unwrap()}}),
        T,
    );
    assert_eq!(run.status, Status::Fail, "{run:?}");
    assert_eq!(run.facts["failed"], json!(["20240102000000_users"]));
    assert_eq!(
        run.facts["pending"],
        json!([]),
        "a failed migration is not also pending"
    );
    assert_eq!(run.facts["applied"], 1);
    assert_eq!(run.facts["latest"], "20240101000000_init");
    assert!(run.reason.contains("failed"), "{}", run.reason);
}

#[test]
fn flyway() {
    let sql = "CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), \
        description varchar(200) NOT NULL, type varchar(20) NOT NULL, script varchar(1000) NOT NULL, \
        checksum int, installed_by varchar(100) NOT NULL, installed_on timestamp NOT NULL DEFAULT now(), \
        execution_time int NOT NULL, success boolean NOT NULL);
        INSERT INTO flyway_schema_history VALUES \
        (1, '1', 'init', 'SQL', 'V1__init.sql', 1, 'me', now(), 5, true), \
        (2, '1.1', 'more', 'SQL', 'V1_1__more.sql', 1, 'me', now(), 5, true), \
        (3, NULL, 'view', 'SQL', 'R__view.sql', 1, 'me', now(), 5, true);";
    case(
        "flyway",
        sql,
        &[
            ("V1__init.sql", ""),
            ("V1_1__more.sql", ""),
            ("R__view.sql", ""),
        ],
        &[("V2__orders.sql", "")],
        "V2__orders.sql",
    );
    let (dsn, _) = fresh_db(&sql.replace(
        "'more', 'SQL', 'V1_1__more.sql', 1, 'me', now(), 5, true",
        "'more', 'SQL', 'V1_1__more.sql', 1, 'me', now(), 5, false",
    ));
    let dir = files(&[("V1__init.sql", ""), ("V1_1__more.sql", "")]);
    let run = probe(
        json!({"dsn": dsn, "migrations": {"dir": dir.path().to_str().unwrap()}}),
        T,
    );
    assert_eq!(run.status, Status::Fail, "{run:?}");
    assert_eq!(run.facts["failed"], json!(["1.1"]));
}

#[test]
fn sqlx_and_unknown_applied() {
    let sql = "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
        installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, \
        execution_time BIGINT NOT NULL);
        INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES \
        (20240101000000, 'init', true, '\\x00', 1), (20240102000000, 'users', true, '\\x00', 1);";
    case(
        "sqlx",
        sql,
        &[
            ("20240101000000_init.sql", ""),
            ("20240102000000_users.up.sql", ""),
            ("20240102000000_users.down.sql", ""),
        ],
        &[("20240103000000_orders.sql", "")],
        "20240103000000_orders.sql",
    );
    // An applied migration without a file is reported, and does not fail by default.
    let dir = files(&[("20240101000000_init.sql", "")]);
    let (dsn, _) = fresh_db(sql);
    let run = probe(
        json!({"dsn": dsn, "migrations": {"dir": dir.path().to_str().unwrap()}}),
        T,
    );
    assert_eq!(run.facts["unknown"], json!(["20240102000000"]), "{run:?}");
    assert_eq!(run.facts["latest"], "20240102000000");
    assert_eq!(run.facts["table"], "_sqlx_migrations");
    assert_eq!(run.status, Status::Pass, "{run:?}");
}

#[test]
fn diesel() {
    let sql = "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, \
        run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
        INSERT INTO __diesel_schema_migrations (version) VALUES ('00000000000000'), ('20240101120000');";
    case(
        "diesel",
        sql,
        &[
            ("00000000000000_diesel_initial_setup/up.sql", ""),
            ("00000000000000_diesel_initial_setup/down.sql", ""),
            ("2024-01-01-120000_create_users/up.sql", ""),
        ],
        &[("2024-02-01-000000_orders/up.sql", "")],
        "2024-02-01-000000_orders/up.sql",
    );
}

#[test]
fn rails() {
    let sql = "CREATE TABLE schema_migrations (version character varying NOT NULL PRIMARY KEY);
        CREATE TABLE ar_internal_metadata (key varchar PRIMARY KEY, value varchar);
        INSERT INTO schema_migrations VALUES ('20240101000000'), ('20240102000000');";
    case(
        "rails",
        sql,
        &[
            ("20240101000000_create_users.rb", ""),
            ("20240102000000_add_email.rb", ""),
        ],
        &[("20240103000000_create_orders.rb", "")],
        "20240103000000_create_orders.rb",
    );
}

#[test]
fn golang_migrate_and_dirty() {
    let sql = "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
        INSERT INTO schema_migrations VALUES (2, false);";
    case(
        "golang-migrate",
        sql,
        &[
            ("000001_init.up.sql", ""),
            ("000001_init.down.sql", ""),
            ("000002_users.up.sql", ""),
            ("000002_users.down.sql", ""),
        ],
        &[("000003_orders.up.sql", "")],
        "000003_orders.up.sql",
    );
    let (dsn, _) = fresh_db(&sql.replace("(2, false)", "(2, true)"));
    let dir = files(&[("000001_init.up.sql", ""), ("000002_users.up.sql", "")]);
    let run = probe(
        json!({"dsn": dsn, "migrations": {"dir": dir.path().to_str().unwrap()}}),
        T,
    );
    assert_eq!(run.status, Status::Fail, "{run:?}");
    assert_eq!(run.facts["failed"], json!(["2"]));
}

#[test]
fn knex() {
    let sql =
        "CREATE TABLE knex_migrations (id serial PRIMARY KEY, name varchar(255), batch integer, \
        migration_time timestamptz);
        CREATE TABLE knex_migrations_lock (index serial PRIMARY KEY, is_locked integer);
        INSERT INTO knex_migrations (name, batch, migration_time) VALUES \
        ('20240101_init.js', 1, now()), ('20240102_users.js', 1, now());";
    case(
        "knex",
        sql,
        &[("20240101_init.js", ""), ("20240102_users.ts", "")],
        &[("20240103_orders.js", "")],
        "20240103_orders.js",
    );
}

#[test]
fn django() {
    let sql =
        "CREATE TABLE django_migrations (id bigserial PRIMARY KEY, app varchar(255) NOT NULL, \
        name varchar(255) NOT NULL, applied timestamptz NOT NULL);
        INSERT INTO django_migrations (app, name, applied) VALUES \
        ('contenttypes', '0001_initial', now()), ('auth', '0001_initial', now()), \
        ('shop', '0001_initial', now()), ('shop', '0002_order', now());";
    case(
        "django",
        sql,
        &[
            ("shop/migrations/__init__.py", ""),
            ("shop/migrations/0001_initial.py", ""),
            ("shop/migrations/0002_order.py", ""),
            ("shop/models.py", ""),
        ],
        &[("shop/migrations/0003_refund.py", "")],
        "shop/migrations/0003_refund.py",
    );
}

#[test]
fn alembic() {
    let sql = "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL PRIMARY KEY);
        INSERT INTO alembic_version VALUES ('b2c3');";
    case(
        "alembic",
        sql,
        &[
            ("a1b2_init.py", "revision = 'a1b2'\ndown_revision = None\n"),
            (
                "b2c3_users.py",
                "revision: str = 'b2c3'\ndown_revision: Union[str, None] = 'a1b2'\n",
            ),
        ],
        &[(
            "c3d4_orders.py",
            "revision = \"c3d4\"\ndown_revision = \"b2c3\"\n",
        )],
        "c3d4_orders.py",
    );
}

#[test]
fn plain_table_seed_rule() {
    // "SELECT count(*) FROM _migrations ≥ count of ls api/migrations/*.sql"
    let sql =
        "CREATE TABLE _migrations (id serial PRIMARY KEY, applied_at timestamptz DEFAULT now());
        INSERT INTO _migrations DEFAULT VALUES; INSERT INTO _migrations DEFAULT VALUES;";
    let (dsn, _) = fresh_db(sql);
    let good = files(&[
        ("0001_init.sql", ""),
        ("0002_users.sql", ""),
        ("README.md", ""),
    ]);
    let opts = |dir: &std::path::Path| json!({"dsn": dsn, "migrations": {"dir": dir.to_str().unwrap(), "table": "_migrations"}});
    let run = probe(opts(good.path()), T);
    assert_eq!(run.status, Status::Pass, "{run:?}");
    assert_eq!(run.facts["framework"], "table");
    assert_eq!(run.facts["applied"], 2);
    assert_eq!(run.facts["files"], 2);
    let bad = files(&[
        ("0001_init.sql", ""),
        ("0002_users.sql", ""),
        ("0003_orders.sql", ""),
    ]);
    let run = probe(opts(bad.path()), T);
    assert_eq!(run.status, Status::Fail, "{run:?}");
    assert_eq!(run.facts["pending"], json!(["0003_orders.sql"]));
}

#[test]
fn missing_tracking_table_fails_and_missing_dir_errors() {
    let (dsn, _) = fresh_db("CREATE TABLE users (id int);");
    let dir = files(&[("0001.sql", "")]);
    let run = probe(
        json!({"dsn": dsn, "migrations": {"dir": dir.path().to_str().unwrap()}}),
        T,
    );
    assert_eq!(run.status, Status::Fail, "{run:?}");
    assert!(
        run.reason.contains("no migrations tracking table"),
        "{}",
        run.reason
    );
    let (dsn, _) = fresh_db("CREATE TABLE _migrations (id int);");
    let run = probe(
        json!({"dsn": dsn, "migrations": {"dir": "/nonexistent/migrations", "table": "_migrations"}}),
        T,
    );
    assert_eq!(run.status, Status::Error, "{run:?}");
    assert!(
        run.reason.contains("/nonexistent/migrations"),
        "{}",
        run.reason
    );
}
