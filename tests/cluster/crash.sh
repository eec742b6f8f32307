#!/usr/bin/env bash
# Kill -9 under load and restart (crash.py), on a fresh SQLite file and on a fresh PostgreSQL database; then a
# graceful shutdown with a request in flight (drain.py).
#
# Environment (all optional):
#   TESSERA_BIN   the binary to run (default: <repo>/target/debug/tessera, built if missing)
#   CLUSTER_PG    a PostgreSQL URL whose user may create databases (default: postgres://postgres@127.0.0.1:5432/postgres)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
pg="${CLUSTER_PG:-postgres://postgres@127.0.0.1:5432/postgres}"
tessera="${TESSERA_BIN:-$repo/target/debug/tessera}"
[[ -x "$tessera" ]] || (cd "$repo" && cargo build --quiet --bin tessera)

tmp="$(mktemp -d "${TMPDIR:-/tmp}/tessera-crash.XXXXXX")"
db="crash_$(date +%s)_$$"
cleanup() {
  local status=$?
  psql "$pg" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  [[ $status -ne 0 && -s "$tmp/server.log" ]] && tail -n 30 "$tmp/server.log" >&2
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export TESSERA_SERVER__BIND="127.0.0.1:$port"
export TESSERA_SECRET_KEY="crash-check-secret-key-0123456789abcdef"
export TESSERA_PASSWORD__ARGON2_MEMORY_KIB=64
export TESSERA_PASSWORD__ARGON2_ITERATIONS=1
export TESSERA_LOG__LEVEL=warn
# Nothing here is about rate limits.
export TESSERA_SIGNUP__RATE_LIMIT_IP=100000
export TESSERA_APPS__DEFAULT_RATE_LIMIT_PER_MINUTE=1000000

psql "$pg" -qc "CREATE DATABASE \"$db\""
for url in "sqlite://$tmp/crash.db" "${pg%/*}/$db?sslmode=disable"; do
  export TESSERA_DATABASE__URL="$url"
  key="$("$tessera" admin create-api-key --app default --name crash --json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')"
  echo "crash: ${url%%:*}"
  CRASH_BASE="http://127.0.0.1:$port" CRASH_BIN="$tessera" CRASH_API_KEY="$key" CRASH_LOG="$tmp/server.log" \
    timeout 300 python3 "$here/crash.py"
done
echo "crash: graceful shutdown"
CRASH_BASE="http://127.0.0.1:$port" CRASH_BIN="$tessera" CRASH_API_KEY="$key" CRASH_LOG="$tmp/server.log" \
  timeout 60 python3 "$here/drain.py"
