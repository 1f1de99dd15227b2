//! TLS listeners for the `tls` probe, one per certificate situation: a valid chain, a
//! leaf expiring in 10 days, an expired leaf, a leaf for another host, a self-signed
//! leaf, a listener that also accepts TLS 1.1, and a port that answers with bytes
//! that are not TLS. Each completes the handshake (rustls), then waits for the
//! client to hang up.
//!
//! rustls cannot serve TLS 1.1, so the "legacy" listener reads the first record
//! itself: a ClientHello whose highest version is 1.1 gets a bare ServerHello for
//! 1.1 (and nothing more — enough for a client to see the version accepted); one
//! offering only 1.0 gets a protocol_version alert; anything newer is handed to
//! rustls with the bytes replayed. This responder is for the testbed only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::TestbedError;
use crate::certs::{API_NAMES, TestPki, server_config};

/// Days the "expiring" leaf has left (plus an hour, so `days_left` reads exactly 10).
pub const EXPIRING_DAYS: i32 = 10;
/// The only name of the "wrong host" leaf.
pub const WRONG_HOST: &str = "wrong-host.demo.test";
/// What the "garbage" listener sends instead of a ServerHello.
pub const GARBAGE: &[u8] = b"SSH-2.0-OpenSSH_9.6 not TLS at all\r\n\x00\xff\xfe\x7f";
/// The "OCSP response" the valid listener staples: a DER OCSPResponse with status
/// `successful` and no body. Clients only see that something was stapled (the tls
/// probe reports presence and never contacts an OCSP responder).
pub const OCSP_PLACEHOLDER: &[u8] = &[0x30, 0x03, 0x0a, 0x01, 0x00];
/// How long a connection is kept before the server gives up on it.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(10);

/// The running TLS listeners. Dropping them stops every one.
pub struct TlsListeners {
    /// Valid chain (leaf + testbed CA) for localhost, 127.0.0.1, ::1 and api.demo.test;
    /// TLS 1.2 and 1.3; staples a placeholder OCSP response (presence only).
    pub valid: SocketAddr,
    /// Valid chain whose leaf expires in 10 days (and an hour).
    pub expiring: SocketAddr,
    /// Leaf expired yesterday.
    pub expired: SocketAddr,
    /// Valid chain, but the leaf names only `wrong-host.demo.test`.
    pub wronghost: SocketAddr,
    /// A self-signed leaf for the API's names, not issued by the testbed CA.
    pub selfsigned: SocketAddr,
    /// Valid chain, no OCSP stapling; also answers a TLS 1.1 ClientHello (TLS 1.0 is refused).
    pub legacy: SocketAddr,
    /// Sends bytes that are not TLS (an SSH banner and binary junk) to whatever connects.
    pub garbage: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

fn err(e: impl std::fmt::Display) -> TestbedError {
    TestbedError::Certificate(e.to_string())
}

async fn bind() -> Result<(TcpListener, SocketAddr), TestbedError> {
    let l = TcpListener::bind("127.0.0.1:0").await?;
    let a = l.local_addr()?;
    Ok((l, a))
}

impl TlsListeners {
    /// Issues the certificates and starts every listener on an ephemeral loopback port.
    pub async fn start(pki: &TestPki) -> Result<TlsListeners, TestbedError> {
        let now = OffsetDateTime::now_utc();
        let day = time::Duration::days(1);
        let chain_of = |(leaf, key): (CertificateDer<'static>, Vec<u8>)| {
            server_config(vec![leaf, pki.ca_der.clone()], key)
        };
        let valid = stapled(pki.issue(API_NAMES, now - day, now + day * 90)?, pki)?;
        let legacy = pki.server_config()?;
        let expiring = chain_of(pki.issue(
            API_NAMES,
            now - day * 80,
            now + day * EXPIRING_DAYS + time::Duration::hours(1),
        )?)?;
        let expired = chain_of(pki.issue(API_NAMES, now - day * 90, now - day)?)?;
        let wronghost = chain_of(pki.issue(&[WRONG_HOST], now - day, now + day * 90)?)?;
        let selfsigned = {
            let names: Vec<String> = API_NAMES.iter().map(|s| s.to_string()).collect();
            let ck = rcgen::generate_simple_self_signed(names).map_err(err)?;
            server_config(vec![ck.cert.der().clone()], ck.signing_key.serialize_der())?
        };

        let mut tasks = Vec::new();
        let tls = |config: rustls::ServerConfig, legacy: bool| {
            let acceptor = TlsAcceptor::from(Arc::new(config));
            async move {
                let (l, a) = bind().await?;
                Ok::<_, TestbedError>((l, a, acceptor, legacy))
            }
        };
        let listeners = [
            tls(valid, false).await?,
            tls(expiring, false).await?,
            tls(expired, false).await?,
            tls(wronghost, false).await?,
            tls(selfsigned, false).await?,
            tls(legacy, true).await?,
        ];
        let addrs: Vec<SocketAddr> = listeners.iter().map(|(_, a, _, _)| *a).collect();
        for (l, _, acceptor, legacy) in listeners {
            tasks.push(tokio::spawn(serve(l, acceptor, legacy)));
        }
        let (garbage_l, garbage) = bind().await?;
        tasks.push(tokio::spawn(serve_garbage(garbage_l)));
        Ok(TlsListeners {
            valid: addrs[0],
            expiring: addrs[1],
            expired: addrs[2],
            wronghost: addrs[3],
            selfsigned: addrs[4],
            legacy: addrs[5],
            garbage,
            tasks,
        })
    }

