#!/usr/bin/env bash
# Regenerates the "Reference" section of every docs/probes/<name>.md from the code
# (`preflight explain NAME --format markdown`). The e2e test
# `contract::probe_reference_pages_match_explain` fails when a page is out of date.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --bin preflight
bin=target/debug/preflight
for page in docs/probes/*.md; do
  name=$(basename "$page" .md)
  [ "$name" = README ] && continue
  "$bin" explain "$name" --format markdown > /tmp/explain.$$ || { echo "no probe $name" >&2; exit 1; }
  python3 - "$page" /tmp/explain.$$ <<'PY'
import sys
page, gen = sys.argv[1], sys.argv[2]
text = open(page).read()
begin, end = "<!-- explain:begin -->\n", "<!-- explain:end -->"
a = text.index(begin) + len(begin)
b = text.index(end)
open(page, "w").write(text[:a] + open(gen).read() + text[b:])
PY
done
rm -f /tmp/explain.$$
echo "docs/probes/*.md regenerated"
