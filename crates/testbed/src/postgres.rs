//! A throwaway PostgreSQL cluster on loopback, for tests and the demo.
//!
//! [`Cluster::start`] runs Debian's (or any) `initdb` into a temp dir, turns on TLS with
//! a certificate from the testbed CA, starts the server on a free port of 127.0.0.1
//! (its unix socket stays inside the temp dir) and waits until it accepts
//! connections. `initdb` refuses to run as root, so as root every server command runs
//! as the `postgres` user through `runuser`. Dropping the cluster stops it
//! (`pg_ctl stop -m immediate`) and removes the dir; a watchdog process does the same
//! if the owning process exits without dropping it (a cluster kept in a `static`).
//!
//! ```no_run
//! let pg = preflight_testbed::postgres::Cluster::start()?;
//! pg.psql("CREATE TABLE t (id int)")?;
//! println!("{}", pg.dsn());
//! # Ok::<(), preflight_testbed::TestbedError>(())
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{TestPki, TestbedError};

/// The superuser the cluster is created with.
pub const SUPERUSER: &str = "postgres";

/// The invariant triggers of the demo database (as in a real launch checklist).
pub const DEMO_TRIGGERS: &[&str] = &[
    "xp_requires_released_escrow",
    "escrow_released_requires_completed_task",
    "task_completed_requires_accepted_proof",
    "task_terminal_guard",
    "escrow_terminal_guard",
];

/// A running PostgreSQL cluster in a temp dir. Dropping it stops the server.
pub struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    password: String,
    run_as: Option<String>,
    stopped: bool,
    watchdog: Option<(Child, ChildStdin)>,
    /// The CA that issued the server's certificate (and, on request, clients').
    pki: Option<Box<TestPki>>,
}

fn fail(msg: impl Into<String>) -> TestbedError {
    TestbedError::Postgres(msg.into())
}

