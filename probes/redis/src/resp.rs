//! A minimal RESP2 client: send a command, read one reply. Bounded everywhere, so a
//! hostile server gets an error, not our memory.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Longest status/error/integer line accepted.
const MAX_LINE: usize = 64 * 1024;
/// Largest bulk string accepted.
pub const MAX_BULK: usize = 16 * 1024 * 1024;
/// Most elements in one array reply.
const MAX_ARRAY: usize = 1024;
/// Deepest nesting of arrays.
const MAX_DEPTH: usize = 4;

/// One RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`.
    Status(String),
    /// `-ERR …`: the server refused the command.
    Error(String),
    /// `:42`.
    Integer(i64),
    /// `$n` followed by n bytes; `None` for `$-1`.
    Bulk(Option<Vec<u8>>),
    /// `*n` replies; `None` for `*-1`.
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The reply as text, for status and bulk replies.
    pub fn text(&self) -> Option<String> {
        match self {
            Reply::Status(s) => Some(s.clone()),
            Reply::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }
}

/// Why talking to the server failed.
#[derive(Debug, thiserror::Error)]
pub enum RespError {
    /// The connection failed or closed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The server sent something that is not RESP.
    #[error("not a Redis reply: {0}")]
    Protocol(String),
}

/// Writes one command as an array of bulk strings.
pub async fn send<W: AsyncWrite + Unpin>(w: &mut W, args: &[&[u8]]) -> Result<(), RespError> {
    let mut buf = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        buf.extend_from_slice(a);
        buf.extend_from_slice(b"\r\n");
    }
    w.write_all(&buf).await?;
    w.flush().await?;
    Ok(())
}

/// Reads one reply.
pub async fn read<R: AsyncBufRead + Unpin + Send>(r: &mut R) -> Result<Reply, RespError> {
    read_depth(r, 0).await
}

/// A boxed reply future, so arrays can recurse.
type ReplyFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Reply, RespError>> + Send + 'a>>;

fn read_depth<R: AsyncBufRead + Unpin + Send>(r: &mut R, depth: usize) -> ReplyFuture<'_> {
    Box::pin(async move {
        let line = read_line(r).await?;
        let (kind, rest) = match line.split_first() {
            Some((k, rest)) => (*k, rest),
            None => return Err(RespError::Protocol("empty line".into())),
        };
        let text = || String::from_utf8_lossy(rest).into_owned();
        match kind {
            b'+' => Ok(Reply::Status(text())),
            b'-' => Ok(Reply::Error(text())),
            b':' => Ok(Reply::Integer(number(rest)?)),
            b'$' => {
                let n = number(rest)?;
                if n < 0 {
                    return Ok(Reply::Bulk(None));
                }
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                if n > MAX_BULK {
                    return Err(RespError::Protocol(format!(
                        "a bulk string of {n} bytes (more than {MAX_BULK})"
                    )));
                }
                let mut buf = vec![0u8; n + 2];
                r.read_exact(&mut buf).await?;
                if !buf.ends_with(b"\r\n") {
                    return Err(RespError::Protocol("bulk string not ended by CRLF".into()));
                }
                buf.truncate(n);
                Ok(Reply::Bulk(Some(buf)))
            }
            b'*' => {
                let n = number(rest)?;
                if n < 0 {
                    return Ok(Reply::Array(None));
                }
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                if n > MAX_ARRAY || depth >= MAX_DEPTH {
                    return Err(RespError::Protocol(format!(
                        "an array of {n} elements at depth {depth}"
                    )));
                }
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(read_depth(r, depth + 1).await?);
                }
                Ok(Reply::Array(Some(items)))
            }
            other => Err(RespError::Protocol(format!(
                "unexpected first byte 0x{other:02x}"
            ))),
        }
    })
}

fn number(bytes: &[u8]) -> Result<i64, RespError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| RespError::Protocol("a length or integer that is not a number".into()))
}

/// One CRLF-terminated line without its terminator, at most [`MAX_LINE`] bytes.
async fn read_line<R: AsyncBufRead + Unpin>(r: &mut R) -> Result<Vec<u8>, RespError> {
    let mut line = Vec::new();
    let n = (&mut *r)
        .take(MAX_LINE as u64 + 2)
        .read_until(b'\n', &mut line)
        .await?;
    if n == 0 {
        return Err(RespError::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the server closed the connection",
        )));
    }
    if !line.ends_with(b"\r\n") {
        return Err(RespError::Protocol(if line.len() > MAX_LINE {
            format!("a line longer than {MAX_LINE} bytes")
        } else {
            "a line not ended by CRLF".into()
        }));
    }
    line.truncate(line.len() - 2);
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(bytes: &[u8]) -> Result<Reply, RespError> {
        let mut r = tokio::io::BufReader::new(bytes);
        read(&mut r).await
    }

    #[tokio::test]
    async fn parses_every_reply_kind() {
        assert_eq!(
            parse(b"+PONG\r\n").await.expect("ok"),
            Reply::Status("PONG".into())
        );
        assert_eq!(
            parse(b"-NOAUTH Authentication required.\r\n")
                .await
                .expect("ok"),
            Reply::Error("NOAUTH Authentication required.".into())
        );
        assert_eq!(parse(b":42\r\n").await.expect("ok"), Reply::Integer(42));
        assert_eq!(
            parse(b"$5\r\nhe\r\no\r\n").await.expect("ok"),
            Reply::Bulk(Some(b"he\r\no".to_vec()))
        );
        assert_eq!(parse(b"$-1\r\n").await.expect("ok"), Reply::Bulk(None));
        assert_eq!(
            parse(b"*2\r\n:1\r\n$1\r\nx\r\n").await.expect("ok"),
            Reply::Array(Some(vec![
                Reply::Integer(1),
                Reply::Bulk(Some(b"x".to_vec()))
            ]))
        );
    }

    #[tokio::test]
    async fn rejects_garbage_and_oversized_replies() {
        for bad in [
            &b"HTTP/1.1 400 Bad Request\r\n"[..],
            b"$99999999999\r\n",
            b"*100000\r\n",
            b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n",
            b":abc\r\n",
            b"+no terminator",
            b"",
        ] {
            assert!(
                parse(bad).await.is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let long = vec![b'+'; MAX_LINE + 10];
        assert!(parse(&long).await.is_err());
    }

    #[tokio::test]
    async fn encodes_commands_as_bulk_arrays() {
        let mut out = Vec::new();
        send(&mut out, &[b"GET", b"a key"]).await.expect("write");
        assert_eq!(out, b"*2\r\n$3\r\nGET\r\n$5\r\na key\r\n");
    }
}
