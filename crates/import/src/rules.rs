//! The detector table: which probe checks a line, and with what.
//!
//! One [`Rule`] per mapping, tried in order; the first that matches a line and
//! builds an item wins. A rule names the probe and every capability beyond it that
//! the item uses (`http.cors`, `tls.starttls`, `item.capture`): when the build lacks
//! one, the rule is skipped — a later rule may still fit — and if none does, the
//! line stays manual with "needs …". Adding a mapping is one entry in [`RULES`].
//!
//! Conservative on purpose: an item checks what the line says, with the line's
//! numbers as thresholds; a line that names nothing to aim at stays manual.

use std::sync::LazyLock;

use regex::Regex;
use toml::Value;

use crate::context::{self, Context, FoundUrl, hosts, paths, urls};
use crate::draft::{Draft, VarNeed, cel_str, list, s, table};
use crate::measure::{Unit as U, bound, bounds};

/// The text a rule looks at: a box's title, or one of its details.
pub struct Unit<'a> {
    /// The cleaned text.
    pub text: &'a str,
    /// Its code spans and fenced lines.
    pub code: &'a [String],
    /// The whole box (title and details): where hosts are looked up.
    pub scope: &'a str,
    /// The heading chain, lower case.
    pub headings: &'a str,
}

/// What a rule concluded.
pub enum Verdict {
    /// Probe items: the first checks the line, the others are further parts of it.
    Probe(Vec<Draft>),
    /// The line stays manual, for this reason.
    Manual(String),
}

/// Where a rule looks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum On {
    /// The line's text.
    Text,
    /// Each code span / fenced command line.
    Code,
}

type Build = fn(&Unit<'_>, &str, &mut Context) -> Option<Verdict>;

/// One mapping from a kind of line to a probe item.
pub struct Rule {
    /// Shown by `import --explain`.
    pub name: &'static str,
    /// The probe it writes ("" for rules that only keep lines manual).
    pub probe: &'static str,
    /// Capabilities beyond the probe: `probe.fact`, `probe.option`, `item.key`.
    pub needs: &'static [&'static str],
    /// Text or code.
    pub on: On,
    /// A regex (case-insensitive) the text must match.
    pub when: &'static str,
    /// A regex (case-insensitive) the text must not match ("" for none).
    pub unless: &'static str,
    /// Builds the item from the unit and the matched text (the code line for code rules).
    pub build: Build,
}

macro_rules! rule {
    ($name:literal, $probe:literal, [$($need:literal),*], $on:ident, $when:expr, $unless:expr, $build:expr) => {
        Rule {
            name: $name,
            probe: $probe,
            needs: &[$($need),*],
            on: On::$on,
            when: $when,
            unless: $unless,
            build: $build,
        }
    };
}

/// Every mapping, in the order they are tried. One line per mapping: name, probe,
/// capabilities it needs beyond the probe, where it looks, when / unless (regexes,
/// case-insensitive), and the function that builds the item.
#[rustfmt::skip]
pub static RULES: &[Rule] = &[
    // ---- what a line says to run: commands name exactly what to check
    rule!("write-command", "", [], Code, r"^(curl|kubectl|helm|terraform|argocd|psql|git|npm|yarn|pnpm|npx|rails|bundle|python3?|node|flyctl|fly|heroku|aws|gcloud|az|\./\S+|bin/\S+|sqlx|prisma|alembic|flyway|goose)\b", "", write_command),
    rule!("curl", "http", [], Code, r"^curl\s", "", curl),
    rule!("dig", "dns", [], Code, r"^(dig|nslookup|host|drill|kdig)\s", "", dig),
    rule!("openssl-starttls", "tls", ["tls.starttls"], Code, r"^openssl\s+s_client\b.*-starttls", "", openssl),
    rule!("openssl", "tls", [], Code, r"^openssl\s+s_client\b", "-starttls", openssl),
    rule!("psql", "postgres", [], Code, r"^psql\b", "", psql),
    rule!("sql", "postgres", [], Code, r"^(select|with|show)\s", "", sql),
    rule!("redis-cli", "redis", [], Code, r"^redis-cli\b", "", redis_cli),
    rule!("nc", "tcp", [], Code, r"^(nc|ncat|netcat)\s.*-z|^telnet\s", "", nc),
    rule!("kubectl-json", "command", ["command.json"], Code, r"^kubectl\s.*\bget\s.*-o\s*json\b", "", kubectl_json),
    rule!("argocd-json", "command", ["command.json"], Code, r"^argocd\s+app\s+get\s.*-o\s*json\b", "", argocd_json),
    rule!("command", "command", [], Code, COMMANDS, "", command),
    // ---- lines that must not become requests (a login step is the one POST we write)
    rule!("login-then-call", "http", ["item.capture"], Text, r"\blog\s*-?in\b.*\bthen\b.*\b(GET|HEAD)\s+/", "", login_then_call),
    rule!("write-request", "", [], Text, r"(?-i:\b(POST|PUT|PATCH|DELETE)\s+/)", "", |_, _, _| { Some(Verdict::Manual("a write (POST/PUT/PATCH/DELETE): import never turns writes into requests".into())) }),
    rule!("load-test", "", [], Text, r"\b(load|stress|soak|spike|capacity)[- ]?tests?\b|\b\d+\s*rps\b|requests? per second|\bk6[- ]stress", "", |_, _, _| { Some(Verdict::Manual("a load test: run it with its own tool (name the command and import makes it a command item)".into())) }),
    rule!("command-in-text", "command", [], Text, r"^(npx|npm|yarn|pnpm|kubectl|helm|terraform|gh|k6|pytest|cargo|go|make|trivy|dbt|hugo|airflow)\s", "", command_in_text),
    // ---- HTTP
    rule!("http-request", "http", [], Text, r"(?-i:\b(GET|HEAD)\s+/)|https?://|(^|[\s(])/[a-z0-9._~-]+", r"redirect|\bcors\b|cookie|robots|sitemap|hsts|strict-transport|\bp(50|75|90|95|99)\b|latenc|response time|\bloads? in\b|\bwebhook", http_request),
    rule!("webhook", "webhook", [], Text, r"webhook|signature", r"\b(fires|deliver\w*|register(ed)? in)\b", webhook),
    rule!("websocket", "websocket", ["websocket"], Text, r"\bwss?://|\bweb\s?sockets?\b", "", websocket),
    rule!("cors", "http", ["http.cors", "http.origin"], Text, r"\bcors\b|access-control-allow-origin|allowed origins?", "", cors),
    rule!("cors-headers", "http", [], Text, r"\bcors\b|access-control-allow-origin|allowed origins?", "", cors_headers),
    rule!("cookies", "http", ["http.cookies"], Text, r"\bcookies?\b", r"banner|consent", cookies),
    rule!("redirect-https", "http", [], Text, r"redirect\w*\s.*\bhttps\b|\b(http|port 80)\b.*\bredirect|https\s+(enforced|only|everywhere)|forced?\s+https", r"redirect (urls?|uris?)\b|callback", redirect_https),
    rule!("redirect-www", "http", [], Text, r"\bwww\b.*\bredirect|redirect.*\bwww\b", "", redirect_www),
    rule!("redirect-path", "http", [], Text, r"redirect", "", redirect_path),
    rule!("hsts", "http", [], Text, r"\bhsts\b|strict-transport-security", r"preload list|hstspreload", hsts),
    rule!("security-grade", "http", ["http.security", "http.grade"], Text, r"\bgrade\b|securityheaders|observatory", "", security_grade),
    rule!("security-headers", "http", [], Text, r"content-security-policy|\bcsp\b|x-frame-options|x-content-type-options|referrer-policy|permissions-policy|cross-origin-(opener|resource|embedder)-policy", "", security_headers),
    rule!("server-header", "http", [], Text, r"server header|x-powered-by|(reveal|expose|leak)\w*\s.*\bversions?\b", "", server_header),
    rule!("robots-txt", "http", [], Text, r"robots\.txt", "", robots_txt),
    rule!("noindex-meta", "http", ["http.meta_robots"], Text, r"noindex|x-robots-tag|meta robots", "", noindex_meta),
    rule!("noindex", "http", [], Text, r"noindex|x-robots-tag|meta robots", "", noindex),
    rule!("sitemap", "http", [], Text, r"sitemap(\.xml)?\b", "", sitemap),
    rule!("auth-required", "http", [], Text, r"without (a |an |the)?(token|credentials|auth\w*|sso|login|session|api key)|not reachable without|behind sso|requires? (login|auth\w*)|block\w* (requests |stage's |the)?(token|without)|access policy", "", auth_required),
    rule!("missing-page", "http", [], Text, r"(missing|unknown|non-?existent) (page|path|url)\b.*\b404\b|\b404 (template|page)\b", "", missing_page),
    rule!("health-exposure", "http", [], Text, r"health\w*.*\b(not|never|doesn'?t|does not)\b.*\b(expose|leak|reveal|show)", "", health_exposure),
    rule!("circuit-breakers", "http", [], Text, r"circuit[- ]breakers?", "", circuit_breakers),
    rule!("behind-cdn", "http", [], Text, r"\b(cloudflare|cloudfront|fastly|akamai)\b", r"\b(tunnel|pages|access|dns|workers?|r2|token|secret|dashboard|cname|records?|distribution|purge|service activated)\b|points? (at|to)", behind_cdn),
    rule!("health-endpoint", "http", [], Text, r"\bhealth(\s|-)?(checks?|endpoints?|probes?)\b", r"\bexpose|dashboard|grafana", health_endpoint),
    rule!("route", "http", [], Text, r"(→|->)\s*`?[a-z0-9.-]+\.(svc|cluster\.local|internal)\b|(→|->)\s*`?[a-z0-9.-]+:\d{2,5}\b", "", route),
    rule!("registry", "http", [], Text, r"\bregistry\b", r"schema registry|npm registry", registry),
    rule!("served", "http", [], Text, r"\b(served|serves|serving|reachable|loads?|accessible|answers?|responds?|responding|returns? data|is up|are up|online)\b", r"\bdns\b|resolv|\bport\b|\bcname\b|\brecord", served),
    // ---- TLS
    rule!("tls-versions", "tls", [], Text, r"\btls\s*v?1\.[0-3]|\bssl\s*v?[23]\b|\btls1[._]?[0-3]|\btls\b.*\bversion\s+1\.[0-3]", "", tls_versions),
    rule!("starttls", "tls", ["tls.starttls"], Text, r"starttls|\b(smtp|imap|pop3|mail server|mx\d*)\b.*\b(tls|ssl|certificate)|\bport (25|587|465|993|995)\b.*(tls|certificate)", "", starttls),
    rule!("tls", "tls", [], Text, r"\b(tls|ssl|certs?|certificates?|https|ocsp)\b", r"certificate pinning|client cert|renew\w* automatically|auto-?renew|starttls|\bsmtp\b|\bimap\b|mail server|\bport (25|587|465|993|995|143|110)\b", tls),
    // ---- domains and DNS
    rule!("domain-expiry", "domain", ["domain"], Text, r"\b(registration|registrar|expir\w*|renewal|whois|rdap|transfer ?prohibited|registrar lock)\b", r"certificate|\bcert\b|tls|ssl|token|password|session|key\b", domain_expiry),
    rule!("dnssec", "dns", ["dns.dnssec", "dns.ad"], Text, r"\bdnssec\b", "", dnssec),
    rule!("dnssec-rdap", "domain", ["domain"], Text, r"\bdnssec\b", "", dnssec_rdap),
    rule!("spf", "dns", ["dns.spf"], Text, r"\bspf\b", "", spf),
    rule!("dmarc", "dns", ["dns.dmarc"], Text, r"\bdmarc\b", "", dmarc),
    rule!("dkim", "dns", ["dns.dkim"], Text, r"\bdkim\b", "", dkim),
    rule!("mail-txt", "dns", [], Text, r"\b(spf|dkim|dmarc)\b", "", mail_txt),
    rule!("dns", "dns", [], Text, r"\b(dns|cname|mx|caa|ns|aaaa|a)\s+records?\b|\b(cname|caa|aaaa|mx)\b|\bresolv\w*\b|\bpropagat\w*|\bttls?\b.*\b(lowered|set|at|to)\b|\bname ?servers?\b|→|->|points? (at|to)", r"\bptr\b|reverse dns", dns),
    // ---- secrets
    rule!("env-all", "env", [], Text, r"\ball\s+(the\s+)?(env(ironment)?|config(uration)?)\s+(vars?|variables|values)|no placeholders", "", env_all),
    rule!("env-names", "env", [], Text, r"\b[A-Z][A-Z0-9]*(_[A-Z0-9]+)+\b", "", env_names),
    rule!("env-vendor", "env", [], Text, r"\b[a-z][a-z0-9]+\s+(dsn|api keys?|secret keys?|tokens?|credentials)\b|\b(sendgrid|stripe|sentry|twilio|mailgun|postmark|resend)\b.*\b(configured|set)\b", r"dashboard|revoked|rotate", env_vendor),
    // ---- databases
    rule!("migrations", "postgres", [], Text, r"\bmigrations?\b|schema_migrations|alembic|flyway|_migrations", r"rollback|roll back|\btest(ed|s)?\b|scripts?\b|snapshot|staging|clickhouse", migrations),
    rule!("triggers", "postgres", [], Text, r"\btriggers?\b", "", triggers),
    rule!("pg-objects", "postgres", [], Text, r"\b(extensions?|roles?|indexes|index|tables?)\b", r"\bclickhouse\b|\biam\b|\baws\b|\bk8s\b|kubernetes|rbac", pg_objects),
    rule!("pg-tls", "postgres", [], Text, r"sslmode|\b(postgres\w*|database|db|connections?)\b.*\b(tls|ssl)\b", "", pg_tls),
    rule!("pg-replication", "postgres", [], Text, r"\breplica(tion)?\b.*\b(lag|sync|delay|status|behind)\b", r"clickhouse|redis|kafka|\bcho\b", pg_replication),
    rule!("pg-pool", "postgres", [], Text, r"connection pool|\bconnections?\b.*\b(utili[sz]ation|usage|used)\b", r"sized|size\b|settings|\bmax \d", pg_pool),
    rule!("pg-reachable", "postgres", [], Text, r"\b(postgres(ql)?|database|db|rds|cloud sql|neon|supabase|aurora)\b.*\b(reachable|provisioned|accepts?|available|up|connect\w*|healthy|stable|sessions?)\b", r"backup|snapshot|restore|multi-az|pool|clickhouse|\bpitr\b", pg_reachable),
    rule!("redis", "redis", [], Text, r"\b(redis|memorystore|elasticache|upstash|valkey|keydb)\b", r"sidekiq|queue", redis),
    rule!("tcp-port", "tcp", [], Text, r"\bports?\s+\d{2,5}\b|:\d{2,5}\b|\bon\s+\d{2,5}\b", r"\bhttps?://|\bsvc\b|→", tcp_port),
    // ---- metrics and alerts
    rule!("error-rate", "prometheus", [], Text, r"\b(error rate|5xx (rate|ratio)|error ratio|errors? below|failure rate)\b", r"crash|sentry|datadog|cloudwatch|insights|new relic", error_rate),
    rule!("alerts-firing", "prometheus", [], Text, r"\balerts?\b.*\b(firing|fire|active)\b|\bno\b.*\balerts?\b", r"wired|routing|rules? (deployed|loaded)|exist\w* and|pagerduty|opsgenie", alerts_firing),
    rule!("alert-exists", "prometheus", [], Text, r"\balert\s+`?[A-Z][A-Za-z]+`?\s+exists", "", alerts_firing),
    rule!("alert-rules", "prometheus", [], Text, r"\balert(ing)? rules?\b.*\b(deployed|loaded|active)\b", "", alert_rules),
    rule!("scrape-target", "prometheus", [], Text, r"\bscrap\w+|\btargets?\s+(is\s+)?up\b|servicemonitor|podmonitor", r"loki|promtail|alloy|logs?\b", scrape_target),
    rule!("traffic", "prometheus", [], Text, r"\b(shows?|receives?|gets?|has|with) (live |real |production)?traffic\b|\btraffic (from|on|reaches|arrives)\b", r"\bno traffic|crash", traffic),
    rule!("metric-threshold", "prometheus", [], Text, r"\b(disk|cpu|memory|consumer lag|traffic)\b", r"dashboard shows|crash", metric_threshold),
    // ---- Kubernetes and other tools named by what they manage
    rule!("kube-object", "command", [], Text, r"\b(hpa|horizontalpodautoscaler|pdb|poddisruptionbudget|pvcs?|persistent volume claims?|nodes?|pods|imagepolic\w+|scheduledbackup|backup resource|cluster health|kubernetes cluster)\b|helmrepositor", r"autoscaling limits|node capacity|node pool", kube_object),
    rule!("vulnerabilities", "command", [], Text, r"\bvulnerabilit\w+|\bcves?\b", r"scan(ned)? (\(|with|by) ?(codeql|snyk)|bounty|pen(etration)? test", vulnerabilities),
    rule!("file-size", "command", [], Text, r"\bno (file|image|asset)s? (is)?(over|larger than|above|bigger than)\s+\d+\s*(kb|mb|k|m)\b", "", file_size),
    rule!("file-setting", "command", [], Text, r"^edit\s+\S+\.(toml|ya?ml|json|env|ini|conf|cfg)\b", "", file_setting),
    // ---- latency, last: numbers mean many things
    rule!("latency", "http", [], Text, r"\bp(50|75|90|95|99)\b|latenc\w+|response times?|\bloads? in\b|\banswers? in\b", r"trends?|dashboard shows|review|alarm|alert", latency),
];

