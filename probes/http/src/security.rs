//! The security headers of the final response, parsed, and a grade computed by the
//! rules in docs/probes/http.md ("Security grade"), modelled on the published Mozilla
//! HTTP Observatory scoring methodology.
//!
//! Everything is bounded: at most [`MAX_DIRECTIVES`] CSP directives with at most
//! [`MAX_SOURCES`] sources each, [`MAX_FEATURES`] Permissions-Policy features;
//! strings are cut to [`TEXT_CAP`] characters.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::cookies::Cookie;

/// CSP directives kept; the rest are dropped.
pub const MAX_DIRECTIVES: usize = 64;
/// Sources kept per CSP directive.
pub const MAX_SOURCES: usize = 64;
/// Permissions-Policy features kept.
pub const MAX_FEATURES: usize = 64;
/// Header strings in `security` are cut to this many characters.
pub const TEXT_CAP: usize = 256;
/// Six months, as the Observatory counts them (HSTS).
const SIX_MONTHS: u64 = 15_768_000;
/// One year: the preload list's minimum.
const ONE_YEAR: u64 = 31_536_000;

fn cap(s: &str) -> String {
    s.chars().take(TEXT_CAP).collect()
}

/// Parsed `Strict-Transport-Security`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hsts {
    /// `max-age` in seconds.
    pub max_age: u64,
    /// `includeSubDomains` was given.
    pub include_subdomains: bool,
    /// `preload` was given.
    pub preload: bool,
}

/// The first `Strict-Transport-Security` value; `Err` when it has no valid `max-age`.
pub fn parse_hsts(v: &str) -> Result<Hsts, ()> {
    let mut max_age = None;
    let (mut include_subdomains, mut preload) = (false, false);
    for part in v.split(';') {
        let (k, val) = match part.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim().trim_matches('"'))),
            None => (part.trim(), None),
        };
        match k.to_ascii_lowercase().as_str() {
            "max-age" => max_age = val.and_then(|v| v.parse::<u64>().ok()),
            "includesubdomains" => include_subdomains = true,
            "preload" => preload = true,
            _ => {}
        }
    }
    max_age
        .map(|max_age| Hsts {
            max_age,
            include_subdomains,
            preload,
        })
        .ok_or(())
}

/// One CSP directive: its sources (as written, lower-case keywords) and the flags.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Directive {
    /// Source expressions, in order.
    pub sources: Vec<String>,
}

impl Directive {
    fn has(&self, s: &str) -> bool {
        self.sources.iter().any(|x| x.eq_ignore_ascii_case(s))
    }
    /// `'unsafe-inline'` is listed.
    pub fn unsafe_inline(&self) -> bool {
        self.has("'unsafe-inline'")
    }
    /// `'unsafe-eval'` is listed.
    pub fn unsafe_eval(&self) -> bool {
        self.has("'unsafe-eval'")
    }
    /// A nonce or hash is listed: CSP level 3 browsers then ignore `'unsafe-inline'`.
    fn nonce_or_hash(&self) -> bool {
        self.sources.iter().any(|s| {
            let l = s.to_ascii_lowercase();
            l.starts_with("'nonce-")
                || l.starts_with("'sha256-")
                || l.starts_with("'sha384-")
                || l.starts_with("'sha512-")
        })
    }
    /// Allows any origin or plain data: `*`, `data:`, `http:`, `https:`.
    fn overly_broad(&self) -> bool {
        self.sources.iter().any(|s| {
            matches!(
                s.to_ascii_lowercase().as_str(),
                "*" | "data:" | "http:" | "https:" | "blob:"
            )
        })
    }
    /// Names a source over plain http.
    fn insecure_scheme(&self) -> bool {
        self.sources.iter().any(|s| {
            let l = s.to_ascii_lowercase();
            l == "http:" || l.starts_with("http://") || l == "ws:" || l.starts_with("ws://")
        })
    }
}

