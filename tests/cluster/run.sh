#!/usr/bin/env bash
# A cluster on this machine: three Tessera instances on one fresh PostgreSQL database behind HAProxy (Debian's
# package), all on loopback, then check.py through the balancer and against each instance. Exits 0 only if every
# check passed; stops everything it started and drops the database however it ends.
#
# Environment (all optional):
#   TESSERA_BIN     the binary to run (default: <repo>/target/debug/tessera, built if missing)
#   CLUSTER_PG      a PostgreSQL URL whose user may create databases (default: postgres://postgres@127.0.0.1:5432/postgres)
#   CLUSTER_SIZE    instances (default 3)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
pg="${CLUSTER_PG:-postgres://postgres@127.0.0.1:5432/postgres}"
size="${CLUSTER_SIZE:-3}"

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in haproxy psql python3 curl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required (haproxy: apt-get install haproxy)"
done

tessera="${TESSERA_BIN:-$repo/target/debug/tessera}"
if [[ ! -x "$tessera" ]]; then
  log "building $tessera (cargo build)"
  (cd "$repo" && cargo build --quiet --bin tessera) || die "cargo build failed"
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/tessera-cluster.XXXXXX")"
db="cluster_$(date +%s)_$$"
pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  psql "$pg" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  if [[ $status -ne 0 ]]; then
    for f in "$tmp"/*.log; do [[ -s $f ]] && { log "$(basename "$f") (last 20 lines):"; tail -n 20 "$f" >&2; }; done
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_ready() {
  for _ in $(seq 120); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1/health/ready" || true)" == 200 ]] && return 0
    sleep 0.5
  done
  die "$1 was not ready within 60 s"
}

psql "$pg" -qc "CREATE DATABASE \"$db\"" || die "cannot create the database"
base="${pg%/*}"
lb_port="$(free_port)"
export TESSERA_DATABASE__URL="$base/$db?sslmode=disable"
export TESSERA_SERVER__ISSUER="http://127.0.0.1:$lb_port"
export TESSERA_SERVER__WORKERS=1
export TESSERA_SECRET_KEY="cluster-check-secret-key-0123456789abcdef"
export TESSERA_BOOTSTRAP_ADMIN_EMAIL="admin@cluster.example"
export TESSERA_BOOTSTRAP_ADMIN_PASSWORD="cluster admin password 42"
export TESSERA_PASSWORD__ARGON2_MEMORY_KIB=64
export TESSERA_PASSWORD__ARGON2_ITERATIONS=1
export TESSERA_LOG__LEVEL="${TESSERA_LOG__LEVEL:-warn}"

instances=()
for i in $(seq "$size"); do
  port="$(free_port)"
  TESSERA_SERVER__BIND="127.0.0.1:$port" "$tessera" </dev/null >"$tmp/instance-$i.log" 2>&1 &
  pids+=("$!")
  instances+=("http://127.0.0.1:$port")
  # The first one migrates and bootstraps; the others start on a ready database.
  [[ $i == 1 ]] && wait_ready "http://127.0.0.1:$port"
done
for instance in "${instances[@]}"; do wait_ready "$instance"; done

# shellcheck source=tests/cluster/haproxy.sh
source "$here/haproxy.sh"
haproxy_config "$lb_port" "${instances[@]#http://}" >"$tmp/haproxy.cfg"
haproxy -f "$tmp/haproxy.cfg" -db >"$tmp/haproxy.log" 2>&1 &
pids+=("$!")
wait_ready "http://127.0.0.1:$lb_port"
log "$size instances behind HAProxy at http://127.0.0.1:$lb_port"

key_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'; }
api_key="$("$tessera" admin create-api-key --app default --name "cluster check" --json | key_of)"
"$tessera" admin create-app --name Metered --slug metered --rate-limit 1000 --json >/dev/null
metered_key="$("$tessera" admin create-api-key --app metered --name "cluster check" --json | key_of)"

CLUSTER_LB="http://127.0.0.1:$lb_port" \
CLUSTER_INSTANCES="${instances[*]}" \
CLUSTER_API_KEY="$api_key" \
CLUSTER_METERED_KEY="$metered_key" \
CLUSTER_ADMIN_LOGIN="$TESSERA_BOOTSTRAP_ADMIN_EMAIL" \
CLUSTER_ADMIN_PASSWORD="$TESSERA_BOOTSTRAP_ADMIN_PASSWORD" \
  timeout 300 python3 "$here/check.py"
