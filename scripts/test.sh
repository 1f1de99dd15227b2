#!/usr/bin/env bash
# The one test command (README, .ci/run): installs the real servers the tests talk to
# when they are missing, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests need, as "command:package" pairs.
NEEDED=(
  "redis-server:redis-server"
  "prometheus:prometheus"
  "openssl:openssl"   # tls e2e: `openssl s_server` as an independent TLS 1.0/1.1 server
  "prometheus-alertmanager:prometheus-alertmanager"
  "initdb:postgresql"   # found in /usr/lib/postgresql/*/bin; tests run it via runuser as root
  "unbound:unbound"     # dns dnssec tests: a validating resolver on loopback (in /usr/sbin)
  "exim4:exim4-daemon-light"   # tls starttls tests: a real SMTP server on a high port (in /usr/sbin)
  "chromium:chromium"   # the HTML report's browser tests (headless, over the DevTools protocol)
  "tinyproxy:tinyproxy" # proxy tests: a real forward proxy on loopback, its log proves the route
)
missing=()
for pair in "${NEEDED[@]}"; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x /usr/sbin/"$cmd" ] \
     && ! ls /usr/lib/postgresql/*/bin/"$cmd" >/dev/null 2>&1; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing test servers: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# cargo-deny checks licenses, duplicate crates and sources (deny.toml).
if ! command -v cargo-deny >/dev/null 2>&1; then
  echo "installing cargo-deny"
  cargo install --locked --quiet cargo-deny
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
cargo deny --offline check licenses bans sources
# Chromium is installed above, so the HTML browser tests must run, not skip.
export PREFLIGHT_REQUIRE_BROWSER=1
cargo test --workspace --locked