/// Directives in order of appearance; the first occurrence of a name wins (as
/// browsers do). Only the first policy counts when several headers are sent.
pub fn parse_csp(v: &str) -> BTreeMap<String, Directive> {
    let mut out = BTreeMap::new();
    for part in v.split(';') {
        let mut words = part.split_ascii_whitespace();
        let Some(name) = words.next() else {
            continue;
        };
        let name = name.to_ascii_lowercase();
        if out.contains_key(&name) {
            continue;
        }
        if out.len() >= MAX_DIRECTIVES {
            break;
        }
        let sources = words.take(MAX_SOURCES).map(cap).collect();
        out.insert(cap(&name), Directive { sources });
    }
    out
}

/// The directive that governs `name` (itself, else `default-src`).
fn effective<'a>(csp: &'a BTreeMap<String, Directive>, name: &str) -> Option<&'a Directive> {
    csp.get(name).or_else(|| csp.get("default-src"))
}

/// Referrer policies that leak nothing cross-origin over https.
const PRIVATE_REFERRERS: &[&str] = &[
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
];
const UNSAFE_REFERRERS: &[&str] = &["origin", "origin-when-cross-origin", "unsafe-url"];

/// What the grade is computed from, besides the headers.
pub struct Context<'a> {
    /// The final response came over https.
    pub https: bool,
    /// The request started on an http:// URL.
    pub started_http: bool,
    /// Every URL on the chain, the first one included (`hops[*].url` then the final).
    pub chain: &'a [url::Url],
    /// The parsed `Set-Cookie` headers of the final response.
    pub cookies: &'a [Cookie],
}