    /// `tls_*_port` variables for checklists.
    pub fn vars(&self) -> Vec<(String, String)> {
        [
            ("tls_valid_port", self.valid),
            ("tls_expiring_port", self.expiring),
            ("tls_expired_port", self.expired),
            ("tls_wronghost_port", self.wronghost),
            ("tls_selfsigned_port", self.selfsigned),
            ("tls_legacy_port", self.legacy),
            ("tls_garbage_port", self.garbage),
        ]
        .into_iter()
        .map(|(k, a)| (k.to_string(), a.port().to_string()))
        .collect()
    }
}

impl Drop for TlsListeners {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A server config like [`server_config`] that also staples [`OCSP_PLACEHOLDER`].
fn stapled(
    (leaf, key): (CertificateDer<'static>, Vec<u8>),
    pki: &TestPki,
) -> Result<rustls::ServerConfig, TestbedError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(err)?
        .with_no_client_auth()
        .with_single_cert_with_ocsp(
            vec![leaf, pki.ca_der.clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
            OCSP_PLACEHOLDER.to_vec(),
        )
        .map_err(err)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}

async fn serve(listener: TcpListener, acceptor: TlsAcceptor, legacy: bool) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _ =
                tokio::time::timeout(CONNECTION_LIFETIME, connection(tcp, acceptor, legacy)).await;
        });
    }
}

async fn connection(
    mut tcp: TcpStream,
    acceptor: TlsAcceptor,
    legacy: bool,
) -> std::io::Result<()> {
    let _ = tcp.set_nodelay(true);
    if !legacy {
        return drain(acceptor.accept(tcp).await?).await;
    }
    let first = read_record(&mut tcp).await?;
    match client_version(&first) {
        Some([3, 2]) => tcp.write_all(&server_hello_1_1(&first)).await,
        Some([3, v]) if v < 2 => tcp.write_all(&[21, 3, 1, 0, 2, 2, 70]).await,
        _ => {
            let (r, w) = tokio::io::split(tcp);
            let replayed = tokio::io::join(std::io::Cursor::new(first).chain(r), w);
            drain(acceptor.accept(replayed).await?).await
        }
    }
}

/// Reads until the client hangs up, so the connection lives as long as it wants.
async fn drain(mut s: impl tokio::io::AsyncRead + Unpin) -> std::io::Result<()> {
    let mut buf = [0u8; 1024];
    while s.read(&mut buf).await? > 0 {}
    Ok(())
}

/// One whole TLS record (header + fragment), or the bytes read before a bad header.
async fn read_record(tcp: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut rec = vec![0u8; 5];
    tcp.read_exact(&mut rec).await?;
    let len = usize::from(u16::from_be_bytes([rec[3], rec[4]]));
    if rec[0] == 22 && len <= 16384 {
        rec.resize(5 + len, 0);
        tcp.read_exact(&mut rec[5..]).await?;
    }
    Ok(rec)
}

/// The client_version of a ClientHello record without a supported_versions list
/// (TLS 1.3 clients write 3.3 there, so they reach rustls).
fn client_version(record: &[u8]) -> Option<[u8; 2]> {
    if record.first() != Some(&22) || record.get(5) != Some(&1) {
        return None;
    }
    let v = record.get(9..11)?;
    Some([v[0], v[1]])
}

/// A TLS 1.1 ServerHello choosing the first cipher suite the client offered.
fn server_hello_1_1(client_hello: &[u8]) -> Vec<u8> {
    // record (5) + handshake header (4) + version (2) + random (32) = 43: session id length.
    let suite = client_hello
        .get(43)
        .map(|&sid| 44 + usize::from(sid) + 2)
        .and_then(|i| client_hello.get(i..i + 2))
        .map_or([0x00, 0x2f], |s| [s[0], s[1]]);
    let mut body = vec![3, 2];
    body.extend_from_slice(&[0x42; 32]); // server random
    body.push(0); // no session id
    body.extend_from_slice(&suite);
    body.push(0); // null compression
    let mut hs = vec![2, 0, 0, u8::try_from(body.len()).unwrap_or(0)];
    hs.extend_from_slice(&body);
    let mut rec = vec![22, 3, 2, 0, u8::try_from(hs.len()).unwrap_or(0)];
    rec.extend_from_slice(&hs);
    rec
}

async fn serve_garbage(listener: TcpListener) {
    loop {
        let Ok((mut tcp, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        tokio::spawn(async move {
            let _ = tokio::time::timeout(CONNECTION_LIFETIME, async {
                tcp.write_all(GARBAGE).await?;
                drain(&mut tcp).await
            })
            .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_hello_echoes_the_first_offered_suite() {
        // record hdr, handshake hdr, version 3.2, random, empty session id, 2 suites.
        let mut hello = vec![22, 3, 1, 0, 0, 1, 0, 0, 0, 3, 2];
        hello.extend_from_slice(&[0; 32]);
        hello.extend_from_slice(&[0, 0, 4, 0xc0, 0x13, 0x00, 0x2f, 1, 0]);
        assert_eq!(client_version(&hello), Some([3, 2]));
        let sh = server_hello_1_1(&hello);
        assert_eq!(&sh[..3], &[22, 3, 2]);
        assert_eq!(usize::from(sh[4]), sh.len() - 5);
        assert_eq!(sh[5], 2, "ServerHello");
        assert_eq!(&sh[9..11], &[3, 2]);
        assert_eq!(&sh[44..46], &[0xc0, 0x13]);
    }
}