/// The folder holding `initdb`, `pg_ctl` and `psql`: `initdb` on PATH (symlinks
/// resolved) or the newest `/usr/lib/postgresql/*/bin`.
fn find_bin_dir() -> Result<PathBuf, TestbedError> {
    let has_all = |d: &Path| {
        ["initdb", "pg_ctl", "psql"]
            .iter()
            .all(|b| d.join(b).exists())
    };
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            let candidate = d.join("initdb");
            if candidate.is_file()
                && let Ok(real) = std::fs::canonicalize(&candidate)
                && let Some(parent) = real.parent()
                && has_all(parent)
            {
                return Ok(parent.to_path_buf());
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_all(&bin).then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b).ok_or_else(|| {
        fail(
            "PostgreSQL is not installed: no initdb on PATH or in /usr/lib/postgresql/*/bin \
             (install Debian's `postgresql` package)",
        )
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn user_ids(user: &str) -> Result<(u32, u32), TestbedError> {
    let id = |flag: &str| -> Result<u32, TestbedError> {
        let out = Command::new("id")
            .args([flag, user])
            .output()
            .map_err(|e| fail(format!("failed to run id: {e}")))?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| {
                fail(format!(
                    "running as root needs a `{user}` user (id {flag} {user})"
                ))
            })
    };
    Ok((id("-u")?, id("-g")?))
}

fn free_port() -> Result<u16, TestbedError> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn fresh_password() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("pf-{:x}-{:x}", nanos ^ 0x5bd1_e995_u128, std::process::id())
}

/// A SCRAM-SHA-256 verifier with ONE iteration (PostgreSQL stores 4096 by default).
/// Clients then derive the key in microseconds instead of running 4096 HMAC rounds —
/// which in an unoptimised test build costs most of a second per connection.
fn cheap_scram_verifier(password: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::{Digest, Sha256};
    let hmac = |key: &[u8], data: &[u8]| -> Vec<u8> {
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
        m.update(data);
        m.finalize().into_bytes().to_vec()
    };
    let salt: Vec<u8> = fresh_password().bytes().rev().take(16).collect();
    // PBKDF2 with one iteration: U1 = HMAC(password, salt || INT(1)).
    let mut salt_block = salt.clone();
    salt_block.extend_from_slice(&1u32.to_be_bytes());
    let salted = hmac(password.as_bytes(), &salt_block);
    let stored_key = Sha256::digest(hmac(&salted, b"Client Key"));
    let server_key = hmac(&salted, b"Server Key");
    format!(
        "SCRAM-SHA-256$1:{}${}:{}",
        B64.encode(&salt),
        B64.encode(stored_key),
        B64.encode(server_key)
    )
}

fn to_pem(label: &str, der: &[u8]) -> String {
    pem::encode(&pem::Pem::new(label, der.to_vec()))
}

impl Cluster {
    /// Creates and starts a cluster (blocking, about a second). Fails with a clear
    /// error when PostgreSQL is not installed.
    pub fn start() -> Result<Cluster, TestbedError> {
        let bin = find_bin_dir()?;
        let run_as = is_root().then(|| SUPERUSER.to_string());
        let dir = tempfile::Builder::new().prefix("preflight-pg-").tempdir()?;
        let owner = match &run_as {
            Some(u) => Some(user_ids(u)?),
            None => None,
        };
        let chown = |p: &Path| -> Result<(), TestbedError> {
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(p, Some(uid), Some(gid))?;
            }
            Ok(())
        };
        chown(dir.path())?;
        let password = fresh_password();
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, format!("{password}\n"))?;
        chown(&pwfile)?;
        let mut cluster = Cluster {
            bin,
            port: 0,
            password,
            run_as,
            stopped: true,
            watchdog: None,
            pki: None,
            dir,
        };
        let data = cluster.data_dir();
        cluster.server_cmd(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "-U",
                SUPERUSER,
                &format!("--pwfile={}", pwfile.display()),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        std::fs::remove_file(&pwfile)?;

        let pki = TestPki::generate()?;
        let (leaf, key) = pki.issue(
            crate::certs::API_NAMES,
            time::OffsetDateTime::now_utc() - time::Duration::days(1),
            time::OffsetDateTime::now_utc() + time::Duration::days(90),
        )?;
        let files = [
            (data.join("server.crt"), to_pem("CERTIFICATE", &leaf)),
            (data.join("server.key"), to_pem("PRIVATE KEY", &key)),
            (cluster.ca_path(), pki.ca_pem.clone()),
        ];
        for (path, text) in &files {
            std::fs::write(path, text)?;
            std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
            chown(path)?;
        }
        std::fs::set_permissions(
            cluster.ca_path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o644),
        )?;
        cluster.pki = Some(Box::new(pki));

        cluster.watchdog = Some(cluster.spawn_watchdog()?);
        // A port found free can be taken before the server binds it: try a few.
        let mut last = None;
        for _ in 0..3 {
            cluster.port = free_port()?;
            let mut conf = std::fs::OpenOptions::new()
                .append(true)
                .open(data.join("postgresql.conf"))?;
            writeln!(
                conf,
                "\n# preflight testbed\nlisten_addresses = '127.0.0.1'\nport = {}\n\
                 unix_socket_directories = '{}'\nssl = on\nfsync = off\n\
                 synchronous_commit = off\nfull_page_writes = off\nmax_connections = 100\n",
                cluster.port,
                cluster.dir.path().display()
            )?;
            let log = cluster.dir.path().join("server.log");
            match cluster.server_cmd(
                "pg_ctl",
                &[
                    "start",
                    "-D",
                    &data.display().to_string(),
                    "-l",
                    &log.display().to_string(),
                    "-w",
                    "-t",
                    "60",
                ],
            ) {
                Ok(_) => {
                    cluster.stopped = false;
                    cluster.psql(&format!(
                        "ALTER ROLE {SUPERUSER} PASSWORD '{}'",
                        cheap_scram_verifier(&cluster.password)
                    ))?;
                    return Ok(cluster);
                }
                Err(e) => {
                    let tail = std::fs::read_to_string(&log).unwrap_or_default();
                    last = Some(fail(format!("{e}; server log: {}", tail.trim())));
                }
            }
        }
        Err(last.unwrap_or_else(|| fail("the server did not start")))
    }

    /// Makes TLS connections need a client certificate issued by the cluster's CA whose
    /// common name is the user (`pg_hba.conf`: `hostssl … clientcert=verify-full`,
    /// then the password as before; plain connections are unchanged), reloads the
    /// server, and returns the superuser's certificate and key PEM files.
    pub fn require_client_certificates(&self) -> Result<(PathBuf, PathBuf), TestbedError> {
        let pki = self
            .pki
            .as_ref()
            .ok_or_else(|| fail("the cluster has no CA"))?;
        let data = self.data_dir();
        let root = data.join("root.crt");
        std::fs::write(&root, &pki.ca_pem)?;
        if let Some((uid, gid)) = match &self.run_as {
            Some(u) => Some(user_ids(u)?),
            None => None,
        } {
            std::os::unix::fs::chown(&root, Some(uid), Some(gid))?;
        }
        let mut conf = std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))?;
        writeln!(conf, "ssl_ca_file = 'root.crt'")?;
        let hba = data.join("pg_hba.conf");
        let rules = std::fs::read_to_string(&hba)?;
        std::fs::write(
            &hba,
            format!("hostssl all all 127.0.0.1/32 scram-sha-256 clientcert=verify-full\n{rules}"),
        )?;
        self.server_cmd("pg_ctl", &["reload", "-D", &data.display().to_string()])?;
        // The reload is asynchronous: wait until the server has read the new rules.
        std::thread::sleep(std::time::Duration::from_millis(500));
        let (cert, key) = pki.issue_client(SUPERUSER)?;
        let cert_path = self.dir.path().join("client.pem");
        let key_path = self.dir.path().join("client.key");
        std::fs::write(&cert_path, to_pem("CERTIFICATE", &cert))?;
        std::fs::write(&key_path, to_pem("PRIVATE KEY", &key))?;
        Ok((cert_path, key_path))
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs a server program (`initdb`, `pg_ctl`) as the cluster's owner.
    fn server_cmd(&self, program: &str, args: &[&str]) -> Result<String, TestbedError> {
        let exe = self.bin.join(program);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        let out = cmd
            .output()
            .map_err(|e| fail(format!("failed to run {}: {e}", exe.display())))?;
        if !out.status.success() {
            return Err(fail(format!(
                "{program} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// A shell that waits for its stdin to close (this process exited or the cluster
    /// was dropped), then stops the server and removes the dir.
    fn spawn_watchdog(&self) -> Result<(Child, ChildStdin), TestbedError> {
        let pg_ctl = self.bin.join("pg_ctl");
        let stop = match &self.run_as {
            Some(u) => format!("runuser -u {u} -- \"$1\" stop -D \"$2\" -m immediate"),
            None => "\"$1\" stop -D \"$2\" -m immediate".to_string(),
        };
        let script = format!("cat >/dev/null; {stop} >/dev/null 2>&1; rm -rf \"$3\"");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("watchdog")
            .arg(&pg_ctl)
            .arg(self.data_dir())
            .arg(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| fail(format!("failed to start the watchdog: {e}")))?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| fail("the watchdog has no stdin"))?;
        Ok((child, stdin))
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The superuser DSN for the `postgres` database:
    /// `postgres://postgres:PASSWORD@127.0.0.1:PORT/postgres`.
    pub fn dsn(&self) -> String {
        self.dsn_for("postgres")
    }

    /// The superuser DSN for database `db`.
    pub fn dsn_for(&self, db: &str) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{db}",
            self.password, self.port
        )
    }

    /// PEM file of the CA that signed the server's certificate (valid for
    /// `localhost` and `127.0.0.1`).
    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The cluster's temp dir (data, log, socket, CA).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs SQL (several statements allowed) in the `postgres` database as superuser
    /// with `psql`, stopping at the first error; returns unaligned tuples-only output.
    pub fn psql(&self, sql: &str) -> Result<String, TestbedError> {
        self.psql_in("postgres", sql)
    }

    /// Like [`Cluster::psql`], in database `db`.
    pub fn psql_in(&self, db: &str, sql: &str) -> Result<String, TestbedError> {
        let mut child = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-f", "-"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", SUPERUSER, "-d", db])
            .env("PGPASSWORD", &self.password)
            .env("PGSSLMODE", "disable")
            .env("PGCONNECT_TIMEOUT", "10")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("failed to run psql: {e}")))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(sql.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            return Err(fail(format!(
                "psql failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Creates database `name` (owned by the superuser).
    pub fn create_database(&self, name: &str) -> Result<(), TestbedError> {
        self.psql(&format!(
            "CREATE DATABASE \"{}\"",
            name.replace('"', "\"\"")
        ))
        .map(|_| ())
    }

    /// Loads the demo database (`demo`: users, escrow with its five invariant triggers,
    /// the performance index, a plain `_migrations` table and a prisma table with one
    /// migration left to apply) and writes matching migration folders under `dir`.
    /// Returns the `--var` pairs config/demo-postgres.toml reads.
    pub fn load_demo(&self, dir: &Path) -> Result<Vec<(String, String)>, TestbedError> {
        self.create_database("demo")?;
        let triggers: String = DEMO_TRIGGERS
            .iter()
            .map(|t| {
                format!(
                    "CREATE TRIGGER {t} BEFORE INSERT OR UPDATE ON escrow \
                     FOR EACH ROW EXECUTE FUNCTION invariant_guard();\n"
                )
            })
            .collect();
        self.psql_in(
            "demo",
            &format!(
                "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL);
                 INSERT INTO users (email) VALUES ('ada@demo.test'), ('lin@demo.test');
                 CREATE TABLE escrow (id serial PRIMARY KEY, state text NOT NULL, amount numeric(12,2));
                 CREATE INDEX performance_indexes_v1 ON escrow (state);
                 CREATE FUNCTION invariant_guard() RETURNS trigger LANGUAGE plpgsql
                   AS $$ BEGIN RETURN NEW; END $$;
                 {triggers}
                 CREATE TABLE _migrations (id serial PRIMARY KEY, applied_at timestamptz DEFAULT now());
                 INSERT INTO _migrations DEFAULT VALUES; INSERT INTO _migrations DEFAULT VALUES;
                 INSERT INTO _migrations DEFAULT VALUES;
                 CREATE TABLE _prisma_migrations (id varchar(36) PRIMARY KEY, checksum varchar(64) NOT NULL,
                   finished_at timestamptz, migration_name varchar(255) NOT NULL, logs text,
                   rolled_back_at timestamptz, started_at timestamptz NOT NULL DEFAULT now(),
                   applied_steps_count integer NOT NULL DEFAULT 0);
                 INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name)
                   VALUES ('1', 'x', now(), '20240101000000_init');"
            ),
        )?;
        let plain = dir.join("migrations");
        let prisma = dir.join("prisma-migrations");
        std::fs::create_dir_all(&plain)?;
        for f in ["0001_users.sql", "0002_escrow.sql", "0003_triggers.sql"] {
            std::fs::write(plain.join(f), "-- demo\n")?;
        }
        for m in ["20240101000000_init", "20240301000000_add_payouts"] {
            std::fs::create_dir_all(prisma.join(m))?;
            std::fs::write(prisma.join(m).join("migration.sql"), "-- demo\n")?;
        }
        Ok(vec![
            ("pg_dsn".into(), self.dsn_for("demo")),
            ("pg_migrations".into(), plain.display().to_string()),
            ("pg_prisma_migrations".into(), prisma.display().to_string()),
        ])
    }

    /// Stops the server now (`pg_ctl stop -m immediate`); the dir stays until drop.
    pub fn stop(&mut self) {
        if !self.stopped {
            self.stopped = true;
            let data = self.data_dir().display().to_string();
            let _ = self.server_cmd("pg_ctl", &["stop", "-D", &data, "-m", "immediate"]);
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        if let Some((mut child, stdin)) = self.watchdog.take() {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("port", &self.port)
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_runs_sql_and_stops() {
        let mut pg = Cluster::start().expect("PostgreSQL starts (is it installed?)");
        let dir = pg.dir().to_path_buf();
        assert_eq!(pg.psql("SELECT 40 + 2").expect("psql").trim(), "42");
        pg.create_database("app").expect("create db");
        pg.psql_in("app", "CREATE TABLE t (id int); INSERT INTO t VALUES (1);")
            .expect("fixture");
        assert!(std::net::TcpStream::connect(("127.0.0.1", pg.port())).is_ok());
        pg.stop();
        assert!(std::net::TcpStream::connect(("127.0.0.1", pg.port())).is_err());
        drop(pg);
        assert!(!dir.exists(), "the temp dir is removed on drop");
    }
}
