//! Metrics and alerts: error rates, firing alerts, scrape targets, traffic and
//! resource thresholds, read from Prometheus / Alertmanager.

use super::*;

/// The Prometheus URL var (from the document when it names one).
pub(super) fn prometheus_var(
    cx: &mut Context,
    vars: &mut Vec<VarNeed>,
    alertmanager: bool,
) -> String {
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
pub(super) fn other_metrics_vendor(cx: &Context, text: &str) -> Option<&'static str> {
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

pub(super) fn window(text: &str) -> String {
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

pub(super) fn error_rate(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn alerts_firing(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    if let Some(v) = other_metrics_vendor(cx, text) {
        return Some(Verdict::Manual(format!("needs a probe for {v}")));
    }
    let lower = text.to_lowercase();
    if !(lower.contains("no ")
        || lower.contains("not firing")
        || lower.contains("none")
        || lower.contains("zero"))
        || !rx!(r"(?i)\b(firing|fire|fired|active|open|triggered|raised|pending)\b")
            .is_match(&lower)
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

pub(super) fn alert_rules(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn scrape_target(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    if let Some(v) = other_metrics_vendor(cx, text) {
        return Some(Verdict::Manual(format!("needs a probe for {v}")));
    }
    let lower = text.to_lowercase();
    let mut sel = vec![];
    if let Some(c) =
        rx!(r"\b([a-z0-9-]+)\s+namespace\b|\bnamespace\s+`?([a-z0-9-]+)").captures(&lower)
    {
        let ns = c.get(1).or(c.get(2)).map_or("", |m| m.as_str());
        if ns != "the" {
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

pub(super) fn metric_threshold(u: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
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

pub(super) fn traffic(_: &Unit<'_>, text: &str, cx: &mut Context) -> Option<Verdict> {
    if let Some(v) = other_metrics_vendor(cx, text) {
        return Some(Verdict::Manual(format!("needs a probe for {v}")));
    }
    let lower = text.to_lowercase();
    let ns = rx!(r"\b(prod|production)\b")
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
