//! What the whole document says, read once before any box is judged: the hosts and
//! URLs it names (front matter, `Key: value` lines, URL tables, any earlier mention),
//! the environment variables it names, and which stack it runs on. Boxes that say
//! "the API" or "the site" without a host reuse these as `${vars}`; a host the
//! document never names is never invented.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::draft::VarNeed;
use crate::scan::Scanned;

fn re(p: &str) -> Regex {
    Regex::new(p).expect("valid regex")
}

static HOST: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,23})\b")
});
static URL: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b(https?|wss?)://([a-z0-9.-]+)(?::(\d{1,5}))?(/[^\s)`'\x22,;<>|\]]*)?")
});
static KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:^|[·|•,;]\s*|\.\s+|\*\*)\s*([A-Za-z][A-Za-z /_-]{1,30}?)\s*:?\**\s*:\s*\**\s*`?((?:https?|wss?)://[^\s`·|,;)]+|[a-z0-9-]+(?:\.[a-z0-9-]+)+)`?",
    )
});
static ENV_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b"));
static ENV_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(env|environment|secrets?|variables?|vars?|credentials?|keys?|tokens?|dsn|set|configured|present)\b",
    )
});
static NAMESPACE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:\s-n\s+|--namespace[ =]|namespace[:\s]+`?)([a-z0-9][a-z0-9-]{1,62})"));
static IMAGE_REF: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b((?:[a-z0-9-]+\.)+(?:io|com|dev|net|cloud|example|org))/[a-z0-9._/${}-]+:[A-Za-z0-9._${}<>-]+",
    )
});
static PATH_IN_LINE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:^|[\s(`|])(/[A-Za-z0-9._~-]+(?:/[A-Za-z0-9._~-]+)*/?)"));

/// File extensions and pseudo-TLDs that look like hostnames but are not.
const NOT_TLDS: &[&str] = &[
    "json",
    "ts",
    "tsx",
    "js",
    "jsx",
    "mjs",
    "cjs",
    "yml",
    "yaml",
    "md",
    "sql",
    "toml",
    "sh",
    "txt",
    "py",
    "rs",
    "go",
    "html",
    "htm",
    "css",
    "svc",
    "local",
    "production",
    "prod",
    "stage",
    "staging",
    "lock",
    "env",
    "cfg",
    "conf",
    "ini",
    "xml",
    "csv",
    "log",
    "png",
    "jpg",
    "jpeg",
    "svg",
    "gif",
    "pem",
    "crt",
    "key",
    "tf",
    "rb",
    "java",
    "kt",
    "php",
    "zip",
    "gz",
    "tar",
    "invalid",
    "test",
    "localhost",
    "cluster",
    "default",
    "svc",
    "pod",
    "exe",
    "dll",
    "so",
    "bak",
    "tmp",
    "pdf",
    "doc",
    "docx",
    "xlsx",
    "ipynb",
    "vue",
    "scss",
    "map",
    "wasm",
    "proto",
    "graphql",
    "gradle",
    "pom",
    "jar",
    "dockerfile",
    "tpl",
    "j2",
    "erb",
    "lua",
    "pl",
    "swift",
    "dart",
    "mdx",
    "rst",
    "adoc",
    "patch",
    "diff",
    "x",
    "y",
    "z",
    "v1",
    "v2",
    "get",
    "set",
];

/// Top-level domains taken as hostnames outside URLs (two-letter country codes are
/// always taken): a `ledger.events` topic or a `kafka-0.kafka` service is not a host.
const COMMON_TLDS: &[&str] = &[
    "com",
    "net",
    "org",
    "io",
    "dev",
    "app",
    "ai",
    "co",
    "cloud",
    "example",
    "info",
    "biz",
    "tech",
    "xyz",
    "site",
    "online",
    "store",
    "shop",
    "page",
    "edu",
    "gov",
    "mil",
    "int",
    "internal",
    "lan",
    "corp",
    "home",
    "website",
    "digital",
    "systems",
    "services",
    "software",
    "agency",
    "studio",
    "solutions",
    "network",
    "email",
    "link",
    "live",
    "media",
    "news",
    "blog",
    "run",
    "sh",
    "build",
    "codes",
    "tools",
    "works",
    "zone",
    "world",
    "global",
    "health",
    "care",
    "finance",
    "money",
    "bank",
    "pay",
    "travel",
    "games",
    "social",
    "team",
];

/// Names of files whose `.example` suffix is not a domain (`env.example`).
const FILE_STEMS: &[&str] = &[
    "env",
    "config",
    "settings",
    "sample",
    "local",
    "secrets",
    "values",
    "docker-compose",
];

/// Hostnames in text, in order, without file names, paths or addresses.
pub fn hosts(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in HOST.captures_iter(text) {
        let m = c.get(1).expect("group");
        let h = m.as_str().to_ascii_lowercase();
        let labels: Vec<&str> = h.split('.').collect();
        let tld = *labels.last().unwrap_or(&"");
        let before = text[..m.start()].chars().next_back();
        let after = text[m.end()..].chars().next();
        let in_url = text[..m.start()].ends_with("://");
        // Part of a path, an email, a version or a template: not a hostname.
        if NOT_TLDS.contains(&tld)
            || !in_url && !COMMON_TLDS.contains(&tld) && tld.len() > 2
            || (tld == "example" && labels.len() == 2 && FILE_STEMS.contains(&labels[0]))
            || matches!(
                before,
                Some('/' | '@' | '.' | '_' | '$' | '{' | '-' | '=' | ':')
            ) && !in_url
            || matches!(after, Some('/')) && !in_url && labels.len() < 3
            || matches!(after, Some('_' | '(' | '@'))
            || labels.iter().any(|l| l.is_empty())
            || labels.iter().all(|l| l.chars().all(|c| c.is_ascii_digit()))
            || labels[0].chars().all(|c| c.is_ascii_digit())
        {
            continue;
        }
        if !out.contains(&h) {
            out.push(h);
        }
    }
    out
}

/// A URL found in text: scheme, host, port, path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundUrl {
    /// `https`, `http`, `wss`, `ws`.
    pub scheme: String,
    /// Lower-case host.
    pub host: String,
    /// Explicit port.
    pub port: Option<String>,
    /// Path (with query), `/` when absent.
    pub path: String,
}

/// The URLs in text, in order.
pub fn urls(text: &str) -> Vec<FoundUrl> {
    URL.captures_iter(text)
        .filter_map(|c| {
            let host = c[2].to_ascii_lowercase().trim_end_matches('.').to_string();
            if !host.contains('.') && host != "localhost" {
                return None;
            }
            let path = c
                .get(4)
                .map_or("/", |m| m.as_str())
                .trim_end_matches(['.', ':'])
                .to_string();
            Some(FoundUrl {
                scheme: c[1].to_ascii_lowercase(),
                host,
                port: c.get(3).map(|m| m.as_str().to_string()),
                path: if path.is_empty() { "/".into() } else { path },
            })
        })
        .collect()
}

/// Paths (`/api/health`) in text, in order.
pub fn paths(text: &str) -> Vec<String> {
    let stripped = URL.replace_all(text, " ");
    PATH_IN_LINE
        .captures_iter(&stripped)
        .map(|c| c[1].trim_end_matches(['.', ',']).to_string())
        .filter(|p| p.len() > 1 && !p.starts_with("//"))
        .collect()
}

/// A host the document names.
#[derive(Debug, Clone)]
pub struct KnownHost {
    /// Lower-case hostname.
    pub host: String,
    /// Scheme it was given with (`https` unless written otherwise).
    pub scheme: String,
    /// Port it was given with.
    pub port: Option<String>,
    /// The words that introduced it (`API`, `Public URL`, `Tracking site`), lower case.
    pub key: String,
    /// Declared as the service's address (front matter, `URL:` line, URL table).
    pub declared: bool,
}

/// Everything the document says outside the box being judged.
#[derive(Debug, Default)]
pub struct Context {
    /// Hosts in document order (declared ones first).
    pub hosts: Vec<KnownHost>,
    /// Environment variable names the document mentions, in order.
    pub env_names: Vec<String>,
    /// The whole text, lower case (stack hints: kubectl, prometheus, rails…).
    pub lower: String,
    /// A Kubernetes namespace the document names.
    pub namespace: Option<String>,
    /// Every path the document names, with the lower-cased line it is on.
    pub paths: Vec<(String, String)>,
    /// Registrable domains of the hosts the document declares or links to.
    own: Vec<String>,
    /// Set when a rule could not name a host for the line being judged.
    pub no_host: bool,
    /// Image registries named in image references (`x.azurecr.io/svc:tag`).
    pub registries: Vec<String>,
    /// Variable names given to hosts.
    names: BTreeMap<String, String>,
}

fn registrable(host: &str) -> String {
    let labels: Vec<&str> = host.split('.').collect();
    let n = labels.len();
    if n >= 3
        && matches!(
            labels[n - 2],
            "co" | "com" | "org" | "net" | "ac" | "gov" | "edu"
        )
    {
        labels[n - 3..].join(".")
    } else if n >= 2 {
        labels[n - 2..].join(".")
    } else {
        host.to_string()
    }
}

/// Fact and option names a variable must not shadow (`vars.NAME` vs a fact).
const RESERVED: &[&str] = &[
    "status",
    "headers",
    "body",
    "json",
    "url",
    "latency",
    "count",
    "value",
    "series",
    "alerts",
    "firing",
    "rows",
    "row",
    "table",
    "files",
    "pending",
    "unknown",
    "failed",
    "latest",
    "missing",
    "connected",
    "banner",
    "error",
    "address",
    "role",
    "pong",
    "signed",
    "unsigned",
    "tampered",
    "unset",
    "short",
    "placeholders",
    "reused",
    "protocol",
    "cipher",
    "alpn",
    "issuer",
    "subject",
    "sans",
    "chain",
    "accepts",
    "rcode",
    "answers",
    "ttl",
    "resolvers",
    "consistent",
    "stdout",
    "stderr",
    "signal",
    "cors",
    "cookies",
    "hops",
    "security",
    "grade",
    "score",
    "message",
    "subprotocol",
    "registrar",
    "nameservers",
    "dnssec",
    "spf",
    "dmarc",
    "dkim",
    "mx",
    "addresses",
    "redirects",
    "applied",
    "framework",
    "ssl",
    "captures",
    "vars",
    "env",
    "row",
    "key",
    "name",
    "host",
    "port",
    "type",
    "query",
    "match",
];

/// A TOML/CEL-safe identifier from arbitrary text.
pub fn ident(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_string();
    match out.chars().next() {
        None => "host".into(),
        Some(c) if c.is_ascii_digit() => format!("h{out}"),
        _ => out,
    }
}

impl Context {
    /// Reads the document.
    pub fn read(text: &str, scanned: &Scanned) -> Context {
        let mut cx = Context {
            lower: text.to_lowercase(),
            ..Context::default()
        };
        let add = |cx: &mut Context,
                   host: &str,
                   scheme: &str,
                   port: Option<String>,
                   key: &str,
                   declared: bool| {
            let host = host.trim_end_matches('.').to_ascii_lowercase();
            if hosts(&host).first().map(String::as_str) != Some(host.as_str()) {
                return;
            }
            if let Some(h) = cx.hosts.iter_mut().find(|h| h.host == host) {
                if declared && !h.declared {
                    h.declared = true;
                    h.key = key.to_lowercase();
                    h.scheme = scheme.to_string();
                    h.port = port;
                }
                return;
            }
            cx.hosts.push(KnownHost {
                host,
                scheme: scheme.to_string(),
                port,
                key: key.to_lowercase(),
                declared,
            });
        };
        for (k, v) in &scanned.front {
            let (scheme, host, port) = match urls(v).first() {
                Some(u) => (u.scheme.clone(), u.host.clone(), u.port.clone()),
                None => ("https".into(), v.clone(), None),
            };
            add(&mut cx, &host, &scheme, port, &k.replace('_', " "), true);
        }
        let mut header: Option<Vec<String>> = None;
        let mut fence = false;
        for line in text.lines() {
            let t = line.trim();
            if t.starts_with("```") || t.starts_with("~~~") {
                fence = !fence;
            }
            // `Key: https://…` and `**Key:** host` lines declare addresses.
            if !fence && !t.starts_with("- [") && !t.starts_with("* [") {
                for c in KEY_VALUE.captures_iter(t) {
                    let key = c[1].trim().to_string();
                    let val = &c[2];
                    if !is_address_key(&key) {
                        continue;
                    }
                    match urls(val).first() {
                        Some(u) => add(&mut cx, &u.host, &u.scheme, u.port.clone(), &key, true),
                        None => add(&mut cx, val, "https", None, &key, true),
                    }
                }
            }
            // Tables with a URL / host / domain column: the first cell names it.
            if t.starts_with('|') || header.is_some() && t.contains('|') {
                let cells: Vec<String> = t
                    .trim_matches('|')
                    .split('|')
                    .map(|c| c.trim().replace(['`', '*'], ""))
                    .collect();
                if cells
                    .iter()
                    .all(|c| c.chars().all(|x| matches!(x, '-' | ':' | ' ')))
                {
                    continue;
                }
                match &header {
                    None => header = Some(cells),
                    Some(h) => {
                        let col = h.iter().position(|c| {
                            let c = c.to_lowercase();
                            ["url", "host", "domain", "hostname", "address", "endpoint"]
                                .iter()
                                .any(|w| c.split_whitespace().any(|x| x == *w))
                        });
                        // A two-column key/value table: `| **Public URL** | https://… |`.
                        if col.is_none()
                            && cells.len() == 2
                            && is_address_key(&cells[0])
                            && let Some(u) = urls(&cells[1]).first().cloned()
                        {
                            add(&mut cx, &u.host, &u.scheme, u.port.clone(), &cells[0], true);
                        }
                        for cell in &cells {
                            for u in urls(cell) {
                                add(&mut cx, &u.host, &u.scheme, u.port.clone(), "", false);
                            }
                            for h in hosts(cell) {
                                add(&mut cx, &h, "https", None, "", false);
                            }
                        }
                        if let Some(col) = col
                            && let Some(cell) = cells.get(col)
                        {
                            let key = cells.first().cloned().unwrap_or_default();
                            let first = urls(cell)
                                .first()
                                .map(|u| (u.host.clone(), u.scheme.clone(), u.port.clone()))
                                .or_else(|| {
                                    hosts(cell)
                                        .first()
                                        .map(|h| (h.clone(), "https".into(), None))
                                });
                            if let Some((h, sc, p)) = first {
                                add(&mut cx, &h, &sc, p, &key, true);
                            }
                        }
                    }
                }
                continue;
            }
            header = None;
            for u in urls(line) {
                add(&mut cx, &u.host, &u.scheme, u.port.clone(), "", false);
            }
            for h in hosts(line) {
                add(&mut cx, &h, "https", None, "", false);
            }
            let lower = line.to_lowercase();
            for p in paths(line) {
                if !cx.paths.iter().any(|(x, _)| *x == p) {
                    cx.paths.push((p, lower.clone()));
                }
            }
            if ENV_WORDS.is_match(line) || line.contains('`') || line.contains('=') {
                for c in ENV_NAME.captures_iter(line) {
                    let n = c[1].to_string();
                    let at = c.get(1).expect("group").end();
                    // `S3_*` is a pattern, not a name.
                    if line[at..].starts_with('*') || line[at..].starts_with("_*") {
                        continue;
                    }
                    if !cx.env_names.contains(&n) && plausible_env_name(&n) {
                        cx.env_names.push(n);
                    }
                }
            }
            for c in IMAGE_REF.captures_iter(line) {
                let h = c[1].to_ascii_lowercase();
                if !cx.registries.contains(&h) {
                    cx.registries.push(h);
                }
            }
            if cx.namespace.is_none()
                && let Some(c) = NAMESPACE.captures(line)
            {
                cx.namespace = Some(c[1].to_string());
            }
        }
        // Declared hosts first, then the rest in document order.
        cx.hosts.sort_by_key(|h| !h.declared);
        let mut own: Vec<String> = cx
            .hosts
            .iter()
            .filter(|h| h.declared)
            .map(|h| registrable(&h.host))
            .collect();
        if own.is_empty() {
            // Nothing declared: the domains the text keeps coming back to, and the
            // first one it names (not `letsencrypt.org` in a CAA line).
            let mut counted: Vec<String> = vec![];
            for h in &cx.hosts {
                let d = registrable(&h.host);
                if !counted.contains(&d)
                    && (counted.is_empty() || cx.lower.matches(d.as_str()).count() >= 2)
                {
                    counted.push(d);
                }
            }
            own = counted;
        }
        own.dedup();
        cx.own = own;
        cx
    }

    /// Whether the host belongs to the document's own domains.
    pub fn is_own(&self, host: &str) -> bool {
        self.own.is_empty() || self.own.contains(&registrable(host))
    }

    /// Whether the document mentions a word (lower-case, whole word).
    pub fn mentions(&self, word: &str) -> bool {
        let mut rest = self.lower.as_str();
        while let Some(i) = rest.find(word) {
            let before = rest[..i].chars().next_back();
            let after = rest[i + word.len()..].chars().next();
            let edge = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
            if edge(before) && edge(after) {
                return true;
            }
            rest = &rest[i + word.len()..];
        }
        false
    }

    /// The known host for `host`, if the document names it.
    pub fn known(&self, host: &str) -> Option<&KnownHost> {
        self.hosts.iter().find(|h| h.host == host)
    }

    /// The service's main host: the first declared one, else the first named.
    pub fn main(&self) -> Option<&KnownHost> {
        self.hosts
            .iter()
            .find(|h| h.declared && self.is_own(&h.host))
            .or_else(|| self.hosts.iter().find(|h| self.is_own(&h.host)))
    }

    /// The API host: declared or labelled as the API, else the main host.
    pub fn api(&self) -> Option<&KnownHost> {
        self.hosts
            .iter()
            .find(|h| self.is_own(&h.host) && (h.key.contains("api") || h.host.starts_with("api.")))
            .or_else(|| self.main())
    }

    /// The web site host: declared or labelled as the site, else the main host.
    pub fn site(&self) -> Option<&KnownHost> {
        let apex = |h: &KnownHost| h.host.split('.').count() == 2 || h.host.starts_with("www.");
        self.hosts
            .iter()
            .find(|h| {
                self.is_own(&h.host)
                    && !h.host.starts_with("api.")
                    && (h.key.contains("site")
                        || h.key.contains("web")
                        || h.key.contains("portal")
                        || h.key.contains("frontend")
                        || h.key.contains("app"))
            })
            .or_else(|| self.hosts.iter().find(|h| self.is_own(&h.host) && apex(h)))
            .or_else(|| {
                self.hosts
                    .iter()
                    .find(|h| self.is_own(&h.host) && h.host.starts_with("app."))
            })
            .or_else(|| self.main())
    }

    /// A host whose first label (or key) is `word` (`admin`, `status`, `docs`).
    pub fn component(&self, word: &str) -> Option<&KnownHost> {
        self.hosts.iter().find(|h| {
            self.is_own(&h.host)
                && (h.host.split('.').next() == Some(word)
                    || h.key.split([' ', '_', '-', '(']).any(|k| k == word))
        })
    }

    /// The variable base name for a host (`api`, `app`, `site` for an apex).
    fn base_name(&mut self, host: &str) -> String {
        if let Some(n) = self.names.get(host) {
            return n.clone();
        }
        let labels: Vec<&str> = host.split('.').collect();
        let mut name = if labels.len() == 2 {
            "site".to_string()
        } else {
            ident(labels[0])
        };
        if self.names.values().any(|v| *v == name) {
            name = ident(&labels[..labels.len().saturating_sub(1)].join("_"));
        }
        while self.names.values().any(|v| *v == name) {
            name.push('_');
            name.push('2');
        }
        self.names.insert(host.to_string(), name.clone());
        name
    }

    /// `${NAME_host}` (`${domain}` for an apex) for a host, with its var.
    pub fn host_var(&mut self, host: &str, vars: &mut Vec<VarNeed>) -> String {
        let base = self.base_name(host);
        let name = if base == "site" {
            "domain".to_string()
        } else {
            format!("{base}_host")
        };
        vars.push(VarNeed {
            name: name.clone(),
            default: host.to_string(),
            hint: "host named in the source".into(),
        });
        format!("${{{name}}}")
    }

    /// `${NAME}` holding the base URL (`https://host[:port]`) of a host, with its var.
    pub fn url_var(&mut self, host: &str, vars: &mut Vec<VarNeed>) -> String {
        let base = self.base_name(host);
        let name = if RESERVED.contains(&base.as_str()) {
            format!("{base}_url")
        } else {
            base
        };
        let (scheme, port) = self
            .known(host)
            .map(|k| (k.scheme.clone(), k.port.clone()))
            .unwrap_or(("https".into(), None));
        let scheme = match scheme.as_str() {
            "wss" => "https".to_string(),
            "ws" => "http".to_string(),
            s => s.to_string(),
        };
        let default = match port {
            Some(p) => format!("{scheme}://{host}:{p}"),
            None => format!("{scheme}://{host}"),
        };
        vars.push(VarNeed {
            name: name.clone(),
            default,
            hint: "base URL named in the source".into(),
        });
        format!("${{{name}}}")
    }
}

