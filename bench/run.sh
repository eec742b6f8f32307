#!/usr/bin/env bash
# Load figures for Tessera: starts a release build on loopback with a fresh SQLite database, pinned to one
# core with one worker, drives it with wrk from the other core for a bounded time per scenario, and prints
# requests/s, p50 and p99 latency and the server's resident memory. Then the same wrk load against panva's
# oidc-provider (bench/peer, Node.js, in-memory adapter, pinned to the same core) for discovery, JWKS,
# client_credentials (RS256, ES256 and EdDSA tokens) and introspection, side by side with the ratio; the peer
# is skipped, with the reason,
# when Node.js/npm or its packages are missing. Then bench/data.sh (a thousand against a million accounts and
# tokens, SQLite and PostgreSQL) and bench/cluster.sh (one, two and three instances behind HAProxy).
# Usage: bench/run.sh [seconds per scenario, default 10] [part: all (default), core, data or cluster]
set -euo pipefail

duration=${1:-10}
part=${2:-all}
root=$(cd "$(dirname "$0")/.." && pwd)
bench=$root/bench
case $part in
  all | core) ;;
  data) exec "$bench/data.sh" "$duration" ;;
  cluster) exec "$bench/cluster.sh" "$duration" ;;
  *) echo "usage: bench/run.sh [seconds] [all|core|data|cluster]" >&2; exit 2 ;;
esac
# shellcheck source=bench/lib.sh
source "$bench/lib.sh"

