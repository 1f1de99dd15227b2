//! What `preflight check` says about how each item gets out: which proxy (and why),
//! which trust roots, which client certificate, which address family — computed by
//! preflight-client's rules from the plan's network settings, without connecting.

use preflight_core::network::{Family, Network, PROXY_NONE, Trust};
use preflight_core::probe::Egress;
use preflight_core::{Catalog, Plan, PlannedItem};

/// The run's network settings in one line: `network: proxy … ; trust …`.
pub fn summary(plan: &Plan) -> String {
    let n: &Network = &plan.network;
    let proxy = match n.proxy.as_deref() {
        Some(PROXY_NONE) => "none ([checklist] proxy = \"none\")".to_string(),
        Some(p) => format!("{p} ([checklist] proxy)"),
        None => {
            let e = &n.proxy_env;
            let set: Vec<String> = e
                .urls()
                .chain(e.no.iter())
                .map(|v| format!("{}={}", v.name, v.value))
                .collect();
            if set.is_empty() {
                "none (no HTTPS_PROXY, HTTP_PROXY or ALL_PROXY set)".to_string()
            } else {
                format!("from the environment: {}", set.join(", "))
            }
        }
    };
    let mut trust = format!("trust {}", n.trust.as_str());
    if n.trust != Trust::Webpki {
        trust.push_str(&format!(
            " (system store: {})",
            preflight_client::trust::system_source(n)
        ));
    }
    if let Some(ca) = &n.ca {
        trust.push_str(&format!(" + ca {ca}"));
    }
    plan.redactor
        .text(&format!("network: proxy {proxy}; {trust}\n"))
}

/// The item's route, trust roots, client certificate and family, as `; `-joined
/// parts (empty for items that open no such connection).
pub fn item_line(plan: &Plan, catalog: &Catalog, p: &PlannedItem) -> Option<String> {
    let probe = p.item.probe()?;
    let options = p.options.as_ref().as_ref().ok()?;
    let egress: Egress = catalog.get(probe)?.egress(options)?;
    let mut parts = Vec::new();
    let mut proxied = false;
    if let Some(url) = &egress.url {
        parts.push(
            match preflight_client::proxy::route(&plan.network, egress.proxy.as_deref(), url) {
                Ok(route) => {
                    proxied = route.proxy().is_some();
                    format!("proxy: {}", route.describe())
                }
                Err(e) => format!("proxy: will error: {e}"),
            },
        );
    }
    if egress.tls {
        parts.push(format!(
            "trust: {}",
            preflight_client::trust::describe_trust(
                egress.ca.as_deref(),
                egress.unverified,
                &plan.network
            )
        ));
    }
    if let Some(cert) = &egress.client_cert {
        parts.push(format!("client cert: {cert}"));
    }
    if egress.family != Family::Any {
        parts.push(format!("family: {}", egress.family.as_str()));
        if proxied {
            parts.push("will error: family cannot be kept through a proxy".into());
        }
    }
    (!parts.is_empty()).then(|| plan.redactor.text(&parts.join("; ")))
}
