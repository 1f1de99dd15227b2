//! Domain and DNS lines: records, propagation, mail authentication (SPF, DKIM,
//! DMARC), DNSSEC and registration expiry.

use super::*;

pub(super) fn apex_ref(u: &Unit<'_>, cx: &mut Context, vars: &mut Vec<VarNeed>) -> Option<String> {
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

pub(super) fn domain_expiry(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    // The registration of a domain, not a user's ("User registration works").
    let apex_named = hosts(text).iter().any(|h| h.split('.').count() == 2);
    if !apex_named
        && !rx!(r"(?i)\b(domains?|registrar|whois|rdap|transfer|auto-?renew)\b").is_match(&lower)
    {
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

pub(super) fn dnssec(u: &Unit<'_>, _: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn dnssec_rdap(u: &Unit<'_>, _: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn mail_name(u: &Unit<'_>, cx: &mut Context, vars: &mut Vec<VarNeed>) -> Option<String> {
    match hosts(u.text).into_iter().find(|h| cx.is_own(h)) {
        Some(h) => Some(cx.host_var(&h, vars)),
        None => apex_ref(u, cx, vars),
    }
}

pub(super) fn spf(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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
    // "SPF/DKIM/DMARC configured": the same dns item also asks for the DMARC record
    // and the DKIM key (the probe's `dmarc` and `dkim_selector` options).
    if rx!(r"\bdmarc\b").is_match(&lower) {
        d = d.opt("dmarc", Value::Boolean(true)).uses("dns.dmarc");
        d.push_expect(dmarc_expect(text));
    }
    if rx!(r"\bdkim\b").is_match(&lower) {
        let selector = selector_or_var(u, text, &mut vars);
        d = d
            .opt("dkim_selector", s(&selector))
            .expect("dkim.present")
            .uses("dns.dkim");
    }
    probe(d.with_vars(vars))
}

/// What a line says about the DMARC policy, as one expectation.
fn dmarc_expect(text: &str) -> String {
    match dmarc_policy(text) {
        Some("quarantine") if text.to_lowercase().contains("at least") => {
            "dmarc.p in ['quarantine', 'reject']".into()
        }
        Some(p) => format!("dmarc.p == '{p}'"),
        None if text.to_lowercase().contains("enforc") => {
            "dmarc.p in ['quarantine', 'reject']".into()
        }
        None => "dmarc.p != null".into(),
    }
}

/// The DKIM selector the line names, or a var to fill in.
fn selector_or_var(u: &Unit<'_>, text: &str, vars: &mut Vec<VarNeed>) -> String {
    dkim_selector(u, text).unwrap_or_else(|| {
        vars.push(VarNeed {
            name: "dkim_selector".into(),
            default: String::new(),
            hint: "the DKIM selector, e.g. google or s1".into(),
        });
        "${dkim_selector}".into()
    })
}

pub(super) fn dmarc_policy(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    ["reject", "quarantine", "none"]
        .into_iter()
        .find(|p| lower.contains(&format!("p={p}")) || lower.contains(&format!("p = {p}")))
}

pub(super) fn dmarc(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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
    d.push_expect(dmarc_expect(text));
    if text.to_lowercase().contains("report") {
        d.push_expect("dmarc.rua.size() > 0");
    }
    probe(d.with_vars(vars))
}

pub(super) fn dkim_selector(u: &Unit<'_>, text: &str) -> Option<String> {
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

pub(super) fn dkim(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let mut vars = vec![];
    let name = mail_name(u, cx, &mut vars)?;
    let selector = selector_or_var(u, text, &mut vars);
    let mut d = Draft::new(
        "dns",
        "",
        "DKIM is a TXT record at SELECTOR._domainkey, parsed by the dns probe",
    )
    .opt("name", s(&format!("{selector}._domainkey.{name}")))
    .opt("type", s("TXT"))
    .expect("dkim.present")
    .uses("dns.dkim");
    if let Some(b) = rx!(r"(\d{4})-bit").captures(text) {
        d.push_expect(format!("dkim.key_bits >= {}", &b[1]));
    }
    probe(d.with_vars(vars))
}

pub(super) fn mail_txt(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn dns(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    let lower = text.to_lowercase();
    let in_dns_section = u.headings.contains("dns") || u.headings.contains("domain");
    let dnsy = rx!(
        r"(?i)\b(dns|records?|cname|caa|aaaa|mx|ns|resolv\w*|propagat\w*|ttls?|name ?servers?)\b|\b(A|AAAA)\s+\d{1,3}\.\d"
    )
    .is_match(text);
    // `host → target` lines count only under a DNS heading.
    if !dnsy && !in_dns_section {
        return None;
    }
    let ty = if lower.contains("aaaa") || lower.contains("ipv6") {
        Some("AAAA")
    } else if rx!(r"\bcname\b").is_match(&lower) {
        Some("CNAME")
    } else if rx!(r"\bmx\b").is_match(&lower) {
        Some("MX")
    } else if rx!(r"\bcaa\b").is_match(&lower) {
        Some("CAA")
    } else if rx!(r"\b(ns records?|name ?servers?)\b").is_match(&lower) {
        Some("NS")
    } else if rx!(r"\btxt\b").is_match(&lower) {
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
    if lower.contains("ttl")
        && let Some(b) = bounds(text)
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
