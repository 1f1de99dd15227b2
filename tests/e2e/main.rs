//! End-to-end tests of the `preflight` binary against the real testbed.
