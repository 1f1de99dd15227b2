//! Which probe can check a checklist line, and with what options.
//!
//! Conservative on purpose: a line becomes a probe item only when it names what to
//! check (a path and an expected status or body, a hostname with TLS/DNS words, a
//! webhook URL, a migrations table, a latency threshold…). Everything else stays
//! manual. Hosts and secrets become `${vars}` / `${env:…}` placeholders.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use toml::Value;

/// A variable the imported file needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarNeed {
    /// Variable name.
    pub name: String,
    /// Default written into `[vars]` (empty when the user must set it).
    pub default: String,
    /// What to put there.
    pub hint: String,
}

/// A probe item proposed for a line.
#[derive(Debug, Clone)]
pub struct Detection {
    /// Probe name.
    pub probe: &'static str,
    /// Options in the order they are written.
    pub options: Vec<(&'static str, Value)>,
    /// Expectations; empty means the probe's defaults.
    pub expect: Vec<String>,
    /// Comments for the reader (assumptions to review).
    pub notes: Vec<String>,
    /// Variables the options use.
    pub vars: Vec<VarNeed>,
}

/// Names hosts as variables consistently across a document.
#[derive(Debug, Default)]
pub struct HostNames {
    by_host: BTreeMap<String, String>,
}

impl HostNames {
    /// The variable for `host`, without recording it.
    pub fn name_for(&self, host: &str) -> String {
        if let Some(n) = self.by_host.get(host) {
            return n.clone();
        }
        let first = host.split('.').next().unwrap_or(host);
        let short = format!("{}_host", ident(first));
        if self.by_host.values().any(|v| v == &short) {
            format!("{}_host", ident(host))
        } else {
            short
        }
    }

    /// Records that `host` is called `name`.
    pub fn record(&mut self, host: &str, name: &str) {
        self.by_host
            .entry(host.to_string())
            .or_insert_with(|| name.to_string());
    }
}

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

fn re(p: &str) -> Regex {
    Regex::new(p).expect("valid regex")
}

static HOST: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,23})\b")
});
static URL: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\bhttps?://([a-z0-9.-]+(?::\d+)?)(/[^\s)`'\x22,;]*)?"));
static METHOD_PATH: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)\s+(/[A-Za-z0-9._~/-]*)"));
static PATH: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:^|[\s(:])(/[A-Za-z0-9._~-]+(?:/[A-Za-z0-9._~-]+)*/?)"));
static STATUS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:returns?|responds?(?:\s+with)?|answers?(?:\s+with)?|gives?|status(?:\s+code)?|→|->|=+)\s*:?\s*(?:http\s*)?([1-5][0-9][0-9])\b",
    )
});
static JSON_BODY: LazyLock<Regex> = LazyLock::new(|| re(r"\{[^{}]*:[^{}]*\}"));
static JSON_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"["']?([A-Za-z_][A-Za-z0-9_]*)["']?\s*:\s*(?:"([^"]*)"|'([^']*)'|(true|false|-?\d+(?:\.\d+)?))"#,
    )
});
static DB_LATENCY: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\bdb\s+latency\s*(?:<|under|below|≤|<=)\s*(\d+)\s*ms\b"));
static LATENCY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:p(50|90|95|99)\b[^<\d]{0,30}|latency\s*)(?:<|under|below|≤|<=)\s*(\d+(?:\.\d+)?)\s*(ms|s)\b",
    )
});
static TLS_WORDS: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(tls|ssl|certs?|certificates?|https)\b"));
static HSTS_WORDS: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(hsts|strict-transport-security)\b"));
static DNS_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b(dns|spf|dkim|dmarc|cname|mx record|a record|propagat\w*|resolves?)\b")
});
static MAIL_WORDS: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(spf|dkim|dmarc)\b"));
static MX_WORDS: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\bmx\b"));
static RENEWAL_WORDS: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(renew\w*|auto-renew\w*|expir\w*|registration|registrar)\b"));
static MAIL_SERVER: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(smtp|mail\s+servers?|mx|imap|pop3|starttls)\b"));
static MIGRATION: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\bmigrations?\b"));
static MIGRATION_STATE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(applied|current|pending|up[- ]to[- ]date|count)\b|≥|>="));
static MIGRATION_NOT: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b(rollback|roll back|tested|test|script|scripts|snapshot|staging)\b")
});
static TABLE_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\bfrom\s+([A-Za-z_][A-Za-z0-9_.]*)|\b([A-Za-z_][A-Za-z0-9_]*_[A-Za-z0-9_]+|_[A-Za-z0-9_]+)\s*\)?\s*table\b|\(\s*([A-Za-z_][A-Za-z0-9_]*)\s+table\b",
    )
});
static GLOB: LazyLock<Regex> =
    LazyLock::new(|| re(r"([A-Za-z0-9_./-]*migrations[A-Za-z0-9_./-]*)/(\*[A-Za-z0-9_.*]*)"));
