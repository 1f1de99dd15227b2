//! The contract between core and probe crates.
//!
//! A probe *observes* and returns facts; it never decides pass or fail. Core judges
//! the facts against the item's expectations.
//!
//! Everything core knows about a probe comes from one place in its crate:
//! - its options are one typed struct ([`Probe::Options`]); its `JsonSchema` derive is
//!   where option names, types, defaults and docs come from — the loader validates
//!   against it, `preflight schema` and `preflight explain` print it;
//! - its facts are described once, in [`Probe::FACTS`]; a conformance test compares
//!   what a probe emits against them;
//! - its failures are one typed error enum implementing [`ProbeError`].
//!
//! Template syntax (`${…}`) never reaches a probe: core interpolates and coerces the
//! options before [`Probe::prepare`] sees them, typed.

mod catalog;
mod fact;
mod failure;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use catalog::{Catalog, ProbeEntry};
pub use fact::{Fact, FactType, conformance};
pub use failure::{Blame, Failure, ProbeError};

use crate::network::{Family, Network};

/// Options of one item, as a JSON object (TOML converted; interpolated at plan time).
pub type Options = Map<String, Value>;

/// Facts a probe observed: a JSON object whose top-level names are the probe's facts.
pub type Facts = Map<String, Value>;

/// A boxed future, so observers stay object-safe without an async-trait dependency.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What core hands a probe besides its options when it prepares an item.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Context {
    /// The item's per-attempt timeout, for probes that make the server enforce it too
    /// (postgres' `statement_timeout`). The runner bounds every attempt by it anyway.
    pub timeout: Duration,
    /// The run's proxy, trust and environment settings ([`crate::network`]): the
    /// defaults an item's own `proxy` / `ca` override.
    pub network: Arc<Network>,
}

impl Context {
    /// A context for an item with this per-attempt timeout, and no proxy, the
    /// Mozilla roots and nothing from the environment.
    pub fn new(timeout: Duration) -> Context {
        Context {
            timeout,
            network: Arc::default(),
        }
    }

    /// The same context with the run's network settings.
    pub fn with_network(mut self, network: Arc<Network>) -> Context {
        self.network = network;
        self
    }
}

/// How an item reaches its target, as far as its options say: what `preflight
/// check` shows next to the run's [`Network`] settings (which proxy, which trust
/// roots), without connecting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Egress {
    /// For probes that go through HTTP proxies: the URL whose host the proxy rules
    /// (`NO_PROXY`) are matched against.
    pub url: Option<String>,
    /// The item's own `proxy` option.
    pub proxy: Option<String>,
    /// Whether the item speaks TLS to its target (so trust roots matter).
    pub tls: bool,
    /// The item's own `ca` file (replaces every other root).
    pub ca: Option<String>,
    /// Certificates are not checked (`insecure = true`, or `sslmode = prefer`).
    pub unverified: bool,
    /// The item's `client_cert` file, if it presents one.
    pub client_cert: Option<String>,
    /// The item's `family`.
    pub family: Family,
}

/// A problem with an item's options, found at load or plan time.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// A probe kind, implemented once per `probes/<name>` crate.
///
/// Core reaches it through [`AnyProbe`], which every `Probe` implements.
pub trait Probe: Send + Sync + 'static {
    /// The typed options. Derive `Deserialize` (with `deny_unknown_fields`) and
    /// `JsonSchema`; doc comments on fields are the option docs users read.
    type Options: DeserializeOwned + JsonSchema;

    /// Name used in `probe = "…"`.
    const NAME: &'static str;
    /// One line on what the probe checks, for `preflight explain`.
    const SUMMARY: &'static str;
    /// Every top-level fact the probe reports, described once.
    const FACTS: &'static [Fact];
    /// Options whose values are always secrets, even when written literally.
    const SECRET_OPTIONS: &'static [&'static str] = &[];
    /// A complete `[[item]]` using the probe, for `explain` and the docs (tested).
    const EXAMPLE: &'static str;
    /// When the default expectation depends on options, how (for `explain`).
    const DEFAULT_EXPECT_NOTE: &'static str = "";

    /// Expectations used when an item has no `expect`. Sees the options as written
    /// (placeholders unresolved): only which options are present may matter.
    fn default_expect(options: &Options) -> Vec<String>;

    /// Checks of literal values the types cannot express (a URL parses, two options
    /// exclude each other). Runs at load time when the options hold no `${…}`, and at
    /// plan time after interpolation otherwise.
    fn validate(options: &Self::Options) -> Vec<OptionProblem> {
        let _ = options;
        Vec::new()
    }

    /// Secrets inside options that the generic rules miss (e.g. `password=` in a
    /// libpq key/value DSN).
    fn secrets(options: &Self::Options) -> Vec<String> {
        let _ = options;
        Vec::new()
    }

    /// How an item with these options connects out (proxy, TLS trust, client
    /// certificate, address family), for `preflight check`. `None`: the probe opens no
    /// network connection of the kinds the run's network settings shape.
    fn egress(options: &Self::Options) -> Option<Egress> {
        let _ = options;
        None
    }

    /// Builds a ready-to-run observer from interpolated, typed options.
    fn prepare(
        &self,
        options: Self::Options,
        context: &Context,
    ) -> Result<Arc<dyn Observer>, Failure>;
}

