#!/usr/bin/env bash
# Validates the reference app's AsyncAPI document with the AsyncAPI
# project's own parser (@asyncapi/parser, pinned in package-lock.json).
#
#   tools/asyncapi/check.sh [REFERENCE_BINARY]   (default: target/release/examples/reference)
#
# Installs the parser with `npm ci`, starts the binary on a free port of
# 127.0.0.1, waits for its `listening on ws://` line, validates
# GET /asyncapi.json (validate.mjs), and stops the server. Needs node >= 18
# and npm (the distribution's `nodejs` and `npm` packages).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="${1:-target/release/examples/reference}"
[ -x "$BIN" ] || { echo "check.sh: no executable $BIN (cargo build --release --example reference)" >&2; exit 2; }

(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)

# shellcheck source=../lib/server.sh
. "$HERE/../lib/server.sh"
start_server "$BIN" "listening on ws://"

node "$HERE/validate.mjs" "http://127.0.0.1:$PORT/asyncapi.json"
