#!/usr/bin/env bash
# Compiles the generated TypeScript client (clients/typescript/src/*.ts) to
# the ES modules the board page imports (examples/board/client/, committed,
# embedded in the board binary). `--check` fails when the committed files
# differ from a fresh build (CI runs it after clients/typescript/check.sh).
#
#   tools/e2e/build-client.sh [--check]
#
# Uses the TypeScript compiler pinned in clients/typescript (npm ci there).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TSC="$ROOT/clients/typescript/node_modules/.bin/tsc"
[ -x "$TSC" ] || (cd "$ROOT/clients/typescript" && npm ci --no-audit --no-fund --loglevel=error)
"$TSC" -p "$ROOT/examples/board/tsconfig.json"
if [ "${1:-}" = "--check" ]; then
  git -C "$ROOT" diff --exit-code -- examples/board/client/ || {
    echo "build-client.sh: examples/board/client/ is stale: run tools/e2e/build-client.sh and commit" >&2
    exit 1
  }
fi
