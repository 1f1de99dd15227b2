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

mod commands;
mod data;
mod metrics;
mod names;
mod web;

use commands::*;
use data::*;
use metrics::*;
use names::*;
use web::*;

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
    rule!("write-command", "", [], Code, r"^(curl|kubectl|oc|helm|terraform|argocd|psql|git|npm|yarn|pnpm|npx|rails|bundle|python3?|node|flyctl|fly|heroku|aws|gcloud|az|\./\S+|bin/\S+|sqlx|prisma|alembic|flyway|goose)\b", "", write_command),
    rule!("curl", "http", [], Code, r"^curl\s", "", curl),
    rule!("request-in-code", "http", [], Code, r"^(GET|HEAD)\s+(https?://|/)", "", request_in_code),
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
    rule!("redirect-www", "http", [], Text, r"\bwww\b.*\bredirect|redirect.*\bwww\b|\bwww\..*(→|->)\s*30[1278]\b|\bwww\b.*\bto the (apex|root|bare domain)\b", "", redirect_www),
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
    rule!("served", "http", [], Text, r"\b(served|serves|serving|reachable|loads|accessible|answers?|responds?|responding|returns? data|is up|are up|online|(is |goes )?live at|available at|published at)\b", r"\bdns\b|resolv|\bport\b|\bcname\b|\brecord", served),
    // ---- TLS
    rule!("tls-versions", "tls", [], Text, r"\btls\s*v?1\.[0-3]|\bssl\s*v?[23]\b|\btls1[._]?[0-3]|\btls\b.*\bversion\s+1\.[0-3]", "", tls_versions),
    rule!("starttls", "tls", ["tls.starttls"], Text, r"starttls|\b(smtp|imap|pop3|mail server|mx\d*)\b.*\b(tls|ssl|certificate)|\bport (25|587|465|993|995)\b.*(tls|certificate)", "", starttls),
    rule!("tls", "tls", [], Text, r"\b(tls|ssl|certs?|certificates?|https|ocsp)\b", r"certificate pinning|client cert|renew\w* automatically|auto-?renew|starttls|\bsmtp\b|\bimap\b|mail server|\bport (25|587|465|993|995|143|110)\b|\bapns\b|push (notification )?cert|signing|code.?sign|soc ?2|\biso\b|insurance|certificate of", tls),
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
    rule!("env-names", "env", [], Text, r"\b[A-Z][A-Z0-9]*(_[A-Z0-9]+)+\b", r"\bflags?\b|launchdarkly|remote config|\bld\b", env_names),
    rule!("env-vendor", "env", [], Text, r"\b[a-z][a-z0-9]+\s+(dsn|api keys?|secret keys?|tokens?|credentials)\b|\b(sendgrid|stripe|sentry|twilio|mailgun|postmark|resend)\b.*\b(configured|set)\b", r"dashboard|revoked|rotate", env_vendor),
    // ---- databases
    rule!("migrations", "postgres", [], Text, r"\bmigrations?\b|schema_migrations|alembic|flyway|liquibase|_migrations|databasechangelog|changesets?\b", r"rollback|roll back|\btest(ed|s)?\b|scripts?\b|snapshot|staging|clickhouse", migrations),
    rule!("triggers", "postgres", [], Text, r"\btriggers?\b", "", triggers),
    rule!("pg-objects", "postgres", [], Text, r"\b(extensions?|roles?|indexes|index|tables?)\b", r"\bclickhouse\b|\biam\b|\baws\b|\bk8s\b|kubernetes|rbac", pg_objects),
    rule!("pg-tls", "postgres", [], Text, r"sslmode|\b(postgres\w*|database|db|connections?)\b.*\b(tls|ssl)\b", "", pg_tls),
    rule!("pg-replication", "postgres", [], Text, r"\breplica(tion)?\b.*\b(lag|sync|delay|status|behind)\b", r"clickhouse|redis|kafka|\bcho\b", pg_replication),
    rule!("pg-pool", "postgres", [], Text, r"connection pool|\bconnections?\b.*\b(utili[sz]ation|usage|used)\b", r"sized|size\b|settings|\bmax \d", pg_pool),
    rule!("pg-reachable", "postgres", [], Text, r"\b(postgres(ql)?|database|db|rds|cloud sql|neon|supabase|aurora)\b.*\b(reachable|provisioned|accepts?|available|is up|up and running|connect\w*|healthy|stable|sessions?)\b", r"backup|snapshot|restore|multi-az|pool|clickhouse|\bpitr\b|connection string|rotat|migrat|seed|sync|up to date", pg_reachable),
    rule!("redis", "redis", [], Text, r"\b(redis|memorystore|elasticache|upstash|valkey|keydb)\b", r"sidekiq|queue", redis),
    rule!("tcp-port", "tcp", [], Text, r"\bports?\s+\d{2,5}\b|[a-z][a-z0-9-]*(\.[a-z0-9-]+)*:\d{2,5}\b|\bon\s+\d{3,5}\b", r"\bhttps?://|\bsvc\b|→", tcp_port),
    // ---- metrics and alerts
    rule!("error-rate", "prometheus", [], Text, r"\b(error rate|5xx (rate|ratio)|error ratio|errors? below|failure rate)\b", r"crash|sentry|datadog|cloudwatch|insights|new relic", error_rate),
    rule!("alerts-firing", "prometheus", [], Text, r"\balerts?\b.*\b(firing|fire|active)\b|\bno\b.*\balerts?\b", r"wired|routing|rules? (deployed|loaded)|exist\w* and|pagerduty|opsgenie", alerts_firing),
    rule!("alert-exists", "prometheus", [], Text, r"\balert\s+`?[A-Z][A-Za-z]+`?\s+exists", "", alerts_firing),
    rule!("alert-rules", "prometheus", [], Text, r"\balert(ing)? rules?\b.*\b(deployed|loaded|active)\b", "", alert_rules),
    rule!("scrape-target", "prometheus", [], Text, r"\bscrap(es|ed|ing)\b.*\b(metrics|targets?|pods|endpoints?|namespace|exporter)\b|\btargets?\s+(is\s+)?up\b|servicemonitor|podmonitor", r"loki|promtail|alloy|logs?\b", scrape_target),
    rule!("traffic", "prometheus", [], Text, r"\b(shows?|receives?|gets?|has|with) (live |real |production)?traffic\b|\btraffic (from|on|reaches|arrives)\b", r"\bno traffic|crash", traffic),
    rule!("metric-threshold", "prometheus", [], Text, r"\b(disk|cpu|memory|consumer lag|traffic)\b", r"dashboard shows|crash", metric_threshold),
    // ---- Kubernetes and other tools named by what they manage
    rule!("kube-object", "command", [], Text, r"\b(hpa|horizontalpodautoscaler|pdb|poddisruptionbudget|pvcs?|persistent volume claims?|nodes?|pods|imagepolic\w+|scheduledbackup|backup resource|cluster health|kubernetes cluster)\b|helmrepositor", r"autoscaling limits|node capacity|node pool", kube_object),
    rule!("vulnerabilities", "command", [], Text, r"\bvulnerabilit\w+|\bcves?\b", r"scan(ned)? (\(|with|by) ?(codeql|snyk)|bounty|pen(etration)? test", vulnerabilities),
    rule!("file-size", "command", [], Text, r"\bno (file|image|asset)s? (is)?(over|larger than|above|bigger than)\s+\d+\s*(kb|mb|k|m)\b", "", file_size),
    rule!("file-setting", "command", [], Text, r"^edit\s+\S+\.(toml|ya?ml|json|env|ini|conf|cfg)\b", "", file_setting),
    // ---- latency, last: numbers mean many things
    rule!("latency", "http", [], Text, r"\bp(50|75|90|95|99)\b|latenc\w+|response times?|\bloads? in\b|\banswers? in\b", r"trends?|dashboard shows|review|alarm|alert|support|tickets?|repl(y|ies)|\bsla\b|customers?|on-?call|incident", latency),
];

