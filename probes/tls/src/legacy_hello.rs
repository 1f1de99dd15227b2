//! A hand-built TLS 1.0 / 1.1 ClientHello and a reading of the server's first reply.
//!
//! rustls cannot speak TLS 1.0 or 1.1, so to learn whether a server still *accepts*
//! them we send a ClientHello that offers only that version (record and handshake
//! bytes written here, with a broad list of the cipher suites those versions used)
//! and read the first record that comes back: a ServerHello carrying the offered
//! version means accepted; an alert, a ServerHello with another version, or a closed
//! connection means rejected. No handshake is completed and no key is exchanged.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A protocol version only a hand-built ClientHello can offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyVersion {
    /// TLS 1.0 (wire version 3.1).
    Tls10,
    /// TLS 1.1 (wire version 3.2).
    Tls11,
}

impl LegacyVersion {
    /// The version as written on the wire.
    pub fn wire(self) -> [u8; 2] {
        match self {
            LegacyVersion::Tls10 => [3, 1],
            LegacyVersion::Tls11 => [3, 2],
        }
    }
}

const CONTENT_ALERT: u8 = 21;
const CONTENT_HANDSHAKE: u8 = 22;
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
const HANDSHAKE_SERVER_HELLO: u8 = 2;
/// Largest record a TLS 1.0–1.2 peer may send (2^14 plus expansion).
const MAX_RECORD: usize = 16384 + 2048;

/// Cipher suites TLS 1.0/1.1 servers commonly enable, strongest first. Includes the
/// renegotiation SCSV, and deliberately *not* TLS_FALLBACK_SCSV (0x5600): with it a
/// server that knows a newer version would refuse on principle, and we want to know
/// whether it accepts this version when a client offers nothing newer.
const CIPHER_SUITES: &[u16] = &[
    0xc00a, // TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
    0xc014, // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
    0xc009, // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
    0xc013, // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
    0x0039, // TLS_DHE_RSA_WITH_AES_256_CBC_SHA
    0x0038, // TLS_DHE_DSS_WITH_AES_256_CBC_SHA
    0x0033, // TLS_DHE_RSA_WITH_AES_128_CBC_SHA
    0x0032, // TLS_DHE_DSS_WITH_AES_128_CBC_SHA
    0x0088, // TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA
    0x0045, // TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA
    0x0035, // TLS_RSA_WITH_AES_256_CBC_SHA
    0x002f, // TLS_RSA_WITH_AES_128_CBC_SHA
    0x0084, // TLS_RSA_WITH_CAMELLIA_256_CBC_SHA
    0x0041, // TLS_RSA_WITH_CAMELLIA_128_CBC_SHA
    0xc012, // TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA
    0xc008, // TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA
    0x0016, // TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA
    0x000a, // TLS_RSA_WITH_3DES_EDE_CBC_SHA
    0xc011, // TLS_ECDHE_RSA_WITH_RC4_128_SHA
    0xc007, // TLS_ECDHE_ECDSA_WITH_RC4_128_SHA
    0x0005, // TLS_RSA_WITH_RC4_128_SHA
    0x0004, // TLS_RSA_WITH_RC4_128_MD5
    0x00ff, // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
];

/// Named groups for ECDHE: x25519, secp256r1, secp384r1, secp521r1.
const GROUPS: &[u16] = &[0x001d, 0x0017, 0x0018, 0x0019];

fn push_u16(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&u16::try_from(v).unwrap_or(u16::MAX).to_be_bytes());
}

fn push_u24(out: &mut Vec<u8>, v: usize) {
    let v = u32::try_from(v).unwrap_or(0x00ff_ffff).to_be_bytes();
    out.extend_from_slice(&v[1..]);
}

/// One extension: type, length, body.
fn extension(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    push_u16(out, body.len());
    out.extend_from_slice(body);
}

