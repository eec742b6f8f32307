#!/usr/bin/env bash
# Runs the openid-client relying-party check (check.mjs) against a freshly started Tessera.
#
# Builds target/debug/tessera if missing, starts it on a free loopback port with a throw-away SQLite
# database, creates a user and six clients (one first party, one that needs consent, an API gateway marked as
# a resource server, a public device client, a private_key_jwt client that takes only pushed requests and
# receives back-channel logout tokens, and a client_secret_jwt service), installs the locked npm dependencies and
# runs the check. Exits 0 only if every step passed.
#
# Environment (all optional):
#   TESSERA_BIN        Tessera binary to test (default: <repo>/target/debug/tessera, built if missing)
#   RP_CHECK_TIMEOUT   seconds for the check itself (default 300)
#   RP_KEEP_TMP=1      keep the temp dir (database, server log) for inspection
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
check_timeout="${RP_CHECK_TIMEOUT:-300}"

log() { printf 'rp: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in node npm curl timeout; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done

# --- the binary ------------------------------------------------------------------------------------
tessera="${TESSERA_BIN:-$repo/target/debug/tessera}"
if [[ ! -x "$tessera" ]]; then
  [[ -z "${TESSERA_BIN:-}" ]] || die "TESSERA_BIN=$tessera is not an executable"
  log "building $tessera (cargo build)"
  (cd "$repo" && timeout 1800 cargo build --quiet --bin tessera) || die "cargo build failed"
  [[ -x "$tessera" ]] || die "cargo build did not produce $tessera"
fi

# --- scratch space and cleanup ---------------------------------------------------------------------
tmp="$(mktemp -d "${TMPDIR:-/tmp}/tessera-rp.XXXXXX")"
server_pid=""
cleanup() {
  local status=$?
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ $status -ne 0 && -s "$tmp/server.log" ]]; then
    log "server log (last 40 lines):"
    tail -n 40 "$tmp/server.log" >&2 || true
  fi
  if [[ "${RP_KEEP_TMP:-}" == 1 ]]; then log "kept $tmp"; else rm -rf "$tmp"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

port="$(free_port)"
rp_port="$(free_port)" # only appears in redirect URIs; nothing listens there
backchannel_port="$(free_port)" # check.mjs listens here for logout tokens
issuer="http://127.0.0.1:$port"
redirect_uri="http://127.0.0.1:$rp_port/cb"
post_logout_uri="http://127.0.0.1:$rp_port/bye"

export TESSERA_DATABASE__URL="sqlite://$tmp/tessera.db"
export TESSERA_SERVER__BIND="127.0.0.1:$port"
export TESSERA_BOOTSTRAP_ADMIN_PASSWORD="rp-check-$(node -e 'console.log(require("crypto").randomBytes(12).toString("hex"))')"
export TESSERA_PASSWORD__ARGON2_MEMORY_KIB=64
export TESSERA_PASSWORD__ARGON2_ITERATIONS=1
export TESSERA_LOG__LEVEL="${TESSERA_LOG__LEVEL:-warn}"
export TESSERA_BACKCHANNEL_LOGOUT__INTERVAL_SECS=1

# --- the server ------------------------------------------------------------------------------------
log "starting Tessera at $issuer"
"$tessera" </dev/null >"$tmp/server.log" 2>&1 &
server_pid=$!

ready=""
for _ in $(seq 120); do # 60 s
  kill -0 "$server_pid" 2>/dev/null || die "Tessera exited during start-up"
  if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$issuer/health/ready" || true)" == 200 ]]; then
    ready=1
    break
  fi
  sleep 0.5
done
[[ -n "$ready" ]] || die "Tessera was not ready within 60 s"

# --- an API key, a user and two clients -----------------------------------------------------------
# The REST API wants the application's key (x-api-key); the first start made the default application.
api_key="$(timeout 60 "$tessera" admin create-api-key --app default --name "rp check" --json |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).key))')" ||
  die "create-api-key failed"
username="alice"
email="alice@example.org"
password="rp-check $(node -e 'console.log(require("crypto").randomBytes(9).toString("base64url"))')"
user_json="$(
  node -e 'console.log(JSON.stringify({username: process.argv[1], email: process.argv[2], password: process.argv[3]}))' \
    "$username" "$email" "$password" |
    curl -sS --max-time 20 -w '\n%{http_code}' -H 'content-type: application/json' -H "x-api-key: $api_key" \
      --data-binary @- "$issuer/api/v1/users"
)"
[[ "${user_json##*$'\n'}" == 201 ]] || die "creating the user failed: $user_json"
user_id="$(printf '%s' "${user_json%$'\n'*}" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).user.id))')"