const COMMANDS: &str = r"^(php|dotnet|python3?\s+manage\.py|kubectl|oc|nomad|consul|nats|vault|helm|argocd|terraform|gh|glab|npm|npx|yarn|pnpm|pytest|go|cargo|trivy|k6|hugo|dbt|airflow|kafka-topics(\.sh)?|sqlx|alembic|flyway|rails|bundle|make|systemctl|docker|aws|gcloud|az|doctl|flyctl|fly|heroku|vercel|netlify|grep|test|jq|\./\S+|bin/\S+)\b";

fn re(p: &str) -> Regex {
    Regex::new(&format!("(?i){p}")).expect("valid regex")
}

static COMPILED: LazyLock<Vec<(Regex, Option<Regex>)>> = LazyLock::new(|| {
    RULES
        .iter()
        .map(|r| (re(r.when), (!r.unless.is_empty()).then(|| re(r.unless))))
        .collect()
});

/// A shell command (a tool, arguments, at least one flag — or any arguments when
/// `in_command_column`) that no code rule knows.
pub fn unknown_command(code: &str, in_command_column: bool) -> bool {
    let w: Vec<&str> = code.split_whitespace().collect();
    let tool_like = w
        .first()
        .is_some_and(|t| rx!(r"^(\./)?[a-z][a-z0-9_.-]*$").is_match(t));
    let flagged = w.iter().skip(1).any(|x| rx!(r"^--?[a-zA-Z]").is_match(x));
    let known = COMPILED
        .iter()
        .zip(RULES.iter())
        .any(|((when, _), r)| r.on == On::Code && when.is_match(code));
    w.len() >= 2 && tool_like && (flagged || in_command_column) && !known
}

