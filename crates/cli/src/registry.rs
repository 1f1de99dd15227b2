//! Every probe this build knows. Adding a probe = one crate + one line here.

use std::sync::Arc;

use preflight_core::Catalog;

/// A fresh catalog: probes hold per-sweep state (shared HTTP clients), so each run
/// builds its own.
pub fn catalog() -> Catalog {
    Catalog::new(vec![
        Arc::new(preflight_probe_http::HttpProbe::new()),
        Arc::new(preflight_probe_tls::TlsProbe::new()),
        Arc::new(preflight_probe_dns::DnsProbe::new()),
        Arc::new(preflight_probe_webhook::WebhookProbe::new()),
        Arc::new(preflight_probe_env::EnvProbe::new()),
        Arc::new(preflight_probe_tcp::TcpProbe::new()),
        Arc::new(preflight_probe_redis::RedisProbe::new()),
        Arc::new(preflight_probe_prometheus::PrometheusProbe::new()),
        Arc::new(preflight_probe_command::CommandProbe::new()),
        Arc::new(preflight_probe_postgres::PostgresProbe::new()),
        Arc::new(preflight_probe_domain::DomainProbe::new()),
        Arc::new(preflight_probe_websocket::WebSocketProbe::new()),
    ])
}
