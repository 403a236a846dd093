#!/usr/bin/env bash
# End-to-end tests of the board example in headless Chromium.
#
#   tools/e2e/check.sh [BOARD_BINARY]   (default: target/release/examples/board)
#
# Installs puppeteer-core (pinned in package-lock.json) with `npm ci`,
# starts the board on a free port of 127.0.0.1, waits for its
# `listening on http://` line, runs board.test.mjs against it, and stops the
# server. Needs node >= 18, npm and the distribution's Chromium
# (`apt-get install -y nodejs npm chromium`; CHROMIUM=PATH overrides
# /usr/bin/chromium). Screenshots land in tools/e2e/screenshots/.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="${1:-target/release/examples/board}"
[ -x "$BIN" ] || { echo "check.sh: no executable $BIN (cargo build --release --example board)" >&2; exit 2; }
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] || { echo "check.sh: no Chromium at $CHROMIUM (apt-get install -y chromium)" >&2; exit 2; }

(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)

# shellcheck source=../lib/server.sh
. "$HERE/../lib/server.sh"
start_server "$BIN" "listening on http://"

cd "$HERE"
BOARD_URL="http://127.0.0.1:$PORT/" node --test --test-concurrency=1 board.test.mjs
