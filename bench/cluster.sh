#!/usr/bin/env bash
# One, two and three Tessera instances on one PostgreSQL database behind HAProxy (Debian's package), on
# loopback: password sign-in, refresh, client_credentials and introspection through the balancer, and for
# each scenario the database transactions a request costs (pg_stat_database, per request answered). The
# instances share the server core (one worker each), HAProxy and wrk the load core; PostgreSQL is not pinned.
# On a two-core machine the figures show what coordinating instances costs (shared budgets and limits,
# advisory locks, cache notifications), not a gain from more cores: see the README for the model of a larger
# machine. Skipped, with the reason, without PostgreSQL or HAProxy.
# Usage: bench/cluster.sh [seconds per scenario, default 10]. BENCH_PG: a PostgreSQL URL whose user may create
# databases (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail

duration=${1:-10}
bench=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
source "$bench/lib.sh"
# shellcheck source=tests/cluster/haproxy.sh
source "$bench_root/tests/cluster/haproxy.sh"
pg=${BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}
for tool in haproxy psql; do
  command -v "$tool" >/dev/null || { echo "cluster: skipped ($tool not found)"; exit 0; }
done

(cd "$bench_root" && cargo build --release --quiet)
tessera=$bench_root/target/release/tessera
work=$(mktemp -d)
pids=()
haproxy_pid=
db=bench_cluster_$$
cleanup() {
  [[ -n $haproxy_pid ]] && kill "$haproxy_pid" 2>/dev/null || true
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  psql "$pg" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
psql "$pg" -qc "CREATE DATABASE $db" >/dev/null 2>"$work/psql.log" ||
  { echo "cluster: skipped (cannot create a database at $pg: $(tail -1 "$work/psql.log"))"; exit 0; }
url=${pg%/*}/$db
export TESSERA_DATABASE__URL=$url TESSERA_LOG__LEVEL=warn TESSERA_LOGIN__MAX_FAILURES_PER_IP=100000000
export BENCH_PASSWORD="bench passphrase $RANDOM$RANDOM"
lb_port=$(free_port)
lb=http://127.0.0.1:$lb_port
export TESSERA_SERVER__ISSUER=$lb

"$tessera" admin create-app --name bench --rate-limit 10000000 --json >/dev/null 2>>"$work/cli.log"
export BENCH_API_KEY; BENCH_API_KEY=$("$tessera" admin create-api-key --app bench --name bench --json | json_field key)
client=$("$tessera" admin create-client --app bench --name gateway --grant-type client_credentials --scope api:read \
  --resource-server --json)
export BENCH_BASIC
BENCH_BASIC=$(printf '%s:%s' "$(json_field client_id <<<"$client")" "$(json_field client_secret <<<"$client")" |
  base64 -w0)
"$tessera" bench seed --accounts 16 --prefix c --app bench --password-stdin <<<"$BENCH_PASSWORD" >/dev/null \
  2>>"$work/cli.log"

xacts() {
  psql "$pg" -tAc "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$db'"
}
declare -A result
scenarios=("POST login" "POST refresh" "POST client_credentials" "POST introspect")
sizes=(1 2 3)
addresses=()
for size in "${sizes[@]}"; do
  port=$(free_port)
  TESSERA_SERVER__BIND=127.0.0.1:$port "${on_server_core[@]}" "$tessera" >>"$work/instance-$size.log" 2>&1 &
  pids+=("$!")
  wait_ready "http://127.0.0.1:$port"
  addresses+=("127.0.0.1:$port")
  haproxy_config "$lb_port" "${addresses[@]}" >"$work/haproxy.cfg"
  "${on_load_core[@]}" haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
  haproxy_pid=$!
  wait_ready "$lb"

  export BENCH_REFRESH_TOKENS
  BENCH_REFRESH_TOKENS=$(for i in $(seq 9 16); do
    curl -sf -XPOST "$lb/api/v1/auth/login" -H 'content-type: application/json' -H "x-api-key: $BENCH_API_KEY" \
      -d "{\"login\":\"c$i\",\"password\":\"$BENCH_PASSWORD\"}" | json_field refresh_token
  done | paste -sd,)
  token=$(curl -s -XPOST -H "Authorization: Basic $BENCH_BASIC" -d 'grant_type=client_credentials' "$lb/oauth2/token" |
    json_field access_token)
  [[ -n $token && $BENCH_REFRESH_TOKENS == *,*,*,*,*,*,*,* ]] ||
    { echo "cluster: tokens through the balancer failed" >&2; tail -5 "$work"/instance-*.log >&2; exit 1; }
  # keep NAME [wrk arguments…]: one scenario, with the transactions per answered request.
  keep() {
    local before after
    before=$(xacts)
    measure "$(IFS=,; echo "${pids[*]}")" "${@:2}"
    sleep 1.5  # statistics reach pg_stat_database within a second
    after=$(xacts)
    result["$1|$size"]="$m_rps $m_p50 $m_p99 $(awk -v d=$((after - before)) -v n="${m_requests:-0}" \
      'BEGIN { if (n > 0) printf "%.1f", d / n; else print "n/a" }') $m_note"
  }
  BENCH_LOGIN=c BENCH_LOGIN_FIRST=1 keep "${scenarios[0]}" -t1 -c8 -s "$bench/login.lua" "$lb"
  keep "${scenarios[1]}" -t8 -c8 -s "$bench/refresh.lua" "$lb"
  BENCH_FORM=grant_type=client_credentials keep "${scenarios[2]}" -t1 -c32 -s "$bench/form.lua" "$lb/oauth2/token"
  BENCH_FORM="token=$token" keep "${scenarios[3]}" -t1 -c32 -s "$bench/form.lua" "$lb/oauth2/introspect"
  kill "$haproxy_pid"; wait "$haproxy_pid" 2>/dev/null || true; haproxy_pid=
done

echo "Instances on one PostgreSQL behind HAProxy: $duration s per scenario; $pinning"
printf '%-24s' scenario
for size in "${sizes[@]}"; do printf ' %30s' "$size: req/s, p99, db xact/req"; done
echo
for scenario in "${scenarios[@]}"; do
  printf '%-24s' "$scenario"
  notes=
  for size in "${sizes[@]}"; do
    read -r rps _ p99 per note <<<"${result["$scenario|$size"]}"
    printf ' %30s' "$rps, $p99, $per"
    notes+=${note:+ $size: $note}
  done
  echo "$notes"
done
