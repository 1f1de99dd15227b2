//! Authoritative DNS for the zone `demo.test.` on loopback (hickory-server, UDP + TCP).
//!
//! - the primary on `127.0.0.1:PORT`: A, AAAA, a CNAME to `demo-app.pages.dev.`, SPF
//!   TXT, DMARC (`_dmarc`), DKIM (`google._domainkey`), MX, CAA, SRV, NS (`ns1` →
//!   127.0.0.1, `ns2` → 127.0.0.2), SOA; any name under `broken.demo.test.` answers
//!   SERVFAIL;
//! - a stale secondary on `127.0.0.2:PORT` (same port): the same zone, except that
//!   `api.demo.test.` still has its old address — the two disagree, as during a
//!   propagation — and `fresh.demo.test.`, added since, is not there yet (NXDOMAIN);
//! - a silent UDP port that reads questions and never answers;
//! - on the primary, also the zones of [`crate::mailzone`]: `mail.test.` (SPF, DMARC,
//!   DKIM, Null MX) and the DNSSEC-signed `signed.test.`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use hickory_server::Server;
use hickory_server::net::runtime::{Time, TokioRuntimeProvider};
use hickory_server::proto::op::{Header, HeaderCounts, ResponseCode};
use hickory_server::proto::rr::rdata::{A, AAAA, CAA, CNAME, MX, NS, SOA, SRV, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, MessageResponseBuilder, ZoneType};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

/// The zone the testbed serves.
pub const ZONE: &str = "demo.test.";
/// The address `api.demo.test.` has on the primary…
pub const API_ADDR: &str = "203.0.113.10";
/// …and the one the stale secondary still serves.
pub const API_ADDR_STALE: &str = "198.51.100.10";
/// A name only the primary has: the stale secondary answers NXDOMAIN.
pub const FRESH: &str = "fresh.demo.test.";
/// The address of [`FRESH`] on the primary.
pub const FRESH_ADDR: &str = "203.0.113.11";

/// The running DNS servers. Dropping them stops them.
pub struct DnsServers {
    primary: SocketAddr,
    secondary: SocketAddr,
    silent: SocketAddr,
    signed: crate::mailzone::SignedZone,
    tasks: Vec<JoinHandle<()>>,
}

impl DnsServers {
    /// Binds the primary and the secondary on one free port (127.0.0.1 and 127.0.0.2)
    /// and a silent UDP port, and starts serving.
    pub async fn start() -> std::io::Result<DnsServers> {
        let (sockets, port) = bind_pair().await?;
        let [(udp1, tcp1), (udp2, tcp2)] = sockets;
        let silent_socket = UdpSocket::bind("127.0.0.1:0").await?;
        let silent = silent_socket.local_addr()?;
        let primary = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        let secondary = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), port);
        // The primary also serves `mail.test.` and the signed `signed.test.`.
        let mut primary_zones = zone(API_ADDR, 2026111502)?;
        let signed = crate::mailzone::add_zones(&mut primary_zones)?;
        let tasks = vec![
            tokio::spawn(serve(udp1, tcp1, primary_zones)),
            tokio::spawn(serve(udp2, tcp2, zone(API_ADDR_STALE, 2026111501)?)),
            tokio::spawn(never_answer(silent_socket)),
        ];
        Ok(DnsServers {
            primary,
            secondary,
            silent,
            signed,
            tasks,
        })
    }

    /// The primary authoritative server (`127.0.0.1:PORT`).
    pub fn primary(&self) -> SocketAddr {
        self.primary
    }

    /// The stale secondary (`127.0.0.2:PORT`, same port as the primary).
    pub fn secondary(&self) -> SocketAddr {
        self.secondary
    }

    /// A UDP port that receives questions and never answers.
    pub fn silent(&self) -> SocketAddr {
        self.silent
    }

    /// The DNSKEY of `signed.test.` (`signed.test. DNSKEY 256 3 13 …`), for a
    /// validating resolver's trust anchor.
    pub fn trust_anchor(&self) -> &str {
        &self.signed.trust_anchor
    }

    /// `dns`, `dns_other` and `dns_silent` as `ip:port`.
    pub fn vars(&self) -> Vec<(String, String)> {
        vec![
            ("dns".into(), self.primary.to_string()),
            ("dns_other".into(), self.secondary.to_string()),
            ("dns_silent".into(), self.silent.to_string()),
        ]
    }
}

impl Drop for DnsServers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

type Pair = (UdpSocket, TcpListener);