/// The `security` fact of a response.
pub fn facts(headers: &Map<String, Value>, cx: &Context<'_>) -> Value {
    let get = |n: &str| headers.get(n).and_then(Value::as_str).map(first_value);
    let mut modifiers: BTreeMap<&'static str, (i64, &'static str)> = BTreeMap::new();

    // HSTS.
    let hsts = get("strict-transport-security").map(parse_hsts);
    let hsts_fact = match &hsts {
        Some(Ok(h)) => {
            json!({"max_age": h.max_age, "include_subdomains": h.include_subdomains, "preload": h.preload})
        }
        _ => Value::Null,
    };
    let hsts_on = cx.https && matches!(&hsts, Some(Ok(h)) if h.max_age > 0);
    modifiers.insert(
        "hsts",
        match (&hsts, cx.https) {
            (_, false) => (-20, "hsts-not-implemented-no-https"),
            (None, true) => (-20, "hsts-not-implemented"),
            (Some(Err(())), true) => (-20, "hsts-header-invalid"),
            (Some(Ok(h)), true) if h.max_age < SIX_MONTHS => {
                (-10, "hsts-implemented-max-age-less-than-six-months")
            }
            (Some(Ok(h)), true) if h.preload && h.include_subdomains && h.max_age >= ONE_YEAR => {
                (5, "hsts-preload-ready")
            }
            (Some(Ok(_)), true) => (0, "hsts-implemented-max-age-at-least-six-months"),
        },
    );

    // CSP.
    let csp_text = get("content-security-policy");
    let csp = csp_text.map(parse_csp);
    let csp_fact = match &csp {
        Some(map) if !map.is_empty() => {
            let mut m = Map::new();
            for (name, d) in map {
                m.insert(
                    name.clone(),
                    json!({"sources": d.sources, "unsafe_inline": d.unsafe_inline(), "unsafe_eval": d.unsafe_eval()}),
                );
            }
            Value::Object(m)
        }
        _ => Value::Null,
    };
    modifiers.insert("csp", csp_modifier(csp.as_ref()));

    // Framing: CSP frame-ancestors first (browsers ignore XFO when it is present).
    let xfo = get("x-frame-options").map(|v| v.trim().to_ascii_uppercase());
    let ancestors = csp.as_ref().and_then(|c| c.get("frame-ancestors"));
    let frame_options = match (ancestors, &xfo) {
        (Some(d), _) if d.has("'none'") || d.sources.is_empty() => Some("DENY".to_string()),
        (Some(d), _) if d.sources.len() == 1 && d.has("'self'") => Some("SAMEORIGIN".into()),
        (Some(d), _) => Some(cap(&format!("ALLOW-FROM {}", d.sources.join(" ")))),
        (None, Some(x)) => Some(cap(x)),
        (None, None) => None,
    };
    modifiers.insert(
        "x_frame_options",
        match (ancestors, xfo.as_deref()) {
            (Some(_), _) => (5, "x-frame-options-implemented-via-csp"),
            (None, Some("DENY" | "SAMEORIGIN")) => (0, "x-frame-options-sameorigin-or-deny"),
            (None, Some(x)) if x.starts_with("ALLOW-FROM ") => {
                (0, "x-frame-options-allow-from-origin")
            }
            (None, Some(_)) => (-20, "x-frame-options-header-invalid"),
            (None, None) => (-20, "x-frame-options-not-implemented"),
        },
    );

    // X-Content-Type-Options.
    let xcto = get("x-content-type-options").map(|v| v.trim().to_ascii_lowercase());
    modifiers.insert(
        "x_content_type_options",
        match xcto.as_deref() {
            Some("nosniff") => (0, "x-content-type-options-nosniff"),
            Some(_) => (-5, "x-content-type-options-header-invalid"),
            None => (-5, "x-content-type-options-not-implemented"),
        },
    );

    // Referrer-Policy: the last recognised token wins (as in browsers).
    let referrer_raw = headers.get("referrer-policy").and_then(Value::as_str);
    let referrer = referrer_raw.and_then(|v| {
        v.split(',')
            .map(|t| t.trim().to_ascii_lowercase())
            .rfind(|t| {
                PRIVATE_REFERRERS.contains(&t.as_str())
                    || UNSAFE_REFERRERS.contains(&t.as_str())
                    || t == "no-referrer-when-downgrade"
            })
    });
    modifiers.insert(
        "referrer_policy",
        match (referrer_raw, referrer.as_deref()) {
            (None, _) => (0, "referrer-policy-not-implemented"),
            (Some(_), None) => (-5, "referrer-policy-header-invalid"),
            (Some(_), Some(r)) if PRIVATE_REFERRERS.contains(&r) => (5, "referrer-policy-private"),
            (Some(_), Some("no-referrer-when-downgrade")) => {
                (0, "referrer-policy-no-referrer-when-downgrade")
            }
            (Some(_), Some(_)) => (-5, "referrer-policy-unsafe"),
        },
    );

    // Cookies.
    modifiers.insert("cookies", cookie_modifier(cx, hsts_on));

    // Redirection (only when the request started on http://).
    if cx.started_http {
        let first = cx.chain.first();
        let second = cx.chain.get(1);
        let last = cx.chain.last();
        modifiers.insert(
            "redirection",
            match (second, last) {
                (None, _) => (-20, "redirection-missing"),
                (_, Some(l)) if l.scheme() != "https" => (-20, "redirection-not-to-https"),
                (Some(s), _) if s.scheme() != "https" => {
                    (-10, "redirection-not-to-https-on-initial-redirection")
                }
                (Some(s), _) if s.host_str() != first.and_then(url::Url::host_str) => {
                    (-5, "redirection-off-host-from-http")
                }
                _ => (0, "redirection-to-https"),
            },
        );
    }

    // CORP: reported, and a value browsers do not know costs 5 (as in the MDN version).
    let corp = get("cross-origin-resource-policy").map(|v| v.trim().to_ascii_lowercase());
    modifiers.insert(
        "cross_origin_resource_policy",
        match corp.as_deref() {
            None => (0, "corp-not-implemented"),
            Some("same-origin" | "same-site") => {
                (0, "corp-implemented-with-same-origin-or-same-site")
            }
            Some("cross-origin") => (0, "corp-implemented-with-cross-origin"),
            Some(_) => (-5, "corp-header-invalid"),
        },
    );
    let coop = get("cross-origin-opener-policy").map(|v| cap(v.trim()));

    let permissions = headers
        .get("permissions-policy")
        .and_then(Value::as_str)
        .map(parse_permissions);

    let (score, grade) = score_of(modifiers.values().map(|(m, _)| *m));
    let mut mods = Map::new();
    for (k, (points, test)) in &modifiers {
        mods.insert((*k).into(), json!({"points": points, "test": test}));
    }
    json!({
        "hsts": hsts_fact,
        "csp": csp_fact,
        "x_content_type_options": xcto.map(|v| cap(&v)),
        "frame_options": frame_options,
        "referrer_policy": referrer,
        "permissions_policy": permissions,
        "cross_origin_resource_policy": corp.map(|v| cap(&v)),
        "cross_origin_opener_policy": coop,
        "grade": grade,
        "score": score,
        "modifiers": Value::Object(mods),
    })
}