/// One item's prepared observation, run once per attempt.
pub trait Observer: Send + Sync {
    /// The host this observation talks to, for per-host concurrency limits.
    fn host(&self) -> Option<String>;

    /// Performs one attempt. The runner bounds it with the item's timeout.
    fn observe(&self) -> BoxFuture<'_, Result<Facts, Failure>>;
}

/// The object-safe face of a [`Probe`], which the catalog stores. Implemented for
/// every `Probe`; probe crates never implement it by hand.
pub trait AnyProbe: Send + Sync {
    /// [`Probe::NAME`].
    fn name(&self) -> &'static str;
    /// [`Probe::SUMMARY`].
    fn summary(&self) -> &'static str;
    /// [`Probe::FACTS`].
    fn facts(&self) -> &'static [Fact];
    /// [`Probe::SECRET_OPTIONS`].
    fn secret_options(&self) -> &'static [&'static str];
    /// [`Probe::EXAMPLE`].
    fn example(&self) -> &'static str;
    /// [`Probe::DEFAULT_EXPECT_NOTE`].
    fn default_expect_note(&self) -> &'static str;
    /// The JSON Schema (2020-12) of the options, from their derive.
    fn options_schema(&self) -> Value;
    /// Deserializes the options into their typed struct and validates them.
    fn check(&self, options: &Options) -> Vec<OptionProblem>;
    /// [`Probe::default_expect`].
    fn default_expect(&self, options: &Options) -> Vec<String>;
    /// [`Probe::secrets`] of interpolated options (none when they do not parse).
    fn secrets(&self, options: &Options) -> Vec<String>;
    /// [`Probe::egress`] of interpolated options (none when they do not parse).
    fn egress(&self, options: &Options) -> Option<Egress>;
    /// Parses interpolated options and prepares the observer.
    fn prepare(&self, options: &Options, context: &Context) -> Result<Arc<dyn Observer>, Failure>;
}

impl<P: Probe> AnyProbe for P {
    fn name(&self) -> &'static str {
        P::NAME
    }
    fn summary(&self) -> &'static str {
        P::SUMMARY
    }
    fn facts(&self) -> &'static [Fact] {
        P::FACTS
    }
    fn secret_options(&self) -> &'static [&'static str] {
        P::SECRET_OPTIONS
    }
    fn example(&self) -> &'static str {
        P::EXAMPLE
    }
    fn default_expect_note(&self) -> &'static str {
        P::DEFAULT_EXPECT_NOTE
    }
    fn options_schema(&self) -> Value {
        schemars::schema_for!(P::Options).to_value()
    }
    fn check(&self, options: &Options) -> Vec<OptionProblem> {
        // The typed parse stops at the first bad option: leave it out and parse
        // again, so every problem is reported at once.
        let mut rest = options.clone();
        let mut problems: Vec<OptionProblem> = Vec::new();
        loop {
            match parse_options::<P::Options>(&rest) {
                Ok(o) => {
                    let seen: Vec<Option<String>> =
                        problems.iter().map(|p| p.key.clone()).collect();
                    problems.extend(
                        P::validate(&o)
                            .into_iter()
                            .filter(|p| !seen.contains(&p.key)),
                    );
                    return problems;
                }
                Err(p) => {
                    let removable = p.key.as_ref().filter(|k| rest.contains_key(*k)).cloned();
                    match removable {
                        Some(k) => {
                            rest.remove(&k);
                            problems.push(p);
                        }
                        // A problem left once bad options are gone (a required one is
                        // missing) is only news if it is the first.
                        None => {
                            if problems.is_empty() {
                                problems.push(p);
                            }
                            return problems;
                        }
                    }
                }
            }
        }
    }
    fn default_expect(&self, options: &Options) -> Vec<String> {
        P::default_expect(options)
    }
    fn secrets(&self, options: &Options) -> Vec<String> {
        parse_options::<P::Options>(options)
            .map(|o| P::secrets(&o))
            .unwrap_or_default()
    }
    fn egress(&self, options: &Options) -> Option<Egress> {
        parse_options::<P::Options>(options)
            .ok()
            .and_then(|o| P::egress(&o))
    }
    fn prepare(&self, options: &Options, context: &Context) -> Result<Arc<dyn Observer>, Failure> {
        let typed = parse_options::<P::Options>(options).map_err(Failure::options)?;
        if let Some(p) = P::validate(&typed).into_iter().next() {
            return Err(Failure::options(p));
        }
        Probe::prepare(self, typed, context)
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
            // The key itself is named by whoever shows the problem; a deeper path
            // (`migrations.dir`) is said here.
            message: if path == "." || Some(path.as_str()) == key {
                e.inner().to_string()
            } else {
                format!("`{path}`: {}", e.inner())
            },
        }
    })
}

/// Parses a humantime duration such as `"5s"` or `"150ms"`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("{e} (write e.g. \"5s\", \"250ms\", \"2m\")"))
}
