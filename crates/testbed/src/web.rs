//! A small website on loopback for the http probe's web checks (issue #18), behind its
//! own name server so host names, `www` and several addresses per name are real.
//!
//! - DNS for `web.test.` on `127.0.0.1:PORT` (UDP + TCP): `web.test` and `www.web.test`
//!   → 127.0.0.1; `nodes.web.test` → 127.0.0.2, 127.0.0.3, 127.0.0.4 (and `::1` when
//!   the machine has IPv6 loopback); `half.web.test` → 127.0.0.2 and 127.0.0.5, where
//!   nothing listens.
//! - The site over HTTPS (certificate for `web.test`, `www.web.test`, `localhost`,
//!   `127.0.0.1` from the testbed CA) and plain HTTP. Plain HTTP redirects everything
//!   to HTTPS with one 301 on the same host, except `/old-home`, which takes two 302
//!   hops, and `/hostile/…`, served as over HTTPS (so HTTP/1.1 sees them too). HTTPS redirects `www.web.test` to the apex with a 301.
//! - Pages: `/` (strong security headers, good cookies, `index, follow`), `/staging`
//!   (a staging leftover: `noindex`, weak CSP, no HSTS, careless cookies),
//!   `/robots.txt`, `/staging/robots.txt` (`Disallow: /`), `/sitemap.xml`.
//! - CORS: `/api/data` allows only `https://app.web.test` (with credentials);
//!   `/api/open` reflects any origin with credentials; `/api/wildcard` answers `*`
//!   with credentials.
//! - Hostile answers under `/hostile/`: 10,000 `Set-Cookie` headers, a 1 MB CSP, a
//!   redirect to `file://`, to `gopher://`, and a chain that ends in `file://`.
//! - The nodes: HTTPS on the same port of every `nodes.web.test` address, each with a
//!   certificate for `nodes.web.test`; 127.0.0.4 still serves an old one that expires
//!   in [`OLD_NODE_DAYS`] days.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hickory_server::Server;
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::proto::rr::rdata::{A, AAAA, NS, SOA};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use time::OffsetDateTime;
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::TestbedError;
use crate::certs::{TestPki, server_config};

/// The zone of the test site.
pub const WEB_ZONE: &str = "web.test.";
/// Names the site's certificate is valid for.
pub const WEB_NAMES: &[&str] = &["web.test", "www.web.test", "localhost", "127.0.0.1"];
/// The name with several addresses.
pub const NODES_NAME: &str = "nodes.web.test";
/// The node that still serves an old certificate.
pub const OLD_NODE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 4);
/// Days the old node's certificate has left (plus an hour).
pub const OLD_NODE_DAYS: i32 = 5;
/// The one origin `/api/data` allows.
pub const ALLOWED_ORIGIN: &str = "https://app.web.test";
/// Set-Cookie headers `/hostile/cookies` sends.
pub const HOSTILE_COOKIES: usize = 10_000;
/// Bytes of the CSP `/hostile/csp` sends.
pub const HOSTILE_CSP_BYTES: usize = 1024 * 1024;

/// The running site, its name server and the nodes. Dropping it stops them.
pub struct WebServers {
    https: SocketAddr,
    http: SocketAddr,
    dns: SocketAddr,
    nodes_port: u16,
    nodes: Vec<IpAddr>,
    /// Bound, never listening: `half.web.test`'s dead address is refused for sure.
    _dead: tokio::net::TcpSocket,
    tasks: Vec<JoinHandle<()>>,
}

