//! HTTP, TLS and WebSocket lines: requests and their answers, redirects, security
//! headers, CORS, cookies, crawler files, certificates and protocol versions.

use super::*;

pub(super) static METHOD_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(GET|HEAD)\s+(/[A-Za-z0-9._~/%?=&-]*)").expect("valid regex"));
pub(super) static JSON_BODY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{[^{}]*:[^{}]*\}").expect("valid regex"));
pub(super) static JSON_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"["']?([A-Za-z_][A-Za-z0-9_]*)["']?\s*:\s*(?:"([^"]*)"|'([^']*)'|(true|false|-?\d+(?:\.\d+)?))"#,
    )
    .expect("valid regex")
});
pub(super) static DB_LATENCY: LazyLock<Regex> =
    LazyLock::new(|| re(r"\bdb\s+latency\s*(?:<|under|below|≤|<=)\s*(\d+)\s*ms\b"));

/// Expectations a line states about a response: status, JSON pairs.
pub(super) fn response_expect(text: &str) -> Vec<String> {
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

pub(super) fn http_request(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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
    // Without a status or body, only an explicit `GET /x` is a request the line names
    // (`GET /x returns the pinned tag`: the request is certain, the body is not).
    if expect.is_empty() && explicit.is_none() {
        return None;
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
                let api = path.starts_with("/api") || rx!(r"^/v\d+/").is_match(&path);
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

/// `` `GET https://…/_cluster/health` shows "status": "green" ``: a request in a code span.
pub(super) fn request_in_code(u: &Unit<'_>, line: &str, cx: &mut Context) -> Option<Verdict> {
    // What the text rules read better: latency, redirects, CORS, a login flow…
    if text_rule_excludes("http-request", u.text)
        || rx!(r"(?i)\blog\s*-?in\b.*\bthen\b").is_match(u.text)
    {
        return None;
    }
    let joined = format!("{line} {}", u.text);
    let unit = Unit {
        text: &joined,
        code: &[],
        scope: u.scope,
        headings: u.headings,
    };
    http_request(&unit, &joined, cx)
}

pub(super) fn login_then_call(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn webhook(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn websocket(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn http_on(
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
pub(super) fn cors_target(u: &Unit<'_>, cx: &mut Context) -> Option<Draft> {
    let lower = u.text.to_lowercase();
    let named = rx!(r"(?i)\b(?:on|at|for)\s+`?(https?://[^\s`]+|[a-z0-9.-]+\.[a-z]{2,})")
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

pub(super) fn cors(u: &Unit<'_>, _: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn cors_headers(u: &Unit<'_>, _: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn cookies(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn redirect_https(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let words = rx!(r"(?i)\bhttps?://\S+").replace_all(text, " ");
    if !rx!(r"(?i)\bhttps\b").is_match(&words) {
        return None;
    }
    let mut vars = vec![];
    let host = match urls(text).into_iter().next() {
        Some(f) => cx.host_var(&f.host, &mut vars),
        None => host_ref(u, cx, &mut vars)?,
    };
    let codes: Vec<String> = rx!(r"\b(30[1278])\b")
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

pub(super) fn redirect_www(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn redirect_path(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let path = first_path(text)?;
    let st = status_in(text).filter(|s| s.starts_with('3'))?;
    let d = http_on(u, cx, Some(false), &path, "an old path must redirect")?
        .opt("follow_redirects", Value::Boolean(false))
        .expect(format!("status == {st}"));
    probe(d)
}

pub(super) fn hsts(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn security_grade(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn security_headers(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn server_header(u: &Unit<'_>, _: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn robots_txt(u: &Unit<'_>, _: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn noindex(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn noindex_meta(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn sitemap(u: &Unit<'_>, _: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn auth_required(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn missing_page(u: &Unit<'_>, _: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn health_path(cx: &Context, topic: &str) -> Option<String> {
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

pub(super) fn health_exposure(u: &Unit<'_>, _: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn circuit_breakers(u: &Unit<'_>, _: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn behind_cdn(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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
    if !rx!(r"\b(in front|behind|through|via|served by|cdn|proxied|on (cloudflare|cloudfront|fastly|akamai))\b").is_match(&lower) {
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

pub(super) fn health_endpoint(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn served(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn route(_: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn registry(_: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    if !rx!(r"\b(accessible|reachable|available|up|login)\b").is_match(&lower) {
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

pub(super) fn tls_hosts(u: &Unit<'_>, cx: &mut Context) -> Option<Vec<(String, Vec<VarNeed>)>> {
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

pub(super) fn tls_versions(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text
        .to_lowercase()
        .replace("tlsv", "tls ")
        .replace("tls1", "tls 1");
    let mut expect = vec![];
    let min_words =
        rx!(r"\b(min(imum)?|at least|or (higher|later|above|newer)|and 1\.3|only)\b|1\.2\s*\+");
    let off_words = rx!(r"\b(disabled|off|refused|rejected|not accepted|no)\b");
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

pub(super) fn starttls(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    let (proto, default_port) = if lower.contains("imap") || lower.contains("993") {
        ("imap", 143)
    } else if lower.contains("pop3") {
        ("pop3", 110)
    } else {
        ("smtp", 25)
    };
    let port = rx!(r"\bport\s+(\d{2,5})\b")
        .captures(text)
        .and_then(|c| c[1].parse::<i64>().ok())
        .unwrap_or(default_port);
    let mut vars = vec![];
    let host = hosts(text)
        .into_iter()
        .find(|h| cx.is_own(h))
        .or_else(|| cx.component("mx").map(|k| k.host.clone()))
        .or_else(|| cx.component("smtp").map(|k| k.host.clone()));
    let h = match host {
        Some(host) => cx.host_var(&host, &mut vars),
        None => crate::context::unknown_mail_host(&mut vars),
    };
    let mut d = Draft::new("tls", "", "the mail server's certificate, after STARTTLS")
        .opt("host", s(&h))
        .opt("port", Value::Integer(port))
        .opt("starttls", s(proto))
        .uses("tls.starttls");
    tls_expect(&mut d, text);
    let _ = u;
    probe(d.with_vars(vars))
}

pub(super) fn tls(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    let words = rx!(r"(?i)\b(?:https?|wss?)://\S+").replace_all(&lower, " ");
    if !rx!(r"\b(tls|ssl|certs?|certificates?|https|ocsp)\b").is_match(&words) {
        return None;
    }
    // "TLS" alone in a line about something else (Postgres over TLS) is not a certificate check.
    if rx!(r"(?i)\b(postgres\w*|database|db|redis|sslmode|kafka|smtp)\b").is_match(&lower) {
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

pub(super) fn latency(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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
