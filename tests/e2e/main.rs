//! End-to-end tests of the `preflight` binary against the real testbed on loopback.
//! One file per area; each probe adds its own module here.

mod browser;
mod support;

mod captures;
mod command_json;
mod contract;
mod deploy;
mod dns;
mod engine;
mod failed_steps;
mod hostile;
mod html;
mod launch;
mod mail;
mod networks;
mod ops_probes;
mod postgres;
mod postlaunch;
mod sweeps;
mod terminal;
mod tls;
mod web;
mod webhook;