impl WebServers {
    /// Issues the certificates, binds every listener and starts serving.
    pub async fn start(pki: &TestPki) -> Result<WebServers, TestbedError> {
        let now = OffsetDateTime::now_utc();
        let day = time::Duration::days(1);
        let site = pki.issue(WEB_NAMES, now - day, now + day * 90)?;
        let site = TlsAcceptor::from(Arc::new(server_config(
            vec![site.0, pki.ca_der.clone()],
            site.1,
        )?));
        let https_l = TcpListener::bind("127.0.0.1:0").await?;
        let http_l = TcpListener::bind("127.0.0.1:0").await?;
        let (https, http) = (https_l.local_addr()?, http_l.local_addr()?);

        let (node_listeners, nodes_port, dead) = bind_nodes().await?;
        let nodes: Vec<IpAddr> = node_listeners.iter().map(|(ip, _)| *ip).collect();
        let mut tasks = vec![
            tokio::spawn(serve(
                https_l,
                Some(site),
                Site::Https {
                    https: https.port(),
                },
            )),
            tokio::spawn(serve(
                http_l,
                None,
                Site::Plain {
                    https: https.port(),
                },
            )),
        ];
        for (ip, l) in node_listeners {
            let not_after = if ip == IpAddr::V4(OLD_NODE) {
                now + day * OLD_NODE_DAYS + time::Duration::hours(1)
            } else {
                now + day * 90
            };
            let not_before = if ip == IpAddr::V4(OLD_NODE) {
                now - day * 85
            } else {
                now - day
            };
            let (leaf, key) = pki.issue(&[NODES_NAME], not_before, not_after)?;
            let acceptor = TlsAcceptor::from(Arc::new(server_config(
                vec![leaf, pki.ca_der.clone()],
                key,
            )?));
            tasks.push(tokio::spawn(serve(l, Some(acceptor), Site::Node(ip))));
        }

        let (udp, tcp) = bind_dns().await?;
        let dns = udp.local_addr()?;
        tasks.push(tokio::spawn(serve_dns(udp, tcp, zone(&nodes)?)));
        Ok(WebServers {
            https,
            http,
            dns,
            nodes_port,
            nodes,
            _dead: dead,
            tasks,
        })
    }

    /// `https://127.0.0.1:PORT`: the site over TLS.
    pub fn https_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.https.port())
    }

    /// `http://127.0.0.1:PORT`: the site's plain-HTTP listener (redirects to HTTPS).
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http.port())
    }

    /// Port of the site's HTTPS listener (for `https://web.test:PORT`).
    pub fn https_port(&self) -> u16 {
        self.https.port()
    }

    /// Port of the site's plain-HTTP listener.
    pub fn http_port(&self) -> u16 {
        self.http.port()
    }

    /// The name server for `web.test.` (`127.0.0.1:PORT`).
    pub fn dns(&self) -> SocketAddr {
        self.dns
    }

    /// The port every node listens on.
    pub fn nodes_port(&self) -> u16 {
        self.nodes_port
    }

    /// The addresses of `nodes.web.test`, as served by the name server.
    pub fn nodes(&self) -> &[IpAddr] {
        &self.nodes
    }

    /// `web`, `web_plain`, `web_port`, `web_plain_port`, `web_dns`, `nodes_port`.
    pub fn vars(&self) -> Vec<(String, String)> {
        vec![
            ("web".into(), self.https_url()),
            ("web_plain".into(), self.http_url()),
            ("web_port".into(), self.https.port().to_string()),
            ("web_plain_port".into(), self.http.port().to_string()),
            ("web_dns".into(), self.dns.to_string()),
            ("nodes_port".into(), self.nodes_port.to_string()),
        ]
    }
}

impl Drop for WebServers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A UDP socket and a TCP listener on the same free port of 127.0.0.1. Another test
/// may take the TCP side of a port whose UDP side was free: try again then.
async fn bind_dns() -> std::io::Result<(UdpSocket, TcpListener)> {
    let mut last = None;
    for _ in 0..32 {
        let udp = UdpSocket::bind("127.0.0.1:0").await?;
        match TcpListener::bind(udp.local_addr()?).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free port for the name server")))
}

/// The dead address of `half.web.test`.
const DEAD_NODE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 5);

type Bound = (Vec<(IpAddr, TcpListener)>, u16, tokio::net::TcpSocket);