/// Whether the rule called `name` excludes `text` (its `unless` matches).
fn text_rule_excludes(name: &str, text: &str) -> bool {
    RULES
        .iter()
        .zip(COMPILED.iter())
        .find(|(r, _)| r.name == name)
        .and_then(|(_, (_, unless))| unless.as_ref())
        .is_some_and(|u| u.is_match(text))
}

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

/// Rules that may add a part to a box another rule already checks: compound lines
/// ("RESEND_API_KEY — …; SPF/DKIM/DMARC green", "connections stable; no alerts firing").
const ALSO: &[&str] = &["spf", "dmarc", "dkim", "mail-txt", "alerts-firing"];

/// The further checks of a compound line: rules in [`ALSO`] whose probe is not `probe`.
pub fn also(
    unit: &Unit<'_>,
    probe: &str,
    cx: &mut Context,
    available: &dyn Fn(&str) -> bool,
) -> Vec<Draft> {
    let mut out = vec![];
    let mut done: Vec<&str> = vec![];
    for (rule, (when, unless)) in RULES.iter().zip(COMPILED.iter()) {
        if !ALSO.contains(&rule.name) || rule.probe == probe || rule.on != On::Text {
            continue;
        }
        let h = unit.text.trim();
        if !when.is_match(h) || unless.as_ref().is_some_and(|u| u.is_match(h)) {
            continue;
        }
        if !available(rule.probe) || rule.needs.iter().any(|n| !available(n)) {
            continue;
        }
        // The raw TXT fallback only when no parsed mail rule applied.
        if rule.name == "mail-txt" && done.iter().any(|d| matches!(*d, "spf" | "dmarc" | "dkim")) {
            continue;
        }
        if let Some(Verdict::Probe(drafts)) = (rule.build)(unit, h, cx)
            && drafts
                .iter()
                .flat_map(|d| d.uses.iter())
                .all(|n| available(n))
        {
            done.push(rule.name);
            for mut d in drafts {
                d.rule = rule.name;
                out.push(d);
            }
        }
    }
    out
}