# The peer's packages, before the long build so a failure shows early.
peer_skip=
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  peer_skip="node/npm not found"
elif [[ ! -f $bench/peer/node_modules/oidc-provider/package.json ]] &&
  ! (cd "$bench/peer" && timeout 300 npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
  peer_skip="npm ci failed in bench/peer"
fi

(cd "$root" && cargo build --release --quiet)
work=$(mktemp -d)
port=$(free_port)
base=http://127.0.0.1:$port
export BENCH_LOGIN=bench BENCH_PASSWORD="bench passphrase $RANDOM$RANDOM"

# tessera_cli ARGS…: the release binary's CLI on the bench database.
tessera_cli() {
  TESSERA_DATABASE__URL="sqlite://$work/bench.db" TESSERA_LOG__LEVEL=warn "$root/target/release/tessera" "$@" \
    2>>"$work/server.log"
}
# An application whose budget never throttles the load, and its API key (x-api-key on every REST request).
tessera_cli admin create-app --name bench --rate-limit 10000000 --json >/dev/null
export BENCH_API_KEY; BENCH_API_KEY=$(tessera_cli admin create-api-key --app bench --name bench --json | json_field key)
# A confidential client of that application for client_credentials and introspection (client_secret_basic),
# and a first-party one for a code flow.
client=$(tessera_cli admin create-client --app bench --name bench --grant-type client_credentials \
  --scope api:read --json)
rp=$(tessera_cli admin create-client --app bench --name bench-rp --redirect-uri http://127.0.0.1/cb --first-party --json)
client_id=$(json_field client_id <<<"$client")
client_secret=$(json_field client_secret <<<"$client")
export BENCH_BASIC; BENCH_BASIC=$(printf '%s:%s' "$client_id" "$client_secret" | base64 -w0)
cc_form="grant_type=client_credentials&scope=api:read"
# Two more such clients whose access tokens are signed with ES256 and with EdDSA; their Basic credentials.
basic_of() { printf '%s:%s' "$(json_field client_id <<<"$1")" "$(json_field client_secret <<<"$1")" | base64 -w0; }
for alg in ES256 EdDSA; do
  declare "basic_$alg=$(basic_of "$(tessera_cli admin create-client --app bench --name "bench $alg" \
    --grant-type client_credentials --scope api:read --access-token-alg "$alg" --json)")"
done

TESSERA_SERVER__BIND=127.0.0.1:$port TESSERA_DATABASE__URL="sqlite://$work/bench.db" \
  TESSERA_BOOTSTRAP_ADMIN_PASSWORD="$BENCH_PASSWORD admin" TESSERA_LOG__LEVEL=warn \
  TESSERA_LOGIN__MAX_FAILURES_PER_IP=100000000 \
  "${on_server_core[@]}" "$root/target/release/tessera" >>"$work/server.log" 2>&1 &
server=$!
peer=
stop() {
  kill $server 2>/dev/null || true; wait $server 2>/dev/null || true
  if [[ -n $peer ]]; then kill "$peer" 2>/dev/null || true; wait "$peer" 2>/dev/null || true; fi
  peer=
  rm -rf "$work"
}
trap stop EXIT
wait_ready "$base"

for i in $(seq 0 7); do
  body=$(curl -sf -XPOST "$base/api/v1/users" -H 'content-type: application/json' -H "x-api-key: $BENCH_API_KEY" \
    -d "{\"username\":\"$BENCH_LOGIN$i\",\"email\":\"bench$i@example.org\",\"password\":\"$BENCH_PASSWORD\"}")
done
access=$(sed -E 's/.*"access_token":"([^"]+)".*/\1/' <<<"$body")
# A private token of the same user, for the same call authenticated without a JWT.
expires=$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)
private_token=$(curl -sf -XPOST "$base/api/v1/tokens" -H 'content-type: application/json' \
  -H "x-api-key: $BENCH_API_KEY" -H "Authorization: Bearer $access" \
  -d "{\"description\":\"bench\",\"expires_at\":\"$expires\"}" | json_field token)
[[ -n $private_token ]] || { echo "bench: creating a private token failed" >&2; exit 1; }
refresh_chains=16
BENCH_REFRESH_TOKENS=$(for i in $(seq $refresh_chains); do
  curl -sf -XPOST "$base/api/v1/auth/login" -H 'content-type: application/json' -H "x-api-key: $BENCH_API_KEY" \
    -d "{\"login\":\"${BENCH_LOGIN}$((i % 8))\",\"password\":\"$BENCH_PASSWORD\"}" |
    sed -E 's/.*"refresh_token":"([^"]+)".*/\1/'
  echo
done | paste -sd,)
export BENCH_REFRESH_TOKENS

# The same user's OpenID Connect access token through the code flow (the sign-in form, by curl): userinfo
# does what GET /api/v1/user does, without an API key or a budget in the path.
jar=$work/cookies
login_page=$(curl -s -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' "$base/oauth2/authorize?response_type=code&client_id=$(json_field client_id <<<"$rp")&redirect_uri=http://127.0.0.1/cb&scope=openid%20profile%20email")
form=$(curl -s -c "$jar" -b "$jar" "$login_page")
hidden() { sed -nE "s/.*name=\"$1\" value=\"([^\"]+)\".*/\1/p" <<<"$form" | head -n 1; }
callback=$(curl -s -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' -XPOST "$base/login" \
  --data-urlencode "csrf=$(hidden csrf)" --data-urlencode "request=$(hidden request)" \
  --data-urlencode "login=${BENCH_LOGIN}7" --data-urlencode "password=$BENCH_PASSWORD")
code=$(sed -nE 's/.*[?&]code=([^&]+).*/\1/p' <<<"$callback")
oidc_access=$(curl -s -u "$(json_field client_id <<<"$rp"):$(json_field client_secret <<<"$rp")" "$base/oauth2/token" \
  -d grant_type=authorization_code -d "code=$code" -d redirect_uri=http://127.0.0.1/cb | json_field access_token)
[[ -n $oidc_access ]] || { echo "bench: the code flow for userinfo failed" >&2; exit 1; }

# token URL: a client_credentials access token (empty on failure). introspect_active URL TOKEN: succeeds
# when the introspection endpoint calls TOKEN active.
token() { curl -s -XPOST -H "Authorization: Basic $BENCH_BASIC" -d "$cc_form${2:+&$2}" "$1" | json_field access_token; }
introspect_active() {
  local answer; answer=$(curl -s -XPOST -H "Authorization: Basic $BENCH_BASIC" --data-urlencode "token=$2" "$1")
  [[ $answer == *'"active":true'* ]]
}
tessera_token=$(token "$base/oauth2/token")
[[ -n $tessera_token ]] || { echo "Tessera issued no client_credentials token; server log:" >&2; cat "$work/server.log" >&2; exit 1; }
introspect_active "$base/oauth2/introspect" "$tessera_token" ||
  { echo "Tessera does not call its own client_credentials token active" >&2; exit 1; }
sleep 16  # let the set-up's password-hashing memory be given back before measuring

# run NAME [wrk arguments…]: one Tessera scenario, with the server's peak RSS sampled while it runs.
run() {
  local name=$1; shift
  measure $server "$@"
  printf '%-22s %10s %10s %10s %9s MB %s\n' "$name" "$m_rps" "$m_p50" "$m_p99" "$m_peak" "$m_note"
}

echo "Tessera $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?') on $(nproc) cores," \
  "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); ${duration} s per scenario; $pinning"
printf '%-22s %10s %10s %10s %12s\n' scenario "req/s" p50 p99 "peak RSS"
run "GET /oauth2/jwks" -t1 -c64 "$base/oauth2/jwks"
user_load=(-t1 -c32 -H "Authorization: Bearer $access" -H "x-api-key: $BENCH_API_KEY" "$base/api/v1/user")
userinfo_load=(-t1 -c32 -H "Authorization: Bearer $oidc_access" "$base/oauth2/userinfo")
run "GET /api/v1/user" "${user_load[@]}"
run "GET /oauth2/userinfo" "${userinfo_load[@]}"
private_load=(-t1 -c32 -H "Authorization: Bearer $private_token" -H "x-api-key: $BENCH_API_KEY" "$base/api/v1/user")
run "GET /api/v1/user (tsp_)" "${private_load[@]}"
# The cost of the API key and the budget: GET /api/v1/user against userinfo, which makes the same token check
# and lookup without them. Interleaved short rounds, so drift in the machine's speed hits both alike.
with_key=0; without=0; rounds=6
full_duration=$duration; duration=$(( (full_duration + 1) / 2 ))
for _ in $(seq $rounds); do
  measure $server "${user_load[@]}"; with_key=$((with_key + m_rps))
  measure $server "${userinfo_load[@]}"; without=$((without + m_rps))
done
echo "  with the API key and budget: $((with_key / rounds)) req/s; without: $((without / rounds)) req/s" \
  "($(awk -v a="$with_key" -v b="$without" 'BEGIN { printf "%+.1f%%", 100 * (a - b) / b }'); $rounds interleaved rounds)"
# GET /api/v1/user authenticated by a private token (one indexed look-up, no signature) against a JWT.
private=0; jwt=0
for _ in $(seq $rounds); do
  measure $server "${private_load[@]}"; private=$((private + m_rps))
  measure $server "${user_load[@]}"; jwt=$((jwt + m_rps))
done
echo "  private token: $((private / rounds)) req/s; JWT: $((jwt / rounds)) req/s" \
  "($(awk -v a="$private" -v b="$jwt" 'BEGIN { printf "%+.1f%%", 100 * (a - b) / b }'); $rounds interleaved rounds)"
duration=$full_duration
run "POST refresh" -t$refresh_chains -c$refresh_chains -s "$bench/refresh.lua" "$base"
run "POST login" -t1 -c8 -s "$bench/login.lua" "$base"
run "POST login (1 conn)" -t1 -c1 -s "$bench/login.lua" "$base"
BENCH_LOGIN=nobody run "POST login, no such user" -t1 -c1 -s "$bench/login.lua" "$base"
sleep 16  # idle password-hashing memory is given back after ~10 s
run "GET discovery" -t1 -c64 "$base/.well-known/openid-configuration"
BENCH_FORM=$cc_form run "POST client_credentials" -t1 -c32 -s "$bench/form.lua" "$base/oauth2/token"
for alg in ES256 EdDSA; do
  basic_var=basic_$alg
  BENCH_BASIC=${!basic_var} BENCH_FORM=$cc_form run "POST cc ($alg)" -t1 -c32 -s "$bench/form.lua" "$base/oauth2/token"
done
BENCH_FORM="token=$tessera_token" run "POST introspect" -t1 -c32 -s "$bench/form.lua" "$base/oauth2/introspect"
introspect_active "$base/oauth2/introspect" "$tessera_token" || echo "  (the introspected token is no longer active)"
echo "idle after the run: $(( $(rss_kb $server) / 1024 )) MB resident"
hash=$(TESSERA_DATABASE__URL="sqlite://$work/cost.db" "$root/target/release/tessera" password-cost)
echo "$hash"
server_cores=$(( ${#on_server_core[@]} > 0 ? 1 : $(nproc) ))
awk -v cores="$server_cores" '{ for (i = 1; i <= NF; i++) if ($(i + 1) == "ms") ms = $i }
  END { printf "login target (80%% x cores / one hash): %.0f req/s\n", 0.8 * cores * 1000 / ms }' <<<"$hash"

# --- Side by side with oidc-provider ---------------------------------------------------------------------
echo
if [[ -z $peer_skip ]]; then
  # The peer gets Tessera's client id and secret, so the token requests are byte-identical.
  peer_port=$(free_port)
  peer_base=http://127.0.0.1:$peer_port
  PEER_CLIENT_ID=$client_id PEER_CLIENT_SECRET=$client_secret \
    "${on_server_core[@]}" node "$bench/peer/server.mjs" "$peer_port" >"$work/peer.log" 2>&1 &
  peer=$!
  for _ in $(seq 150); do curl -sf "$peer_base/.well-known/openid-configuration" >/dev/null && break; sleep 0.1; done
  # Its endpoints, as its discovery document names them; each one checked before any load.
  peer_discovery=$(curl -sf "$peer_base/.well-known/openid-configuration" || true)
  peer_jwks=$(json_field jwks_uri <<<"$peer_discovery")
  peer_token_url=$(json_field token_endpoint <<<"$peer_discovery")
  peer_introspect=$(json_field introspection_endpoint <<<"$peer_discovery")
  # client_credentials tokens for the default resource are JWTs; oidc-provider will not introspect a JWT,
  # so the one to introspect is an opaque token for its second resource (see bench/peer/server.mjs).
  if [[ -z $peer_discovery ]]; then
    peer_skip="it did not start: $(tail -3 "$work/peer.log" | tr '\n' ' ')"
  elif [[ -z $peer_jwks || -z $peer_token_url || -z $peer_introspect ]]; then
    peer_skip="its discovery document lacks jwks_uri, token_endpoint or introspection_endpoint"
  elif [[ $(curl -sf "$peer_jwks") != *'"kty":"RSA"'*'"kty":"EC"'*'"kty":"OKP"'* ]]; then
    peer_skip="its JWKS ($peer_jwks) lacks an RSA, EC or OKP key"
  elif [[ $(token "$peer_token_url") != ey* ]]; then
    peer_skip="it issued no JWT for client_credentials"
  elif peer_token=$(token "$peer_token_url" resource=urn:tessera-bench:opaque) && [[ -z $peer_token ]]; then
    peer_skip="it issued no opaque token for introspection"
  elif ! introspect_active "$peer_introspect" "$peer_token"; then
    peer_skip="it does not call its own token active at $peer_introspect"
  fi
  if [[ -n $peer_skip ]]; then kill "$peer" 2>/dev/null; wait "$peer" 2>/dev/null || true; peer=; fi
fi

if [[ -n $peer_skip ]]; then
  echo "oidc-provider: skipped ($peer_skip)"
else

  tessera_max=0 peer_max=0
  ratio() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { if (a != "" && b > 0) printf f "x", a / b; else print "n/a" }'; }
  # compare NAME TESSERA_URL TESSERA_FORM PEER_URL PEER_FORM [wrk options…]: the same load on both servers, one
  # after the other, each after a short unmeasured warm-up (Node.js's JIT). An empty FORM is a GET; otherwise
  # the form body is POSTed with the client's Basic credentials (form.lua): on Tessera's side those of
  # $t_basic when set (another of its clients), on the peer's always BENCH_BASIC (the one client it has).
  compare() {
    local name=$1 t_url=$2 t_form=$3 p_url=$4 p_form=$5; shift 5
    local t_rps t_p99 t_peak t_note script=()
    [[ -n $t_form ]] && script=(-s "$bench/form.lua")
    BENCH_BASIC=${t_basic:-$BENCH_BASIC} BENCH_FORM=$t_form "${on_load_core[@]}" wrk -d2s "$@" "${script[@]}" \
      "$t_url" >/dev/null 2>&1 || true
    BENCH_BASIC=${t_basic:-$BENCH_BASIC} BENCH_FORM=$t_form measure $server "$@" "${script[@]}" "$t_url"
    t_rps=$m_rps t_p99=$m_p99 t_peak=$m_peak t_note=$m_note
    BENCH_FORM=$p_form "${on_load_core[@]}" wrk -d2s "$@" "${script[@]}" "$p_url" >/dev/null 2>&1 || true
    BENCH_FORM=$p_form measure "$peer" "$@" "${script[@]}" "$p_url"
    (( t_peak > tessera_max )) && tessera_max=$t_peak
    (( m_peak > peer_max )) && peer_max=$m_peak
    printf '%-24s %11s %10s %7s %11s %10s %8s MB %5s MB%s%s\n' "$name" "$t_rps" "$m_rps" "$(ratio "$t_rps" "$m_rps" %.1f)" \
      "$t_p99" "$m_p99" "$t_peak" "$m_peak" "${t_note:+ Tessera: $t_note}" "${m_note:+ peer: $m_note}"
  }

  peer_version=$(node -p 'require(process.argv[1]).version' "$bench/peer/node_modules/oidc-provider/package.json")
  echo "Tessera vs oidc-provider $peer_version (one Node.js $(node --version) process), each on one core: the same" \
    "wrk load, ${duration} s each; ratio = Tessera req/s / oidc-provider req/s"
  echo "idle before: Tessera $(( $(rss_kb $server) / 1024 )) MB, oidc-provider $(( $(rss_kb "$peer") / 1024 )) MB resident"
  printf '%-24s %11s %10s %7s %11s %10s %11s %8s\n' scenario "Tessera r/s" "peer r/s" ratio "Tessera p99" "peer p99" \
    "Tessera RSS" "peer RSS"
  compare "GET discovery" "$base/.well-known/openid-configuration" "" "$peer_base/.well-known/openid-configuration" "" \
    -t1 -c64
  compare "GET JWKS" "$base/oauth2/jwks" "" "$peer_jwks" "" -t1 -c64
  compare "POST client_credentials" "$base/oauth2/token" "$cc_form" "$peer_token_url" "$cc_form" -t1 -c32
  # The same grant with ES256 and EdDSA tokens: Tessera's client registered for that algorithm, the peer's
  # resource signing with it.
  for alg in ES256 EdDSA; do
    basic_var=basic_$alg
    resource="resource=urn:tessera-bench:${alg,,}"
    [[ $(token "$peer_token_url" "$resource" | cut -d. -f1 | base64 -d 2>/dev/null) == *"\"alg\":\"$alg\""* ]] ||
      echo "  (oidc-provider did not sign its $alg resource's token with $alg)"
    t_basic=${!basic_var} compare "POST cc ($alg)" "$base/oauth2/token" "$cc_form" "$peer_token_url" \
      "$cc_form&$resource" -t1 -c32
  done
  compare "POST introspect" "$base/oauth2/introspect" "token=$tessera_token" "$peer_introspect" "token=$peer_token" -t1 -c32
  introspect_active "$base/oauth2/introspect" "$tessera_token" || echo "  (Tessera's introspected token is no longer active)"
  introspect_active "$peer_introspect" "$peer_token" || echo "  (oidc-provider's introspected token is no longer active)"
  echo "peak RSS over these scenarios: Tessera $tessera_max MB, oidc-provider $peer_max MB" \
    "(Tessera / oidc-provider: $(ratio "$tessera_max" "$peer_max" %.2f))"
fi
stop
trap - EXIT
if [[ $part == all ]]; then
  echo
  "$bench/data.sh" "$duration"
  echo
  "$bench/cluster.sh" "$duration"
fi
