//! End-to-end tests of the `preflight` binary against the real testbed on loopback.
//! One file per area; each probe adds its own module here.

mod support;

mod contract;
mod dns;
mod engine;
mod hostile;
mod launch;
mod ops_probes;
mod postgres;
mod postlaunch;
mod terminal;
mod tls;
mod webhook;