/// A key that introduces the service's address (`Public URL`, `API`, `site_url`).
fn is_address_key(key: &str) -> bool {
    let addr = key.to_lowercase();
    [
        "url",
        "api",
        "site",
        "web",
        "app",
        "host",
        "domain",
        "production",
        "prod",
        "public",
        "backend",
        "frontend",
        "portal",
        "endpoint",
        "service",
        "ingest",
        "dashboards",
        "realtime",
        "admin",
        "docs",
        "hostname",
        "tracking",
    ]
    .iter()
    .any(|w| addr.split([' ', '_', '-', '/', '*']).any(|x| x == *w))
}

fn plausible_env_name(n: &str) -> bool {
    // Status words and constants that are not variables.
    !matches!(
        n,
        "HTTP_2" | "TLS_1" | "P0_ALERTS" | "NOT_NULL" | "READ_ONLY" | "HALF_OPEN"
    ) && !n.starts_with("HTTP_")
        && n.len() <= 64
}

/// The base URL var for the service when the document names no host.
pub fn unknown_api(vars: &mut Vec<VarNeed>) -> String {
    vars.push(VarNeed {
        name: "api".into(),
        default: String::new(),
        hint: "base URL of the service, e.g. https://api.example.com".into(),
    });
    "${api}".into()
}