const COMMANDS: &str = r"^(php|dotnet|python3?\s+manage\.py|kubectl|helm|argocd|terraform|gh|glab|npm|npx|yarn|pnpm|pytest|go|cargo|trivy|k6|hugo|dbt|airflow|kafka-topics(\.sh)?|sqlx|alembic|flyway|rails|bundle|make|systemctl|docker|aws|gcloud|az|doctl|flyctl|fly|heroku|vercel|netlify|grep|test|jq|\./\S+|bin/\S+)\b";

fn re(p: &str) -> Regex {
    Regex::new(&format!("(?i){p}")).expect("valid regex")
}

static COMPILED: LazyLock<Vec<(Regex, Option<Regex>)>> = LazyLock::new(|| {
    RULES
        .iter()
        .map(|r| (re(r.when), (!r.unless.is_empty()).then(|| re(r.unless))))
        .collect()
});

/// What the rules made of one unit.
pub enum Outcome {
    /// Probe items (principal first), with the rule's name.
    Probe(Vec<Draft>),
    /// Stays manual, for this reason (a rule said so, or a capability is missing).
    Manual(String),
    /// No rule matched.
    Nothing,
}

fn missing_reason(what: &str) -> String {
    match what.split_once('.') {
        None => format!("needs the {what} probe"),
        Some(("item", key)) => format!("needs the item key `{key}` (not in this build)"),
        Some((probe, key)) => format!("needs `{key}` in the {probe} probe (not in this build)"),
    }
}

/// Runs the rules that look at `on` on a unit.
pub fn judge(
    unit: &Unit<'_>,
    on: On,
    cx: &mut Context,
    available: &dyn Fn(&str) -> bool,
) -> Outcome {
    let mut missing: Option<String> = None;
    'rules: for (rule, (when, unless)) in RULES.iter().zip(COMPILED.iter()) {
        if rule.on != on {
            continue;
        }
        let hay: Vec<&str> = match rule.on {
            On::Text => vec![unit.text],
            On::Code => unit.code.iter().map(String::as_str).collect(),
        };
        for h in hay {
            let h = h.trim();
            if !when.is_match(h) || unless.as_ref().is_some_and(|u| u.is_match(h)) {
                continue;
            }
            if !rule.probe.is_empty() && !available(rule.probe) {
                missing.get_or_insert_with(|| missing_reason(rule.probe));
                continue 'rules;
            }
            if let Some(n) = rule.needs.iter().find(|n| !available(n)) {
                missing.get_or_insert_with(|| missing_reason(n));
                continue 'rules;
            }
            match (rule.build)(unit, h, cx) {
                Some(Verdict::Probe(mut drafts)) if !drafts.is_empty() => {
                    if let Some(n) = drafts
                        .iter()
                        .flat_map(|d| d.uses.iter())
                        .find(|n| !available(n))
                    {
                        missing.get_or_insert_with(|| missing_reason(n));
                        continue 'rules;
                    }
                    for d in &mut drafts {
                        d.rule = rule.name;
                    }
                    return Outcome::Probe(drafts);
                }
                Some(Verdict::Manual(r)) => return Outcome::Manual(missing.unwrap_or(r)),
                _ => {}
            }
        }
    }
    match missing {
        Some(m) => Outcome::Manual(m),
        None => Outcome::Nothing,
    }
}

// ------------------------------------------------------------------ targets

/// Words that point at the API rather than the web site.
static API_WORDS: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(api|backend|rest|endpoints?|graphql|service)\b"));
static SITE_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(site|website|web|home ?page|pages?|frontend|front-end|front end|portal|app|marketing)\b",
    )
});
/// Things with their own host: a line about one of these needs that host named.
static COMPONENTS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(status page|admin|grafana|kibana|registry|docs site|blog|storybook|superset|jenkins|vault|sonarqube|mail server|smtp|mx|schema registry|opensearch|elasticsearch)\b",
    )
});

/// Which host a unit is about: one it names, else one the document names for what
/// it mentions, else the document's main host. `None`: the unit is about something
/// whose host the document never gives.
fn pick_host(u: &Unit<'_>, cx: &Context, prefer_api: Option<bool>) -> Option<Option<String>> {
    let own_first = |list: Vec<String>| -> Option<String> {
        list.iter().find(|h| cx.is_own(h)).or(list.first()).cloned()
    };
    let code = u.code.join(" ");
    if let Some(h) = own_first(hosts(u.text)) {
        return Some(Some(h));
    }
    if let Some(h) = urls(&code)
        .first()
        .map(|x| x.host.clone())
        .or_else(|| own_first(hosts(&code)))
    {
        return Some(Some(h));
    }
    if let Some(h) = own_first(hosts(u.scope)) {
        return Some(Some(h));
    }
    let lower = u.text.to_lowercase();
    // A component the document gives a host for ("admin", "portal", "ingest").
    for k in &cx.hosts {
        if !cx.is_own(&k.host) {
            continue;
        }
        let label = k.host.split('.').next().unwrap_or("");
        let by_label = label.len() >= 3
            && !matches!(label, "www" | "app" | "api")
            && lower
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| w == label);
        if by_label {
            return Some(Some(k.host.clone()));
        }
    }
    if COMPONENTS.is_match(&lower) {
        return None;
    }
    let api =
        prefer_api.unwrap_or_else(|| API_WORDS.is_match(&lower) && !SITE_WORDS.is_match(&lower));
    let site = prefer_api == Some(false) || SITE_WORDS.is_match(&lower);
    let k = if api {
        cx.api()
    } else if site {
        cx.site()
    } else {
        cx.main()
    };
    Some(k.map(|k| k.host.clone()))
}

/// `${base}` URL for a unit, with its var; `None` when no host can be named.
fn base_url(
    u: &Unit<'_>,
    cx: &mut Context,
    prefer_api: Option<bool>,
    vars: &mut Vec<VarNeed>,
) -> Option<String> {
    match pick_host(u, cx, prefer_api)? {
        Some(h) => Some(cx.url_var(&h, vars)),
        None => Some(context::unknown_api(vars)),
    }
}

/// `${host}` for a unit, with its var; `None` when no host can be named.
fn host_ref(u: &Unit<'_>, cx: &mut Context, vars: &mut Vec<VarNeed>) -> Option<String> {
    match pick_host(u, cx, None)? {
        Some(h) => Some(cx.host_var(&h, vars)),
        None => Some(context::unknown_domain(vars)),
    }
}

/// The URL for a found URL, its host as a var.
fn url_of(found: &FoundUrl, cx: &mut Context, vars: &mut Vec<VarNeed>) -> String {
    let base = if found.port.is_some() || found.scheme == "http" {
        let h = cx.host_var(&found.host, vars);
        let scheme = if found.scheme.starts_with("ws") {
            found.scheme.clone()
        } else {
            found.scheme.clone()
        };
        match &found.port {
            Some(p) => format!("{scheme}://{h}:{p}"),
            None => format!("{scheme}://{h}"),
        }
    } else if found.scheme.starts_with("ws") {
        format!("{}://{}", found.scheme, cx.host_var(&found.host, vars))
    } else {
        cx.url_var(&found.host, vars)
    };
    let path = if found.path == "/" { "/" } else { &found.path };
    format!("{base}{path}")
}

fn probe(d: Draft) -> Option<Verdict> {
    Some(Verdict::Probe(vec![d]))
}

fn first_path(text: &str) -> Option<String> {
    paths(text)
        .into_iter()
        .find(|p| !p.ends_with(".md") && !p.contains(".."))
}

/// Inline code or quoted words: `X-Frame-Options: DENY`, "Synced".
fn quoted(text: &str) -> Vec<String> {
    static Q: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#""([^"]{1,80})"|“([^”]{1,80})”"#).expect("valid regex"));
    Q.captures_iter(text)
        .filter_map(|c| c.get(1).or(c.get(2)).map(|m| m.as_str().to_string()))
        .collect()
}

// ------------------------------------------------------------------ commands

/// Splits a command line into words (simple shell quoting).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                any = true;
            }
            None if c.is_whitespace() => {
                if !cur.is_empty() || any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            None => cur.push(c),
        }
    }
    if !cur.is_empty() || any {
        out.push(cur);
    }
    out
}

/// `"$DATABASE_URL"` / `${REDIS_URL}` in a command → `DATABASE_URL`.
fn env_ref(word: &str) -> Option<String> {
    static E: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^\$\{?([A-Z][A-Z0-9_]*)\}?$").expect("valid regex"));
    E.captures(word).map(|c| c[1].to_string())
}

fn write_command(_: &Unit<'_>, line: &str, _: &mut Context) -> Option<Verdict> {
    let w = words(line);
    let lower: Vec<String> = w.iter().map(|x| x.to_lowercase()).collect();
    let has = |x: &str| lower.iter().any(|y| y == x);
    let tool = lower.first()?.as_str();
    let sub = lower.get(1).map_or("", String::as_str);
    let sub2 = lower.get(2).map_or("", String::as_str);
    let write = match tool {
        "curl" => {
            lower.windows(2).any(|p| {
                matches!(p[0].as_str(), "-x" | "--request")
                    && matches!(p[1].as_str(), "post" | "put" | "patch" | "delete")
            }) || lower.iter().any(|x| {
                x.starts_with("-xpost")
                    || x.starts_with("-xput")
                    || x.starts_with("-xdelete")
                    || matches!(x.as_str(), "-d" | "--data" | "--data-raw" | "-f" | "--form")
            })
        }
        "kubectl" => lower.iter().any(|x| {
            matches!(
                x.as_str(),
                "apply"
                    | "delete"
                    | "set"
                    | "scale"
                    | "patch"
                    | "edit"
                    | "create"
                    | "replace"
                    | "annotate"
                    | "label"
                    | "drain"
                    | "cordon"
                    | "uncordon"
                    | "exec"
                    | "cp"
                    | "undo"
                    | "restart"
                    | "pause"
                    | "resume"
                    | "run"
                    | "expose"
            )
        }),
        "helm" => matches!(
            sub,
            "upgrade" | "install" | "uninstall" | "rollback" | "delete"
        ),
        "terraform" => matches!(sub, "apply" | "destroy" | "import" | "taint"),
        "argocd" => matches!(sub2, "sync" | "delete" | "set" | "rollback" | "create"),
        "psql" => {
            let l = line.to_lowercase();
            [
                "insert ",
                "update ",
                "delete ",
                "drop ",
                "alter ",
                "create ",
                "truncate ",
                "grant ",
            ]
            .iter()
            .any(|k| l.contains(k))
        }
        "git" => matches!(sub, "push" | "tag" | "merge" | "commit"),
        "npm" | "yarn" | "pnpm" => {
            let script = if sub == "run" { sub2 } else { sub };
            ["deploy", "migrate", "release", "seed", "publish", "db:"]
                .iter()
                .any(|k| script.contains(k))
        }
        _ => lower.iter().any(|x| {
            x.contains("migrate") && !has("info") && !has("status") && !has("list")
                || x.contains("deploy") && !x.contains("verify")
                || x.contains("backup")
                || x.contains("restore")
                || x.contains("rollback")
                || matches!(x.as_str(), "apply" | "push" | "publish" | "seed" | "reset")
        }),
    };
    write.then(|| {
        Verdict::Manual(format!(
            "runs `{}`, which changes things: import only writes read-only checks",
            w.iter().take(3).cloned().collect::<Vec<_>>().join(" ")
        ))
    })
}

static STATUS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:returns?|responds?(?:\s+with)?|answers?(?:\s+with)?|gives?|gets?|status(?:\s+code)?|expect:?|→|->|=+|with an?|with)\s*:?\s*(?:http(?:/[\d.]+)?\s*)?([1-5][0-9][0-9])\b|\b([1-5][0-9][0-9])\s+(?:ok|created|no content|moved|found|unauthorized|forbidden|not found|too many)\b|(?:^|\s)\(?\*{0,2}([1-5][0-9][0-9])\*{0,2}\)?(?:\s|$)",
    )
});

/// The status the text expects, if it names one.
fn status_in(text: &str) -> Option<String> {
    STATUS.captures(text).and_then(|c| {
        c.get(1)
            .or(c.get(2))
            .or(c.get(3))
            .map(|m| m.as_str().to_string())
    })
}

fn curl(u: &Unit<'_>, line: &str, cx: &mut Context) -> Option<Verdict> {
    let w = words(line);
    let found = urls(line).into_iter().next()?;
    let mut vars = vec![];
    let url = url_of(&found, cx, &mut vars);
    let mut d =
        Draft::new("http", "curl", format!("runs `curl` on {}", found.host)).opt("url", s(&url));
    if w.iter()
        .any(|x| x == "-I" || x == "--head" || x.starts_with("-sI") || x == "-Is")
    {
        d.set("method", s("HEAD"));
    }
    if !w
        .iter()
        .any(|x| x == "-L" || x.contains('L') && x.starts_with('-') && !x.starts_with("--"))
    {
        d.set("follow_redirects", Value::Boolean(false));
    }
    let hints = format!("{} {} {}", u.text, u.code.join(" "), u.scope);
    if let Some(st) = status_in(&hints) {
        d.push_expect(format!("status == {st}"));
    }
    probe(d.with_vars(vars))
}

fn dig(u: &Unit<'_>, line: &str, cx: &mut Context) -> Option<Verdict> {
    let w = words(line);
    let mut name = None;
    let mut ty = None;
    let mut resolvers = vec![];
    for x in w.iter().skip(1) {
        let up = x.to_uppercase();
        if let Some(r) = x.strip_prefix('@') {
            resolvers.push(r.to_string());
        } else if matches!(
            up.as_str(),
            "A" | "AAAA" | "CNAME" | "TXT" | "MX" | "NS" | "CAA" | "SOA" | "SRV"
        ) {
            ty = Some(up);
        } else if x.starts_with('-') || x.starts_with('+') {
        } else if name.is_none() && x.contains('.') {
            name = Some(x.trim_end_matches('.').to_string());
        }
    }
    let name = name?;
    let mut vars = vec![];
    let host = if hosts(&name).first() == Some(&name) {
        cx.host_var(&name, &mut vars)
    } else {
        name.clone()
    };
    let mut d = Draft::new("dns", "dig", format!("runs `dig` for {name}")).opt("name", s(&host));
    if let Some(t) = ty {
        d.set("type", s(&t));
    }
    let ips = ip_addresses(u.text);
    for ip in ips {
        d.push_expect(format!("answers.exists(a, a == {})", cel_str(&ip)));
    }
    if !resolvers.is_empty() {
        d.set("resolvers", list(&resolvers));
    }
    probe(d.with_vars(vars))
}

fn ip_addresses(text: &str) -> Vec<String> {
    static IP: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\b((?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3})\b")
            .expect("valid regex")
    });
    IP.captures_iter(text).map(|c| c[1].to_string()).collect()
}

fn openssl(u: &Unit<'_>, line: &str, cx: &mut Context) -> Option<Verdict> {
    let w = words(line);
    let mut connect = None;
    let mut sni = None;
    let mut starttls = None;
    let mut it = w.iter();
    while let Some(x) = it.next() {
        match x.as_str() {
            "-connect" => connect = it.next().cloned(),
            "-servername" => sni = it.next().cloned(),
            "-starttls" => starttls = it.next().cloned(),
            _ => {}
        }
    }
    let connect = connect?;
    let (host, port) = match connect.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse::<i64>().ok()),
        None => (connect.clone(), None),
    };
    let mut vars = vec![];
    let h = cx.host_var(&host, &mut vars);
    let mut d = Draft::new(
        "tls",
        "openssl",
        format!("runs `openssl s_client` on {host}"),
    )
    .opt("host", s(&h));
    if let Some(p) = port.filter(|p| *p != 443) {
        d.set("port", Value::Integer(p));
    }
    if let Some(st) = starttls {
        d.set("starttls", s(&st));
        d = d.uses("tls.starttls");
    }
    if let Some(sni) = sni.filter(|x| *x != host) {
        d.set("sni", s(&sni));
    }
    tls_expect(&mut d, u.text);
    probe(d.with_vars(vars))
}

/// Expectations a TLS line states: days left, chain, versions.
fn tls_expect(d: &mut Draft, text: &str) {
    let lower = text.to_lowercase();
    if let Some(b) = bound(text, U::Days) {
        let (op, n) = match b.op {
            // "not expiring within 21 days": at least 21 left.
            "<=" | "<" if lower.contains("not") || lower.contains("no ") => (">=", b.num()),
            op => (op, b.num()),
        };
        d.push_expect("chain_valid && hostname_matches");
        d.push_expect(format!("days_left {op} {n}"));
    }
    if lower.contains("chain")
        && (lower.contains("complete") || lower.contains("valid"))
        && !d.expect.iter().any(|e| e.contains("chain_valid"))
    {
        d.push_expect("chain_valid");
    }
    if lower.contains("ocsp") {
        d.push_expect("ocsp_stapled");
    }
}

