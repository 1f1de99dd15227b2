//! The probes this build of `preflight` knows, for the binary, its tests and its
//! benchmarks. Adding a probe = one crate + one line in [`registry::catalog`].

pub mod registry;