/// The first of several values joined by the header map (`, `), for headers where
/// only one value counts (a second CSP policy is ignored: the first is graded).
fn first_value(v: &str) -> &str {
    v.split(',').next().unwrap_or(v)
}

fn csp_modifier(csp: Option<&BTreeMap<String, Directive>>) -> (i64, &'static str) {
    let Some(csp) = csp else {
        return (-25, "csp-not-implemented");
    };
    if csp.is_empty() {
        return (-25, "csp-header-invalid");
    }
    let script = effective(csp, "script-src");
    let object = effective(csp, "object-src");
    let inline_scripts =
        script.is_none_or(|d| (d.unsafe_inline() && !d.nonce_or_hash()) || d.overly_broad());
    let open_objects = object.is_none_or(Directive::overly_broad);
    if inline_scripts || open_objects {
        return (-20, "csp-implemented-with-unsafe-inline");
    }
    const ACTIVE: &[&str] = &[
        "default-src",
        "script-src",
        "object-src",
        "style-src",
        "connect-src",
        "frame-src",
        "worker-src",
        "child-src",
        "form-action",
    ];
    if ACTIVE
        .iter()
        .any(|n| csp.get(*n).is_some_and(Directive::insecure_scheme))
    {
        return (-20, "csp-implemented-with-insecure-scheme");
    }
    if script.is_some_and(Directive::unsafe_eval) {
        return (-10, "csp-implemented-with-unsafe-eval");
    }
    if csp.values().any(Directive::insecure_scheme) {
        return (
            -10,
            "csp-implemented-with-insecure-scheme-in-passive-content-only",
        );
    }
    if effective(csp, "style-src").is_some_and(Directive::unsafe_inline) {
        return (0, "csp-implemented-with-unsafe-inline-in-style-src-only");
    }
    if csp.get("default-src").is_some_and(|d| d.has("'none'")) {
        return (10, "csp-implemented-with-no-unsafe-default-src-none");
    }
    (5, "csp-implemented-with-no-unsafe")
}

/// The worst cookie finding, as the Observatory reports one result per test.
fn cookie_modifier(cx: &Context<'_>, hsts: bool) -> (i64, &'static str) {
    if cx.cookies.is_empty() {
        return (0, "cookies-not-found");
    }
    let insecure = |c: &&Cookie| !c.secure || !cx.https;
    let mut worst = (5, "cookies-secure-with-httponly-sessions-and-samesite");
    let mut worse = |m: (i64, &'static str)| {
        if m.0 < worst.0 {
            worst = m;
        }
    };
    for c in cx.cookies {
        let session = c.is_session();
        match (session, insecure(&c), hsts) {
            (true, true, false) => worse((-40, "cookies-session-without-secure-flag")),
            (true, true, true) => worse((
                -10,
                "cookies-session-without-secure-flag-but-protected-by-hsts",
            )),
            (false, true, false) => worse((-20, "cookies-without-secure-flag")),
            (false, true, true) => worse((-5, "cookies-without-secure-flag-but-protected-by-hsts")),
            _ => {}
        }
        if session && !c.http_only {
            worse((-30, "cookies-session-without-httponly-flag"));
        }
        if !c.same_site_valid() {
            worse((-20, "cookies-samesite-flag-invalid"));
        }
        if c.same_site.is_none() {
            worse((0, "cookies-secure-with-httponly-sessions"));
        }
    }
    worst
}