fn psql(u: &Unit<'_>, line: &str, cx: &mut Context) -> Option<Verdict> {
    let w = words(line);
    let mut dsn = None;
    let mut query = None;
    let mut it = w.iter().skip(1);
    while let Some(x) = it.next() {
        if x == "-c" || x == "--command" {
            query = it.next().cloned();
        } else if let Some(e) = env_ref(x) {
            dsn = Some(e);
        } else if x.starts_with("postgres://") || x.starts_with("postgresql://") {
            dsn = Some("DATABASE_URL".into());
        }
    }
    let _ = cx;
    let env = dsn.unwrap_or_else(|| "DATABASE_URL".into());
    let mut d =
        Draft::new("postgres", "psql", "runs `psql`").opt("dsn", s(&format!("${{env:{env}}}")));
    if let Some(q) = query {
        if !read_only_sql(&q) {
            return Some(Verdict::Manual(
                "a query that writes: import only writes read-only checks".into(),
            ));
        }
        d.set("query", s(q.trim().trim_end_matches(';')));
        d.why = "runs the line's `psql -c` query".into();
        value_expect(&mut d, u.text);
    }
    probe(d)
}

fn read_only_sql(q: &str) -> bool {
    let l = q.trim().to_lowercase();
    (l.starts_with("select")
        || l.starts_with("with")
        || l.starts_with("show")
        || l.starts_with("explain"))
        && !l.trim_end_matches(';').contains(';')
        && ![
            " insert ",
            " update ",
            " delete ",
            " drop ",
            " alter ",
            " truncate ",
            " grant ",
            "into ",
        ]
        .iter()
        .any(|k| format!(" {l} ").contains(k))
}

/// "returns 0", "≥ 1", "is empty" → an expectation on `value`.
fn value_expect(d: &mut Draft, text: &str) {
    static RET: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"\b(?:returns?|is|=|==|equals?|shows?|gives?)\s+(-?\d+(?:\.\d+)?)\b|\b(?:returns?|is)\s+(zero|no rows|nothing|empty)\b",
        )
    });
    if let Some(c) = RET.captures(text) {
        match (c.get(1), c.get(2)) {
            (Some(n), _) => d.push_expect(format!("value == {}", n.as_str())),
            (None, Some(_)) => d.push_expect("rows.size() == 0 || value == 0"),
            _ => {}
        }
    } else if let Some(b) = bounds(text)
        .into_iter()
        .find(|b| b.unit == U::Count && b.op != "==")
    {
        d.push_expect(b.expr("value"));
    }
}

fn sql(u: &Unit<'_>, line: &str, _: &mut Context) -> Option<Verdict> {
    if !read_only_sql(line) {
        return None;
    }
    let env = u
        .code
        .iter()
        .flat_map(|l| words(l))
        .find_map(|w| env_ref(&w))
        .unwrap_or_else(|| "DATABASE_URL".into());
    let mut d = Draft::new("postgres", "sql", "runs the SQL under the line")
        .opt("dsn", s(&format!("${{env:{env}}}")))
        .opt("query", s(line.trim().trim_end_matches(';')));
    value_expect(&mut d, u.text);
    probe(d)
}

fn redis_cli(u: &Unit<'_>, line: &str, _: &mut Context) -> Option<Verdict> {
    let w = words(line);
    let mut url = "${env:REDIS_URL}".to_string();
    let mut it = w.iter().skip(1);
    let mut key = None;
    while let Some(x) = it.next() {
        if x == "-u" {
            if let Some(e) = it.next().and_then(|v| env_ref(v)) {
                url = format!("${{env:{e}}}");
            }
        } else if x.eq_ignore_ascii_case("get") {
            key = it.next().cloned();
        }
    }
    let mut d = Draft::new("redis", "redis-cli", "runs `redis-cli`").opt("url", s(&url));
    if let Some(k) = key {
        d.set("key", s(&k));
    }
    redis_expect(&mut d, u.text);
    probe(d)
}

fn nc(u: &Unit<'_>, line: &str, cx: &mut Context) -> Option<Verdict> {
    let w: Vec<String> = words(line)
        .into_iter()
        .filter(|x| !x.starts_with('-'))
        .collect();
    let host = w.get(1)?.clone();
    let port: i64 = w.get(2)?.parse().ok()?;
    let mut vars = vec![];
    let h = if hosts(&host).first() == Some(&host) {
        cx.host_var(&host, &mut vars)
    } else {
        host.clone()
    };
    let mut d = Draft::new("tcp", "nc", format!("runs `nc -z` on {host}:{port}"))
        .opt("host", s(&h))
        .opt("port", Value::Integer(port));
    if closed_words(u.text) {
        d.push_expect("!connected");
    }
    probe(d.with_vars(vars))
}

fn closed_words(text: &str) -> bool {
    static C: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"\b(not|never|no longer)\s+(reachable|open|exposed|accessible|listening)|\b(closed|blocked|filtered|firewalled)\b",
        )
    });
    C.is_match(text)
}

/// Read-only invocations of the tools a checklist names.
fn read_only(w: &[String]) -> bool {
    let l: Vec<String> = w.iter().map(|x| x.to_lowercase()).collect();
    let sub = l.get(1).map_or("", String::as_str);
    let sub2 = l.get(2).map_or("", String::as_str);
    let any = |xs: &[&str]| l.iter().any(|x| xs.contains(&x.as_str()));
    match l.first().map_or("", String::as_str) {
        "kubectl" => {
            any(&[
                "get", "describe", "logs", "top", "wait", "version", "auth", "explain",
            ]) || sub == "rollout" && sub2 == "status"
                || l.windows(2).any(|p| p[0] == "rollout" && p[1] == "status")
        }
        "helm" => {
            matches!(
                sub,
                "status" | "list" | "ls" | "get" | "history" | "lint" | "test" | "template"
            ) || any(&["status", "list", "history"])
        }
        "argocd" => matches!(sub2, "get" | "list" | "wait" | "diff" | "history"),
        "terraform" => matches!(sub, "plan" | "validate" | "fmt" | "show" | "output"),
        "gh" | "glab" => {
            matches!(sub, "run" | "pr" | "api" | "release" | "ci")
                && !any(&["merge", "create", "delete", "rerun", "cancel"])
        }
        "npm" | "yarn" | "pnpm" => {
            matches!(sub, "audit" | "test" | "ls" | "outdated" | "t")
                || sub == "run"
                    && [
                        "test",
                        "lint",
                        "check",
                        "typecheck",
                        "build",
                        "smoke",
                        "verify",
                        "e2e",
                    ]
                    .iter()
                    .any(|k| sub2.contains(k))
        }
        "npx" => {
            matches!(
                sub,
                "tsc"
                    | "eslint"
                    | "prettier"
                    | "jest"
                    | "vitest"
                    | "playwright"
                    | "audit-ci"
                    | "depcheck"
            ) && !any(&["--write", "--fix"])
        }
        "k6" => sub == "run",
        "trivy" => matches!(sub, "image" | "fs" | "repo" | "config" | "rootfs" | "sbom"),
        "hugo" => sub.is_empty() || sub.starts_with('-') || sub == "check",
        "pytest" | "jq" | "test" | "grep" => true,
        "go" => matches!(sub, "test" | "vet" | "build"),
        "cargo" => matches!(
            sub,
            "test" | "audit" | "check" | "clippy" | "deny" | "build"
        ),
        "dbt" => matches!(sub, "test" | "compile" | "ls" | "debug" | "source"),
        "airflow" => {
            matches!(sub, "dags" | "tasks" | "jobs" | "config")
                && any(&["list", "list-import-errors", "state", "check", "list-runs"])
        }
        "sqlx" | "alembic" | "flyway" => {
            any(&["info", "status", "current", "validate", "check", "heads"])
        }
        "rails" | "bundle" => any(&["db:migrate:status", "db:version"]) || sub == "audit",
        "make" => ["test", "check", "lint", "verify", "smoke"]
            .iter()
            .any(|k| sub.contains(k)),
        "systemctl" => matches!(sub, "is-active" | "is-enabled" | "status"),
        "docker" => matches!(sub, "ps" | "inspect" | "images" | "version"),
        "aws" | "gcloud" | "az" | "doctl" => l.iter().skip(2).any(|x| {
            x.starts_with("describe")
                || x.starts_with("get-")
                || x.starts_with("list")
                || x == "show"
                || x == "get"
        }),
        "flyctl" | "fly" | "heroku" | "vercel" | "netlify" => {
            matches!(
                sub,
                "status" | "checks" | "ps" | "info" | "inspect" | "ls" | "list"
            ) || sub == "certs" && matches!(sub2, "show" | "list" | "check")
        }
        "php" => {
            sub == "artisan"
                && (sub2.ends_with(":status")
                    || matches!(
                        sub2,
                        "about" | "route:list" | "config:show" | "queue:monitor" | "schedule:list"
                    ))
        }
        "dotnet" => {
            matches!(sub, "test" | "build" | "--version" | "list")
                || sub == "ef" && l.iter().any(|x| x == "list")
        }
        "python" | "python3" => {
            sub == "manage.py" && matches!(sub2, "check" | "showmigrations" | "test")
        }
        x if x.starts_with("kafka-topics") => any(&["--describe", "--list"]),
        x if x.starts_with("./") || x.starts_with("bin/") => [
            "verify", "check", "smoke", "test", "health", "validate", "lint",
        ]
        .iter()
        .any(|k| x.contains(k)),
        _ => false,
    }
}

/// A command draft for a line of shell, with the expectations the text states.
fn command_draft(u: &Unit<'_>, lines: &[&str], why: String) -> Option<Draft> {
    let mut all = vec![];
    for l in lines {
        let w = words(l);
        if w.is_empty() || !read_only(&w) {
            return None;
        }
        all.push((l.trim().to_string(), w));
    }
    let mut d = Draft::new("command", "command", why);
    let shelly = |l: &str| {
        l.contains('|') || l.contains('>') || l.contains('$') || l.contains('&') || l.contains(';')
    };
    if all.len() == 1 && !shelly(&all[0].0) {
        d.set("argv", list(&all[0].1));
    } else {
        d.set(
            "shell",
            s(&all
                .iter()
                .map(|(l, _)| l.clone())
                .collect::<Vec<_>>()
                .join(" && ")),
        );
    }
    let tool = all[0].1[0].as_str();
    if matches!(
        tool,
        "k6" | "trivy"
            | "pytest"
            | "hugo"
            | "dbt"
            | "npm"
            | "npx"
            | "yarn"
            | "cargo"
            | "go"
            | "terraform"
            | "make"
    ) || tool.starts_with("./")
    {
        d.timeout = Some("5m");
    }
    if tool == "terraform" && all[0].1.iter().any(|x| x == "plan") {
        if !all[0].1.iter().any(|x| x == "-detailed-exitcode") {
            return None;
        }
    }
    stdout_expect(&mut d, u.text);
    let joined = all
        .iter()
        .map(|(l, _)| l.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    if Regex::new(r"(?i)migrat\w*[: ]+(info|status|list)|showmigrations|migrations list").expect("valid regex").is_match(&joined)
        && Regex::new(r"(?i)\b(no|none|every|all)\b.*\b(pending|applied|installed)|\b(applied|installed|up to date)\b").expect("valid regex").is_match(u.scope)
    {
        d.push_expect("exit_code == 0");
        d.push_expect("!stdout.matches('(?i)pending')");
    }
    Some(d)
}

/// "prints nothing", "ends with `:1.2`", "shows Synced" → stdout expectations.
fn stdout_expect(d: &mut Draft, text: &str) {
    static ENDS: LazyLock<Regex> = LazyLock::new(|| re(r"\bends? with\s+`?([^`\s]+)`?"));
    static SHOWS: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"\b(?:shows?|prints?|contains?|reports?|lists?|outputs?|says)\s+`([^`]+)`|(?:→|->)\s*`?([A-Za-z][A-Za-z0-9_:.-]{1,40})`?\s*$",
        )
    });
    let lower = text.to_lowercase();
    if lower.contains("prints nothing")
        || lower.contains("no output")
        || lower.contains("empty output")
    {
        d.push_expect("exit_code == 0");
        d.push_expect("stdout.size() == 0");
    }
    if let Some(c) = ENDS.captures(text) {
        d.push_expect("exit_code == 0");
        d.push_expect(format!("stdout.trim().endsWith({})", cel_str(&c[1])));
    }
    if let Some(c) = SHOWS.captures(text)
        && let Some(m) = c.get(1).or(c.get(2))
    {
        d.push_expect("exit_code == 0");
        d.push_expect(format!("stdout.contains({})", cel_str(m.as_str())));
    }
    for q in quoted(text) {
        if q.len() <= 30 && !q.contains(' ') {
            d.push_expect("exit_code == 0");
            d.push_expect(format!("stdout.contains({})", cel_str(&q)));
        }
    }
    for word in [
        "Synced", "Healthy", "Running", "Ready", "Bound", "deployed", "success",
    ] {
        if text.contains(word) && !d.expect.iter().any(|e| e.contains(word)) && d.expect.len() < 4 {
            let cmd = d
                .get("argv")
                .or(d.get("shell"))
                .map(Value::to_string)
                .unwrap_or_default();
            let json_out = cmd.contains("json") || cmd.contains("yaml");
            let noun = text.contains(&format!("{word} replicas"))
                || text.contains(&format!("{word} pods"));
            if (cmd.contains("get")
                || cmd.contains("status")
                || cmd.contains("list")
                || cmd.contains("show"))
                && !noun
                && !(json_out && word == "Ready")
            {
                d.push_expect("exit_code == 0");
                d.push_expect(format!("stdout.contains({})", cel_str(word)));
            }
        }
    }
    // trim() is not CEL: keep endsWith on the raw output (jsonpath prints no newline).
    for e in &mut d.expect {
        *e = e.replace("stdout.trim().endsWith", "stdout.endsWith");
    }
}

fn command(u: &Unit<'_>, line: &str, _: &mut Context) -> Option<Verdict> {
    // Every command line of the same tool under the box: one check.
    let tool = words(line).first()?.clone();
    let lines: Vec<&str> = u
        .code
        .iter()
        .map(|l| l.trim())
        .filter(|l| words(l).first() == Some(&tool))
        .collect();
    let lines = if lines.is_empty() { vec![line] } else { lines };
    let d = command_draft(u, &lines, format!("runs `{tool}` as the line says"))?;
    probe(d)
}

fn command_in_text(u: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    // The command is the text up to the first word that reads as prose.
    static PROSE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^(passes|pass|passing|succeeds?|works?|is|are|clean|green|returns?|shows?|prints?|against|in|on|with|for|and|should|must|—|-|–|\(.*)$",
        )
    });
    static GLUED: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(--?[A-Za-z][A-Za-z0-9-]*?)(clean|passes|succeeds|works|returns|green)$")
            .expect("valid regex")
    });
    let mut cmd = vec![];
    for w in text.split_whitespace() {
        if let Some(c) = GLUED.captures(w) {
            cmd.push(c[1].to_string());
            break;
        }
        if PROSE.is_match(w) {
            break;
        }
        cmd.push(w.to_string());
    }
    if cmd.len() < 2 {
        return None;
    }
    let line = cmd.join(" ");
    let d = command_draft(
        u,
        &[line.as_str()],
        format!("the line starts with the command `{}`", cmd[0]),
    )?;
    probe(d)
}

fn kubectl_json(u: &Unit<'_>, line: &str, _: &mut Context) -> Option<Verdict> {
    let w = words(line);
    if !read_only(&w) {
        return None;
    }
    let kind = w.iter().skip_while(|x| *x != "get").nth(1)?.to_lowercase();
    let mut d = Draft::new(
        "command",
        "kubectl-json",
        "runs the line's `kubectl get -o json`",
    )
    .opt("argv", list(&w))
    .uses("command.json");
    let lower = u.text.to_lowercase();
    match kind.split('/').next().unwrap_or("") {
        "deploy" | "deployment" | "deployments" | "statefulset" | "sts" => {
            d.push_expect("exit_code == 0");
            d.push_expect("json.status.readyReplicas == json.spec.replicas");
        }
        "hpa" | "horizontalpodautoscaler" => {
            let n = bounds(u.text)
                .into_iter()
                .find(|b| b.unit == U::Count)
                .map_or("2".into(), |b| b.num());
            d.push_expect(format!("json.spec.minReplicas >= {n}"));
        }
        _ => d.push_expect("exit_code == 0"),
    }
    if lower.contains("image") {
        d = d.note("add the image tag you expect: json.spec.template.spec.containers[0].image.endsWith(':TAG')");
    }
    probe(d)
}

