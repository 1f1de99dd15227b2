//! A real forward proxy on loopback: Debian's `tinyproxy`, run in the foreground on a
//! free port with a configuration written into a temp dir, logging every request to
//! a file there, for the proxy tests (issue #19).
//!
//! It listens on 127.0.0.1 only and allows only loopback clients; `CONNECT` is allowed
//! to every port (no `ConnectPort` line), so https and WebSocket targets of the
//! testbed can be tunnelled. [`ForwardProxy::start_with_auth`] also requires HTTP
//! basic credentials. Run as root, it drops to `nobody` after binding. Nothing under
//! `/etc` is read or changed. Dropping it kills the process (by its pid) and removes
//! the dir.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::TestbedError;

/// A running tinyproxy. Dropping it stops it.
pub struct ForwardProxy {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
    auth: Option<(String, String)>,
}

fn fail(msg: impl Into<String>) -> TestbedError {
    TestbedError::Proxy(msg.into())
}

/// `tinyproxy` on PATH or in /usr/sbin, /usr/bin.
fn find_tinyproxy() -> Result<PathBuf, TestbedError> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")]);
    dirs.iter()
        .map(|d| d.join("tinyproxy"))
        .find(|p| p.is_file())
        .ok_or_else(|| fail("tinyproxy is not installed (install Debian's `tinyproxy` package)"))
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .is_some_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn config(dir: &Path, port: u16, auth: Option<&(String, String)>, root: bool) -> String {
    let mut c = format!(
        "Port {port}\n\
         Listen 127.0.0.1\n\
         Timeout 30\n\
         LogFile \"{}/tinyproxy.log\"\n\
         LogLevel Info\n\
         PidFile \"{}/tinyproxy.pid\"\n\
         MaxClients 64\n\
         Allow 127.0.0.1\n\
         Allow ::1\n\
         DisableViaHeader Yes\n",
        dir.display(),
        dir.display()
    );
    if root {
        // Unprivileged once the port is bound.
        c.push_str("User nobody\nGroup nogroup\n");
    }
    if let Some((user, pass)) = auth {
        c.push_str(&format!("BasicAuth {user} {pass}\n"));
    }
    c
}

impl ForwardProxy {
    /// Starts tinyproxy without authentication; blocks until it accepts connections.
    pub fn start() -> Result<ForwardProxy, TestbedError> {
        ForwardProxy::launch(None)
    }

    /// Starts tinyproxy requiring these basic credentials.
    pub fn start_with_auth(user: &str, password: &str) -> Result<ForwardProxy, TestbedError> {
        ForwardProxy::launch(Some((user.to_string(), password.to_string())))
    }

    fn launch(auth: Option<(String, String)>) -> Result<ForwardProxy, TestbedError> {
        let bin = find_tinyproxy()?;
        let root = running_as_root();
        let mut last = String::new();
        for _ in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("preflight-tinyproxy-")
                .tempdir()?;
            let log = dir.path().join("tinyproxy.log");
            std::fs::write(&log, "")?;
            if root {
                // `nobody` writes the log and the pid file after dropping privileges.
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))?;
                std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o666))?;
            }
            // A port found free can be taken before tinyproxy binds it: try a few.
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let conf = dir.path().join("tinyproxy.conf");
            std::fs::write(&conf, config(dir.path(), port, auth.as_ref(), root))?;
            let out = std::fs::File::create(dir.path().join("tinyproxy.out"))?;
            let child = Command::new(&bin)
                .arg("-d")
                .arg("-c")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(out.try_clone()?)
                .stderr(out)
                .spawn()
                .map_err(|e| fail(format!("failed to run {}: {e}", bin.display())))?;
            let mut proxy = ForwardProxy {
                child,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                dir,
                auth: auth.clone(),
            };
            match proxy.wait_ready() {
                Ok(()) => return Ok(proxy),
                Err(e) => last = e,
            }
        }
        Err(fail(format!("tinyproxy did not start: {last}")))
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("tinyproxy exited ({status}): {}", self.output()));
            }
            if self.log().contains("Accepting connections")
                && std::net::TcpStream::connect_timeout(&self.addr, Duration::from_millis(200))
                    .is_ok()
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("not listening within 10s: {}", self.output()))
    }

    fn output(&self) -> String {
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        format!(
            "{}{}",
            read(self.dir.path().join("tinyproxy.out")),
            self.log()
        )
        .trim()
        .to_string()
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, with `user:password@` when it requires credentials.
    pub fn url(&self) -> String {
        match &self.auth {
            Some((u, p)) => format!("http://{u}:{p}@{}", self.addr),
            None => format!("http://{}", self.addr),
        }
    }

    /// `http://127.0.0.1:PORT` without credentials.
    pub fn bare_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tinyproxy.log")).unwrap_or_default()
    }

    /// The request lines it logged, in order: `GET http://127.0.0.1:P/x HTTP/1.1`,
    /// `CONNECT 127.0.0.1:P HTTP/1.1`.
    pub fn requests(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|l| l.split_once("): ").filter(|_| l.contains("Request (")))
            .map(|(_, r)| r.trim().to_string())
            .collect()
    }

    /// Waits up to `within` for a logged request line containing `needle`.
    pub fn saw(&self, needle: &str, within: Duration) -> bool {
        let t0 = Instant::now();
        loop {
            if self.requests().iter().any(|r| r.contains(needle)) {
                return true;
            }
            if t0.elapsed() >= within {
                return false;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
