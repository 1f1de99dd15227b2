//! A real SMTP server on loopback: Debian's `exim4`, run as a throwaway foreground
//! daemon on a free high port with a configuration written into a temp dir, for the
//! `tls` probe's `starttls = "smtp"` tests.
//!
//! The configuration (`-C`) offers STARTTLS with a leaf issued by a fresh testbed CA,
//! valid for 60 days, speaking TLS 1.1 to 1.3 but not 1.0 (GnuTLS priority
//! `NORMAL:-VERS-TLS1.0`) — or, with [`Exim::start_without_tls`], no STARTTLS at
//! all. It accepts no mail (every
//! recipient is denied) and keeps its spool and logs in the temp dir. Nothing under
//! `/etc` is read or changed and no system daemon is started. Dropping [`Exim`] kills
//! the daemon (by its pid) and removes the dir.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{TestPki, TestbedError};

/// A running exim daemon. Dropping it stops it.
pub struct Exim {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

fn fail(msg: impl Into<String>) -> TestbedError {
    TestbedError::Mail(msg.into())
}

/// `exim4` (or `exim`) on PATH or in /usr/sbin.
fn find_exim() -> Result<PathBuf, TestbedError> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push(PathBuf::from("/usr/sbin"));
    dirs.iter()
        .flat_map(|d| [d.join("exim4"), d.join("exim")])
        .find(|p| p.is_file())
        .ok_or_else(|| {
            fail("exim is not installed (install Debian's `exim4-daemon-light` package)")
        })
}

fn current_user() -> String {
    Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "root".into())
}

fn config(dir: &Path, port: u16, tls: bool) -> String {
    let d = dir.display();
    let user = current_user();
    let tls_lines = if tls {
        format!(
            "tls_advertise_hosts = *\ntls_certificate = {d}/server.crt\ntls_privatekey = {d}/server.key\n\
             tls_require_ciphers = NORMAL:-VERS-TLS1.0\n"
        )
    } else {
        "tls_advertise_hosts =\n".to_string()
    };
    format!(
        "primary_hostname = localhost\n\
         daemon_smtp_ports = {port}\n\
         local_interfaces = 127.0.0.1\n\
         spool_directory = {d}/spool\n\
         log_file_path = {d}/log/%slog\n\
         pid_file_path = {d}/exim.pid\n\
         notifier_socket = {d}/notify.sock\n\
         exim_user = {user}\n\
         exim_group = {user}\n\
         never_users =\n\
         host_lookup =\n\
         rfc1413_hosts =\n\
         {tls_lines}\
         acl_smtp_rcpt = acl_check_rcpt\n\
         begin acl\n\
         acl_check_rcpt:\n  deny\n"
    )
}

impl Exim {
    /// Starts exim offering STARTTLS with a leaf for localhost / 127.0.0.1 issued by
    /// a fresh CA (see [`Exim::ca_path`]); blocks until it accepts connections.
    pub fn start() -> Result<Exim, TestbedError> {
        Exim::launch(true)
    }

    /// Starts exim without STARTTLS (it is not advertised and the verb is refused).
    pub fn start_without_tls() -> Result<Exim, TestbedError> {
        Exim::launch(false)
    }

    fn launch(tls: bool) -> Result<Exim, TestbedError> {
        let bin = find_exim()?;
        let mut dir = tempfile::Builder::new()
            .prefix("preflight-exim-")
            .tempdir()?;
        std::fs::create_dir_all(dir.path().join("spool"))?;
        std::fs::create_dir_all(dir.path().join("log"))?;
        let pki = TestPki::generate()?;
        let (leaf, key) = pki.issue(
            crate::certs::API_NAMES,
            time::OffsetDateTime::now_utc() - time::Duration::days(1),
            time::OffsetDateTime::now_utc() + time::Duration::days(60),
        )?;
        let pem = |label: &str, der: &[u8]| pem::encode(&pem::Pem::new(label, der.to_vec()));
        std::fs::write(dir.path().join("server.crt"), pem("CERTIFICATE", &leaf))?;
        std::fs::write(dir.path().join("server.key"), pem("PRIVATE KEY", &key))?;
        std::fs::write(dir.path().join("ca.pem"), &pki.ca_pem)?;
        // A port found free can be taken before exim binds it: try a few.
        let mut last = String::new();
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let conf = dir.path().join("exim.conf");
            std::fs::write(&conf, config(dir.path(), port, tls))?;
            let out = std::fs::File::create(dir.path().join("exim.out"))?;
            let child = Command::new(&bin)
                .arg("-C")
                .arg(&conf)
                .arg("-bdf")
                .arg("-oX")
                .arg(port.to_string())
                .stdin(Stdio::null())
                .stdout(out.try_clone()?)
                .stderr(out)
                .spawn()
                .map_err(|e| fail(format!("failed to run {}: {e}", bin.display())))?;
            let mut exim = Exim {
                child,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                dir,
            };
            match exim.wait_ready() {
                Ok(()) => return Ok(exim),
                Err(e) => {
                    last = e;
                    let _ = exim.child.kill();
                    let _ = exim.child.wait();
                    dir = std::mem::replace(&mut exim.dir, tempfile::tempdir()?);
                }
            }
        }
        Err(fail(format!("exim did not start: {last}")))
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exim exited ({status}): {}", self.log().trim()));
            }
            if std::net::TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok()
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("not listening within 10s: {}", self.log().trim()))
    }

    /// What exim printed and logged so far.
    pub fn log(&self) -> String {
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        format!(
            "{}{}{}",
            read(self.dir.path().join("exim.out")),
            read(self.dir.path().join("log/mainlog")),
            read(self.dir.path().join("log/paniclog"))
        )
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// PEM file of the CA that issued exim's certificate.
    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }
}

impl Drop for Exim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