fn argocd_json(u: &Unit<'_>, line: &str, _: &mut Context) -> Option<Verdict> {
    let w = words(line);
    let mut d = Draft::new(
        "command",
        "argocd-json",
        "runs the line's `argocd app get -o json`",
    )
    .opt("argv", list(&w))
    .uses("command.json");
    if u.text.contains("Synced") {
        d.push_expect("json.status.sync.status == 'Synced'");
    }
    if u.text.contains("Healthy") {
        d.push_expect("json.status.health.status == 'Healthy'");
    }
    if d.expect.is_empty() {
        d.push_expect("exit_code == 0");
    }
    probe(d)
}

// ------------------------------------------------------------------ HTTP

static METHOD_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(GET|HEAD)\s+(/[A-Za-z0-9._~/%?=&-]*)").expect("valid regex"));
static JSON_BODY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{[^{}]*:[^{}]*\}").expect("valid regex"));
static JSON_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"["']?([A-Za-z_][A-Za-z0-9_]*)["']?\s*:\s*(?:"([^"]*)"|'([^']*)'|(true|false|-?\d+(?:\.\d+)?))"#,
    )
    .expect("valid regex")
});
static DB_LATENCY: LazyLock<Regex> =
    LazyLock::new(|| re(r"\bdb\s+latency\s*(?:<|under|below|≤|<=)\s*(\d+)\s*ms\b"));

/// Expectations a line states about a response: status, JSON pairs.
fn response_expect(text: &str) -> Vec<String> {
    let mut expect = Vec::new();
    if let Some(st) = status_in(text) {
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
    } else if let Some(c) = Regex::new(r#"(?i)\bshows?\s+"?([a-z_]+)"?\s*:\s*"([^"]+)""#)
        .expect("valid regex")
        .captures(text)
    {
        expect.push(format!("json.{} == {}", &c[1], cel_str(&c[2])));
    }
    expect
}

fn http_request(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let mut targets: Vec<(String, Option<FoundUrl>)> = vec![];
    let explicit = METHOD_PATH.captures(text);
    let found = urls(text);
    if let Some(c) = &explicit {
        targets.push((c[2].to_string(), None));
    } else if !found.is_empty() {
        for f in found.iter().filter(|f| f.scheme.starts_with("http")) {
            targets.push((f.path.clone(), Some(f.clone())));
        }
    } else {
        // Paths alone: `/readyz` and `/livez` both return 200.
        for p in paths(text) {
            let last = p.trim_end_matches('/').rsplit('/').next().unwrap_or("");
            let file_like =
                last.contains('.') && !last.chars().next().is_some_and(|c| c.is_ascii_digit());
            if file_like
                && !last.ends_with(".txt")
                && !last.ends_with(".xml")
                && !last.ends_with(".json")
                && !p.contains("well-known")
            {
                continue;
            }
            targets.push((p, None));
        }
    }
    if targets.is_empty() {
        return None;
    }
    let mut expect = response_expect(text);
    let lower = text.to_lowercase();
    if expect.is_empty() {
        if explicit.is_none() {
            return None;
        }
        // `GET /x returns the pinned tag`: the request is named, the body is not.
    }
    if lower.contains("json")
        && !expect.iter().any(|e| e.starts_with("json."))
        && lower.contains("body")
    {
        expect.push("json != null".into());
    }
    let mut notes = vec![];
    if let Some(c) = DB_LATENCY.captures(text) {
        expect.push(format!("json.db.latency_ms < {}", &c[1]));
        notes.push(
            "assumes the body reports the DB latency as db.latency_ms; adjust to your endpoint"
                .to_string(),
        );
    }
    if explicit.is_some()
        && !lower.contains("return")
        && !lower.contains("respond")
        && status_in(text).is_none()
    {
        // Only the request is certain.
    }
    if explicit.is_some()
        && expect.iter().all(|e| !e.starts_with("json."))
        && lower.contains("returns the")
    {
        notes.push(format!(
            "the line also says the body holds: {}",
            text.split("returns").nth(1).unwrap_or("").trim()
        ));
    }
    let mut drafts = vec![];
    for (path, f) in targets {
        let mut vars = vec![];
        let url = match f {
            Some(f) => url_of(&f, cx, &mut vars),
            None => {
                let api = path.starts_with("/api")
                    || Regex::new(r"^/v\d+/").expect("valid regex").is_match(&path);
                format!(
                    "{}{}",
                    base_url(u, cx, api.then_some(true), &mut vars)?,
                    path
                )
            }
        };
        let mut d = Draft::new(
            "http",
            "http-request",
            "the line names a request and what it returns",
        )
        .opt("url", s(&url));
        if explicit.as_ref().is_some_and(|c| &c[1] == "HEAD") {
            d.set("method", s("HEAD"));
        }
        if expect.iter().any(|e| e.starts_with("status == 3")) {
            d.set("follow_redirects", Value::Boolean(false));
        }
        for e in &expect {
            d.push_expect(e.clone());
        }
        d.notes = notes.clone();
        drafts.push(d.with_vars(vars));
    }
    Some(Verdict::Probe(drafts))
}

fn login_then_call(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    static LOGIN: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\bPOST\s+(/[A-Za-z0-9._~/-]*)").expect("valid regex"));
    let call = METHOD_PATH.captures_iter(text).last()?;
    let login = LOGIN
        .captures(text)
        .map_or("/login".to_string(), |c| c[1].to_string());
    let mut vars = vec![];
    let base = base_url(u, cx, Some(true), &mut vars)?;
    let st = status_in(text.split("then").last().unwrap_or(text)).unwrap_or_else(|| "200".into());
    // The login step: a part of this box that captures the token.
    let step = Draft::new(
        "http",
        "login-then-call",
        "logs in first (a part of this box)",
    )
    .opt("url", s(&format!("{base}{login}")))
    .opt("method", s("POST"))
    .opt(
        "json",
        table([
            ("username", s("${env:SMOKE_USER}")),
            ("password", s("${env:SMOKE_PASSWORD}")),
        ]),
    )
    .opt("capture", table([("token", s("json.token"))]))
    .expect("status == 200")
    .note("the login request and the token's place in the response (json.token) are assumptions")
    .uses("item.capture")
    .with_vars(vars.clone());
    let main = Draft::new(
        "http",
        "login-then-call",
        "calls the API with the token the login step captured",
    )
    .opt("url", s(&format!("{base}{}", &call[2])))
    .opt(
        "headers",
        table([("authorization", s("Bearer ${captures.STEP.token}"))]),
    )
    .expect(format!("status == {st}"))
    .uses("item.capture")
    .with_vars(vars);
    Some(Verdict::Probe(vec![main, step]))
}

fn webhook(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = format!("{} {}", text, u.headings).to_lowercase();
    if !lower.contains("webhook") && !lower.contains("hook") {
        return None;
    }
    let found = urls(text)
        .into_iter()
        .find(|f| f.scheme.starts_with("http"))?;
    let scheme = ["stripe", "github", "sumsub"]
        .into_iter()
        .find(|s| lower.contains(s))
        .unwrap_or(
            if lower.contains("standard webhooks") || lower.contains("svix") {
                "standard-webhooks"
            } else {
                "hmac-sha256"
            },
        );
    static NAME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_(?:WEBHOOK_)?SECRET)\b").expect("valid regex")
    });
    let secret = NAME
        .captures_iter(u.scope)
        .map(|c| c[1].to_string())
        .find(|n| n.contains("WEBHOOK"))
        .unwrap_or_else(|| {
            let vendor = found
                .path
                .split('/')
                .rfind(|p| !p.is_empty())
                .filter(|p| p.chars().all(|c| c.is_ascii_alphanumeric()) && p.len() <= 12)
                .map(|p| p.to_uppercase());
            match (scheme, vendor) {
                ("hmac-sha256", Some(v)) => format!("{v}_WEBHOOK_SECRET"),
                ("hmac-sha256", None) => "WEBHOOK_SECRET".into(),
                (s, _) => format!("{}_WEBHOOK_SECRET", s.to_uppercase().replace('-', "_")),
            }
        });
    let mut vars = vec![];
    let url = url_of(&found, cx, &mut vars);
    let d = Draft::new("webhook", "webhook", "a webhook URL: signatures are checked")
        .opt("url", s(&url))
        .opt("scheme", s(scheme))
        .opt("secret", s(&format!("${{env:{secret}}}")))
        .opt("send_signed", Value::Boolean(false))
        .note("send_signed = false: only checks that unsigned and tampered events are rejected; set true once the handler ignores test events");
    probe(d.with_vars(vars))
}

fn websocket(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let mut vars = vec![];
    let url = match urls(text).into_iter().find(|f| f.scheme.starts_with("ws")) {
        Some(f) => url_of(&f, cx, &mut vars),
        None => {
            let f = urls(u.scope)
                .into_iter()
                .chain(
                    cx.hosts
                        .iter()
                        .filter(|h| h.scheme.starts_with("ws"))
                        .map(|h| FoundUrl {
                            scheme: h.scheme.clone(),
                            host: h.host.clone(),
                            port: h.port.clone(),
                            path: "/".into(),
                        }),
                )
                .find(|f| f.scheme.starts_with("ws"))?;
            url_of(&f, cx, &mut vars)
        }
    };
    let d = Draft::new(
        "websocket",
        "websocket",
        "a WebSocket URL: the handshake is checked",
    )
    .opt("url", s(&url))
    .expect("connected");
    probe(d.with_vars(vars))
}

fn http_on(
    u: &Unit<'_>,
    cx: &mut Context,
    prefer_api: Option<bool>,
    path: &str,
    why: &str,
) -> Option<Draft> {
    let mut vars = vec![];
    let url = match urls(u.text)
        .into_iter()
        .find(|f| f.scheme.starts_with("http"))
    {
        Some(f) if path == "/" => url_of(&f, cx, &mut vars),
        Some(f) => format!(
            "{}{path}",
            url_of(
                &FoundUrl {
                    path: "/".into(),
                    ..f
                },
                cx,
                &mut vars
            )
            .trim_end_matches('/')
        ),
        None => format!("{}{path}", base_url(u, cx, prefer_api, &mut vars)?),
    };
    Some(
        Draft::new("http", "", why)
            .opt("url", s(&url))
            .with_vars(vars),
    )
}

/// Where a CORS check is sent: the API (a URL in a CORS line is usually the
/// allowed origin, not the target).
fn cors_target(u: &Unit<'_>, cx: &mut Context) -> Option<Draft> {
    let lower = u.text.to_lowercase();
    let named = Regex::new(r"(?i)\b(?:on|at|for)\s+`?(https?://[^\s`]+|[a-z0-9.-]+\.[a-z]{2,})")
        .expect("valid regex")
        .captures(&lower)
        .map(|c| c[1].to_string());
    let mut vars = vec![];
    let host = named
        .as_deref()
        .and_then(|n| {
            urls(n)
                .first()
                .map(|f| f.host.clone())
                .or_else(|| hosts(n).first().cloned())
        })
        .or_else(|| cx.api().map(|k| k.host.clone()));
    let base = match host {
        Some(h) => cx.url_var(&h, &mut vars),
        None => context::unknown_api(&mut vars),
    };
    Some(
        Draft::new("http", "", "CORS: an unknown origin must not be allowed")
            .opt("url", s(&format!("{base}/")))
            .with_vars(vars),
    )
}

fn cors(u: &Unit<'_>, _: &str, cx: &mut Context) -> Option<Verdict> {
    let origin = "https://preflight-check.invalid";
    let d = cors_target(u, cx)?
        .opt("origin", s(origin))
        .expect(format!(
            "cors.allow_origin == null || (cors.allow_origin != '*' && cors.allow_origin != {})",
            cel_str(origin)
        ))
        .uses("http.cors")
        .uses("http.origin")
        .note("sends a CORS preflight from an origin that is not yours; point url at an API route");
    probe(d)
}

fn cors_headers(u: &Unit<'_>, _: &str, cx: &mut Context) -> Option<Verdict> {
    let origin = "https://preflight-check.invalid";
    let d = cors_target(u, cx)?
        .opt("headers", table([("origin", s(origin))]))
        .expect(format!(
            "!('access-control-allow-origin' in headers) || (headers['access-control-allow-origin'] != '*' && headers['access-control-allow-origin'] != {})",
            cel_str(origin)
        ))
        .note("sends a request from an origin that is not yours; point url at an API route");
    probe(d)
}

fn cookies(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    let mut conds = vec![];
    if lower.contains("secure") {
        conds.push("c.secure".to_string());
    }
    if lower.contains("httponly") || lower.contains("http-only") || lower.contains("http only") {
        conds.push("c.http_only".to_string());
    }
    static SAMESITE: LazyLock<Regex> = LazyLock::new(|| re(r"samesite\s*=?\s*(lax|strict|none)"));
    if let Some(c) = SAMESITE.captures(text) {
        let v = &c[1];
        let v = format!("{}{}", v[..1].to_uppercase(), v[1..].to_lowercase());
        conds.push(format!("c.same_site == {}", cel_str(&v)));
    } else if lower.contains("samesite") {
        conds.push("c.same_site != null".to_string());
    }
    if conds.is_empty() {
        return None;
    }
    let named = u.code.iter().find(|c| {
        c.chars()
            .all(|x| x.is_ascii_alphanumeric() || x == '_' || x == '-')
            && !c.eq_ignore_ascii_case("secure")
            && !c.eq_ignore_ascii_case("httponly")
    });
    let expr = match named {
        Some(n) => format!(
            "cookies.exists(c, c.name == {} && {})",
            cel_str(n),
            conds.join(" && ")
        ),
        None => format!(
            "cookies.size() > 0 && cookies.all(c, {})",
            conds.join(" && ")
        ),
    };
    let d = http_on(u, cx, None, "/", "cookie flags are facts of the response")?
        .expect(expr)
        .uses("http.cookies")
        .note("point url at a page that sets the session cookie (e.g. the login page)");
    probe(d)
}

fn redirect_https(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let words = Regex::new(r"(?i)\bhttps?://\S+")
        .expect("valid regex")
        .replace_all(text, " ");
    if !Regex::new(r"(?i)\bhttps\b")
        .expect("valid regex")
        .is_match(&words)
    {
        return None;
    }
    let mut vars = vec![];
    let host = match urls(text).into_iter().next() {
        Some(f) => cx.host_var(&f.host, &mut vars),
        None => host_ref(u, cx, &mut vars)?,
    };
    let codes: Vec<String> = Regex::new(r"\b(30[1278])\b")
        .expect("valid regex")
        .captures_iter(text)
        .map(|c| c[1].to_string())
        .collect();
    let status = match codes.as_slice() {
        [] => "status >= 300 && status < 400".to_string(),
        [one] => format!("status == {one}"),
        many => format!("status in [{}]", many.join(", ")),
    };
    let d = Draft::new("http", "", "plain HTTP must redirect to HTTPS")
        .opt("url", s(&format!("http://{host}/")))
        .opt("follow_redirects", Value::Boolean(false))
        .expect(status)
        .expect("headers['location'].startsWith('https://')");
    probe(d.with_vars(vars))
}

fn redirect_www(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    let apex_to_www = lower.contains("to www") || lower.contains("to the www");
    let named = hosts(text);
    let www = named.iter().find(|h| h.starts_with("www.")).cloned();
    let apex = named
        .iter()
        .find(|h| !h.starts_with("www."))
        .cloned()
        .or_else(|| {
            www.as_ref()
                .map(|w| w.trim_start_matches("www.").to_string())
        })
        .or_else(|| {
            cx.site()
                .map(|k| k.host.trim_start_matches("www.").to_string())
        });
    let apex = apex?;
    let _ = u;
    let mut vars = vec![];
    let domain = cx.host_var(&apex, &mut vars);
    let (from, expect) = if apex_to_www {
        (
            format!("https://{domain}/"),
            "headers['location'].contains('://www.')".to_string(),
        )
    } else {
        (
            format!("https://www.{domain}/"),
            "!headers['location'].contains('://www.')".to_string(),
        )
    };
    let d = Draft::new("http", "", "one host must redirect to the other")
        .opt("url", s(&from))
        .opt("follow_redirects", Value::Boolean(false))
        .expect("status >= 300 && status < 400")
        .expect(expect);
    probe(d.with_vars(vars))
}

fn redirect_path(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let path = first_path(text)?;
    let st = status_in(text).filter(|s| s.starts_with('3'))?;
    let d = http_on(u, cx, Some(false), &path, "an old path must redirect")?
        .opt("follow_redirects", Value::Boolean(false))
        .expect(format!("status == {st}"));
    probe(d)
}

fn hsts(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let mut d = http_on(u, cx, None, "/", "HSTS is a response header")?;
    d.push_expect("headers['strict-transport-security'].contains('max-age')");
    let lower = text.to_lowercase();
    if lower.contains("includesubdomains")
        || lower.contains("include subdomains")
        || lower.contains("subdomains")
    {
        d.push_expect("headers['strict-transport-security'].contains('includeSubDomains')");
    }
    if lower.contains("preload") {
        d.push_expect("headers['strict-transport-security'].contains('preload')");
    }
    static AGE: LazyLock<Regex> = LazyLock::new(|| re(r"max-age\s*=\s*(\d+)"));
    if let Some(c) = AGE.captures(text) {
        d.push_expect(format!(
            "headers['strict-transport-security'].contains('max-age={}')",
            &c[1]
        ));
    } else if lower.contains("one year") || lower.contains("1 year") || lower.contains("a year") {
        d = d.note("the line asks for max-age of at least a year (31536000)");
    }
    probe(d)
}

