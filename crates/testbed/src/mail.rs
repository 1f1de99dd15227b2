//! Small plaintext servers that upgrade to TLS, for `preflight demo` and the `tls`
//! probe's `starttls` tests: SMTP (`STARTTLS`), IMAP (`STARTTLS`), POP3 (`STLS`),
//! an SMTP server that does not offer STARTTLS, and a PostgreSQL-like port that
//! answers the SSLRequest with `N`. Each speaks just enough of its protocol to reach
//! the upgrade, then completes the handshake with the testbed's leaf (rustls) and
//! waits for the client to hang up. The tests use a real exim for SMTP too
//! ([`crate::exim`]); these responders keep the demo free of system packages.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::{TestPki, TestbedError};

/// How long one connection may last.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(10);

/// The running responders. Dropping them stops every one.
pub struct MailListeners {
    /// SMTP offering STARTTLS.
    pub smtp: SocketAddr,
    /// SMTP without STARTTLS (`502` to the verb).
    pub smtp_plain: SocketAddr,
    /// IMAP offering STARTTLS.
    pub imap: SocketAddr,
    /// POP3 offering STLS.
    pub pop3: SocketAddr,
    /// Answers PostgreSQL's SSLRequest with `N` (a server with `ssl = off`).
    pub postgres_nossl: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

#[derive(Clone, Copy)]
enum Kind {
    Smtp { tls: bool },
    Imap,
    Pop3,
    PostgresNoSsl,
}

impl MailListeners {
    /// Binds every responder on 127.0.0.1 and starts serving.
    pub async fn start(pki: &TestPki) -> Result<MailListeners, TestbedError> {
        let mut config = pki.server_config()?;
        config.alpn_protocols.clear();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let mut tasks = Vec::new();
        let mut bind = async |kind: Kind| -> Result<SocketAddr, TestbedError> {
            let l = TcpListener::bind("127.0.0.1:0").await?;
            let addr = l.local_addr()?;
            tasks.push(tokio::spawn(serve(l, kind, acceptor.clone())));
            Ok(addr)
        };
        let smtp = bind(Kind::Smtp { tls: true }).await?;
        let smtp_plain = bind(Kind::Smtp { tls: false }).await?;
        let imap = bind(Kind::Imap).await?;
        let pop3 = bind(Kind::Pop3).await?;
        let postgres_nossl = bind(Kind::PostgresNoSsl).await?;
        Ok(MailListeners {
            smtp,
            smtp_plain,
            imap,
            pop3,
            postgres_nossl,
            tasks,
        })
    }

    /// `smtp_port`, `smtp_plain_port`, `imap_port`, `pop3_port`, `pg_nossl_port`.
    pub fn vars(&self) -> Vec<(String, String)> {
        vec![
            ("smtp_port".into(), self.smtp.port().to_string()),
            ("smtp_plain_port".into(), self.smtp_plain.port().to_string()),
            ("imap_port".into(), self.imap.port().to_string()),
            ("pop3_port".into(), self.pop3.port().to_string()),
            (
                "pg_nossl_port".into(),
                self.postgres_nossl.port().to_string(),
            ),
        ]
    }
}

impl Drop for MailListeners {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn serve(listener: TcpListener, kind: Kind, acceptor: TlsAcceptor) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(CONNECTION_LIFETIME, session(tcp, kind, acceptor)).await;
        });
    }
}

/// Speaks `kind` until the upgrade, then TLS until the client leaves.
async fn session(tcp: TcpStream, kind: Kind, acceptor: TlsAcceptor) -> std::io::Result<()> {
    let mut tcp = BufReader::new(tcp);
    let upgrade = match kind {
        Kind::Smtp { tls } => smtp(&mut tcp, tls).await?,
        Kind::Imap => imap(&mut tcp).await?,
        Kind::Pop3 => pop3(&mut tcp).await?,
        Kind::PostgresNoSsl => {
            let mut request = [0u8; 8];
            tcp.read_exact(&mut request).await?;
            tcp.get_mut().write_all(b"N").await?;
            false
        }
    };
    if !upgrade {
        return Ok(());
    }
    let mut tls = acceptor.accept(tcp.into_inner()).await?;
    let mut sink = [0u8; 1024];
    while tls.read(&mut sink).await? > 0 {}
    Ok(())
}

async fn read_line(tcp: &mut BufReader<TcpStream>) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    let n = (&mut *tcp).take(4096).read_line(&mut line).await?;
    Ok((n > 0).then(|| line.trim_end().to_string()))
}

/// `true` when the client asked for (and got) the upgrade.
async fn smtp(tcp: &mut BufReader<TcpStream>, tls: bool) -> std::io::Result<bool> {
    tcp.get_mut()
        .write_all(b"220 mail.demo.test ESMTP testbed\r\n")
        .await?;
    while let Some(line) = read_line(tcp).await? {
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" if tls => {
                b"250-mail.demo.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
            }
            "EHLO" => b"250-mail.demo.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
            "STARTTLS" if tls => {
                tcp.get_mut()
                    .write_all(b"220 2.0.0 Ready to start TLS\r\n")
                    .await?;
                return Ok(true);
            }
            "STARTTLS" => b"502 5.5.1 STARTTLS not available\r\n",
            "QUIT" => {
                tcp.get_mut().write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(false);
            }
            _ => b"502 5.5.2 command not recognised\r\n",
        };
        tcp.get_mut().write_all(reply).await?;
    }
    Ok(false)
}

async fn imap(tcp: &mut BufReader<TcpStream>) -> std::io::Result<bool> {
    tcp.get_mut()
        .write_all(b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] testbed ready\r\n")
        .await?;
    while let Some(line) = read_line(tcp).await? {
        let mut words = line.split_whitespace();
        let tag = words.next().unwrap_or("*").to_string();
        let command = words.next().unwrap_or("").to_ascii_uppercase();
        let reply = match command.as_str() {
            "CAPABILITY" => {
                format!("* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n{tag} OK done\r\n")
            }
            "STARTTLS" => {
                let go = format!("{tag} OK Begin TLS negotiation now\r\n");
                tcp.get_mut().write_all(go.as_bytes()).await?;
                return Ok(true);
            }
            "LOGOUT" => {
                let bye = format!("* BYE\r\n{tag} OK done\r\n");
                tcp.get_mut().write_all(bye.as_bytes()).await?;
                return Ok(false);
            }
            _ => format!("{tag} BAD unknown command\r\n"),
        };
        tcp.get_mut().write_all(reply.as_bytes()).await?;
    }
    Ok(false)
}

async fn pop3(tcp: &mut BufReader<TcpStream>) -> std::io::Result<bool> {
    tcp.get_mut()
        .write_all(b"+OK testbed POP3 ready\r\n")
        .await?;
    while let Some(line) = read_line(tcp).await? {
        let reply: &[u8] = match line.to_ascii_uppercase().as_str() {
            "CAPA" => b"+OK capabilities follow\r\nUSER\r\nSTLS\r\nUIDL\r\n.\r\n",
            "STLS" => {
                tcp.get_mut().write_all(b"+OK begin TLS\r\n").await?;
                return Ok(true);
            }
            "QUIT" => {
                tcp.get_mut().write_all(b"+OK bye\r\n").await?;
                return Ok(false);
            }
            _ => b"-ERR unknown command\r\n",
        };
        tcp.get_mut().write_all(reply).await?;
    }
    Ok(false)
}