/// One free port P bound on 127.0.0.2, .3, .4 (and [::1] when it exists), plus
/// 127.0.0.5:P bound without listening.
async fn bind_nodes() -> std::io::Result<Bound> {
    let mut last = None;
    for _ in 0..32 {
        let first = TcpListener::bind("127.0.0.2:0").await?;
        let port = first.local_addr()?.port();
        let rest = async {
            let mut ls = vec![(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), first)];
            for ip in [Ipv4Addr::new(127, 0, 0, 3), OLD_NODE] {
                ls.push((IpAddr::V4(ip), TcpListener::bind((ip, port)).await?));
            }
            let dead = tokio::net::TcpSocket::new_v4()?;
            dead.bind(SocketAddr::new(IpAddr::V4(DEAD_NODE), port))?;
            Ok::<_, std::io::Error>((ls, dead))
        };
        match rest.await {
            Ok((mut ls, dead)) => {
                // IPv6 loopback is optional: some containers have none.
                if let Ok(l) = TcpListener::bind((Ipv6Addr::LOCALHOST, port)).await {
                    ls.push((IpAddr::V6(Ipv6Addr::LOCALHOST), l));
                }
                return Ok((ls, port, dead));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free port for the nodes")))
}

fn name(text: &str) -> Name {
    Name::from_str(text).unwrap_or_else(|e| panic!("testbed zone name {text}: {e}"))
}

/// The `web.test.` zone.
fn zone(nodes: &[IpAddr]) -> std::io::Result<Catalog> {
    let origin = name(WEB_ZONE);
    let serial = 2026120101;
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
            name(&format!("{label}.{WEB_ZONE}"))
        }
    };
    let mut records = vec![
        (
            "@",
            RData::SOA(SOA::new(
                at("ns"),
                at("hostmaster"),
                serial,
                3600,
                600,
                86400,
                300,
            )),
        ),
        ("@", RData::NS(NS(at("ns")))),
        ("ns", RData::A(A(Ipv4Addr::LOCALHOST))),
        ("@", RData::A(A(Ipv4Addr::LOCALHOST))),
        ("www", RData::A(A(Ipv4Addr::LOCALHOST))),
        ("half", RData::A(A(Ipv4Addr::new(127, 0, 0, 2)))),
        ("half", RData::A(A(DEAD_NODE))),
    ];
    for ip in nodes {
        records.push((
            "nodes",
            match ip {
                IpAddr::V4(v4) => RData::A(A(*v4)),
                IpAddr::V6(v6) => RData::AAAA(AAAA(*v6)),
            },
        ));
    }
    for (label, data) in records {
        if !handler.upsert_mut(Record::from_rdata(at(label), 60, data), serial) {
            return Err(std::io::Error::other(format!(
                "failed to add {label} to the web zone"
            )));
        }
    }
    let mut catalog = Catalog::new();
    catalog.upsert(LowerName::new(&origin), vec![Arc::new(handler)]);
    Ok(catalog)
}

async fn serve_dns(udp: UdpSocket, tcp: TcpListener, catalog: Catalog) {
    let mut server = Server::new(catalog);
    server.register_socket(udp);
    server.register_listener(tcp, Duration::from_secs(5), 64);
    let _ = server.block_until_done().await;
}

/// Which server a connection reached.
#[derive(Clone, Copy)]
enum Site {
    /// The site over TLS; `https` is its own port.
    Https { https: u16 },
    /// Plain HTTP: redirects to the HTTPS port.
    Plain { https: u16 },
    /// One node of `nodes.web.test`.
    Node(IpAddr),
}

async fn serve(listener: TcpListener, tls: Option<TlsAcceptor>, site: Site) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| handle(req, site));
            let b = auto::Builder::new(TokioExecutor::new());
            match tls {
                Some(acceptor) => {
                    let Ok(Ok(s)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let _ = b.serve_connection(TokioIo::new(s), svc).await;
                }
                None => {
                    let _ = b.serve_connection(TokioIo::new(tcp), svc).await;
                }
            }
        });
    }
}