fn security_grade(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    static GRADE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"\b(?:grade|rating)\s+(?:of\s+)?([A-F][+-]?)|\b([A-F][+-]?)\s+(?:grade|rating)\b",
        )
        .expect("valid regex")
    });
    let c = GRADE.captures(text)?;
    let g = c.get(1).or(c.get(2))?.as_str();
    let order = [
        "A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-", "F",
    ];
    let at = order.iter().position(|x| *x == g)?;
    let better = text.to_lowercase().contains("better")
        || text.contains("or above")
        || text.contains('+') && g != "A+";
    let allowed: Vec<String> = if better {
        order[..=at].iter().map(|x| cel_str(x)).collect()
    } else {
        vec![cel_str(g)]
    };
    let d = http_on(
        u,
        cx,
        Some(false),
        "/",
        "security headers are graded by the http probe",
    )?
    .expect(format!("grade in [{}]", allowed.join(", ")))
    .uses("http.security")
    .uses("http.grade");
    probe(d)
}

fn security_headers(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    static HEADER: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(content-security-policy|\bcsp\b|x-frame-options|x-content-type-options|referrer-policy|permissions-policy|cross-origin-opener-policy|cross-origin-resource-policy|cross-origin-embedder-policy)(?:\s*:\s*`?([A-Za-z0-9=;,'\x22 -]+?)`?(?:\s+(?:and|on|in|,)\b|$|`|\)))?",
        )
    });
    let mut d = http_on(u, cx, None, "/", "security headers are response headers")?;
    let lower = text.to_lowercase();
    for c in HEADER.captures_iter(text) {
        let name = match c[1].to_lowercase().as_str() {
            "csp" => "content-security-policy".to_string(),
            n => n.to_string(),
        };
        d.push_expect(format!("'{name}' in headers"));
        if let Some(v) = c
            .get(2)
            .map(|m| m.as_str().trim())
            .filter(|v| !v.is_empty() && !v.contains(' '))
        {
            d.push_expect(format!(
                "headers['{name}'].lowerAscii().contains({})",
                cel_str(&v.to_lowercase())
            ));
        }
        if name == "content-security-policy" {
            for bad in ["unsafe-inline", "unsafe-eval"] {
                if lower.contains(bad)
                    && (lower.contains("without") || lower.contains("no ") || lower.contains("not"))
                {
                    d.push_expect(format!("!headers['{name}'].contains('{bad}')"));
                }
            }
        }
    }
    // `Referrer-Policy: strict-origin…` written without a colon in a code span.
    for code in u.code {
        if let Some((k, v)) = code.split_once(':') {
            let k = k.trim().to_lowercase();
            if k.contains('-') && HEADER.is_match(&k) && !v.trim().is_empty() {
                d.push_expect(format!(
                    "headers['{k}'].lowerAscii().contains({})",
                    cel_str(&v.trim().to_lowercase())
                ));
            }
        }
    }
    // lowerAscii is a CEL extension; keep plain contains for portability.
    for e in &mut d.expect {
        *e = e.replace(".lowerAscii()", "");
    }
    probe(d)
}

fn server_header(u: &Unit<'_>, _: &str, cx: &mut Context) -> Option<Verdict> {
    let d = http_on(
        u,
        cx,
        None,
        "/",
        "the Server / X-Powered-By headers are response headers",
    )?
    .expect("!('server' in headers) || !headers['server'].matches('[0-9]')")
    .expect("!('x-powered-by' in headers)");
    probe(d)
}

fn robots_txt(u: &Unit<'_>, _: &str, cx: &mut Context) -> Option<Verdict> {
    let d = http_on(
        u,
        cx,
        Some(false),
        "/robots.txt",
        "robots.txt is a file on the site",
    )?
    .expect("status == 200")
    .expect("!body.matches('(?m)^Disallow:\\\\s*/\\\\s*$')");
    probe(d)
}

fn noindex(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    let mut d = http_on(
        u,
        cx,
        Some(false),
        "/",
        "noindex is in a header or the page",
    )?;
    d.push_expect("!('x-robots-tag' in headers) || !headers['x-robots-tag'].contains('noindex')");
    if !lower.contains("x-robots-tag") || lower.contains("meta") {
        d.push_expect("!body.contains('noindex')");
    }
    probe(d)
}

fn noindex_meta(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    let mut d = http_on(
        u,
        cx,
        Some(false),
        "/",
        "noindex is in a header or the page's meta tags",
    )?;
    d.push_expect("!('x-robots-tag' in headers) || !headers['x-robots-tag'].contains('noindex')");
    if !lower.contains("x-robots-tag") || lower.contains("meta") {
        d.push_expect("meta_robots == null || !meta_robots.contains('noindex')");
        d = d.uses("http.meta_robots");
    }
    probe(d)
}

fn sitemap(u: &Unit<'_>, _: &str, cx: &mut Context) -> Option<Verdict> {
    let d = http_on(
        u,
        cx,
        Some(false),
        "/sitemap.xml",
        "the sitemap is a file on the site",
    )?
    .expect("status == 200");
    probe(d)
}

fn auth_required(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let path = METHOD_PATH
        .captures(text)
        .map(|c| c[2].to_string())
        .or_else(|| first_path(text))
        .unwrap_or_else(|| "/".into());
    let status = match status_in(text) {
        Some(s) => format!("status == {s}"),
        None => "status in [301, 302, 303, 307, 401, 403]".to_string(),
    };
    let d = http_on(
        u,
        cx,
        None,
        &path,
        "an unauthenticated request must be refused or sent to log in",
    )?
    .opt("follow_redirects", Value::Boolean(false))
    .expect(status);
    probe(d)
}

fn missing_page(u: &Unit<'_>, _: &str, cx: &mut Context) -> Option<Verdict> {
    let d = http_on(
        u,
        cx,
        Some(false),
        "/preflight-missing-page",
        "a missing page must be a plain 404",
    )?
    .expect("status == 404")
    .expect("!body.contains('Traceback')")
    .expect("!body.contains('DEBUG')");
    probe(d)
}

fn health_path(cx: &Context, topic: &str) -> Option<String> {
    cx.paths
        .iter()
        .find(|(p, line)| line.contains(topic) && p.contains("health"))
        .or_else(|| cx.paths.iter().find(|(_, line)| line.contains(topic)))
        .or_else(|| {
            cx.paths
                .iter()
                .find(|(p, _)| p.contains("health") || p.ends_with("/up") || p.ends_with("healthz"))
        })
        .map(|(p, _)| p.clone())
}

fn health_exposure(u: &Unit<'_>, _: &str, cx: &mut Context) -> Option<Verdict> {
    let path = first_path(u.text)
        .or_else(|| health_path(cx, "health"))
        .unwrap_or_else(|| "/health".into());
    let d = http_on(
        u,
        cx,
        Some(true),
        &path,
        "what the health endpoint shows is its body",
    )?
    .expect("!body.matches('(?i)(node_env|database_url|secret|password|\"env(ironment)?\")')");
    probe(d)
}

fn circuit_breakers(u: &Unit<'_>, _: &str, cx: &mut Context) -> Option<Verdict> {
    let path = first_path(u.text).or_else(|| health_path(cx, "circuit"))?;
    let d = http_on(
        u,
        cx,
        Some(true),
        &path,
        "the endpoint that reports circuit breakers",
    )?
    .expect("status == 200")
    .expect("!body.contains('\"OPEN\"')")
    .note("checks that the body reports no breaker as \"OPEN\"; adjust to its JSON shape");
    probe(d)
}

fn behind_cdn(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    let expect = if lower.contains("cloudflare") {
        "'cf-ray' in headers"
    } else if lower.contains("cloudfront") {
        "'x-amz-cf-id' in headers"
    } else if lower.contains("fastly") {
        "'x-served-by' in headers && headers['x-served-by'].contains('cache')"
    } else {
        "'akamai-grn' in headers || ('server' in headers && headers['server'].contains('Akamai'))"
    };
    if !Regex::new(r"\b(in front|behind|through|via|served by|cdn)\b")
        .expect("valid regex")
        .is_match(&lower)
    {
        return None;
    }
    let d = http_on(
        u,
        cx,
        None,
        "/",
        "a CDN in front adds its own response headers",
    )?
    .expect(expect);
    probe(d)
}

fn health_endpoint(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let path = first_path(text).or_else(|| health_path(cx, "health"));
    let mut d = match &path {
        Some(p) => http_on(
            u,
            cx,
            Some(true),
            p,
            "the health endpoint the document names",
        )?,
        None => http_on(u, cx, Some(true), "/health", "a health endpoint")?
            .note("the source names no health path: /health is a guess"),
    };
    if let Some(st) = status_in(text) {
        d.push_expect(format!("status == {st}"));
    }
    probe(d)
}

fn served(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    // Only with a URL or a host in the line: "served at https://…", "SSR loaders return data on app.x".
    let found = urls(text)
        .into_iter()
        .find(|f| f.scheme.starts_with("http"));
    let mut vars = vec![];
    let url = match found {
        Some(f) => url_of(&f, cx, &mut vars),
        None => {
            let h = hosts(text).into_iter().find(|h| cx.is_own(h))?;
            format!("{}/", cx.url_var(&h, &mut vars))
        }
    };
    let mut d = Draft::new("http", "", "the line names a URL that must answer").opt("url", s(&url));
    if let Some(st) = status_in(text) {
        d.push_expect(format!("status == {st}"));
    }
    let _ = u;
    probe(d.with_vars(vars))
}

fn route(_: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    // `api.example.io → api.production.svc:80`: the public host must reach a backend.
    let public = hosts(text)
        .into_iter()
        .find(|h| cx.is_own(h) && !h.ends_with(".svc") && !h.contains(".svc."))?;
    let mut vars = vec![];
    let url = format!("{}/", cx.url_var(&public, &mut vars));
    let d = Draft::new(
        "http",
        "",
        "a route from a public host to a backend: the host must answer",
    )
    .opt("url", s(&url))
    .opt("follow_redirects", Value::Boolean(false))
    .expect("status < 500")
    .note(
        "any answer below 500 means the route reaches a backend; a 502/503/504 means it does not",
    );
    probe(d.with_vars(vars))
}

fn registry(_: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    if !Regex::new(r"\b(accessible|reachable|available|up|login)\b")
        .expect("valid regex")
        .is_match(&lower)
    {
        return None;
    }
    let host = hosts(text)
        .into_iter()
        .next()
        .or_else(|| cx.registries.first().cloned())?;
    let mut vars = vec![];
    let h = cx.host_var(&host, &mut vars);
    let d = Draft::new(
        "http",
        "",
        "a registry answers its API root (401 asks for credentials)",
    )
    .opt("url", s(&format!("https://{h}/v2/")))
    .expect("status == 200 || status == 401");
    probe(d.with_vars(vars))
}

// ------------------------------------------------------------------ TLS

fn tls_hosts(u: &Unit<'_>, cx: &mut Context) -> Option<Vec<(String, Vec<VarNeed>)>> {
    let named: Vec<String> = hosts(u.text).into_iter().filter(|h| cx.is_own(h)).collect();
    if !named.is_empty() {
        return Some(
            named
                .iter()
                .map(|h| {
                    let mut v = vec![];
                    let r = cx.host_var(h, &mut v);
                    (r, v)
                })
                .collect(),
        );
    }
    let mut v = vec![];
    let r = host_ref(u, cx, &mut v)?;
    Some(vec![(r, v)])
}

fn tls_versions(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text
        .to_lowercase()
        .replace("tlsv", "tls ")
        .replace("tls1", "tls 1");
    let mut expect = vec![];
    let min_words = Regex::new(
        r"\b(min(imum)?|at least|or (higher|later|above|newer)|and 1\.3|only)\b|1\.2\s*\+",
    )
    .expect("valid regex");
    let off_words =
        Regex::new(r"\b(disabled|off|refused|rejected|not accepted|no)\b").expect("valid regex");
    let min_12 = lower.contains("1.2") && min_words.is_match(&lower)
        || (lower.contains("1.0") || lower.contains("1.1")) && off_words.is_match(&lower);
    let only_13 = lower.contains("1.3 only") || lower.contains("only tls 1.3");
    if only_13 {
        expect.push(
            "accepts.tls1_3 && !accepts.tls1_2 && !accepts.tls1_1 && !accepts.tls1_0".to_string(),
        );
    } else if min_12 {
        expect.push("!accepts.tls1_0 && !accepts.tls1_1".to_string());
    } else if lower.contains("1.3") && (lower.contains("support") || lower.contains("enabled")) {
        expect.push("accepts.tls1_3".to_string());
    } else {
        return None;
    }
    let mut drafts = vec![];
    for (h, vars) in tls_hosts(u, cx)? {
        let mut d = Draft::new("tls", "", "the line names the TLS versions to accept")
            .opt("host", s(&h))
            .opt("versions", Value::Boolean(true));
        for e in &expect {
            d.push_expect(e.clone());
        }
        drafts.push(d.with_vars(vars));
    }
    Some(Verdict::Probe(drafts))
}

fn starttls(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    let (proto, default_port) = if lower.contains("imap") || lower.contains("993") {
        ("imap", 143)
    } else if lower.contains("pop3") {
        ("pop3", 110)
    } else {
        ("smtp", 25)
    };
    let port = Regex::new(r"\bport\s+(\d{2,5})\b")
        .expect("valid regex")
        .captures(text)
        .and_then(|c| c[1].parse::<i64>().ok())
        .unwrap_or(default_port);
    let mut vars = vec![];
    let host = hosts(text)
        .into_iter()
        .find(|h| cx.is_own(h))
        .or_else(|| cx.component("mx").map(|k| k.host.clone()))
        .or_else(|| cx.component("smtp").map(|k| k.host.clone()))?;
    let h = cx.host_var(&host, &mut vars);
    let mut d = Draft::new("tls", "", "the mail server's certificate, after STARTTLS")
        .opt("host", s(&h))
        .opt("port", Value::Integer(port))
        .opt("starttls", s(proto))
        .uses("tls.starttls");
    tls_expect(&mut d, text);
    let _ = u;
    probe(d.with_vars(vars))
}

fn tls(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    let words = Regex::new(r"(?i)\b(?:https?|wss?)://\S+")
        .expect("valid regex")
        .replace_all(&lower, " ");
    if !Regex::new(r"\b(tls|ssl|certs?|certificates?|https|ocsp)\b")
        .expect("valid regex")
        .is_match(&words)
    {
        return None;
    }
    // "TLS" alone in a line about something else (Postgres over TLS) is not a certificate check.
    if Regex::new(r"(?i)\b(postgres\w*|database|db|redis|sslmode|kafka|smtp)\b")
        .expect("valid regex")
        .is_match(&lower)
    {
        return None;
    }
    let mut drafts = vec![];
    for (h, vars) in tls_hosts(u, cx)? {
        let mut d =
            Draft::new("tls", "", "a certificate / TLS line with a host").opt("host", s(&h));
        tls_expect(&mut d, text);
        drafts.push(d.with_vars(vars));
    }
    Some(Verdict::Probe(drafts))
}

// ------------------------------------------------------------------ domains and DNS

fn apex_ref(u: &Unit<'_>, cx: &mut Context, vars: &mut Vec<VarNeed>) -> Option<String> {
    let named = hosts(u.text).into_iter().find(|h| cx.is_own(h));
    let host = named.or_else(|| cx.site().map(|k| k.host.clone()));
    match host {
        Some(h) => {
            let labels: Vec<&str> = h.split('.').collect();
            let apex = if labels.len() > 2 {
                labels[labels.len() - 2..].join(".")
            } else {
                h.clone()
            };
            Some(cx.host_var(&apex, vars))
        }
        None => Some(context::unknown_domain(vars)),
    }
}

fn domain_expiry(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    if !(lower.contains("domain") || !hosts(text).is_empty()) {
        return None;
    }
    let mut vars = vec![];
    let name = apex_ref(u, cx, &mut vars)?;
    let mut d = Draft::new("domain", "", "registration data comes from RDAP").opt("name", s(&name));
    if lower.contains("transfer") || lower.contains("lock") {
        d.push_expect("status.exists(s, s.contains('transfer prohibited'))");
    } else {
        let days = bound(text, U::Days).map_or(">= 30".to_string(), |b| {
            let op = if b.op.starts_with('<') { ">=" } else { b.op };
            format!("{op} {}", b.num())
        });
        d.push_expect(format!("days_left {days}"));
    }
    probe(d.with_vars(vars))
}

fn dnssec(u: &Unit<'_>, _: &str, cx: &mut Context) -> Option<Verdict> {
    let mut vars = vec![];
    let name = apex_ref(u, cx, &mut vars)?;
    let d = Draft::new(
        "dns",
        "",
        "DNSSEC: ask with the DO bit, expect authenticated data",
    )
    .opt("name", s(&name))
    .opt("dnssec", Value::Boolean(true))
    .expect("ad")
    .uses("dns.dnssec")
    .uses("dns.ad");
    probe(d.with_vars(vars))
}

fn dnssec_rdap(u: &Unit<'_>, _: &str, cx: &mut Context) -> Option<Verdict> {
    let mut vars = vec![];
    let name = apex_ref(u, cx, &mut vars)?;
    let d = Draft::new(
        "domain",
        "",
        "DNSSEC: the registry says the delegation is signed",
    )
    .opt("name", s(&name))
    .expect("dnssec");
    probe(d.with_vars(vars))
}

fn mail_name(u: &Unit<'_>, cx: &mut Context, vars: &mut Vec<VarNeed>) -> Option<String> {
    match hosts(u.text).into_iter().find(|h| cx.is_own(h)) {
        Some(h) => Some(cx.host_var(&h, vars)),
        None => apex_ref(u, cx, vars),
    }
}

fn spf(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let mut vars = vec![];
    let name = mail_name(u, cx, &mut vars)?;
    let mut d = Draft::new("dns", "", "SPF is a TXT record the dns probe parses")
        .opt("name", s(&name))
        .opt("type", s("TXT"))
        .expect("spf.records == 1")
        .uses("dns.spf");
    let lower = text.to_lowercase();
    for all in ["-all", "~all"] {
        if lower.contains(all) {
            d.push_expect(format!("spf.all == '{all}'"));
        }
    }
    if lower.contains("lookup") {
        d.push_expect("!spf.lookups_exceeded");
    }
    probe(d.with_vars(vars))
}

fn dmarc_policy(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    ["reject", "quarantine", "none"]
        .into_iter()
        .find(|p| lower.contains(&format!("p={p}")) || lower.contains(&format!("p = {p}")))
}

fn dmarc(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let mut vars = vec![];
    let name = mail_name(u, cx, &mut vars)?;
    let mut d = Draft::new(
        "dns",
        "",
        "DMARC is a TXT record at _dmarc, parsed by the dns probe",
    )
    .opt("name", s(&format!("_dmarc.{name}")))
    .opt("type", s("TXT"))
    .uses("dns.dmarc");
    match dmarc_policy(text) {
        Some("quarantine") if text.to_lowercase().contains("at least") => {
            d.push_expect("dmarc.p in ['quarantine', 'reject']")
        }
        Some(p) => d.push_expect(format!("dmarc.p == '{p}'")),
        None if text.to_lowercase().contains("enforc") => {
            d.push_expect("dmarc.p in ['quarantine', 'reject']")
        }
        None => d.push_expect("dmarc.p != null"),
    }
    if text.to_lowercase().contains("report") {
        d.push_expect("dmarc.rua.size() > 0");
    }
    probe(d.with_vars(vars))
}

fn dkim_selector(u: &Unit<'_>, text: &str) -> Option<String> {
    static SEL: LazyLock<Regex> = LazyLock::new(|| {
        re(r"selector\s+`?([a-z0-9_-]+)`?|([a-z0-9_-]+)\._domainkey|`([a-z0-9_-]+)`\s+selector")
    });
    SEL.captures_iter(text)
        .filter_map(|c| {
            c.get(1)
                .or(c.get(2))
                .or(c.get(3))
                .map(|m| m.as_str().to_lowercase())
        })
        .find(|s| !matches!(s.as_str(), "dkim" | "the" | "a" | "is" | "for"))
        .or_else(|| {
            u.code
                .iter()
                .find(|c| c.contains("._domainkey"))
                .map(|c| c.split('.').next().unwrap_or("").to_string())
        })
}

fn dkim(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let mut vars = vec![];
    let name = mail_name(u, cx, &mut vars)?;
    let selector = dkim_selector(u, text).unwrap_or_else(|| {
        vars.push(VarNeed {
            name: "dkim_selector".into(),
            default: String::new(),
            hint: "the DKIM selector, e.g. google or s1".into(),
        });
        "${dkim_selector}".into()
    });
    let mut d = Draft::new(
        "dns",
        "",
        "DKIM is a TXT record at SELECTOR._domainkey, parsed by the dns probe",
    )
    .opt("name", s(&format!("{selector}._domainkey.{name}")))
    .opt("type", s("TXT"))
    .expect("dkim.present")
    .uses("dns.dkim");
    if let Some(b) = Regex::new(r"(\d{4})-bit")
        .expect("valid regex")
        .captures(text)
    {
        d.push_expect(format!("dkim.key_bits >= {}", &b[1]));
    }
    probe(d.with_vars(vars))
}

fn mail_txt(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    let mut vars = vec![];
    let name = mail_name(u, cx, &mut vars)?;
    let mut drafts = vec![];
    if lower.contains("spf") && lower.contains("lookup") {
        // The lookup count needs the parsed record (the `spf` fact).
        return None;
    }
    if lower.contains("spf") {
        let mut d = Draft::new("dns", "", "SPF is a TXT record")
            .opt("name", s(&name))
            .opt("type", s("TXT"))
            .expect("answers.exists(a, a.startsWith('v=spf1'))");
        for all in ["-all", "~all"] {
            if lower.contains(all) {
                d.push_expect(format!(
                    "answers.exists(a, a.startsWith('v=spf1') && a.endsWith('{all}'))"
                ));
            }
        }
        drafts.push(d.with_vars(vars.clone()));
    }
    if lower.contains("dmarc") {
        let mut d = Draft::new("dns", "", "DMARC is a TXT record at _dmarc")
            .opt("name", s(&format!("_dmarc.{name}")))
            .opt("type", s("TXT"))
            .expect("answers.exists(a, a.startsWith('v=DMARC1'))");
        if let Some(p) = dmarc_policy(text) {
            d.push_expect(format!("answers.exists(a, a.contains('p={p}'))"));
        }
        drafts.push(d.with_vars(vars.clone()));
    }
    if lower.contains("dkim") {
        let mut v = vars.clone();
        let selector = dkim_selector(u, text).unwrap_or_else(|| {
            v.push(VarNeed {
                name: "dkim_selector".into(),
                default: String::new(),
                hint: "the DKIM selector, e.g. google or s1".into(),
            });
            "${dkim_selector}".into()
        });
        let d = Draft::new("dns", "", "DKIM is a TXT record at SELECTOR._domainkey")
            .opt("name", s(&format!("{selector}._domainkey.{name}")))
            .opt("type", s("TXT"))
            .expect("answers.exists(a, a.contains('p='))");
        drafts.push(d.with_vars(v));
    }
    // One box: SPF first, the others as parts.
    Some(Verdict::Probe(drafts))
}

fn dns(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    let in_dns_section = u.headings.contains("dns");
    let dnsy = Regex::new(
        r"(?i)\b(dns|records?|cname|caa|aaaa|mx|ns|resolv\w*|propagat\w*|ttls?|name ?servers?)\b",
    )
    .expect("valid regex")
    .is_match(text);
    // `host → target` lines count only under a DNS heading.
    if !dnsy && !in_dns_section {
        return None;
    }
    let ty = if lower.contains("aaaa") || lower.contains("ipv6") {
        Some("AAAA")
    } else if Regex::new(r"\bcname\b")
        .expect("valid regex")
        .is_match(&lower)
    {
        Some("CNAME")
    } else if Regex::new(r"\bmx\b").expect("valid regex").is_match(&lower) {
        Some("MX")
    } else if Regex::new(r"\bcaa\b")
        .expect("valid regex")
        .is_match(&lower)
    {
        Some("CAA")
    } else if Regex::new(r"\b(ns records?|name ?servers?)\b")
        .expect("valid regex")
        .is_match(&lower)
    {
        Some("NS")
    } else if Regex::new(r"\btxt\b")
        .expect("valid regex")
        .is_match(&lower)
    {
        Some("TXT")
    } else {
        None
    };
    let named: Vec<String> = hosts(text);
    let own: Vec<&String> = named.iter().filter(|h| cx.is_own(h)).collect();
    let mut vars = vec![];
    let (name, rest): (String, Vec<String>) = match (ty, own.first()) {
        (Some("NS" | "CAA" | "MX"), None) | (Some("NS" | "CAA"), Some(_)) => {
            let n = apex_ref(u, cx, &mut vars)?;
            (n, named.clone())
        }
        (_, Some(h)) => {
            let n = cx.host_var(h, &mut vars);
            (n, named.iter().filter(|x| *x != *h).cloned().collect())
        }
        (_, None) if named.is_empty() => {
            if !(lower.contains("domain")
                || lower.contains("propagat")
                || lower.contains("ttl")
                || lower.contains("dns"))
            {
                return None;
            }
            (apex_ref(u, cx, &mut vars)?, vec![])
        }
        (_, None) => {
            let n = cx.host_var(&named[0], &mut vars);
            (n, named[1..].to_vec())
        }
    };
    let mut d = Draft::new("dns", "", "a DNS line with a name").opt("name", s(&name));
    if let Some(t) = ty {
        d.set("type", s(t));
    }
    let ips = ip_addresses(text);
    for ip in &ips {
        d.push_expect(format!("answers.exists(a, a == {})", cel_str(ip)));
    }
    match ty {
        Some("CNAME") | Some("MX") | Some("NS") => {
            if let Some(target) = rest.iter().find(|h| !h.starts_with("_")) {
                d.push_expect(format!(
                    "answers.exists(a, a.contains({}))",
                    cel_str(target)
                ));
            } else if ty == Some("NS") {
                for vendor in [
                    "cloudflare",
                    "awsdns",
                    "googledomains",
                    "azure-dns",
                    "nsone",
                    "dnsimple",
                ] {
                    if lower.contains(vendor) {
                        d.push_expect(format!("answers.exists(a, a.contains('{vendor}'))"));
                    }
                }
            } else if ty == Some("MX") && lower.contains("google") {
                d.push_expect("answers.exists(a, a.contains('google'))");
            } else if ty == Some("CNAME") {
                for (w, target) in [
                    ("cloudfront", "cloudfront.net"),
                    ("netlify", "netlify"),
                    ("vercel", "vercel"),
                    ("fastly", "fastly"),
                    ("heroku", "heroku"),
                    ("github pages", "github.io"),
                    ("azure", "azure"),
                ] {
                    if lower.contains(w) {
                        d.push_expect(format!("answers.exists(a, a.contains('{target}'))"));
                    }
                }
            }
        }
        Some("CAA") => {
            if let Some(ca) = named.iter().find(|h| {
                !cx.is_own(h)
                    || h.contains("letsencrypt")
                    || h.contains("digicert")
                    || h.contains("sectigo")
            }) {
                d.push_expect(format!("answers.exists(a, a.contains({}))", cel_str(ca)));
                if lower.contains("only") {
                    d.push_expect(format!(
                        "answers.all(a, !a.contains('issue') || a.contains({}))",
                        cel_str(ca)
                    ));
                }
            }
        }
        _ => {}
    }
    if lower.contains("ttl") {
        if let Some(b) = bounds(text)
            .into_iter()
            .find(|b| matches!(b.unit, U::Count | U::Ms))
        {
            let secs = if b.unit == U::Ms {
                b.value / 1000.0
            } else {
                b.value
            };
            d.push_expect(format!("ttl <= {}", crate::measure::num(secs)));
        }
    }
    if lower.contains("propagat") {
        d.set("authoritative", Value::Boolean(true));
        d.push_expect("consistent");
    }
    if d.expect.is_empty() && ty.is_none() && !ips.is_empty() {
        // nothing more
    }
    if d.expect.is_empty() {
        d.push_expect("rcode == 'NOERROR' && answers.size() > 0");
        d.expect.clear();
    }
    probe(d.with_vars(vars))
}

// ------------------------------------------------------------------ databases

fn pg() -> Draft {
    Draft::new("postgres", "", "").opt("dsn", s("${env:DATABASE_URL}"))
}

static SQL_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z_][a-z0-9_]*$").expect("valid regex"));

/// Migration conventions: (words, table, dir).
const FRAMEWORKS: &[(&str, &str, &str)] = &[
    ("rails", "schema_migrations", "db/migrate"),
    ("django", "django_migrations", ""),
    ("prisma", "_prisma_migrations", "prisma/migrations"),
    ("alembic", "alembic_version", "migrations/versions"),
    ("flyway", "flyway_schema_history", "db/migration"),
    ("goose", "goose_db_version", "migrations"),
    ("sqlx", "_sqlx_migrations", "migrations"),
    ("knex", "knex_migrations", "migrations"),
    ("diesel", "__diesel_schema_migrations", "migrations"),
];

fn migrations(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    static STATE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"\b(appl(y|ied)|current|pending|up[- ]to[- ]date|count|installed|at head|head|lists? every|none pending|no failed|shows? no|matches)\b|≥|>=",
        )
    });
    if !STATE.is_match(text) {
        return None;
    }
    static TABLE_NAME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\bfrom\s+([A-Za-z_][A-Za-z0-9_.]*)|\b([A-Za-z_][A-Za-z0-9_]*_[A-Za-z0-9_]+|_[A-Za-z0-9_]+)\s*\)?\s*(?:table|lists|shows|up|matches)\b|\(\s*([A-Za-z_][A-Za-z0-9_]*)\s+table\b|`([a-z_]*(?:migrations|version|history|schema_versions)[a-z_]*)`").expect("valid regex")
    });
    static GLOB: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"([A-Za-z0-9_./-]*(?:migrations?|migrate|versions)[A-Za-z0-9_./-]*)/(\*[A-Za-z0-9_.*]*)").expect("valid regex")
    });
    let mut m = toml::map::Map::new();
    let mut notes = vec![];
    let lower = format!("{} {}", text, u.code.join(" ")).to_lowercase();
    let hay = format!("{} {}", text, u.code.join(" "));
    let framework = FRAMEWORKS
        .iter()
        .find(|(w, t, _)| lower.contains(w) || lower.contains(t))
        .or_else(|| FRAMEWORKS.iter().find(|(w, _, _)| cx.mentions(w)));
    let mut vars = vec![];
    if let Some(g) = GLOB.captures(&hay) {
        m.insert("dir".into(), s(g[1].trim_start_matches("./")));
        m.insert("glob".into(), s(&g[2]));
    } else {
        let default = framework.map_or("", |f| f.2);
        vars.push(VarNeed {
            name: "migrations_dir".into(),
            default: default.to_string(),
            hint: if default.is_empty() {
                "folder of the migration files".into()
            } else {
                "folder of the migration files (framework default)".into()
            },
        });
        m.insert("dir".into(), s("${migrations_dir}"));
        notes.push("set migrations_dir to the folder of your migration files".to_string());
    }
    let table_name = TABLE_NAME
        .captures(&hay)
        .and_then(|t| {
            t.get(1)
                .or(t.get(2))
                .or(t.get(3))
                .or(t.get(4))
                .map(|x| x.as_str().to_string())
        })
        .filter(|n| {
            n.contains("migration")
                || n.contains("version")
                || n.contains("history")
                || n.starts_with('_')
        })
        .or_else(|| framework.map(|f| f.1.to_string()));
    if let Some(n) = table_name {
        m.insert("table".into(), s(&n));
    }
    let mut d = pg().opt("migrations", Value::Table(m)).with_vars(vars);
    d.why = "migrations applied: the tracking table against the files".into();
    d.notes = notes;
    probe(d)
}

fn triggers(u: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    let mut names: Vec<String> = u
        .code
        .iter()
        .filter(|c| SQL_NAME.is_match(c))
        .cloned()
        .collect();
    for w in u
        .scope
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
    {
        if SQL_NAME.is_match(w) && w.contains('_') && !names.iter().any(|n| n == w) && w.len() > 3 {
            names.push(w.to_string());
        }
    }
    let _ = text;
    if names.is_empty() {
        return None;
    }
    let mut d = pg().opt("require", table([("triggers", list(&names))]));
    d.why = "the triggers named under the line".into();
    probe(d)
}

fn pg_objects(u: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    let kind = if lower.contains("extension") {
        "extensions"
    } else if Regex::new(r"\broles?\b")
        .expect("valid regex")
        .is_match(&lower)
    {
        "roles"
    } else if lower.contains("index") {
        "indexes"
    } else {
        "tables"
    };
    // Names: code spans, else snake_case words / words joined by `+` next to the kind.
    let mut names: Vec<String> = u
        .code
        .iter()
        .filter(|c| SQL_NAME.is_match(c) && c.len() > 2)
        .cloned()
        .collect();
    if names.is_empty() {
        static JOINED: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"\b([a-z][a-z0-9_]+)\s*(?:\+|,|and)\s*([a-z][a-z0-9_]+)\s+roles?\b|\b([a-z][a-z0-9_]*_[a-z0-9_]+)\b|\b([a-z][a-z0-9]+)\s+extension\b").expect("valid regex")
        });
        for c in JOINED.captures_iter(text) {
            for g in [1, 2, 3, 4] {
                if let Some(m) = c.get(g) {
                    names.push(m.as_str().to_string());
                }
            }
        }
    }
    names.retain(|n| !matches!(n.as_str(), "the" | "all" | "required" | "performance"));
    if names.is_empty() {
        return None;
    }
    if kind == "tables"
        && !(lower.contains("exist") || lower.contains("created") || lower.contains("present"))
    {
        return None;
    }
    if !(lower.contains("exist")
        || lower.contains("created")
        || lower.contains("present")
        || lower.contains("installed")
        || lower.contains("enabled")
        || lower.contains("create")
        || lower.contains("has"))
    {
        return None;
    }
    let mut d = pg().opt("require", table([(kind, list(&names))]));
    d.why = format!("required {kind} named in the line");
    probe(d)
}

fn pg_tls(u: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    let lower = format!("{} {}", text, u.code.join(" ")).to_lowercase();
    let mode = ["verify-full", "verify-ca", "require"]
        .into_iter()
        .find(|m| lower.contains(m))
        .unwrap_or("require");
    let mut d = pg()
        .opt("sslmode", s(mode))
        .expect("connected")
        .expect("ssl");
    d.why = "TLS to the database is a session fact".into();
    probe(d)
}

fn pg_replication(u: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    let _ = u;
    let mut d = match bound(text, U::Ms) {
        Some(b) => {
            let secs = crate::measure::num(b.value / 1000.0);
            pg().opt("query", s("SELECT coalesce(max(extract(epoch FROM replay_lag)), 0)::float AS lag_s FROM pg_stat_replication"))
                .expect(format!("value {} {secs}", b.op))
        }
        None => pg()
            .opt(
                "query",
                s("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"),
            )
            .expect("value >= 1"),
    };
    d.why = "replication state is in pg_stat_replication (on the primary)".into();
    d = d.note("run against the primary: pg_stat_replication lists its replicas");
    probe(d)
}

fn pg_pool(_: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    let b = bound(text, U::Percent)?;
    let mut d = pg()
        .opt("query", s("SELECT count(*)::float / current_setting('max_connections')::float AS used FROM pg_stat_activity"))
        .expect(format!("value {} {}", b.op, b.fraction()));
    d.why = "connections in use against max_connections".into();
    probe(d)
}

fn pg_reachable(u: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    let env = Regex::new(r"\b([A-Z][A-Z0-9_]*DATABASE_URL|DATABASE_URL|[A-Z][A-Z0-9_]*_DSN)\b")
        .expect("valid regex")
        .captures(&format!("{} {}", text, u.code.join(" ")))
        .map_or("DATABASE_URL".to_string(), |c| c[1].to_string());
    let mut d = Draft::new("postgres", "", "a database that must accept connections")
        .opt("dsn", s(&format!("${{env:{env}}}")))
        .expect("connected");
    if text.to_lowercase().contains("read-only") || text.to_lowercase().contains("read only") {
        d.why = "every preflight session is read-only".into();
    }
    probe(d)
}

fn redis_expect(d: &mut Draft, text: &str) {
    let lower = text.to_lowercase();
    d.push_expect("pong");
    if lower.contains("primary") || lower.contains("master") {
        d.push_expect("role == 'master'");
    }
    if Regex::new(r"\breplicas?\b.*\b(attached|connected|present)|\bwith (a )?replicas?\b")
        .expect("valid regex")
        .is_match(&lower)
    {
        d.push_expect("connected_slaves >= 1");
    }
    if let Some(b) = bound(text, U::Bytes) {
        d.push_expect(format!("used_memory {} {}", b.op, b.num()));
    }
}

fn redis(u: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    static STATE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"\b(healthy|reachable|provisioned|ping|pong|up|primary|master|replicas?|answers|connect\w*|available|running|cluster)\b",
        )
    });
    if !STATE.is_match(text) {
        return None;
    }
    let env =
        Regex::new(r"\b([A-Z][A-Z0-9_]*REDIS[A-Z0-9_]*URL|REDIS_URL|[A-Z][A-Z0-9_]*_REDIS)\b")
            .expect("valid regex")
            .captures(&format!("{} {}", text, u.code.join(" ")))
            .map_or("REDIS_URL".to_string(), |c| c[1].to_string());
    let mut d = Draft::new("redis", "", "a Redis that must answer")
        .opt("url", s(&format!("${{env:{env}}}")));
    redis_expect(&mut d, text);
    probe(d)
}

fn tcp_port(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    static PORT: LazyLock<Regex> =
        LazyLock::new(|| re(r"\bports?\s+(\d{2,5})\b|:(\d{2,5})\b|\bon\s+(\d{2,5})\b"));
    let lower = text.to_lowercase();
    let ports: Vec<i64> = PORT
        .captures_iter(text)
        .filter_map(|c| {
            c.get(1)
                .or(c.get(2))
                .or(c.get(3))
                .and_then(|m| m.as_str().parse().ok())
        })
        .filter(|p| (1..=65535).contains(p))
        .collect();
    let port = *ports.last()?;
    if port == 443 && !closed_words(text) && ports.len() > 1 {
        // "allows 443 only — port 22 not reachable": the closed one is the check.
    }
    let closed =
        closed_words(text) || lower.contains("**not**") || lower.contains(" not reachable");
    if !(closed
        || Regex::new(r"(?i)\b(reachable|open|answers?|listening|accepts?|banner|up|connect\w*)\b")
            .expect("valid regex")
            .is_match(text))
    {
        return None;
    }
    let mut vars = vec![];
    let h = host_ref(u, cx, &mut vars)?;
    let mut d = Draft::new(
        "tcp",
        "",
        "a port that must (or must not) accept connections",
    )
    .opt("host", s(&h))
    .opt("port", Value::Integer(port));
    if closed {
        d.push_expect("!connected");
    }
    if let Some(c) = Regex::new(r"\b([1-5]\d\d) banner\b|banner\s+`?([1-5]\d\d)")
        .expect("valid regex")
        .captures(text)
    {
        let code = c.get(1).or(c.get(2)).map_or("", |m| m.as_str());
        d.push_expect("connected");
        d.push_expect(format!("banner.startsWith('{code}')"));
    }
    probe(d.with_vars(vars))
}

// ------------------------------------------------------------------ secrets

static ENV_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b").expect("valid regex"));

fn env_constraints(d: &mut Draft, text: &str) {
    static PREFIX: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?:starts? with|prefix(?:ed)?(?: with)?|begins? with)\s+`?([A-Za-z0-9_:.-]{2,20})`?|\(?`?([a-z]{2,6}[:_])`?\s*prefix",
        )
    });
    if let Some(b) = bounds(text)
        .into_iter()
        .find(|b| b.op.starts_with('>') && (b.unit == U::Count || b.unit == U::Bytes))
    {
        d.set("min_length", Value::Integer(b.value as i64));
    } else if let Some(c) = Regex::new(r"(?i)\b(\d{2,3})[- ](?:byte|char)")
        .expect("valid regex")
        .captures(text)
    {
        if let Ok(n) = c[1].parse::<i64>() {
            d.set("min_length", Value::Integer(n));
        }
    }
    if let Some(c) = PREFIX.captures(text) {
        let p = c.get(1).or(c.get(2)).map_or("", |m| m.as_str());
        d.set("prefix", s(p));
    }
}

