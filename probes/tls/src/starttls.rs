//! `starttls`: the plaintext exchange that turns a connection into a TLS one.
//!
//! - smtp (RFC 3207): the `220` greeting, `EHLO`, `STARTTLS` among the extensions,
//!   `STARTTLS` → `220`;
//! - imap (RFC 9051): the `* OK` greeting, `CAPABILITY` listing `STARTTLS`,
//!   `STARTTLS` → tagged `OK`;
//! - pop3 (RFC 2595): the `+OK` greeting, `CAPA` listing `STLS`, `STLS` → `+OK`;
//! - postgres: the SSLRequest message, answered `S` (go ahead) or `N` (no SSL).
//!
//! Replies are read a byte at a time, so nothing the server sends after its "go
//! ahead" is swallowed (bytes sent before the client's ClientHello would be an
//! injection attempt: they are refused). Lines are capped at [`MAX_LINE`] bytes and
//! a reply at [`MAX_LINES`] lines; server text in reasons is cut and stripped of
//! control characters.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::Error;

/// Longest reply line read, in bytes (RFC 5321 allows 512; servers are generous).
pub const MAX_LINE: usize = 4096;
/// Most lines in one multi-line reply.
pub const MAX_LINES: usize = 256;
/// The name the probe gives itself in `EHLO`.
const EHLO_NAME: &str = "preflight.invalid";
/// PostgreSQL's SSLRequest: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// A plaintext protocol that can switch to TLS on the same connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(title = "STARTTLS protocol")]
pub enum StartTls {
    /// SMTP `STARTTLS` (port 25 by default; 587 for submission).
    Smtp,
    /// IMAP `STARTTLS` (port 143).
    Imap,
    /// POP3 `STLS` (port 110).
    Pop3,
    /// PostgreSQL's SSLRequest (port 5432).
    Postgres,
}

impl StartTls {
    /// The protocol's usual port for a plaintext connection that upgrades.
    pub fn default_port(self) -> u16 {
        match self {
            StartTls::Smtp => 25,
            StartTls::Imap => 143,
            StartTls::Pop3 => 110,
            StartTls::Postgres => 5432,
        }
    }

    /// The name in reasons (`smtp`).
    pub fn as_str(self) -> &'static str {
        match self {
            StartTls::Smtp => "smtp",
            StartTls::Imap => "imap",
            StartTls::Pop3 => "pop3",
            StartTls::Postgres => "postgres",
        }
    }

    /// ALPN protocols offered after the upgrade: PostgreSQL's own, none for mail
    /// (an HTTP ALPN would be wrong there).
    pub fn alpn(self) -> &'static [&'static [u8]] {
        match self {
            StartTls::Postgres => &[b"postgresql"],
            _ => &[],
        }
    }
}

/// One exchange on a connection, with the target's label for reasons.
struct Exchange<'a> {
    tcp: &'a mut TcpStream,
    target: &'a str,
    protocol: StartTls,
}

/// Server text made safe for a reason: control characters dropped, at most 120 chars.
pub fn clean(text: &str) -> String {
    let t: String = text.chars().filter(|c| !c.is_control()).take(120).collect();
    t.trim().to_string()
}