type Resp = Response<Full<Bytes>>;

fn page(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static(content_type));
    r
}

fn redirect(status: StatusCode, to: &str) -> Resp {
    let mut r = page(status, "text/plain; charset=utf-8", "");
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert("location", v);
    }
    r
}

fn add(r: &mut Resp, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().append(name, v);
    }
}

/// The request's host name without the port (`Host` on HTTP/1.1, the URI on HTTP/2).
fn host_of(req: &Request<Incoming>) -> String {
    let raw = req
        .uri()
        .host()
        .map(str::to_string)
        .or_else(|| {
            req.headers()
                .get("host")
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "127.0.0.1".into());
    match raw.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') && !h.contains(':') && p.parse::<u16>().is_ok() => {
            h.to_string()
        }
        _ => raw,
    }
}

async fn handle(req: Request<Incoming>, site: Site) -> Result<Resp, Infallible> {
    let path = req.uri().path().to_string();
    let host = host_of(&req);
    Ok(match site {
        Site::Plain { .. } if path.starts_with("/hostile/") => site_page(&req, &path),
        Site::Plain { https } => match path.as_str() {
            "/old-home" => redirect(StatusCode::FOUND, "/older-home"),
            "/older-home" => redirect(StatusCode::FOUND, &format!("https://{host}:{https}/")),
            _ => redirect(
                StatusCode::MOVED_PERMANENTLY,
                &format!("https://{host}:{https}{path}"),
            ),
        },
        Site::Https { https } if host.starts_with("www.") => redirect(
            StatusCode::MOVED_PERMANENTLY,
            &format!("https://{}:{https}{path}", &host[4..]),
        ),
        Site::Https { .. } => site_page(&req, &path),
        Site::Node(ip) => {
            let mut r = page(
                StatusCode::OK,
                "text/plain; charset=utf-8",
                format!("node {ip}"),
            );
            add(&mut r, "x-node", &ip.to_string());
            r
        }
    })
}

const HOME: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width\">\n\
<meta name=\"robots\" content=\"index, follow\">\n<title>web.test</title></head>\n\
<body><h1>Welcome</h1></body></html>\n";

const STAGING: &str = "<!doctype html>\n<html><head>\n\
<META NAME=\"ROBOTS\" CONTENT=\"noindex, nofollow\">\n<title>web.test (staging)</title>\n\
</head><body><h1>Staging</h1></body></html>\n";