/// Runs the rules that look at `on` on a unit.
pub fn judge(
    unit: &Unit<'_>,
    on: On,
    cx: &mut Context,
    available: &dyn Fn(&str) -> bool,
) -> Outcome {
    let mut missing: Option<String> = None;
    cx.no_host = false;
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
            // Something this build lacks: "needs …" only if the rule would have written
            // an item for this line (builders are pure), so a look-alike keeps its own
            // reason ("User registration flow" is not a domain registration).
            let lacking = (!rule.probe.is_empty() && !available(rule.probe))
                .then_some(rule.probe)
                .or_else(|| rule.needs.iter().copied().find(|n| !available(n)));
            if let Some(n) = lacking {
                let no_host = cx.no_host;
                if let Some(Verdict::Probe(d)) = (rule.build)(unit, h, cx)
                    && !d.is_empty()
                {
                    missing.get_or_insert_with(|| missing_reason(n));
                }
                cx.no_host = no_host;
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
        None if cx.no_host => Outcome::Manual(
            "no host named: the document gives no host for what this line checks; add its URL and import again".into(),
        ),
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
    let Some(picked) = pick_host(u, cx, prefer_api) else {
        cx.no_host = true;
        return None;
    };
    match picked {
        Some(h) => Some(cx.url_var(&h, vars)),
        None => Some(context::unknown_api(vars)),
    }
}

/// `${host}` for a unit, with its var; `None` when no host can be named.
fn host_ref(u: &Unit<'_>, cx: &mut Context, vars: &mut Vec<VarNeed>) -> Option<String> {
    let Some(picked) = pick_host(u, cx, None) else {
        cx.no_host = true;
        return None;
    };
    match picked {
        Some(h) => Some(cx.host_var(&h, vars)),
        None => Some(context::unknown_domain(vars)),
    }
}

/// The URL for a found URL, its host as a var.
fn url_of(found: &FoundUrl, cx: &mut Context, vars: &mut Vec<VarNeed>) -> String {
    let base = if found.port.is_some() || found.scheme == "http" {
        let h = cx.host_var(&found.host, vars);
        let scheme = found.scheme.clone();
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

// ------------------------------------------------------------------ HTTP

// ------------------------------------------------------------------ TLS

// ------------------------------------------------------------------ domains and DNS

// ------------------------------------------------------------------ databases

// ------------------------------------------------------------------ secrets

// ------------------------------------------------------------------ metrics

// ------------------------------------------------------------------ tools

// ------------------------------------------------------------------ latency

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
    fn unknown_commands_are_told_apart_from_other_code() {
        assert!(unknown_command("kcat -b kafka:9092 -L", false));
        assert!(unknown_command(
            "testssl.sh --protocols api.x.example",
            false
        ));
        assert!(unknown_command("mytool check ledgerd", true));
        assert!(!unknown_command("mytool check ledgerd", false));
        assert!(!unknown_command("kubectl -n x get pods", false));
        assert!(!unknown_command("schema_migrations", true));
        assert!(!unknown_command("X-Frame-Options: DENY", true));
        assert!(!unknown_command("GET /up", true));
        assert!(!unknown_command("sslmode=verify-full", false));
    }

    /// Lines that look like checks but are not (numbers, times, other certificates…).
    #[test]
    fn look_alikes_do_not_become_probe_items() {
        let doc = "Site: https://app.x.example\n";
        for (text, not) in [
            ("Upload limit of 500 MB on /upload", "status == 500"),
            ("Support inbox open from 09:30 on app.x.example", "tcp"),
            ("Apple push certificate uploaded to the console", "tls"),
            ("Support response time under 2 hours", "latency"),
            ("No alerts configured for the batch job", "prometheus"),
            (
                "User registration page at https://app.x.example/signup works",
                "domain",
            ),
            ("Database up to date with the production copy", "postgres"),
            ("Set FEATURE_NEW_BILLING flag in LaunchDarkly", "env"),
        ] {
            if let Outcome::Probe(d) = judge_text(doc, text) {
                let got = format!("{} {:?} {:?}", d[0].probe, d[0].options, d[0].expect);
                assert!(!got.contains(not), "{text}: {got}");
            }
        }
        let mut cx = Context::read(doc, &scan(doc));
        let u = Unit {
            text: "Test the signup flow",
            code: &[],
            scope: "",
            headings: "",
        };
        assert!(!matches!(
            judge(&u, On::Text, &mut cx, &|_| true),
            Outcome::Probe(_)
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