/// The ClientHello record offering only `version`. `sni` is sent as server_name when
/// it is a DNS name (an IP address is never sent as SNI, RFC 6066 §3).
pub fn client_hello(version: LegacyVersion, sni: Option<&str>, random: [u8; 32]) -> Vec<u8> {
    let mut ext = Vec::new();
    if let Some(name) = sni.filter(|n| !n.is_empty() && n.parse::<std::net::IpAddr>().is_err()) {
        let name = name.trim_end_matches('.').as_bytes();
        let mut body = Vec::new();
        push_u16(&mut body, name.len() + 3);
        body.push(0); // host_name
        push_u16(&mut body, name.len());
        body.extend_from_slice(name);
        extension(&mut ext, 0x0000, &body);
    }
    let mut groups = Vec::new();
    push_u16(&mut groups, GROUPS.len() * 2);
    for g in GROUPS {
        groups.extend_from_slice(&g.to_be_bytes());
    }
    extension(&mut ext, 0x000a, &groups); // supported_groups
    extension(&mut ext, 0x000b, &[1, 0]); // ec_point_formats: uncompressed

    let mut hello = Vec::new();
    hello.extend_from_slice(&version.wire());
    hello.extend_from_slice(&random);
    hello.push(0); // empty session id
    push_u16(&mut hello, CIPHER_SUITES.len() * 2);
    for s in CIPHER_SUITES {
        hello.extend_from_slice(&s.to_be_bytes());
    }
    hello.extend_from_slice(&[1, 0]); // compression: null only
    push_u16(&mut hello, ext.len());
    hello.extend_from_slice(&ext);

    let mut handshake = vec![HANDSHAKE_CLIENT_HELLO];
    push_u24(&mut handshake, hello.len());
    handshake.extend_from_slice(&hello);

    // Record version 3.1 for both, as clients of that era did.
    let mut record = vec![CONTENT_HANDSHAKE, 3, 1];
    push_u16(&mut record, handshake.len());
    record.extend_from_slice(&handshake);
    record
}

/// Why a server did not accept the offered version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// It sent an alert (the description code, e.g. 70 protocol_version, 40 handshake_failure).
    Alert(u8),
    /// It answered with a ServerHello of another version.
    OtherVersion([u8; 2]),
    /// It closed or reset the connection.
    Closed,
    /// Its reply was a TLS record but not a ServerHello.
    NotServerHello,
    /// Its reply was not TLS at all.
    NotTls,
}

/// What the server's first reply says about the offered version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A ServerHello with the offered version.
    Accepted,
    /// Anything else.
    Rejected(Rejection),
}

/// Reads the reply from the bytes received so far; `None` when more are needed.
pub fn parse_reply(buf: &[u8], offered: LegacyVersion) -> Option<Reply> {
    let header = buf.get(..5)?;
    let (kind, major, len) = (
        header[0],
        header[1],
        usize::from(u16::from_be_bytes([header[3], header[4]])),
    );
    if major != 3 || len == 0 || len > MAX_RECORD {
        return Some(Reply::Rejected(Rejection::NotTls));
    }
    match kind {
        CONTENT_ALERT => {
            let alert = buf.get(5..7)?;
            Some(Reply::Rejected(Rejection::Alert(alert[1])))
        }
        CONTENT_HANDSHAKE => {
            let first = *buf.get(5)?;
            if first != HANDSHAKE_SERVER_HELLO || len < 6 {
                return Some(Reply::Rejected(Rejection::NotServerHello));
            }
            // type (1) + length (3) + server_version (2)
            let v = buf.get(9..11)?;
            let version = [v[0], v[1]];
            Some(if version == offered.wire() {
                Reply::Accepted
            } else {
                Reply::Rejected(Rejection::OtherVersion(version))
            })
        }
        20 | 23 => Some(Reply::Rejected(Rejection::NotServerHello)),
        _ => Some(Reply::Rejected(Rejection::NotTls)),
    }
}