static TRIGGER: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\btriggers?\b"));
static SQL_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z_][a-z0-9_]*$"));
static ENV_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b"));
static ENV_CONTEXT: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(env|environment|secrets?|variables?|credentials?|keys?)\b"));
static BYTES: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(\d{2,3})[- ](?:byte|char)"));
static WEBHOOK: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)webhook"));
static DOMAIN_WORD: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\bdomains?\b"));

/// File extensions that look like top-level domains but are file names.
const NOT_TLDS: &[&str] = &[
    "json",
    "ts",
    "tsx",
    "js",
    "jsx",
    "mjs",
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
    "css",
    "svc",
    "local",
    "internal",
    "production",
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
    "svg",
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
    "example",
    "invalid",
    "test",
    "localhost",
];

/// Hostnames in text, in order, without file names or addresses.
pub fn hosts(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in HOST.captures_iter(text) {
        let m = c.get(1).expect("group");
        let h = m.as_str().to_ascii_lowercase();
        let tld = h.rsplit('.').next().unwrap_or("");
        let before = text[..m.start()].chars().next_back();
        let after = text[m.end()..].chars().next();
        // Part of a path, an email or a version: not a hostname.
        if NOT_TLDS.contains(&tld)
            || matches!(before, Some('/' | '@' | '.' | '_' | '$' | '{'))
            || matches!(after, Some('/' | '_')) && !text[..m.start()].ends_with("://")
            || h.split('.').any(|l| l.is_empty())
        {
            continue;
        }
        if !out.contains(&h) {
            out.push(h);
        }
    }
    out
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn host_var(names: &HostNames, host: &str, vars: &mut Vec<VarNeed>) -> String {
    let name = names.name_for(host);
    vars.push(VarNeed {
        name: name.clone(),
        default: host.to_string(),
        hint: "host named in the source".into(),
    });
    name
}

fn api_var(vars: &mut Vec<VarNeed>) -> &'static str {
    vars.push(VarNeed {
        name: "api".into(),
        default: String::new(),
        hint: "base URL of the service, e.g. https://api.example.com".into(),
    });
    "api"
}

fn domain_var(vars: &mut Vec<VarNeed>) -> &'static str {
    vars.push(VarNeed {
        name: "domain".into(),
        default: String::new(),
        hint: "the public domain, e.g. app.example.com".into(),
    });
    "domain"
}

