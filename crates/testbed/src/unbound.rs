//! A validating resolver on loopback: Debian's `unbound`, configured by the caller's
//! process in a temp dir, for tests of the `dns` probe's `dnssec` option.
//!
//! It listens on a free port of 127.0.0.1, trusts exactly the anchors it is given (no
//! root key, no automatic trust-anchor updates), and forwards every question — the
//! root zone's included — to the testbed's authoritative server, so it never tries
//! to reach a real root server; it validates what comes back. It runs in the
//! foreground (`-d`) as a child; dropping [`Resolver`] kills it and removes the dir.
//! Nothing outside the temp dir is read or written (no `/etc/unbound`). unbound
//! answers `*.test` itself by default (RFC 6761 names); that default is turned off.
//!
//! ```no_run
//! # async fn demo() -> Result<(), preflight_testbed::TestbedError> {
//! let bed = preflight_testbed::Testbed::start().await?;
//! let r = preflight_testbed::unbound::Resolver::start(
//!     bed.dns().primary(),
//!     &[bed.dns().trust_anchor()],
//! )?;
//! println!("validating resolver at {}", r.addr());
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::TestbedError;

/// A running `unbound`. Dropping it stops it.
pub struct Resolver {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

fn fail(msg: impl Into<String>) -> TestbedError {
    TestbedError::Resolver(msg.into())
}

/// `unbound` on PATH, or in /usr/sbin (not on every user's PATH).
fn find_unbound() -> Result<PathBuf, TestbedError> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin")])
        .map(|d| d.join("unbound"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            fail("unbound is not installed (install Debian's `unbound` package)".to_string())
        })
}

/// The configuration: one loopback port, the given anchors, everything forwarded
/// to `authority`.
fn config(dir: &Path, port: u16, authority: SocketAddr, anchors: &[&str]) -> String {
    let mut c = format!(
        "server:\n\
         \x20 interface: 127.0.0.1@{port}\n\
         \x20 port: {port}\n\
         \x20 do-ip6: no\n\
         \x20 do-daemonize: no\n\
         \x20 username: \"\"\n\
         \x20 chroot: \"\"\n\
         \x20 directory: \"{dir}\"\n\
         \x20 pidfile: \"{dir}/unbound.pid\"\n\
         \x20 use-syslog: no\n\
         \x20 logfile: \"\"\n\
         \x20 verbosity: 1\n\
         \x20 num-threads: 1\n\
         \x20 access-control: 127.0.0.0/8 allow\n\
         \x20 do-not-query-localhost: no\n\
         \x20 module-config: \"validator iterator\"\n\
         \x20 val-permissive-mode: no\n\
         \x20 harden-dnssec-stripped: yes\n\
         \x20 qname-minimisation: no\n\
         \x20 prefetch: no\n\
         \x20 cache-max-ttl: 0\n\
         \x20 cache-max-negative-ttl: 0\n\
         \x20 local-zone: \"test.\" nodefault\n",
        dir = dir.display()
    );
    for a in anchors {
        c.push_str(&format!("  trust-anchor: \"{a}\"\n"));
    }
    c.push_str(&format!(
        "remote-control:\n  control-enable: no\n\
         forward-zone:\n  name: \".\"\n  forward-addr: {}@{}\n",
        authority.ip(),
        authority.port()
    ));
    c
}

impl Resolver {
    /// Starts `unbound` (blocking, until it answers on its port or 10 s pass).
    pub fn start(authority: SocketAddr, anchors: &[&str]) -> Result<Resolver, TestbedError> {
        let bin = find_unbound()?;
        let dir = tempfile::Builder::new()
            .prefix("preflight-unbound-")
            .tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let conf = dir.path().join("unbound.conf");
        std::fs::write(&conf, config(dir.path(), port, authority, anchors))?;
        let log = std::fs::File::create(dir.path().join("unbound.log"))?;
        let child = Command::new(&bin)
            .arg("-d")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| fail(format!("failed to run {}: {e}", bin.display())))?;
        let mut r = Resolver {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
        };
        r.wait_ready()?;
        Ok(r)
    }

    /// Waits until the TCP port accepts, or the process exits.
    fn wait_ready(&mut self) -> Result<(), TestbedError> {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(fail(format!(
                    "unbound exited ({status}): {}",
                    self.log().trim()
                )));
            }
            if std::net::TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok()
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(fail(format!(
            "unbound did not listen within 10s: {}",
            self.log().trim()
        )))
    }

    /// What unbound logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("unbound.log")).unwrap_or_default()
    }

    /// Where it listens (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Resolver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_trusts_only_the_given_anchors_and_forwards_everything() {
        let c = config(
            Path::new("/tmp/x"),
            5300,
            "127.0.0.1:5399".parse().expect("addr"),
            &["signed.test. DNSKEY 256 3 13 AAAA"],
        );
        assert!(c.contains("interface: 127.0.0.1@5300"), "{c}");
        assert!(c.contains("trust-anchor: \"signed.test. DNSKEY 256 3 13 AAAA\""));
        assert!(
            c.contains("name: \".\"\n  forward-addr: 127.0.0.1@5399"),
            "{c}"
        );
        assert!(!c.contains("auto-trust-anchor-file"), "{c}");
    }
}