/// The public domain var when the document names no host.
pub fn unknown_domain(vars: &mut Vec<VarNeed>) -> String {
    vars.push(VarNeed {
        name: "domain".into(),
        default: String::new(),
        hint: "the public domain, e.g. app.example.com".into(),
    });
    "${domain}".into()
}

/// The mail server var when the document names none (a mail line names a role, the
/// server that receives or relays the domain's mail, not a host).
pub fn unknown_mail_host(vars: &mut Vec<VarNeed>) -> String {
    vars.push(VarNeed {
        name: "mail_host".into(),
        default: String::new(),
        hint: "the mail server (an MX or the SMTP relay), e.g. mx1.example.com".into(),
    });
    "${mail_host}".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::scan;

    #[test]
    fn hosts_skip_files_paths_and_emails() {
        assert_eq!(
            hosts(
                "app.verifluence.io→ CF Pages see ops/grafana/dashboard.json, server.ts, env.example and a@b.example"
            ),
            vec!["app.verifluence.io"]
        );
        assert_eq!(
            hosts("registry creatorbridge.azurecr.io/svc:1 and ghcr.io/x"),
            vec!["creatorbridge.azurecr.io"]
        );
    }

    #[test]
    fn declared_hosts_come_first_and_name_the_roles() {
        let text = "---\nsite_url: https://portal.fern.example\napi_url: https://api.fern.example\n---\nSee mx.fern.example.\n\n| Component | Public URL |\n|---|---|\n| Admin | https://admin.fern.example |\n";
        let cx = Context::read(text, &scan(text));
        let names: Vec<&str> = cx.hosts.iter().map(|h| h.host.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "portal.fern.example",
                "api.fern.example",
                "admin.fern.example",
                "mx.fern.example"
            ]
        );
        assert_eq!(cx.api().unwrap().host, "api.fern.example");
        assert_eq!(cx.site().unwrap().host, "portal.fern.example");
        assert_eq!(cx.component("admin").unwrap().host, "admin.fern.example");
    }

    #[test]
    fn key_value_lines_declare_and_env_names_are_collected() {
        let text = "Production: https://app.ledger.example · API: https://api.ledger.example\n- [ ] `SECRET_KEY_BASE` set, `S3_*` too\n";
        let cx = Context::read(text, &scan(text));
        assert!(cx.hosts.iter().all(|h| h.declared));
        assert_eq!(cx.env_names, vec!["SECRET_KEY_BASE"]);
        let mut cx = cx;
        let mut vars = vec![];
        assert_eq!(cx.url_var("api.ledger.example", &mut vars), "${api}");
        assert_eq!(cx.host_var("api.ledger.example", &mut vars), "${api_host}");
        assert_eq!(vars[0].default, "https://api.ledger.example");
    }
}