fn cel_str(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn http(text: &str, names: &HostNames) -> Option<Detection> {
    let (method, path_host) = if let Some(c) = METHOD_PATH.captures(text) {
        (c[1].to_string(), (c[2].to_string(), None))
    } else if let Some(c) = URL.captures(text) {
        let path = c.get(2).map_or("/", |m| m.as_str()).to_string();
        ("GET".into(), (path, Some(c[1].to_ascii_lowercase())))
    } else {
        let c = PATH.captures(text)?;
        ("GET".into(), (c[1].to_string(), None))
    };
    let (path, host) = path_host;
    let status = STATUS.captures(text).map(|c| c[1].to_string());
    let mut expect = Vec::new();
    if let Some(st) = &status {
        expect.push(format!("status == {st}"));
    }
    if let Some(body) = JSON_BODY.find(text) {
        for p in JSON_PAIR.captures_iter(body.as_str()) {
            let key = &p[1];
            let val = match (p.get(2).or(p.get(3)), p.get(4)) {
                (Some(sv), _) => cel_str(sv.as_str()),
                (None, Some(lit)) => lit.as_str().to_string(),
                _ => continue,
            };
            expect.push(format!("json.{key} == {val}"));
        }
    }
    if expect.is_empty() {
        return None;
    }
    let mut notes = Vec::new();
    if let Some(c) = DB_LATENCY.captures(text) {
        expect.push(format!("json.db.latency_ms < {}", &c[1]));
        notes.push(
            "assumes the body reports the DB latency as db.latency_ms; adjust to your endpoint"
                .into(),
        );
    }
    if !matches!(method.as_str(), "GET" | "HEAD") {
        // Never replay a write against production on import.
        return None;
    }
    let mut vars = Vec::new();
    let url = match host {
        Some(h) => format!("https://${{{}}}{path}", host_var(names, &h, &mut vars)),
        None => format!("${{{}}}{path}", api_var(&mut vars)),
    };
    let mut options = vec![("url", s(&url))];
    if method != "GET" {
        options.push(("method", s(&method)));
    }
    Some(Detection {
        probe: "http",
        options,
        expect,
        notes,
        vars,
    })
}

fn latency(text: &str, names: &HostNames) -> Option<Detection> {
    let c = LATENCY.captures(text)?;
    let pct = c.get(1).map(|m| m.as_str());
    let mut n: f64 = c[2].parse().ok()?;
    if &c[3] == "s" {
        n *= 1000.0;
    }
    let mut vars = Vec::new();
    let url = match (URL.captures(text), PATH.captures(text)) {
        (Some(u), _) => format!(
            "https://${{{}}}{}",
            host_var(names, &u[1].to_ascii_lowercase(), &mut vars),
            u.get(2).map_or("/", |m| m.as_str())
        ),
        (None, Some(p)) => format!("${{{}}}{}", api_var(&mut vars), &p[1]),
        (None, None) => format!("${{{}}}/", api_var(&mut vars)),
    };
    let expect = match pct {
        Some(p) => format!("latency.p{p} < {n}"),
        None => format!("latency.p50 < {n}"),
    };
    Some(Detection {
        probe: "http",
        options: vec![("url", s(&url)), ("samples", Value::Integer(20))],
        expect: vec![expect, "error_rate == 0.0".into()],
        notes: vec!["20 sampled requests; point url at a representative endpoint".into()],
        vars,
    })
}

/// The `${var}` for the host a line names (or the app's domain when it only says
/// "domain"); `None` when the line names no host at all.
fn named_host(text: &str, names: &HostNames, vars: &mut Vec<VarNeed>) -> Option<String> {
    match hosts(text).first() {
        Some(h) => Some(host_var(names, h, vars)),
        None if DOMAIN_WORD.is_match(text) => Some(domain_var(vars).to_string()),
        None => None,
    }
}

fn hsts(text: &str, names: &HostNames) -> Option<Detection> {
    if !HSTS_WORDS.is_match(text) {
        return None;
    }
    let mut vars = Vec::new();
    let host = named_host(text, names, &mut vars)?;
    Some(Detection {
        probe: "http",
        options: vec![("url", s(&format!("https://${{{host}}}/")))],
        expect: vec!["headers['strict-transport-security'].contains('max-age')".into()],
        notes: vec![],
        vars,
    })
}

fn tls(text: &str, names: &HostNames) -> Option<Detection> {
    if !TLS_WORDS.is_match(text) {
        return None;
    }
    let mut vars = Vec::new();
    let host = named_host(text, names, &mut vars)?;
    Some(Detection {
        probe: "tls",
        options: vec![("host", s(&format!("${{{host}}}")))],
        expect: vec![],
        notes: vec![],
        vars,
    })
}

fn dns(text: &str, context: &str, names: &HostNames) -> Option<Detection> {
    let in_dns_section = DNS_WORDS.is_match(context);
    if !DNS_WORDS.is_match(text) && !in_dns_section && !MX_WORDS.is_match(text) {
        return None;
    }
    let mut vars = Vec::new();
    let found = hosts(text);
    let host = match found.first() {
        Some(h) => host_var(names, h, &mut vars),
        // A mail line without a host checks the app's domain, unless it leads with
        // an environment variable (then it is about the secret).
        None if DOMAIN_WORD.is_match(text)
            || (MAIL_WORDS.is_match(text) || MX_WORDS.is_match(text))
                && !ENV_NAME.is_match(text)
            || text.to_lowercase().contains("propagat") =>
        {
            domain_var(&mut vars).to_string()
        }
        None => return None,
    };
    let mut options = vec![("name", s(&format!("${{{host}}}")))];
    let mut expect = vec![];
    let mut notes = vec![];
    let lower = text.to_lowercase();
    if MAIL_WORDS.is_match(text) {
        options.push(("type", s("TXT")));
        expect = vec![
            "spf != null".into(),
            "spf.records == 1 && spf.errors.size() == 0 && !spf.lookups_exceeded".into(),
        ];
        if lower.contains("dmarc") {
            options.push(("dmarc", Value::Boolean(true)));
            expect.push("dmarc != null && dmarc.p != 'none'".into());
        }
        if lower.contains("dkim") {
            vars.push(VarNeed {
                name: "dkim_selector".into(),
                default: String::new(),
                hint: "the DKIM selector your mail provider signs with, e.g. google".into(),
            });
            options.push(("dkim_selector", s("${dkim_selector}")));
            expect.push("dkim.present && dkim.key_bits >= 1024".into());
        }
    } else if MX_WORDS.is_match(text) {
        options.push(("type", s("MX")));
        expect = vec!["answers.size() > 0".into(), "!null_mx".into()];
        notes.push("add e.g. mx.exists(m, m.exchange.endsWith('.google.com.'))".into());
    }
    if lower.contains("propagat") {
        options.push(("authoritative", Value::Boolean(true)));
    }
    Some(Detection {
        probe: "dns",
        options,
        expect,
        notes,
        vars,
    })
}

/// "Domain renewal", "domain expires in > 30 days": the registration, over RDAP.
fn renewal(text: &str, names: &HostNames) -> Option<Detection> {
    if !DOMAIN_WORD.is_match(text) || !RENEWAL_WORDS.is_match(text) {
        return None;
    }
    let mut vars = Vec::new();
    let host = match hosts(text).first() {
        Some(h) => host_var(names, h, &mut vars),
        None => domain_var(&mut vars).to_string(),
    };
    Some(Detection {
        probe: "domain",
        options: vec![("name", s(&format!("${{{host}}}")))],
        expect: vec![],
        notes: vec![
            "the registered domain (example.com, not app.example.com); RDAP server from the IANA bootstrap unless server = \"…\"".into(),
        ],
        vars,
    })
}

/// "Mail server TLS", "SMTP STARTTLS certificate": the certificate after STARTTLS.
fn mail_tls(text: &str, names: &HostNames) -> Option<Detection> {
    let lower = text.to_lowercase();
    if !MAIL_SERVER.is_match(text) || !(TLS_WORDS.is_match(text) || lower.contains("starttls")) {
        return None;
    }
    let (protocol, port) = if lower.contains("imap") {
        ("imap", 143)
    } else if lower.contains("pop3") {
        ("pop3", 110)
    } else {
        ("smtp", 25)
    };
    let mut vars = Vec::new();
    let host = match hosts(text).first() {
        Some(h) => host_var(names, h, &mut vars),
        None => {
            vars.push(VarNeed {
                name: "mail_host".into(),
                default: String::new(),
                hint: "your mail server (an MX host), e.g. mx1.example.com".into(),
            });
            "mail_host".to_string()
        }
    };
    Some(Detection {
        probe: "tls",
        options: vec![
            ("host", s(&format!("${{{host}}}"))),
            ("port", Value::Integer(port)),
            ("starttls", s(protocol)),
        ],
        expect: vec![],
        notes: vec![],
        vars,
    })
}

fn webhook(text: &str, context: &str, names: &HostNames) -> Option<Detection> {
    if !WEBHOOK.is_match(text) && !WEBHOOK.is_match(context) {
        return None;
    }
    let u = URL.captures(text)?;
    let lower = format!("{text} {context}").to_lowercase();
    let scheme = ["stripe", "github", "sumsub"]
        .into_iter()
        .find(|s| lower.contains(s))
        .unwrap_or("hmac-sha256");
    let secret = ENV_NAME
        .captures_iter(text)
        .map(|c| c[1].to_string())
        .find(|n| n.contains("WEBHOOK_SECRET"))
        .unwrap_or_else(|| {
            if scheme == "hmac-sha256" {
                "WEBHOOK_SECRET".into()
            } else {
                format!("{}_WEBHOOK_SECRET", scheme.to_uppercase())
            }
        });
    let mut vars = Vec::new();
    let url = format!(
        "https://${{{}}}{}",
        host_var(names, &u[1].to_ascii_lowercase(), &mut vars),
        u.get(2).map_or("/", |m| m.as_str())
    );
    Some(Detection {
        probe: "webhook",
        options: vec![
            ("url", s(&url)),
            ("scheme", s(scheme)),
            ("secret", s(&format!("${{env:{secret}}}"))),
            ("send_signed", Value::Boolean(false)),
        ],
        expect: vec![],
        notes: vec![
            "send_signed = false: only checks that unsigned and tampered events are rejected; set true once the handler ignores test events".into(),
        ],
        vars,
    })
}

fn migrations(text: &str) -> Option<Detection> {
    if !MIGRATION.is_match(text) || !MIGRATION_STATE.is_match(text) || MIGRATION_NOT.is_match(text)
    {
        return None;
    }
    let mut table = toml::map::Map::new();
    let mut notes = vec![];
    if let Some(g) = GLOB.captures(text) {
        table.insert("dir".into(), s(g[1].trim_start_matches("./")));
        table.insert("glob".into(), s(&g[2]));
    } else {
        notes.push("add dir = \"…\" (and glob) to compare with the migration files".into());
    }
    if let Some(t) = TABLE_NAME.captures(text) {
        let name = t.get(1).or(t.get(2)).or(t.get(3)).map(|m| m.as_str());
        if let Some(n) = name {
            table.insert("table".into(), s(n));
        }
    }
    Some(Detection {
        probe: "postgres",
        options: vec![
            ("dsn", s("${env:DATABASE_URL}")),
            ("migrations", Value::Table(table)),
        ],
        expect: vec![],
        notes,
        vars: vec![],
    })
}

fn triggers(text: &str, details: &[String]) -> Option<Detection> {
    if !TRIGGER.is_match(text) {
        return None;
    }
    let names: Vec<Value> = details
        .iter()
        .map(|d| d.trim())
        .filter(|d| SQL_NAME.is_match(d))
        .map(s)
        .collect();
    if names.is_empty() {
        return None;
    }
    let mut require = toml::map::Map::new();
    require.insert("triggers".into(), Value::Array(names));
    Some(Detection {
        probe: "postgres",
        options: vec![
            ("dsn", s("${env:DATABASE_URL}")),
            ("require", Value::Table(require)),
        ],
        expect: vec![],
        notes: vec![],
        vars: vec![],
    })
}

fn env(text: &str, context: &str) -> Option<Detection> {
    if !ENV_CONTEXT.is_match(context) && !ENV_CONTEXT.is_match(text) {
        return None;
    }
    // The names must lead the line: "`DATABASE_URL` - PostgreSQL connection string".
    let head: String = text
        .split(['—', '–', '(', ':'])
        .next()
        .unwrap_or("")
        .split(" - ")
        .next()
        .unwrap_or("")
        .to_string();
    let names: Vec<String> = ENV_NAME
        .captures_iter(&head)
        .map(|c| c[1].to_string())
        .collect();
    let rest_ok = head
        .split(['/', ',', ' '])
        .filter(|w| !w.trim().is_empty())
        .all(|w| ENV_NAME.is_match(w.trim()) || w.trim() == "+" || w.trim() == "and");
    if names.is_empty() || !rest_ok {
        return None;
    }
    let mut options = vec![("names", Value::Array(names.iter().map(|n| s(n)).collect()))];
    if let Some(b) = BYTES.captures(text)
        && let Ok(n) = b[1].parse::<i64>()
    {
        options.push(("min_length", Value::Integer(n)));
    }
    Some(Detection {
        probe: "env",
        options,
        expect: vec![],
        notes: vec![
            "checks the environment preflight runs in (names only, never values); set file = \"…\" to check a dotenv file".into(),
        ],
        vars: vec![],
    })
}

/// The probe item for a line, if one fits. `context` is the heading chain.
pub fn detect(
    title: &str,
    details: &[String],
    context: &str,
    names: &HostNames,
) -> Option<Detection> {
    let text = title;
    http(text, names)
        .or_else(|| renewal(text, names))
        .or_else(|| mail_tls(text, names))
        .or_else(|| hsts(text, names))
        .or_else(|| tls(text, names))
        .or_else(|| webhook(text, context, names))
        .or_else(|| dns(text, context, names))
        .or_else(|| migrations(text))
        .or_else(|| triggers(text, details))
        .or_else(|| latency(text, names))
        .or_else(|| env(text, context))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str, ctx: &str) -> Option<Detection> {
        detect(text, &[], ctx, &HostNames::default())
    }

    #[test]
    fn http_status_and_json_bodies() {
        let x = d("GET /api/health returns 200", "").unwrap();
        assert_eq!(
            (x.probe, x.expect.clone()),
            ("http", vec!["status == 200".to_string()])
        );
        assert_eq!(x.options[0].1.as_str(), Some("${api}/api/health"));
        let x = d("/health returns { status: \"healthy\" }", "").unwrap();
        assert_eq!(x.expect, vec!["json.status == 'healthy'"]);
        let x = d("/health/readiness returns 200 with DB latency <100ms", "").unwrap();
        assert_eq!(x.expect, vec!["status == 200", "json.db.latency_ms < 100"]);
        assert!(d("/profile/dashboard shows the checklist", "").is_none());
        assert!(d("POST /api/reset returns 200", "").is_none());
    }

    #[test]
    fn hosts_skip_files_and_paths() {
        assert_eq!(
            hosts("app.verifluence.io→ CF Pages see ops/grafana/dashboard.json and server.ts"),
            vec!["app.verifluence.io"]
        );
    }

    #[test]
    fn tls_dns_webhook_migrations_latency_env() {
        assert_eq!(
            d("Custom domain + SSL configured", "").unwrap().probe,
            "tls"
        );
        assert_eq!(
            d("app.verifluence.io→ CF Pages", "8. DNS").unwrap().probe,
            "dns"
        );
        let w = d("Webhook URL → https://wh.verifluence.io/wh/sumsub", "").unwrap();
        assert_eq!(w.probe, "webhook");
        assert_eq!(
            w.options[0].1.as_str(),
            Some("https://${wh_host}/wh/sumsub")
        );
        assert_eq!(w.options[1].1.as_str(), Some("sumsub"));
        let m = d("All migrations applied (schema_versions table current)", "").unwrap();
        assert_eq!(m.probe, "postgres");
        assert!(d("Database migrations tested in staging", "").is_none());
        let l = d("P99 latency <500ms", "").unwrap();
        assert_eq!(l.expect[0], "latency.p99 < 500");
        let e = d(
            "SESSION_SECRET— fresh 32-byte random",
            "3. Production secrets & env",
        )
        .unwrap();
        assert_eq!(e.probe, "env");
        assert!(d("Sentry error volume comparable to stage baseline", "").is_none());
    }

    fn option<'a>(x: &'a Detection, key: &str) -> Option<&'a Value> {
        x.options.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    #[test]
    fn mail_and_domain_lines() {
        let x = d("SPF/DKIM/DMARC configured", "").unwrap();
        assert_eq!(x.probe, "dns");
        assert_eq!(option(&x, "type").and_then(Value::as_str), Some("TXT"));
        assert_eq!(option(&x, "dmarc"), Some(&Value::Boolean(true)));
        assert_eq!(
            option(&x, "dkim_selector").and_then(Value::as_str),
            Some("${dkim_selector}")
        );
        assert_eq!(x.expect.len(), 4, "{:?}", x.expect);
        assert!(x.vars.iter().any(|v| v.name == "domain"), "{:?}", x.vars);
        let x = d("SPF record for example.com", "").unwrap();
        assert!(option(&x, "dmarc").is_none() && option(&x, "dkim_selector").is_none());

        let x = d("Domain renewal: auto-renew on, expires in > 30 days", "").unwrap();
        assert_eq!(x.probe, "domain");
        assert_eq!(
            option(&x, "name").and_then(Value::as_str),
            Some("${domain}")
        );
        assert!(d("Domain configured", "").is_none_or(|x| x.probe != "domain"));

        let x = d("MX records point to Google Workspace", "Mail").unwrap();
        assert_eq!(x.probe, "dns");
        assert_eq!(option(&x, "type").and_then(Value::as_str), Some("MX"));
        assert_eq!(x.expect, vec!["answers.size() > 0", "!null_mx"]);

        let x = d("Mail server TLS certificate valid", "").unwrap();
        assert_eq!(x.probe, "tls");
        assert_eq!(option(&x, "starttls").and_then(Value::as_str), Some("smtp"));
        assert_eq!(option(&x, "port"), Some(&Value::Integer(25)));
        assert_eq!(
            option(&x, "host").and_then(Value::as_str),
            Some("${mail_host}")
        );
        let x = d("IMAP STARTTLS on mail.example.com", "").unwrap();
        assert_eq!(option(&x, "starttls").and_then(Value::as_str), Some("imap"));
        assert_eq!(
            option(&x, "host").and_then(Value::as_str),
            Some("${mail_host}")
        );
    }
}