/// UDP and TCP on 127.0.0.1:P and 127.0.0.2:P for one free port P.
async fn bind_pair() -> std::io::Result<([Pair; 2], u16)> {
    let mut last = None;
    for _ in 0..32 {
        let udp1 = UdpSocket::bind("127.0.0.1:0").await?;
        let port = udp1.local_addr()?.port();
        let rest = async {
            let tcp1 = TcpListener::bind(("127.0.0.1", port)).await?;
            let udp2 = UdpSocket::bind(("127.0.0.2", port)).await?;
            let tcp2 = TcpListener::bind(("127.0.0.2", port)).await?;
            Ok::<_, std::io::Error>((tcp1, udp2, tcp2))
        };
        match rest.await {
            Ok((tcp1, udp2, tcp2)) => return Ok(([(udp1, tcp1), (udp2, tcp2)], port)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free DNS port pair")))
}

async fn serve(udp: UdpSocket, tcp: TcpListener, catalog: Catalog) {
    let mut server = Server::new(WithServfail { catalog });
    server.register_socket(udp);
    server.register_listener(tcp, Duration::from_secs(5), 64);
    let _ = server.block_until_done().await;
}

async fn never_answer(socket: UdpSocket) {
    let mut buf = [0u8; 1500];
    while socket.recv_from(&mut buf).await.is_ok() {}
}

fn name(text: &str) -> Name {
    Name::from_str(text).unwrap_or_else(|e| panic!("testbed zone name {text}: {e}"))
}

/// The `demo.test.` zone, with `api` at `api_addr`.
fn zone(api_addr: &str, serial: u32) -> std::io::Result<Catalog> {
    let origin = name(ZONE);
    let mut handler = InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
        origin.clone(),
        ZoneType::Primary,
        AxfrPolicy::Deny,
        None,
    );
    let at = |label: &str| {
        if label == "@" {
            origin.clone()
        } else {
            name(&format!("{label}.{ZONE}"))
        }
    };
    let api: Ipv4Addr = api_addr
        .parse()
        .map_err(|e| std::io::Error::other(format!("api address: {e}")))?;
    let records = [
        (
            "@",
            RData::SOA(SOA::new(
                at("ns1"),
                at("hostmaster"),
                serial,
                3600,
                600,
                86400,
                300,
            )),
        ),
        ("@", RData::NS(NS(at("ns1")))),
        ("@", RData::NS(NS(at("ns2")))),
        ("ns1", RData::A(A(Ipv4Addr::LOCALHOST))),
        ("ns2", RData::A(A(Ipv4Addr::new(127, 0, 0, 2)))),
        ("@", RData::A(A(Ipv4Addr::new(203, 0, 113, 7)))),
        (
            "@",
            RData::AAAA(AAAA(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7))),
        ),
        ("www", RData::A(A(Ipv4Addr::new(203, 0, 113, 7)))),
        ("api", RData::A(A(api))),
        ("app", RData::CNAME(CNAME(name("demo-app.pages.dev.")))),
        (
            "@",
            RData::TXT(TXT::new(vec![
                "v=spf1 include:_spf.google.com include:amazonses.com -all".into(),
            ])),
        ),
        (
            "@",
            RData::TXT(TXT::new(vec![
                "google-site-verification=demo-testbed".into(),
            ])),
        ),
        (
            "_dmarc",
            RData::TXT(TXT::new(vec![
                "v=DMARC1; p=reject; rua=mailto:dmarc@demo.test".into(),
            ])),
        ),
        (
            "google._domainkey",
            // Two character-strings, as long DKIM keys are published.
            RData::TXT(TXT::new(vec![
                "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtestbed".into(),
                "DemoKeyMaterialNotARealKeyIDAQAB".into(),
            ])),
        ),
        ("@", RData::MX(MX::new(10, at("mx1")))),
        ("@", RData::MX(MX::new(20, at("mx2")))),
        ("mx1", RData::A(A(Ipv4Addr::new(203, 0, 113, 25)))),
        ("mx2", RData::A(A(Ipv4Addr::new(203, 0, 113, 26)))),
        (
            "@",
            RData::CAA(CAA::new_issue(false, Some(name("letsencrypt.org")), vec![])),
        ),
        ("@", RData::CAA(CAA::new_issuewild(false, None, vec![]))),
        ("_sip._tcp", RData::SRV(SRV::new(10, 5, 5060, at("sip")))),
        ("sip", RData::A(A(Ipv4Addr::new(203, 0, 113, 50)))),
    ];
    let fresh: Ipv4Addr = FRESH_ADDR
        .parse()
        .map_err(|e| std::io::Error::other(format!("fresh address: {e}")))?;
    let added_since = (api_addr == API_ADDR).then_some(("fresh", RData::A(A(fresh))));
    for (label, data) in records.into_iter().chain(added_since) {
        let ttl = if label == "api" { 60 } else { 300 };
        if !handler.upsert_mut(Record::from_rdata(at(label), ttl, data), serial) {
            return Err(std::io::Error::other(format!(
                "failed to add {label} to the testbed zone"
            )));
        }
    }
    let mut catalog = Catalog::new();
    catalog.upsert(LowerName::new(&origin), vec![Arc::new(handler)]);
    Ok(catalog)
}

/// The zone's catalog, except that names under `broken.demo.test.` get SERVFAIL (as
/// from a server whose backend is down).
struct WithServfail {
    catalog: Catalog,
}

#[async_trait::async_trait]
impl RequestHandler for WithServfail {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let broken = LowerName::new(&name(&format!("broken.{ZONE}")));
        let is_broken = request
            .request_info()
            .is_ok_and(|info| broken.zone_of(info.query.name()));
        if !is_broken {
            return self
                .catalog
                .handle_request::<R, T>(request, response_handle)
                .await;
        }
        let response = MessageResponseBuilder::new(&request.queries, None)
            .error_msg(&request.metadata, ResponseCode::ServFail);
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(_) => {
                let mut metadata = request.metadata;
                metadata.response_code = ResponseCode::ServFail;
                ResponseInfo::from(Header {
                    metadata,
                    counts: HeaderCounts::default(),
                })
            }
        }
    }
}
