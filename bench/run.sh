#!/usr/bin/env bash
# Load figures for Tessera: starts a release build on loopback with a fresh SQLite database, drives it with
# wrk for a bounded time per scenario, and prints requests/s, p50 and p99 latency and the server's
# resident memory. Usage: bench/run.sh [seconds per scenario, default 10]
set -euo pipefail

duration=${1:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
bench=$root/bench
command -v wrk >/dev/null || { echo "bench needs wrk: apt-get install wrk" >&2; exit 1; }
command -v curl >/dev/null || { echo "bench needs curl" >&2; exit 1; }

(cd "$root" && cargo build --release --quiet)
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
export BENCH_LOGIN=bench BENCH_PASSWORD="bench passphrase $RANDOM$RANDOM"

TESSERA_SERVER__BIND=127.0.0.1:$port TESSERA_DATABASE__URL="sqlite://$work/bench.db" \
  TESSERA_BOOTSTRAP_ADMIN_PASSWORD="$BENCH_PASSWORD admin" TESSERA_LOG__LEVEL=warn \
  "$root/target/release/tessera" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "$base/health/ready" >/dev/null && break; sleep 0.1; done

for i in $(seq 0 7); do
  body=$(curl -sf -XPOST "$base/api/v1/users" -H 'content-type: application/json' \
    -d "{\"username\":\"$BENCH_LOGIN$i\",\"email\":\"bench$i@example.org\",\"password\":\"$BENCH_PASSWORD\"}")
done
access=$(sed -E 's/.*"access_token":"([^"]+)".*/\1/' <<<"$body")
refresh_chains=16
BENCH_REFRESH_TOKENS=$(for i in $(seq $refresh_chains); do
  curl -sf -XPOST "$base/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"login\":\"${BENCH_LOGIN}$((i % 8))\",\"password\":\"$BENCH_PASSWORD\"}" |
    sed -E 's/.*"refresh_token":"([^"]+)".*/\1/'
  echo
done | paste -sd,)
export BENCH_REFRESH_TOKENS
sleep 16  # let the set-up's password-hashing memory be given back before measuring

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$server/status"; }

# run NAME [wrk arguments…]: one scenario, with the server's peak RSS sampled while it runs.
run() {
  local name=$1; shift
  local peak=0 out
  wrk --latency -d"${duration}s" "$@" >"$work/wrk.txt" 2>&1 &
  local load=$!
  while kill -0 $load 2>/dev/null; do
    local now; now=$(rss_kb); (( now > peak )) && peak=$now
    sleep 0.2
  done
  wait $load
  out=$(cat "$work/wrk.txt")
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  printf '%-22s %10s %10s %10s %9s MB %s\n' "$name" "$rps" "$p50" "$p99" "$((peak / 1024))" \
    "${errors:+($errors non-2xx)}"
}

echo "Tessera $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?') on $(nproc) cores," \
  "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); ${duration} s per scenario"
printf '%-22s %10s %10s %10s %12s\n' scenario "req/s" p50 p99 "peak RSS"
run "GET /oauth2/jwks" -t2 -c64 "$base/oauth2/jwks"
run "GET /api/v1/user" -t2 -c32 -H "Authorization: Bearer $access" "$base/api/v1/user"
run "POST refresh" -t$refresh_chains -c$refresh_chains -s "$bench/refresh.lua" "$base"
run "POST login" -t2 -c8 -s "$bench/login.lua" "$base"
run "POST login (1 conn)" -t1 -c1 -s "$bench/login.lua" "$base"
BENCH_LOGIN=nobody run "POST login, no such user" -t1 -c1 -s "$bench/login.lua" "$base"
sleep 16  # idle password-hashing memory is given back after ~10 s
echo "idle after the run: $(( $(rss_kb) / 1024 )) MB resident"
hash=$(TESSERA_DATABASE__URL="sqlite://$work/cost.db" "$root/target/release/tessera" password-cost)
echo "$hash"
awk -v cores="$(nproc)" '{ for (i = 1; i <= NF; i++) if ($(i + 1) == "ms") ms = $i }
  END { printf "login target (80%% x cores / one hash): %.0f req/s\n", 0.8 * cores * 1000 / ms }' <<<"$hash"