fn env_names(u: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    let env_context = Regex::new(
        r"(?i)\b(env|environment|secrets?|variables?|vars?|credentials?|keys?|tokens?|config)\b",
    )
    .expect("valid regex");
    let set_words = Regex::new(r"(?i)\b(set|present|defined|configured|stored|exists?|populated|not empty|at least|starts? with|prefix|byte|characters|rotate|fresh|random|points? at|is not)\b").expect("valid regex");
    if !env_context.is_match(u.headings) && !env_context.is_match(text) && !set_words.is_match(text)
    {
        return None;
    }
    // The names lead the line ("`DATABASE_URL` — …"), or the line says they are set.
    let head: String = text
        .split(['—', '–', '(', ':'])
        .next()
        .unwrap_or("")
        .split(" - ")
        .next()
        .unwrap_or("")
        .to_string();
    let leading: Vec<String> = ENV_NAME
        .captures_iter(&head)
        .map(|c| c[1].to_string())
        .collect();
    let rest_ok = !leading.is_empty()
        && head
            .split(['/', ',', ' ', '+'])
            .filter(|w| !w.trim().is_empty())
            .all(|w| ENV_NAME.is_match(w.trim()) || matches!(w.trim(), "and" | "&"));
    let starts_with_name = ENV_NAME.find(text).is_some_and(|m| m.start() == 0);
    static LISTED: LazyLock<Regex> =
        LazyLock::new(|| re(r"\b(env(ironment)?\s+var(iable)?s?|variables|secrets)\b[^:]*:\s*\S"));
    let names: Vec<String> = if rest_ok || starts_with_name && set_words.is_match(text) {
        leading
    } else if set_words.is_match(text)
        || LISTED.is_match(text)
            && (env_context.is_match(text)
                || env_context.is_match(u.headings)
                || u.code.iter().any(|c| ENV_NAME.is_match(c)))
    {
        let mut v: Vec<String> = vec![];
        for c in ENV_NAME.captures_iter(text) {
            let n = c[1].to_string();
            let at = c.get(1).expect("group").end();
            if text[at..].starts_with('*') || text[at..].starts_with("_*") {
                continue;
            }
            if !v.contains(&n) {
                v.push(n);
            }
        }
        v
    } else {
        return None;
    };
    if names.is_empty() || head.contains('*') {
        return None;
    }
    let lower = text.to_lowercase();
    if lower.contains("if present") || lower.contains("(optional") {
        return None;
    }
    // A constraint right after one name is that name's ("`A` (64+ chars), `B`"); one
    // after the last name is every name's that has none of its own.
    let at: Vec<(usize, usize)> = names
        .iter()
        .filter_map(|n| text.find(n.as_str()).map(|i| (i, i + n.len())))
        .collect();
    let constraints = |seg: &str| {
        let mut d = Draft::new("env", "", "");
        env_constraints(&mut d, seg);
        d.options
    };
    let trailing = at
        .last()
        .map_or(text.to_string(), |(_, end)| text[*end..].to_string());
    let mut groups: Vec<(Vec<(String, toml::Value)>, Vec<String>)> = vec![];
    for (k, n) in names.iter().enumerate() {
        let own = match (at.get(k), at.get(k + 1)) {
            (Some((_, end)), Some((next, _))) if next > end => constraints(&text[*end..*next]),
            _ => vec![],
        };
        let c = if own.is_empty() {
            constraints(&trailing)
        } else {
            own
        };
        match groups.iter_mut().find(|(g, _)| *g == c) {
            Some((_, ns)) => ns.push(n.clone()),
            None => groups.push((c, vec![n.clone()])),
        }
    }
    static DOTENV: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?:^|[\s`(])(\.env(?:\.[a-z0-9_-]+)?|[a-z0-9_./-]+\.env)\b")
            .expect("valid regex")
    });
    let file = DOTENV
        .captures(&format!("{text} {}", u.code.join(" ")))
        .map(|c| c[1].to_string());
    let mut drafts = vec![];
    for (c, ns) in groups {
        let mut d = Draft::new("env", "", "environment variables named in the line")
            .opt("names", list(&ns));
        if let Some(f) = &file {
            d.set("file", s(f));
        }
        for (k, v) in c {
            d.set(&k, v);
        }
        let mut probe_notes = vec![];

        if Regex::new(r"(?i)not the stag|not reuse|rotate|fresh|not the stage")
            .expect("valid regex")
            .is_match(text)
        {
            probe_notes.push(
                "set same_as = \"…\" to the staging dotenv file to check values are not reused"
                    .to_string(),
            );
        }
        probe_notes.push(match &file {
            Some(f) => format!("reads {f} relative to where preflight runs (names only, never values)"),
            None => "checks the environment preflight runs in (names only, never values); set file = \"…\" to check a dotenv file".into(),
        });
        d.notes = probe_notes;
        drafts.push(d);
    }
    Some(Verdict::Probe(drafts))
}

fn env_all(_: &Unit<'_>, _: &str, cx: &mut Context) -> Option<Verdict> {
    let mut d = Draft::new("env", "", "every variable the checklist names")
        .opt("names", list(&cx.env_names));
    d.all_env_names = true;
    d.notes.push("names: every environment variable the source and this checklist name; add the ones it does not".into());
    probe(d)
}

fn env_vendor(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    let vendor = Regex::new(r"(?i)\b([a-z][a-z0-9]+)(?:/[a-z]+)?\s+(?:dsn|api keys?|secret keys?|tokens?|credentials|email service)?").expect("valid regex")
        .captures(&lower)?[1]
        .to_uppercase();
    if matches!(
        vendor.as_str(),
        "THE" | "ALL" | "API" | "PROD" | "PRODUCTION" | "NEW" | "OLD"
    ) {
        return None;
    }
    let prefix = format!("{vendor}_");
    let known: Vec<String> = cx
        .env_names
        .iter()
        .filter(|n| {
            n.starts_with(&prefix)
                && (n.contains("KEY")
                    || n.contains("SECRET")
                    || n.contains("DSN")
                    || n.contains("TOKEN"))
        })
        .cloned()
        .collect();
    let names = if !known.is_empty() {
        let pick: Vec<String> = known
            .iter()
            .filter(|n| !n.contains("WEBHOOK"))
            .cloned()
            .collect();
        if pick.is_empty() { known } else { pick }
    } else if lower.contains(" dsn") {
        vec![format!("{vendor}_DSN")]
    } else {
        return None;
    };
    let mut d = Draft::new(
        "env",
        "",
        format!(
            "{} credentials are environment variables",
            vendor.to_lowercase()
        ),
    )
    .opt("names", list(&names));
    if lower.contains("dsn") {
        d.set("prefix", s("https://"));
    }
    if lower.contains("live") && names.iter().any(|n| n.starts_with("STRIPE_SECRET")) {
        d.set("prefix", s("sk_live_"));
    }
    let _ = u;
    probe(d)
}

// ------------------------------------------------------------------ metrics

/// The Prometheus URL var (from the document when it names one).
fn prometheus_var(cx: &mut Context, vars: &mut Vec<VarNeed>, alertmanager: bool) -> String {
    let word = if alertmanager {
        "alertmanager"
    } else {
        "prometheus"
    };
    if let Some(h) = cx.component(word).map(|k| k.host.clone()) {
        return cx.url_var(&h, vars);
    }
    vars.push(VarNeed {
        name: word.into(),
        default: String::new(),
        hint: if alertmanager {
            "Alertmanager base URL, e.g. http://alertmanager:9093".into()
        } else {
            "Prometheus base URL, e.g. http://prometheus:9090".into()
        },
    });
    format!("${{{word}}}")
}

/// A metrics vendor the document uses that is not Prometheus.
fn other_metrics_vendor(cx: &Context, text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    for (w, name) in [
        ("application insights", "Application Insights"),
        ("datadog", "Datadog"),
        ("new relic", "New Relic"),
        ("cloudwatch", "CloudWatch"),
        ("stackdriver", "Cloud Monitoring"),
        ("honeycomb", "Honeycomb"),
    ] {
        if lower.contains(w) {
            return Some(name);
        }
        if cx.mentions(w)
            && !cx.mentions("prometheus")
            && !cx.mentions("grafana")
            && !cx.mentions("alertmanager")
            && !cx.mentions("promql")
        {
            return Some(name);
        }
    }
    None
}

fn window(text: &str) -> String {
    static W: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"\b(?:for|over|during|in)\s+(?:the\s+)?(?:last\s+|first\s+)?(\d+)\s*(m|min|mins|minutes?|h|hours?)\b|\b(?:over|in|during)\s+the\s+(?:first|last)\s+(hour|day)\b",
        )
    });
    match W.captures(text) {
        Some(c) => match (c.get(1), c.get(2), c.get(3)) {
            (Some(n), Some(u), _) => format!(
                "{}{}",
                n.as_str(),
                if u.as_str().starts_with('h') {
                    "h"
                } else {
                    "m"
                }
            ),
            (_, _, Some(u)) if u.as_str() == "day" => "1d".into(),
            _ => "1h".into(),
        },
        None => "15m".into(),
    }
}

fn error_rate(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    if let Some(v) = other_metrics_vendor(cx, text) {
        return Some(Verdict::Manual(format!("needs a probe for {v}")));
    }
    let b = bound(text, U::Percent)?;
    let w = window(text);
    let mut vars = vec![];
    let url = prometheus_var(cx, &mut vars, false);
    let _ = u;
    let d = Draft::new("prometheus", "", "an error-rate threshold over production traffic")
        .opt("url", s(&url))
        .opt("query", s(&format!("sum(rate(http_requests_total{{code=~\"5..\"}}[{w}])) / sum(rate(http_requests_total[{w}]))")))
        .expect("count > 0")
        .expect(format!("value {} {}", b.op, b.fraction()))
        .note("assumes the request counter is http_requests_total with a code label; use your metric names");
    probe(d.with_vars(vars))
}

fn alerts_firing(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    if let Some(v) = other_metrics_vendor(cx, text) {
        return Some(Verdict::Manual(format!("needs a probe for {v}")));
    }
    let lower = text.to_lowercase();
    if !(lower.contains("no ")
        || lower.contains("not firing")
        || lower.contains("none")
        || lower.contains("zero"))
    {
        return None;
    }
    let mut m = toml::map::Map::new();
    static SEV: LazyLock<Regex> =
        LazyLock::new(|| re(r"\b(p[0-4]|sev[0-4]|critical|warning|page|high)\b\s+alerts?"));
    static LABEL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"\b([a-z_]+)\s*=\s*"([^"]+)""#).expect("valid regex"));
    static NAME: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\b[Aa]lert\s+`?([A-Z][A-Za-z0-9]+)`?").expect("valid regex"));
    if let Some(c) = SEV.captures(text) {
        let sev = &c[1];
        let v = if sev.to_lowercase().starts_with('p') || sev.to_lowercase().starts_with("sev") {
            sev.to_uppercase()
        } else {
            sev.to_lowercase()
        };
        m.insert("severity".into(), s(&v));
    }
    for c in LABEL
        .captures_iter(text)
        .chain(u.code.iter().flat_map(|c| LABEL.captures_iter(c)))
    {
        m.insert(c[1].to_string(), s(&c[2]));
    }
    if let Some(c) = NAME.captures(text) {
        m.insert("alertname".into(), s(&c[1]));
    }
    let mut vars = vec![];
    let url = prometheus_var(cx, &mut vars, true);
    let mut d = Draft::new(
        "prometheus",
        "",
        "alerts firing are what Alertmanager holds",
    )
    .opt("alertmanager", s(&url));
    if !m.is_empty() {
        d.set("match", Value::Table(m));
    }
    d.push_expect("firing == 0");
    probe(d.with_vars(vars))
}

fn alert_rules(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    if let Some(v) = other_metrics_vendor(cx, text) {
        return Some(Verdict::Manual(format!("needs a probe for {v}")));
    }
    let mut vars = vec![];
    let url = prometheus_var(cx, &mut vars, false);
    let _ = u;
    let d = Draft::new(
        "prometheus",
        "",
        "loaded alert rules are a Prometheus metric",
    )
    .opt("url", s(&url))
    .opt("query", s("sum(prometheus_rule_group_rules)"))
    .expect("count > 0")
    .expect("value > 0");
    probe(d.with_vars(vars))
}

fn scrape_target(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    if let Some(v) = other_metrics_vendor(cx, text) {
        return Some(Verdict::Manual(format!("needs a probe for {v}")));
    }
    let lower = text.to_lowercase();
    let mut sel = vec![];
    if let Some(c) = Regex::new(r"\b([a-z0-9-]+)\s+namespace\b|\bnamespace\s+`?([a-z0-9-]+)")
        .expect("valid regex")
        .captures(&lower)
    {
        let ns = c.get(1).or(c.get(2)).map_or("", |m| m.as_str());
        if ns != "the" && ns != "production" || ns == "production" {
            sel.push(format!("namespace=\"{ns}\""));
        }
    }
    if let Some(j) = u
        .code
        .iter()
        .find(|c| !c.starts_with('/') && SQL_NAME.is_match(&c.replace('-', "_")))
    {
        sel.push(format!("job=~\".*{j}.*\""));
    }
    let mut vars = vec![];
    let url = prometheus_var(cx, &mut vars, false);
    let query = if sel.is_empty() {
        "count(up == 1)".to_string()
    } else {
        format!("count(up{{{}}} == 1)", sel.join(", "))
    };
    let mut d = Draft::new(
        "prometheus",
        "",
        "scraped targets are Prometheus' own `up` series",
    )
    .opt("url", s(&url))
    .opt("query", s(&query))
    .expect("count > 0");
    if sel.is_empty() {
        d = d.note("add a job or namespace selector to up{} for the target the line means");
    }
    probe(d.with_vars(vars))
}

fn metric_threshold(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    if let Some(v) = other_metrics_vendor(cx, text) {
        return Some(Verdict::Manual(format!("needs a probe for {v}")));
    }
    let lower = text.to_lowercase();
    let pct = |q: &str, note: &'static str| {
        bound(text, U::Percent).map(|b| (q.to_string(), b.op, b.fraction(), note))
    };
    let (query, op, value, note) = if lower.contains("disk") {
        pct(
            "max(1 - node_filesystem_avail_bytes{fstype!~\"tmpfs|overlay\"} / node_filesystem_size_bytes{fstype!~\"tmpfs|overlay\"})",
            "node_exporter filesystem metrics",
        )?
    } else if lower.contains("cpu") {
        pct(
            "max(1 - rate(node_cpu_seconds_total{mode=\"idle\"}[5m]))",
            "node_exporter CPU metrics",
        )?
    } else if lower.contains("memory") {
        pct(
            "max(1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)",
            "node_exporter memory metrics",
        )?
    } else if lower.contains("consumer lag") {
        let b = bounds(text)
            .into_iter()
            .find(|b| b.unit == U::Count && b.op != "==")?;
        let group = u
            .code
            .first()
            .map(|g| format!("{{consumergroup=\"{g}\"}}"))
            .unwrap_or_default();
        (
            format!("sum(kafka_consumergroup_lag{group})"),
            b.op,
            b.num(),
            "kafka_exporter metrics",
        )
    } else {
        return None;
    };
    let mut vars = vec![];
    let url = prometheus_var(cx, &mut vars, false);
    let d = Draft::new(
        "prometheus",
        "",
        "a resource threshold from standard exporter metrics",
    )
    .opt("url", s(&url))
    .opt("query", s(&query))
    .expect("count > 0")
    .expect(format!("value {op} {value}"))
    .note(format!("assumes {note}; use your metric names"));
    probe(d.with_vars(vars))
}