impl Exchange<'_> {
    fn io(&self, source: std::io::Error) -> Error {
        Error::StartTlsIo {
            target: self.target.to_string(),
            protocol: self.protocol.as_str(),
            source,
        }
    }

    fn unexpected(&self, step: &'static str, reply: &str) -> Error {
        Error::StartTlsReply {
            target: self.target.to_string(),
            protocol: self.protocol.as_str(),
            step,
            reply: clean(reply),
        }
    }

    fn not_offered(&self, detail: &str) -> Error {
        Error::StartTlsNotOffered {
            target: self.target.to_string(),
            protocol: self.protocol.as_str(),
            detail: clean(detail),
        }
    }

    async fn send(&mut self, line: &str) -> Result<(), Error> {
        let r = self.tcp.write_all(line.as_bytes()).await;
        r.map_err(|e| self.io(e))
    }

    /// One line without its CR LF; an error at EOF or past [`MAX_LINE`].
    async fn line(&mut self) -> Result<String, Error> {
        let mut buf = Vec::new();
        loop {
            let mut byte = [0u8; 1];
            let n = self.tcp.read(&mut byte).await.map_err(|e| self.io(e))?;
            if n == 0 {
                return Err(self.io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "connection closed by the server",
                )));
            }
            if byte[0] == b'\n' {
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
                return Ok(String::from_utf8_lossy(&buf).into_owned());
            }
            if buf.len() >= MAX_LINE {
                return Err(self.unexpected(
                    "reading a reply",
                    &format!("a line longer than {MAX_LINE} bytes"),
                ));
            }
            buf.push(byte[0]);
        }
    }

    /// An SMTP reply: lines `CODE-text` until `CODE text`. Returns (code, lines).
    async fn smtp_reply(&mut self, step: &'static str) -> Result<(String, Vec<String>), Error> {
        let mut lines = Vec::new();
        loop {
            let line = self.line().await?;
            let code = line.get(..3).unwrap_or("").to_string();
            if !code.bytes().all(|b| b.is_ascii_digit()) || code.len() != 3 {
                return Err(self.unexpected(step, &line));
            }
            let last = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line.get(4..).unwrap_or("").to_string());
            if last {
                return Ok((code, lines));
            }
            if lines.len() >= MAX_LINES {
                return Err(self.unexpected(step, "a reply of too many lines"));
            }
        }
    }

    async fn smtp(&mut self) -> Result<(), Error> {
        let (code, lines) = self.smtp_reply("greeting").await?;
        if code != "220" {
            return Err(self.unexpected("greeting", &format!("{code} {}", lines.join(" "))));
        }
        self.send(&format!("EHLO {EHLO_NAME}\r\n")).await?;
        let (code, lines) = self.smtp_reply("EHLO").await?;
        if code != "250" {
            return Err(self.unexpected("EHLO", &format!("{code} {}", lines.join(" "))));
        }
        let offered = lines.iter().skip(1).any(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case("STARTTLS"))
        });
        if !offered {
            return Err(self.not_offered("STARTTLS is not among the EHLO extensions"));
        }
        self.send("STARTTLS\r\n").await?;
        let (code, lines) = self.smtp_reply("STARTTLS").await?;
        if code != "220" {
            return Err(self.refused(&format!("{code} {}", lines.join(" "))));
        }
        Ok(())
    }

    fn refused(&self, reply: &str) -> Error {
        Error::StartTlsRefused {
            target: self.target.to_string(),
            protocol: self.protocol.as_str(),
            reply: clean(reply),
        }
    }

    /// IMAP: untagged lines until the one tagged `tag`; returns (untagged, tagged).
    async fn imap_reply(&mut self, tag: &str) -> Result<(Vec<String>, String), Error> {
        let mut untagged = Vec::new();
        loop {
            let line = self.line().await?;
            if let Some(rest) = line.strip_prefix(tag).and_then(|r| r.strip_prefix(' ')) {
                return Ok((untagged, rest.to_string()));
            }
            untagged.push(line);
            if untagged.len() >= MAX_LINES {
                return Err(self.unexpected("CAPABILITY", "a reply of too many lines"));
            }
        }
    }

    async fn imap(&mut self) -> Result<(), Error> {
        let greeting = self.line().await?;
        if !greeting.starts_with("* OK") {
            return Err(self.unexpected("greeting", &greeting));
        }
        self.send("pf1 CAPABILITY\r\n").await?;
        let (untagged, status) = self.imap_reply("pf1").await?;
        if !status.starts_with("OK") {
            return Err(self.unexpected("CAPABILITY", &status));
        }
        let offered = untagged
            .iter()
            .filter(|l| l.starts_with("* CAPABILITY"))
            .flat_map(|l| l.split_whitespace())
            .any(|c| c.eq_ignore_ascii_case("STARTTLS"));
        if !offered {
            return Err(self.not_offered("STARTTLS is not among the capabilities"));
        }
        self.send("pf2 STARTTLS\r\n").await?;
        let (_, status) = self.imap_reply("pf2").await?;
        if !status.starts_with("OK") {
            return Err(self.refused(&status));
        }
        Ok(())
    }

    async fn pop3(&mut self) -> Result<(), Error> {
        let greeting = self.line().await?;
        if !greeting.starts_with("+OK") {
            return Err(self.unexpected("greeting", &greeting));
        }
        self.send("CAPA\r\n").await?;
        let status = self.line().await?;
        let mut capabilities = Vec::new();
        if status.starts_with("+OK") {
            loop {
                let line = self.line().await?;
                if line == "." {
                    break;
                }
                capabilities.push(line);
                if capabilities.len() >= MAX_LINES {
                    return Err(self.unexpected("CAPA", "a reply of too many lines"));
                }
            }
        }
        let offered = capabilities.iter().any(|c| {
            c.split_whitespace()
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case("STLS"))
        });
        if !offered {
            return Err(self.not_offered("STLS is not among the capabilities"));
        }
        self.send("STLS\r\n").await?;
        let reply = self.line().await?;
        if !reply.starts_with("+OK") {
            return Err(self.refused(&reply));
        }
        Ok(())
    }

    async fn postgres(&mut self) -> Result<(), Error> {
        let r = self.tcp.write_all(&SSL_REQUEST).await;
        r.map_err(|e| self.io(e))?;
        let mut answer = [0u8; 1];
        let r = self.tcp.read_exact(&mut answer).await;
        r.map_err(|e| self.io(e))?;
        match answer[0] {
            b'S' => Ok(()),
            b'N' => Err(self.not_offered("the server answered the SSLRequest with N (ssl = off)")),
            b'E' => Err(self.unexpected("SSLRequest", "an error message")),
            other => Err(self.unexpected(
                "SSLRequest",
                &format!("byte 0x{other:02x}, not a PostgreSQL server"),
            )),
        }
    }

    /// Refuses bytes that arrived after the server's go-ahead and before our hello.
    fn nothing_buffered(&mut self) -> Result<(), Error> {
        let mut probe = [0u8; 1];
        match self.tcp.try_read(&mut probe) {
            Ok(n) if n > 0 => Err(self.unexpected(
                "upgrade",
                "data sent after the go-ahead, before the TLS handshake",
            )),
            _ => Ok(()),
        }
    }
}

/// Runs `protocol`'s plaintext exchange on `tcp` up to the point where TLS starts.
pub async fn upgrade(tcp: &mut TcpStream, protocol: StartTls, target: &str) -> Result<(), Error> {
    let mut x = Exchange {
        tcp,
        target,
        protocol,
    };
    match protocol {
        StartTls::Smtp => x.smtp().await?,
        StartTls::Imap => x.imap().await?,
        StartTls::Pop3 => x.pop3().await?,
        StartTls::Postgres => x.postgres().await?,
    }
    x.nothing_buffered()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_names() {
        assert_eq!(StartTls::Smtp.default_port(), 25);
        assert_eq!(StartTls::Imap.default_port(), 143);
        assert_eq!(StartTls::Pop3.default_port(), 110);
        assert_eq!(StartTls::Postgres.default_port(), 5432);
        assert_eq!(StartTls::Postgres.alpn(), &[b"postgresql" as &[u8]]);
        assert!(StartTls::Smtp.alpn().is_empty());
    }

    #[test]
    fn server_text_is_cleaned() {
        assert_eq!(clean("454 \x1b[31mno\x07 "), "454 [31mno");
        assert_eq!(clean(&"x".repeat(500)).len(), 120);
    }
}
