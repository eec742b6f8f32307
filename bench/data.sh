#!/usr/bin/env bash
# Costs with the data: sign-in, refresh and introspection on a database holding a thousand accounts (each with
# a token family, a refresh token and a revoked access-token id), then a million (rows added by
# `tessera bench seed`, not through the API), on SQLite and on PostgreSQL. One release server pinned to one
# core per measurement, wrk on the other; prints each scenario's requests/s and latency at both sizes and the
# ratio of the medians (1M / 1k). PostgreSQL is skipped, with the reason, when it does not answer.
# Usage: bench/data.sh [seconds per scenario, default 10]. BENCH_PG: a PostgreSQL URL whose user may create
# databases (default postgres://postgres@127.0.0.1:5432/postgres). BENCH_ACCOUNTS: the large size (default
# 1000000). BENCH_DATABASES: which to measure (default "sqlite postgres").
set -euo pipefail

duration=${1:-10}
bench=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
source "$bench/lib.sh"
pg=${BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}
large=${BENCH_ACCOUNTS:-1000000}
sizes=(1000 "$large")

(cd "$bench_root" && cargo build --release --quiet)
tessera=$bench_root/target/release/tessera
work=$(mktemp -d)
server=
pg_db=bench_data_$$
export BENCH_PASSWORD="bench passphrase $RANDOM$RANDOM"
cleanup() {
  [[ -n $server ]] && { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
  psql "$pg" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

declare -A result
scenarios=("POST login (1 conn)" "POST refresh (4 chains)" "introspect a user's JWT" "introspect a client's JWT")

# bench_backend NAME URL: both sizes on one database.
bench_backend() {
  local name=$1 url=$2 have=0 size port base started
  cli() { TESSERA_DATABASE__URL=$url TESSERA_LOG__LEVEL=warn "$tessera" "$@" 2>>"$work/cli.log"; }
  cli admin create-app --name bench --rate-limit 10000000 --json >/dev/null
  export BENCH_API_KEY; BENCH_API_KEY=$(cli admin create-api-key --app bench --name bench --json | json_field key)
  # A gateway of the application: client_credentials, and it may introspect every token of the application.
  local gateway; gateway=$(cli admin create-client --app bench --name gateway --grant-type client_credentials \
    --scope api:read --resource-server --json)
  export BENCH_BASIC
  BENCH_BASIC=$(printf '%s:%s' "$(json_field client_id <<<"$gateway")" "$(json_field client_secret <<<"$gateway")" |
    base64 -w0)
  for size in "${sizes[@]}"; do
    started=$(date +%s)
    cli bench seed --accounts $((size - have)) --prefix "s$size-" --app bench --password-stdin <<<"$BENCH_PASSWORD" \
      >/dev/null
    echo "$name: $size accounts with their rows ($(( $(date +%s) - started )) s to add $((size - have)))"
    have=$size
    port=$(free_port)
    base=http://127.0.0.1:$port
    TESSERA_SERVER__BIND=127.0.0.1:$port TESSERA_DATABASE__URL=$url TESSERA_LOG__LEVEL=warn \
      TESSERA_LOGIN__MAX_FAILURES_PER_IP=100000000 \
      "${on_server_core[@]}" "$tessera" >>"$work/server.log" 2>&1 &
    server=$!
    wait_ready "$base"
    echo "  resident after start: $(( $(rss_kb "$server") / 1024 )) MB"
    login() {
      curl -sf -XPOST "$base/api/v1/auth/login" -H 'content-type: application/json' -H "x-api-key: $BENCH_API_KEY" \
        -d "{\"login\":\"s$size-$1\",\"password\":\"$BENCH_PASSWORD\"}"
    }
    local user_token client_token
    user_token=$(login 1 | json_field access_token)
    export BENCH_REFRESH_TOKENS
    BENCH_REFRESH_TOKENS=$(for i in 2 3 4 5; do login "$i" | json_field refresh_token; done | paste -sd,)
    client_token=$(curl -s -XPOST -H "Authorization: Basic $BENCH_BASIC" -d 'grant_type=client_credentials' \
      "$base/oauth2/token" | json_field access_token)
    [[ -n $user_token && -n $client_token && $BENCH_REFRESH_TOKENS == *,*,*,* ]] ||
      { echo "bench: tokens for $name at $size accounts failed" >&2; tail -5 "$work/server.log" >&2; exit 1; }
    keep() {
      measure "$server" "${@:2}"
      result["$name|$1|$size"]="$m_rps $m_p50 $m_p99 $m_note"
    }
    BENCH_LOGIN="s$size-" BENCH_LOGIN_FIRST=1 keep "${scenarios[0]}" -t1 -c1 -s "$bench/login.lua" "$base"
    keep "${scenarios[1]}" -t4 -c4 -s "$bench/refresh.lua" "$base"
    BENCH_FORM="token=$user_token" keep "${scenarios[2]}" -t1 -c8 -s "$bench/form.lua" "$base/oauth2/introspect"
    BENCH_FORM="token=$client_token" keep "${scenarios[3]}" -t1 -c8 -s "$bench/form.lua" "$base/oauth2/introspect"
    kill "$server"; wait "$server" 2>/dev/null || true; server=
  done
}

echo "Costs with the data: $duration s per scenario; $pinning"
backends=()
if [[ " ${BENCH_DATABASES:-sqlite postgres} " == *" sqlite "* ]]; then
  backends+=(sqlite)
  bench_backend sqlite "sqlite://$work/data.db"
fi
if [[ " ${BENCH_DATABASES:-sqlite postgres} " != *" postgres "* ]]; then
  :
elif ! command -v psql >/dev/null; then
  echo "postgres: skipped (psql not found)"
elif ! psql "$pg" -qc "CREATE DATABASE $pg_db" >/dev/null 2>>"$work/cli.log"; then
  echo "postgres: skipped (cannot create a database at $pg: $(tail -1 "$work/cli.log"))"
else
  backends+=(postgres)
  bench_backend postgres "${pg%/*}/$pg_db"
fi

echo
printf '%-9s %-26s %18s %18s %18s %18s %9s\n' database scenario "1k req/s" "1k p50 / p99" "${large} req/s" \
  "${large} p50 / p99" "p50 ratio"
for name in "${backends[@]}"; do
  for scenario in "${scenarios[@]}"; do
    read -r small_rps small_p50 small_p99 small_note <<<"${result["$name|$scenario|1000"]}"
    read -r large_rps large_p50 large_p99 large_note <<<"${result["$name|$scenario|$large"]}"
    printf '%-9s %-26s %18s %18s %18s %18s %8sx %s\n' "$name" "$scenario" "$small_rps" "$small_p50 / $small_p99" \
      "$large_rps" "$large_p50 / $large_p99" \
      "$(awk -v a="$(ms "$large_p50")" -v b="$(ms "$small_p50")" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')" \
      "$small_note$large_note"
  done
done
