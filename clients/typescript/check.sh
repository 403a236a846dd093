#!/usr/bin/env bash
# Checks the TypeScript client of the reference app:
#
#   clients/typescript/check.sh [REFERENCE_BINARY] [TSGEN_BINARY]
#     (defaults: target/release/examples/reference, and `cargo run --release --example tsgen`)
#
# 1. `npm ci` (typescript and ws, pinned in package-lock.json, dev-only);
# 2. regenerates src/reference.ts with the Rust generator and fails when
#    the committed file differs (`git diff --exit-code`);
# 3. type-checks the type-level tests (test/types.ts: wrong arguments must
#    not compile) and builds to dist/ with tsc;
# 4. runs the node tests (test/*.test.mjs) against the reference binary
#    (each test run starts it on a free port, and restarts it once).
# Needs node >= 18 and npm (the distribution's `nodejs` and `npm` packages).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN="$(realpath -m "${1:-$ROOT/target/release/examples/reference}")"
[ -x "$BIN" ] || { echo "check.sh: no executable $BIN (cargo build --release --example reference)" >&2; exit 2; }

(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)

if [ -n "${2:-}" ]; then
  "$2" "$HERE/src/reference.ts"
else
  (cd "$ROOT" && cargo run --quiet --release --example tsgen -- "$HERE/src/reference.ts")
fi
git -C "$ROOT" diff --exit-code -- clients/typescript/src/reference.ts || {
  echo "check.sh: clients/typescript/src/reference.ts is out of date: run \`cargo run --example tsgen\` and commit it" >&2
  exit 1
}

(cd "$HERE" && npx tsc -p test && npx tsc -p . && REFERENCE_BIN="$BIN" node --test test/)