create_client() {
  timeout 60 "$tessera" admin create-client --name "$1" \
    --redirect-uri "$redirect_uri" --post-logout-redirect-uri "$post_logout_uri" "${@:2}" --json 2>>"$tmp/server.log"
}
json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }

first_party="$(create_client "openid-client check" --first-party)" || die "create-client failed"
consent_client="$(create_client "openid-client consent check")" || die "create-client failed"
# An API gateway: a resource server that introspects every token of the application, sending its secret in
# the body although registered for Basic (both are accepted).
gateway_client="$(timeout 60 "$tessera" admin create-client --name "gateway check" --resource-server --json \
  2>>"$tmp/server.log")" || die "create-client --resource-server failed"
# A TV-like public client: the device authorization grant (RFC 8628), with refresh tokens.
device_client="$(timeout 60 "$tessera" admin create-client --name "device check" --public \
  --grant-type urn:ietf:params:oauth:grant-type:device_code --grant-type refresh_token --json \
  2>>"$tmp/server.log")" || die "create-client for the device grant failed"

# A modern confidential client: private_key_jwt with an EC P-256 key made here (RFC 7523), pushed requests only
# (RFC 9126), back-channel logout tokens to check.mjs's listener, and its ID tokens in EdDSA and access tokens in
# ES256.
node -e '
  const { generateKeyPairSync } = require("node:crypto");
  const fs = require("node:fs");
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const pub = { ...publicKey.export({ format: "jwk" }), kid: "rp-check", alg: "ES256", use: "sig" };
  fs.writeFileSync(process.argv[1], JSON.stringify({ keys: [pub] }));
  fs.writeFileSync(process.argv[2], JSON.stringify({ ...privateKey.export({ format: "jwk" }), kid: "rp-check" }));
' "$tmp/keyed.jwks.json" "$tmp/keyed.private.jwk"
keyed_client="$(create_client "private_key_jwt check" --first-party --auth-method private_key_jwt \
  --jwks-file "$tmp/keyed.jwks.json" --grant-type authorization_code --grant-type refresh_token \
  --grant-type client_credentials --scope openid --scope profile --scope email --scope offline_access --scope api:read \
  --require-pushed-authorization-requests --id-token-alg EdDSA --access-token-alg ES256 \
  --backchannel-logout-uri "http://127.0.0.1:$backchannel_port/backchannel" --backchannel-logout-session-required)" ||
  die "create-client for private_key_jwt failed"
hmac_client="$(timeout 60 "$tessera" admin create-client --name "client_secret_jwt check" \
  --auth-method client_secret_jwt --grant-type client_credentials --scope api:read --json \
  2>>"$tmp/server.log")" || die "create-client for client_secret_jwt failed"

# --- the check -------------------------------------------------------------------------------------
log "installing openid-client (npm ci)"
(cd "$here" && timeout 300 npm ci --no-audit --no-fund --loglevel=error >"$tmp/npm.log" 2>&1) ||
  { cat "$tmp/npm.log" >&2; die "npm ci failed"; }

log "running check.mjs"
cd "$here"
RP_ISSUER="$issuer" \
RP_CLIENT_ID="$(json_field client_id <<<"$first_party")" \
RP_CLIENT_SECRET="$(json_field client_secret <<<"$first_party")" \
RP_REDIRECT_URI="$redirect_uri" \
RP_POST_LOGOUT_REDIRECT_URI="$post_logout_uri" \
RP_CONSENT_CLIENT_ID="$(json_field client_id <<<"$consent_client")" \
RP_CONSENT_CLIENT_SECRET="$(json_field client_secret <<<"$consent_client")" \
RP_CONSENT_REDIRECT_URI="$redirect_uri" \
RP_GATEWAY_CLIENT_ID="$(json_field client_id <<<"$gateway_client")" \
RP_GATEWAY_CLIENT_SECRET="$(json_field client_secret <<<"$gateway_client")" \
RP_DEVICE_CLIENT_ID="$(json_field client_id <<<"$device_client")" \
RP_KEYED_CLIENT_ID="$(json_field client_id <<<"$keyed_client")" \
RP_KEYED_PRIVATE_JWK="$(cat "$tmp/keyed.private.jwk")" \
RP_BACKCHANNEL_PORT="$backchannel_port" \
RP_HMAC_CLIENT_ID="$(json_field client_id <<<"$hmac_client")" \
RP_HMAC_CLIENT_SECRET="$(json_field client_secret <<<"$hmac_client")" \
RP_USERNAME="$username" \
RP_PASSWORD="$password" \
RP_EXPECTED_SUB="$user_id" \
RP_EXPECTED_EMAIL="$email" \
  timeout "$check_timeout" node check.mjs || {
  status=$?
  [[ $status -ne 124 ]] || log "check.mjs did not finish within $check_timeout s"
  exit "$status"
}