/// Sends the ClientHello on `io` and reads until the reply is known. Errors are only
/// failures to *send*; a closed or reset connection while reading is a rejection.
pub async fn offer<S>(
    io: &mut S,
    version: LegacyVersion,
    sni: Option<&str>,
    random: [u8; 32],
) -> std::io::Result<Reply>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    io.write_all(&client_hello(version, sni, random)).await?;
    io.flush().await?;
    let mut buf = Vec::with_capacity(64);
    let mut chunk = [0u8; 64];
    loop {
        if let Some(reply) = parse_reply(&buf, version) {
            return Ok(reply);
        }
        match io.read(&mut chunk).await {
            Ok(0) | Err(_) => return Ok(Reply::Rejected(Rejection::Closed)),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u16_at(b: &[u8], i: usize) -> usize {
        usize::from(u16::from_be_bytes([b[i], b[i + 1]]))
    }

    /// Splits the extensions block of a ClientHello record into (type, body).
    fn extensions(record: &[u8]) -> Vec<(u16, Vec<u8>)> {
        let mut i = 5 + 4 + 2 + 32; // record hdr, handshake hdr, version, random
        i += 1 + usize::from(record[i]); // session id
        i += 2 + u16_at(record, i); // cipher suites
        i += 1 + usize::from(record[i]); // compression
        let end = i + 2 + u16_at(record, i);
        i += 2;
        let mut out = Vec::new();
        while i < end {
            let kind = u16::from_be_bytes([record[i], record[i + 1]]);
            let len = u16_at(record, i + 2);
            out.push((kind, record[i + 4..i + 4 + len].to_vec()));
            i += 4 + len;
        }
        assert_eq!(i, record.len(), "extensions end the record");
        out
    }

    #[test]
    fn hello_record_and_handshake_headers_are_consistent() {
        for (v, wire) in [
            (LegacyVersion::Tls10, [3, 1]),
            (LegacyVersion::Tls11, [3, 2]),
        ] {
            let r = client_hello(v, Some("example.test"), [7; 32]);
            assert_eq!(&r[..3], &[22, 3, 1], "handshake record, version 3.1");
            assert_eq!(u16_at(&r, 3), r.len() - 5, "record length");
            assert_eq!(r[5], 1, "ClientHello");
            let hs_len = (usize::from(r[6]) << 16) | u16_at(&r, 7);
            assert_eq!(hs_len, r.len() - 9, "handshake length");
            assert_eq!(&r[9..11], &wire, "client_version is the offered one");
            assert_eq!(&r[11..43], &[7; 32], "random");
            assert_eq!(r[43], 0, "no session id");
        }
    }

    #[test]
    fn hello_offers_broad_suites_without_fallback_scsv() {
        let r = client_hello(LegacyVersion::Tls11, None, [0; 32]);
        let n = u16_at(&r, 44);
        assert_eq!(n, CIPHER_SUITES.len() * 2);
        let suites: Vec<u16> = r[46..46 + n]
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        assert!(suites.contains(&0x002f), "TLS_RSA_WITH_AES_128_CBC_SHA");
        assert!(suites.contains(&0xc013), "ECDHE-RSA-AES128-SHA");
        assert!(suites.contains(&0x00ff), "renegotiation SCSV");
        assert!(!suites.contains(&0x5600), "no TLS_FALLBACK_SCSV");
        assert_eq!(&r[46 + n..48 + n], &[1, 0], "null compression only");
    }

    #[test]
    fn hello_sends_sni_for_names_only() {
        let r = client_hello(LegacyVersion::Tls10, Some("api.demo.test."), [0; 32]);
        let ext = extensions(&r);
        let sni = &ext.iter().find(|(k, _)| *k == 0).expect("server_name").1;
        let name = b"api.demo.test";
        let mut want = vec![0, (name.len() + 3) as u8, 0, 0, name.len() as u8];
        want.extend_from_slice(name);
        assert_eq!(sni, &want);
        let kinds: Vec<u16> = ext.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, vec![0x0000, 0x000a, 0x000b]);

        for no_sni in [Some("127.0.0.1"), Some("::1"), None] {
            let r = client_hello(LegacyVersion::Tls10, no_sni, [0; 32]);
            let kinds: Vec<u16> = extensions(&r).iter().map(|(k, _)| *k).collect();
            assert_eq!(kinds, vec![0x000a, 0x000b], "{no_sni:?}");
        }
    }

    fn server_hello(version: [u8; 2]) -> Vec<u8> {
        let mut body = vec![version[0], version[1]];
        body.extend_from_slice(&[9; 32]);
        body.extend_from_slice(&[0, 0xc0, 0x13, 0]);
        let mut r = vec![22, 3, version[1], 0, (body.len() + 4) as u8, 2, 0, 0];
        r.push(body.len() as u8);
        r.extend_from_slice(&body);
        r
    }

    #[test]
    fn reply_server_hello_with_offered_version_is_accepted() {
        let r = server_hello([3, 2]);
        assert_eq!(parse_reply(&r, LegacyVersion::Tls11), Some(Reply::Accepted));
        assert_eq!(
            parse_reply(&r, LegacyVersion::Tls10),
            Some(Reply::Rejected(Rejection::OtherVersion([3, 2])))
        );
        assert_eq!(
            parse_reply(&server_hello([3, 3]), LegacyVersion::Tls11),
            Some(Reply::Rejected(Rejection::OtherVersion([3, 3])))
        );
    }

    #[test]
    fn reply_alert_is_rejected_with_its_code() {
        let alert = [21, 3, 3, 0, 2, 2, 70];
        assert_eq!(
            parse_reply(&alert, LegacyVersion::Tls10),
            Some(Reply::Rejected(Rejection::Alert(70)))
        );
    }

    #[test]
    fn reply_needs_more_bytes_until_decidable() {
        let r = server_hello([3, 1]);
        for cut in 0..11 {
            assert_eq!(parse_reply(&r[..cut], LegacyVersion::Tls10), None, "{cut}");
        }
        assert_eq!(
            parse_reply(&[21, 3, 1, 0, 2, 2], LegacyVersion::Tls10),
            None
        );
    }

    #[test]
    fn reply_garbage_is_not_tls() {
        for junk in [
            &b"HTTP/1.1 400 Bad Request\r\n"[..],
            &b"SSH-2.0-OpenSSH_9.6\r\n"[..],
            &[0xff; 16][..],
            &[22, 3, 1, 0, 0][..],
        ] {
            assert_eq!(
                parse_reply(junk, LegacyVersion::Tls11),
                Some(Reply::Rejected(Rejection::NotTls)),
                "{junk:?}"
            );
        }
        assert_eq!(
            parse_reply(&[22, 3, 1, 0, 4, 11, 0, 0, 0], LegacyVersion::Tls11),
            Some(Reply::Rejected(Rejection::NotServerHello))
        );
    }

    #[tokio::test]
    async fn offer_reads_reply_and_treats_close_as_rejection() {
        let (mut client, mut server) = tokio::io::duplex(4096);
        let answer = tokio::spawn(async move {
            let mut hdr = [0u8; 5];
            server.read_exact(&mut hdr).await.expect("hello header");
            let mut rest = vec![0u8; u16_at(&hdr, 3)];
            server.read_exact(&mut rest).await.expect("hello body");
            server
                .write_all(&server_hello([3, 2]))
                .await
                .expect("reply");
            server
        });
        let reply = offer(&mut client, LegacyVersion::Tls11, None, [1; 32])
            .await
            .expect("offer");
        assert_eq!(reply, Reply::Accepted);
        drop(answer.await.expect("server task"));
        // A peer that reads the hello and hangs up: rejected, not an error.
        let (mut client, mut server) = tokio::io::duplex(4096);
        let hang_up = tokio::spawn(async move {
            let mut hdr = [0u8; 5];
            server.read_exact(&mut hdr).await.expect("hello header");
            let mut rest = vec![0u8; u16_at(&hdr, 3)];
            server.read_exact(&mut rest).await.expect("hello body");
        });
        let reply = offer(&mut client, LegacyVersion::Tls10, None, [1; 32])
            .await
            .expect("offer");
        hang_up.await.expect("server task");
        assert_eq!(reply, Reply::Rejected(Rejection::Closed));
    }
}
