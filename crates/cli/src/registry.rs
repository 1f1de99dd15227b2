//! Every probe this build knows. Adding a probe = one crate + one line here.

use std::sync::Arc;

use preflight_core::Catalog;

/// A fresh catalog: probes hold per-sweep state (shared HTTP clients), so each run
/// builds its own.
pub fn catalog() -> Catalog {
    Catalog::new(vec![Arc::new(preflight_probe_http::HttpProbe::new())])
}
