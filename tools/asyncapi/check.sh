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

LOG="$(mktemp "${TMPDIR:-/tmp}/asyncapi-check.XXXXXX")"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$BIN" --addr "127.0.0.1:$PORT" >"$LOG" 2>&1 &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 1 300); do
  grep -q "listening on ws://" "$LOG" && break
  kill -0 "$PID" 2>/dev/null || { cat "$LOG" >&2; echo "check.sh: the server exited" >&2; exit 2; }
  sleep 0.1
done
grep -q "listening on ws://" "$LOG" || { cat "$LOG" >&2; echo "check.sh: the server did not start" >&2; exit 2; }

node "$HERE/validate.mjs" "http://127.0.0.1:$PORT/asyncapi.json"