fn traffic(_: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    if let Some(v) = other_metrics_vendor(cx, text) {
        return Some(Verdict::Manual(format!("needs a probe for {v}")));
    }
    let lower = text.to_lowercase();
    let ns = Regex::new(r"\b(prod|production)\b")
        .expect("valid regex")
        .is_match(&lower)
        .then(|| cx.namespace.clone())
        .flatten();
    let sel = ns
        .map(|n| format!("{{namespace=\"{n}\"}}"))
        .unwrap_or_default();
    let mut vars = vec![];
    let url = prometheus_var(cx, &mut vars, false);
    let d = Draft::new("prometheus", "", "traffic is the request rate Prometheus records")
        .opt("url", s(&url))
        .opt("query", s(&format!("sum(rate(http_requests_total{sel}[5m]))")))
        .expect("count > 0")
        .expect("value > 0")
        .note("assumes the request counter is http_requests_total; add the labels of the service the line means");
    probe(d.with_vars(vars))
}

// ------------------------------------------------------------------ tools

fn kubernetes(cx: &Context) -> bool {
    [
        "kubectl",
        "kubernetes",
        "k8s",
        "gke",
        "eks",
        "aks",
        "helm",
        "namespace",
    ]
    .iter()
    .any(|w| cx.mentions(w))
}

