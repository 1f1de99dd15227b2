//! The contract between core and probe crates.
//!
//! A probe *observes* and returns facts; it never decides pass or fail. Core judges
//! the facts against the item's expectations. A probe crate exports one value that
//! implements [`Probe`]; the CLI lists them in its registry.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Options of one item, as a JSON object (TOML converted, `${…}` resolved at plan time).
pub type Options = Map<String, Value>;

/// Facts a probe observed: a JSON object whose top-level names are the probe's facts.
pub type Facts = Map<String, Value>;

/// A boxed future, so probes stay object-safe without an async-trait dependency.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Static description of a probe: what it accepts and what it reports.
#[derive(Debug)]
pub struct ProbeDescriptor {
    /// Name used in `probe = "…"`.
    pub name: &'static str,
    /// Option keys the probe accepts (besides the common item keys).
    pub options: &'static [&'static str],
    /// Top-level fact names an expectation may read.
    pub facts: &'static [&'static str],
    /// Options whose values are always secrets, even when written literally.
    pub secret_options: &'static [&'static str],
}

/// Why an observation produced no facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The target misbehaved (refused, timed out, DNS/TLS failure): the item fails.
    Target(String),
    /// We could not observe (bad option after interpolation, probe bug): the item errors.
    Probe(String),
}

/// A problem with an item's options found at load time.
#[derive(Debug, Clone)]
pub struct OptionProblem {
    /// The offending option key, if known (used to point at it in the file).
    pub key: Option<String>,
    /// What is wrong, a lower-case fragment.
    pub message: String,
}

impl OptionProblem {
    /// A problem with the option `key`.
    pub fn at(key: &str, message: impl Into<String>) -> OptionProblem {
        OptionProblem {
            key: Some(key.to_string()),
            message: message.into(),
        }
    }
}

/// A probe kind. Implementations live in `probes/<name>`.
pub trait Probe: Send + Sync {
    /// What the probe accepts and reports.
    fn descriptor(&self) -> &'static ProbeDescriptor;

    /// Load-time checks of option types and of literal values (no network, no vars).
    fn check(&self, options: &Options) -> Vec<OptionProblem>;

    /// Expectations used when an item has no `expect`.
    fn default_expect(&self, options: &Options) -> Vec<String>;

    /// Secrets inside interpolated options that the generic rules miss
    /// (e.g. `password=` in a libpq key/value DSN).
    fn secrets(&self, options: &Options) -> Vec<String> {
        let _ = options;
        Vec::new()
    }

    /// Builds a ready-to-run observer from interpolated options. Errors are item errors.
    fn prepare(&self, options: &Options) -> Result<Arc<dyn Observer>, String>;

    /// Like [`Probe::prepare`], knowing the item's per-attempt timeout, for probes that
    /// make the server enforce it too (postgres' `statement_timeout`). The runner calls
    /// this; the default ignores the timeout.
    fn prepare_timed(
        &self,
        options: &Options,
        timeout: std::time::Duration,
    ) -> Result<Arc<dyn Observer>, String> {
        let _ = timeout;
        self.prepare(options)
    }
}

/// One item's prepared observation, run once per attempt.
pub trait Observer: Send + Sync {
    /// The host this observation talks to, for per-host concurrency limits.
    fn host(&self) -> Option<String>;

    /// Performs one attempt. The runner bounds it with the item's timeout.
    fn observe(&self) -> BoxFuture<'_, Result<Facts, Failure>>;
}

/// The set of probes a build knows, looked up by name.
#[derive(Clone, Default)]
pub struct Catalog {
    probes: Vec<Arc<dyn Probe>>,
}

impl Catalog {
    /// Builds a catalog from probe instances.
    pub fn new(probes: Vec<Arc<dyn Probe>>) -> Catalog {
        Catalog { probes }
    }

    /// The probe called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Probe>> {
        self.probes.iter().find(|p| p.descriptor().name == name)
    }

    /// Every probe name, for "did you mean" and help.
    pub fn names(&self) -> Vec<&'static str> {
        self.probes.iter().map(|p| p.descriptor().name).collect()
    }
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

/// Deserializes options into a probe's typed struct, naming the offending key.
pub fn parse_options<T: DeserializeOwned>(options: &Options) -> Result<T, OptionProblem> {
    let value = Value::Object(options.clone());
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let key = path
            .split(['.', '['])
            .next()
            .filter(|k| !k.is_empty() && *k != "?");
        OptionProblem {
            key: key.map(str::to_string),
            message: if path == "." {
                e.inner().to_string()
            } else {
                format!("`{path}`: {}", e.inner())
            },
        }
    })
}

/// Parses a humantime duration such as `"5s"` or `"150ms"`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("{e} (write e.g. \"5s\", \"250ms\", \"2m\")"))
}
