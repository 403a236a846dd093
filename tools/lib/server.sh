# Sourced by the check scripts of tools/: start_server BIN READY starts BIN
# with `--addr 127.0.0.1:PORT` on a free port, waits (30 s at most) for a
# line of its output containing READY, and sets PORT; the server is stopped
# and its log removed when the calling script exits. Its log is printed if
# it exits or does not get ready.
start_server() {
  local bin="$1" ready="$2"
  SERVER_LOG="$(mktemp "${TMPDIR:-/tmp}/server-log.XXXXXX")"
  PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "$bin" --addr "127.0.0.1:$PORT" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  trap 'kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; rm -f "$SERVER_LOG"' EXIT
  for _ in $(seq 1 300); do
    grep -q "$ready" "$SERVER_LOG" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$SERVER_LOG" >&2; echo "$bin exited" >&2; exit 2; }
    sleep 0.1
  done
  cat "$SERVER_LOG" >&2
  echo "$bin did not print \"$ready\" within 30 s" >&2
  exit 2
}