/// Score (baseline 100, floor 0; bonuses only count when the score without them is at
/// least 90) and the Observatory's grade for it.
pub fn score_of(modifiers: impl Iterator<Item = i64>) -> (i64, &'static str) {
    let (mut penalties, mut bonuses) = (0i64, 0i64);
    for m in modifiers {
        if m < 0 {
            penalties += m;
        } else {
            bonuses += m;
        }
    }
    let base = 100 + penalties;
    let score = if base >= 90 { base + bonuses } else { base }.max(0);
    (score, grade(score))
}

/// The Observatory's grading chart.
pub fn grade(score: i64) -> &'static str {
    match score {
        100.. => "A+",
        90..=99 => "A",
        85..=89 => "A-",
        80..=84 => "B+",
        70..=79 => "B",
        65..=69 => "B-",
        60..=64 => "C+",
        50..=59 => "C",
        45..=49 => "C-",
        40..=44 => "D+",
        30..=39 => "D",
        25..=29 => "D-",
        _ => "F",
    }
}

/// `camera=(), geolocation=(self "https://maps.example")` → {feature: [allowlist]}.
fn parse_permissions(v: &str) -> Value {
    let mut m = Map::new();
    for part in v.split(',') {
        let Some((feature, list)) = part.split_once('=') else {
            continue;
        };
        if m.len() >= MAX_FEATURES {
            break;
        }
        let list = list.trim();
        let items: Vec<String> = list
            .trim_start_matches('(')
            .trim_end_matches(')')
            .split_ascii_whitespace()
            .take(MAX_SOURCES)
            .map(|s| cap(s.trim_matches('"')))
            .collect();
        m.entry(cap(feature.trim()).to_ascii_lowercase())
            .or_insert(json!(items));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), json!(v)))
            .collect()
    }

    fn security(pairs: &[(&str, &str)], cookies: &[Cookie]) -> Value {
        let url: url::Url = "https://web.test/".parse().expect("url");
        facts(
            &headers(pairs),
            &Context {
                https: true,
                started_http: false,
                chain: &[url],
                cookies,
            },
        )
    }

    const STRONG: &[(&str, &str)] = &[
        (
            "strict-transport-security",
            "max-age=63072000; includeSubDomains; preload",
        ),
        (
            "content-security-policy",
            "default-src 'none'; script-src 'self'; frame-ancestors 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
    ];

    #[test]
    fn grade_chart_and_bonus_rule() {
        assert_eq!(grade(135), "A+");
        assert_eq!(grade(90), "A");
        assert_eq!(grade(89), "A-");
        assert_eq!(grade(24), "F");
        // Bonuses only count when the score without them is at least 90.
        assert_eq!(score_of([5, -20].into_iter()), (80, "B+"));
        assert_eq!(score_of([5, -10].into_iter()), (95, "A"));
        assert_eq!(score_of([-100, -50].into_iter()), (0, "F"));
    }

    #[test]
    fn strong_headers_grade_a_plus_and_nothing_is_f() {
        let s = security(STRONG, &[]);
        // 100 + hsts 5 + csp 10 + frame-ancestors 5 + referrer 5.
        assert_eq!(s["score"], 125, "{s}");
        assert_eq!(s["grade"], "A+");
        assert_eq!(s["frame_options"], "DENY");
        assert_eq!(s["hsts"]["preload"], true);
        assert_eq!(s["csp"]["script-src"]["unsafe_inline"], false);
        let s = security(&[], &[]);
        // hsts -20, csp -25, xfo -20, xcto -5.
        assert_eq!(s["score"], 30, "{s}");
        assert_eq!(s["grade"], "D");
        assert_eq!(s["csp"], Value::Null);
        assert_eq!(s["modifiers"]["csp"]["test"], "csp-not-implemented");
    }

    #[test]
    fn csp_unsafe_sources_are_flagged_per_directive() {
        let s = security(
            &[(
                "content-security-policy",
                "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'unsafe-inline'",
            )],
            &[],
        );
        assert_eq!(s["csp"]["script-src"]["unsafe_eval"], true);
        assert_eq!(s["csp"]["style-src"]["unsafe_inline"], true);
        assert_eq!(s["modifiers"]["csp"]["points"], -10);
        let s = security(
            &[(
                "content-security-policy",
                "script-src 'nonce-abc' 'unsafe-inline'; object-src 'none'",
            )],
            &[],
        );
        assert_eq!(s["modifiers"]["csp"]["points"], 5, "{s}");
        let s = security(&[("content-security-policy", "default-src *")], &[]);
        assert_eq!(
            s["modifiers"]["csp"]["test"],
            "csp-implemented-with-unsafe-inline"
        );
        let s = security(
            &[(
                "content-security-policy",
                "default-src 'self'; img-src http://cdn",
            )],
            &[],
        );
        assert_eq!(s["modifiers"]["csp"]["points"], -10);
    }

    #[test]
    fn framing_referrer_and_permissions() {
        let s = security(
            &[
                ("x-frame-options", "sameorigin"),
                ("referrer-policy", "no-referrer, unsafe-url"),
                (
                    "permissions-policy",
                    "camera=(), geolocation=(self \"https://maps.web.test\")",
                ),
            ],
            &[],
        );
        assert_eq!(s["frame_options"], "SAMEORIGIN");
        assert_eq!(s["referrer_policy"], "unsafe-url");
        assert_eq!(s["modifiers"]["referrer_policy"]["points"], -5);
        assert_eq!(s["permissions_policy"]["camera"], json!([]));
        assert_eq!(
            s["permissions_policy"]["geolocation"],
            json!(["self", "https://maps.web.test"])
        );
    }

    #[test]
    fn session_cookies_without_flags_cost_most() {
        let c = |t: &str| crate::cookies::parse(t).expect("cookie");
        let s = security(STRONG, &[c("session=1; Secure; HttpOnly; SameSite=Lax")]);
        assert_eq!(s["modifiers"]["cookies"]["points"], 5);
        let s = security(STRONG, &[c("session=1; Secure")]);
        assert_eq!(s["modifiers"]["cookies"]["points"], -30);
        let s = security(&[], &[c("session=1")]);
        assert_eq!(s["modifiers"]["cookies"]["points"], -40);
        // HSTS softens a missing Secure flag.
        let s = security(STRONG, &[c("theme=dark; SameSite=Lax")]);
        assert_eq!(s["modifiers"]["cookies"]["points"], -5);
    }

    #[test]
    fn redirection_is_graded_from_http_only() {
        let u = |s: &str| s.parse::<url::Url>().expect("url");
        let run = |chain: &[url::Url]| {
            facts(
                &headers(STRONG),
                &Context {
                    https: chain.last().is_some_and(|l| l.scheme() == "https"),
                    started_http: true,
                    chain,
                    cookies: &[],
                },
            )["modifiers"]["redirection"]["points"]
                .clone()
        };
        assert_eq!(run(&[u("http://a/"), u("https://a/")]), 0);
        assert_eq!(run(&[u("http://a/"), u("https://b/")]), -5);
        assert_eq!(
            run(&[u("http://a/"), u("http://a/x"), u("https://a/")]),
            -10
        );
        assert_eq!(run(&[u("http://a/")]), -20);
    }
}