fn kube_object(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    if !kubernetes(cx) {
        return None;
    }
    let lower = text.to_lowercase();
    let ns = Regex::new(r"\bnamespace\s+`?([a-z0-9-]+)`?|\b([a-z0-9-]+)\s+namespace\b")
        .expect("valid regex")
        .captures(&lower)
        .and_then(|c| c.get(1).or(c.get(2)).map(|m| m.as_str().to_string()))
        .filter(|n| n != "the" && n != "every" && n != "each")
        .or_else(|| cx.namespace.clone());
    let nsarg = ns.map(|n| format!(" -n {n}")).unwrap_or_default();
    static NAME: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\bfor\s+`?([a-z][a-z0-9-]+)`?").expect("valid regex"));
    let name = NAME
        .captures(text)
        .map(|c| c[1].to_string())
        .filter(|n| !matches!(n.as_str(), "api" | "the" | "all") || true);
    let (shell, why, json): (String, &str, Option<String>) = if Regex::new(
        r"\b(hpa|horizontalpodautoscaler)\b",
    )
    .expect("valid regex")
    .is_match(&lower)
    {
        let n = bounds(text)
            .into_iter()
            .find(|b| b.unit == U::Count)
            .map_or("2".to_string(), |b| b.num());
        match &name {
            Some(nm) => (
                format!("kubectl{nsarg} get hpa {nm} -o json"),
                "the HPA's minReplicas",
                Some(format!("json.spec.minReplicas >= {n}")),
            ),
            None => (
                format!("kubectl{nsarg} get hpa -o json"),
                "every HPA's minReplicas",
                Some(format!(
                    "json.items.size() > 0 && json.items.all(h, h.spec.minReplicas >= {n})"
                )),
            ),
        }
    } else if Regex::new(r"\b(pdb|poddisruptionbudget)\b")
        .expect("valid regex")
        .is_match(&lower)
    {
        match &name {
            Some(nm) => (
                format!("kubectl{nsarg} get pdb {nm}"),
                "the PodDisruptionBudget exists",
                None,
            ),
            None => (
                format!("kubectl{nsarg} get pdb -o name | grep -q ."),
                "a PodDisruptionBudget exists",
                None,
            ),
        }
    } else if Regex::new(r"\b(pvcs?|persistent volume claims?)\b")
        .expect("valid regex")
        .is_match(&lower)
    {
        (
            format!(
                "kubectl{nsarg} get pvc --no-headers | awk '$2 != \"Bound\" {{ bad = 1 }} END {{ exit bad }}'"
            ),
            "every PVC is Bound",
            None,
        )
    } else if lower.contains("cluster health")
        || lower.contains("kubernetes cluster")
        || Regex::new(r"\bnodes?\b.*\bready\b")
            .expect("valid regex")
            .is_match(&lower)
    {
        (
            "kubectl get nodes --no-headers | awk '$2 != \"Ready\" { bad = 1 } END { exit bad }'"
                .to_string(),
            "every node is Ready",
            None,
        )
    } else if Regex::new(r"\bpods\b.*\brunning\b|\ball pods\b")
        .expect("valid regex")
        .is_match(&lower)
    {
        (
            format!(
                "kubectl{nsarg} get pods --no-headers | awk '$3 != \"Running\" && $3 != \"Completed\" {{ bad = 1 }} END {{ exit bad }}'"
            ),
            "every pod is Running",
            None,
        )
    } else if lower.contains("helmrepository") || lower.contains("image polic") {
        (
            format!("kubectl{nsarg} get imagepolicy,helmrepository"),
            "the Flux objects exist",
            None,
        )
    } else if lower.contains("scheduledbackup") || lower.contains("backup resource") {
        (
            format!("kubectl{nsarg} get scheduledbackups.postgresql.cnpg.io -o name | grep -q ."),
            "the cnpg ScheduledBackup exists",
            None,
        )
    } else {
        return None;
    };
    let _ = u;
    let mut d = Draft::new("command", "", format!("kubectl shows it: {why}"));
    let simple = !shell.contains('|') && !shell.contains('\'');
    if simple {
        d.set("argv", list(shell.split_whitespace()));
    } else {
        d.set("shell", s(&shell));
    }
    if let Some(j) = json {
        d.push_expect(j);
        d = d.uses("command.json");
    }
    d = d.note("uses your current kubectl context");
    probe(d)
}

fn vulnerabilities(_: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    if !(lower.contains("no ")
        || lower.contains("zero")
        || lower.contains("without")
        || lower.contains("0 "))
    {
        return None;
    }
    let level = if lower.contains("high") {
        "high"
    } else if lower.contains("moderate") {
        "moderate"
    } else {
        "critical"
    };
    let argv: Vec<String> = if cx.mentions("npm")
        || cx.mentions("npx")
        || cx.mentions("node")
        || cx.mentions("package.json")
    {
        vec![
            "npm".into(),
            "audit".into(),
            format!("--audit-level={level}"),
            "--omit=dev".into(),
        ]
    } else if cx.mentions("cargo") {
        vec!["cargo".into(), "audit".into()]
    } else if cx.mentions("pip")
        || cx.mentions("django")
        || cx.mentions("poetry")
        || cx.mentions("fastapi")
    {
        vec!["pip-audit".into()]
    } else {
        return None;
    };
    let mut d = Draft::new(
        "command",
        "",
        "a dependency audit exits non-zero on findings",
    )
    .opt("argv", list(&argv));
    d.timeout = Some("2m");
    probe(d)
}

fn file_size(u: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    let c = Regex::new(r"(?i)(\d+)\s*(kb|mb|k|m)\b.*?\bin\s+`?([A-Za-z0-9_./-]+?)/?`?(?:[\s),]|$)")
        .expect("valid regex")
        .captures(text)?;
    let unit = if c[2].to_lowercase().starts_with('m') {
        "M"
    } else {
        "k"
    };
    let dir = u
        .code
        .iter()
        .find(|x| x.contains('/') || !x.contains(' '))
        .map_or(c[3].to_string(), |x| x.trim_end_matches('/').to_string());
    let d = Draft::new("command", "", "file sizes are what `find` reports").opt(
        "shell",
        s(&format!(
            "! find {dir} -type f -size +{}{unit} | grep -q .",
            &c[1]
        )),
    );
    probe(d)
}

fn file_setting(_: &Unit<'_>, text: &str, _: &mut Context) -> Option<Verdict> {
    let c = Regex::new(r#"(?i)^edit\s+(\S+?\.(?:toml|ya?ml|json|env|ini|conf|cfg)):?\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.+)$"#).expect("valid regex").captures(text)?;
    let line = format!("{} = {}", &c[2], c[3].trim());
    let d = Draft::new(
        "command",
        "",
        "the file must hold the setting the line names",
    )
    .opt("argv", list(["grep", "-qF", line.as_str(), &c[1]]));
    probe(d)
}

// ------------------------------------------------------------------ latency

fn latency(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let b = bound(text, U::Ms)?;
    static PCT: LazyLock<Regex> =
        LazyLock::new(|| re(r"\bp(50|75|90|95|99)\b|\b(median|average|mean)\b"));
    let pct = PCT.captures(text).map(|c| match c.get(1) {
        Some(p) => p.as_str().to_string(),
        None => "50".into(),
    });
    let path = METHOD_PATH
        .captures(text)
        .map(|c| c[2].to_string())
        .or_else(|| first_path(text));
    let lower = text.to_lowercase();
    let api = lower.contains("api")
        || path
            .as_deref()
            .is_some_and(|p| p.contains("api") || p.starts_with("/v"));
    let mut d = match &path {
        Some(p) => http_on(
            u,
            cx,
            Some(api),
            p,
            "a latency threshold on a named endpoint",
        )?,
        None => http_on(
            u,
            cx,
            if lower.contains("page") || lower.contains("site") {
                Some(false)
            } else {
                None
            },
            "/",
            "a latency threshold",
        )?
        .note("the line names no endpoint: point url at a representative one"),
    };
    match pct {
        Some(p) => {
            d.set("samples", Value::Integer(20));
            d.push_expect(b.expr(&format!("latency.p{p}")));
        }
        None => d.push_expect(b.expr("latency_ms")),
    }
    probe(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::scan;

    fn judge_text(doc: &str, text: &str) -> Outcome {
        let mut cx = Context::read(doc, &scan(doc));
        let u = Unit {
            text,
            code: &[],
            scope: text,
            headings: "",
        };
        judge(&u, On::Text, &mut cx, &|_| true)
    }

    fn one(doc: &str, text: &str) -> Draft {
        match judge_text(doc, text) {
            Outcome::Probe(mut d) => d.remove(0),
            Outcome::Manual(r) => panic!("manual: {r}"),
            Outcome::Nothing => panic!("nothing for {text}"),
        }
    }

    #[test]
    fn rules_compile_and_every_rule_names_a_probe_or_a_reason() {
        assert_eq!(COMPILED.len(), RULES.len());
        let mut names = std::collections::BTreeSet::new();
        for r in RULES {
            assert!(
                names.insert(r.name) || r.name == "alerts-firing",
                "duplicate rule {}",
                r.name
            );
        }
    }

    #[test]
    fn http_lines() {
        let d = one("", "GET /api/health returns 200");
        assert_eq!(d.get("url").unwrap().as_str(), Some("${api}/api/health"));
        assert_eq!(d.expect, vec!["status == 200"]);
        let d = one(
            "API: https://api.x.example",
            "/health returns { status: \"healthy\" }",
        );
        assert_eq!(d.get("url").unwrap().as_str(), Some("${api}/health"));
        assert_eq!(d.expect, vec!["json.status == 'healthy'"]);
        assert!(matches!(
            judge_text("", "POST /api/reset returns 200"),
            Outcome::Manual(_)
        ));
    }

    #[test]
    fn latency_uses_the_lines_operator() {
        let d = one("", "p95 ≤ 200 ms on GET /api/search");
        assert_eq!(d.expect, vec!["latency.p95 <= 200"]);
        assert_eq!(d.get("samples"), Some(&Value::Integer(20)));
    }

    #[test]
    fn missing_capabilities_leave_the_line_manual_with_a_reason() {
        let mut cx = Context::default();
        let u = Unit {
            text: "WebSocket handshake to wss://rt.x.example/socket succeeds",
            code: &[],
            scope: "",
            headings: "",
        };
        match judge(&u, On::Text, &mut cx, &|p| p == "http") {
            Outcome::Manual(r) => assert_eq!(r, "needs the websocket probe"),
            _ => panic!("expected manual"),
        }
    }
}
