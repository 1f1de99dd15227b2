//! The probes a build knows, each with its options schema compiled once.

use std::sync::Arc;

use serde_json::Value;

use super::AnyProbe;
use crate::schema::shape::{ObjectShape, Shape};

/// A probe and what core derived from it.
pub struct ProbeEntry {
    probe: Arc<dyn AnyProbe>,
    schema: Value,
    options: ObjectShape,
}

impl ProbeEntry {
    fn new(probe: Arc<dyn AnyProbe>) -> ProbeEntry {
        let schema = probe.options_schema();
        let options = match Shape::compile(&schema) {
            Shape::Object(o) => o,
            // A probe without options (unusual) still gets a closed table.
            _ => ObjectShape {
                fields: Vec::new(),
                closed: true,
            },
        };
        ProbeEntry {
            probe,
            schema,
            options,
        }
    }

    /// The probe itself.
    pub fn probe(&self) -> &Arc<dyn AnyProbe> {
        &self.probe
    }

    /// Its options' JSON Schema, as derived.
    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// Its options, compiled for validation.
    pub fn options(&self) -> &ObjectShape {
        &self.options
    }

    /// Whether option `key` is always a secret (`SECRET_OPTIONS` or `x-secret`).
    pub fn is_secret_option(&self, key: &str) -> bool {
        self.probe.secret_options().contains(&key)
            || self.options.field(key).is_some_and(|f| f.secret)
    }
}

impl std::ops::Deref for ProbeEntry {
    type Target = dyn AnyProbe;
    fn deref(&self) -> &Self::Target {
        self.probe.as_ref()
    }
}

/// The set of probes a build knows, looked up by name.
#[derive(Clone, Default)]
pub struct Catalog {
    probes: Vec<Arc<ProbeEntry>>,
}

impl Catalog {
    /// Builds a catalog from probe instances, compiling each options schema once.
    pub fn new(probes: Vec<Arc<dyn AnyProbe>>) -> Catalog {
        Catalog {
            probes: probes
                .into_iter()
                .map(|p| Arc::new(ProbeEntry::new(p)))
                .collect(),
        }
    }

    /// The probe called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<ProbeEntry>> {
        self.probes.iter().find(|p| p.name() == name)
    }

    /// Every probe, in registration order.
    pub fn entries(&self) -> impl Iterator<Item = &Arc<ProbeEntry>> {
        self.probes.iter()
    }

    /// Every probe name, for "did you mean" and help.
    pub fn names(&self) -> Vec<&'static str> {
        self.probes.iter().map(|p| p.name()).collect()
    }
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}