fn site_page(req: &Request<Incoming>, path: &str) -> Resp {
    let origin = req
        .headers()
        .get("origin")
        .and_then(|o| o.to_str().ok())
        .map(str::to_string);
    let preflight = req.method() == Method::OPTIONS;
    match path {
        "/" => {
            let mut r = page(StatusCode::OK, "text/html; charset=utf-8", HOME);
            add(
                &mut r,
                "strict-transport-security",
                "max-age=63072000; includeSubDomains; preload",
            );
            add(
                &mut r,
                "content-security-policy",
                "default-src 'self'; script-src 'self'; object-src 'none'; \
                 frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
            );
            add(&mut r, "x-content-type-options", "nosniff");
            add(&mut r, "x-frame-options", "DENY");
            add(&mut r, "referrer-policy", "strict-origin-when-cross-origin");
            add(
                &mut r,
                "permissions-policy",
                "camera=(), microphone=(), geolocation=()",
            );
            add(&mut r, "cross-origin-resource-policy", "same-origin");
            add(&mut r, "cross-origin-opener-policy", "same-origin");
            add(
                &mut r,
                "set-cookie",
                "__Host-session=7f3a9c; Path=/; Secure; HttpOnly; SameSite=Lax",
            );
            // An Expires date holds a comma: joining Set-Cookie with ", " garbles it.
            add(
                &mut r,
                "set-cookie",
                "theme=dark; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Secure; SameSite=Strict",
            );
            r
        }
        "/staging" => {
            let mut r = page(StatusCode::OK, "text/html; charset=utf-8", STAGING);
            add(&mut r, "x-robots-tag", "noindex, nofollow");
            add(
                &mut r,
                "content-security-policy",
                "default-src * 'unsafe-inline' 'unsafe-eval'; script-src * 'unsafe-inline'",
            );
            add(&mut r, "set-cookie", "session=staging-1; Path=/");
            add(
                &mut r,
                "set-cookie",
                "tracking=1; Domain=web.test; Max-Age=31536000; SameSite=None",
            );
            r
        }
        "/robots.txt" => page(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "User-agent: *\nDisallow: /admin/\nDisallow: /staging\n\nSitemap: https://web.test/sitemap.xml\n",
        ),
        "/staging/robots.txt" => page(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "# staging: keep crawlers out\nUser-agent: *\nDisallow: /\n",
        ),
        "/sitemap.xml" => page(
            StatusCode::OK,
            "application/xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n\
             <url><loc>https://web.test/</loc></url>\n</urlset>\n",
        ),
        "/api/data" => {
            let mut r = cors_base(preflight);
            if let Some(o) = origin.as_deref().filter(|o| *o == ALLOWED_ORIGIN) {
                add(&mut r, "access-control-allow-origin", o);
                add(&mut r, "access-control-allow-credentials", "true");
                if preflight {
                    add(&mut r, "access-control-allow-methods", "GET, POST");
                    add(
                        &mut r,
                        "access-control-allow-headers",
                        "content-type, authorization",
                    );
                    add(&mut r, "access-control-max-age", "600");
                }
            }
            add(&mut r, "vary", "origin");
            r
        }
        "/api/open" => {
            let mut r = cors_base(preflight);
            if let Some(o) = origin.as_deref() {
                add(&mut r, "access-control-allow-origin", o);
            }
            add(&mut r, "access-control-allow-credentials", "true");
            add(
                &mut r,
                "access-control-allow-methods",
                "GET, POST, PUT, DELETE",
            );
            add(&mut r, "access-control-allow-headers", "*");
            r
        }
        "/api/wildcard" => {
            let mut r = cors_base(preflight);
            add(&mut r, "access-control-allow-origin", "*");
            add(&mut r, "access-control-allow-credentials", "true");
            add(&mut r, "access-control-allow-methods", "*");
            r
        }
        "/hostile/cookies" => {
            let mut r = page(StatusCode::OK, "text/plain; charset=utf-8", "cookies");
            for i in 0..HOSTILE_COOKIES {
                add(&mut r, "set-cookie", &format!("c{i}=v; Path=/"));
            }
            r
        }
        "/hostile/csp" => {
            let mut r = page(StatusCode::OK, "text/html", HOME);
            let mut csp = String::with_capacity(HOSTILE_CSP_BYTES + 64);
            csp.push_str("default-src 'self'; script-src");
            while csp.len() < HOSTILE_CSP_BYTES {
                csp.push_str(" https://cdn.web.test");
            }
            add(&mut r, "content-security-policy", &csp);
            r
        }
        "/hostile/file" => redirect(StatusCode::FOUND, "file:///etc/passwd"),
        "/hostile/scheme" => redirect(StatusCode::FOUND, "gopher://web.test:70/1"),
        "/hostile/chain" => redirect(StatusCode::MOVED_PERMANENTLY, "/hostile/file"),
        _ => page(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found",
        ),
    }
}

/// 204 for a preflight, 200 with a small JSON body otherwise.
fn cors_base(preflight: bool) -> Resp {
    if preflight {
        page(StatusCode::NO_CONTENT, "text/plain; charset=utf-8", "")
    } else {
        page(StatusCode::OK, "application/json", "{\"data\":[1,2,3]}")
    }
}
