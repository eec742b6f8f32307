// Independent relying-party check of a running Tessera, written with panva's `openid-client`.
//
// It plays a confidential web client (client_secret_basic) through the whole authorization code flow:
// discovery, PKCE S256 + state + nonce, the sign-in form (driven over plain HTTP, no browser), the code
// exchange with ID token validation, userinfo, refresh token rotation, introspection, revocation and
// RP-initiated logout. With a second, non-first-party client it also goes through the consent page and
// checks that a replayed code and a replayed refresh token are refused. A second browser signs in with
// response_mode=form_post; an API gateway (a resource server, client_secret_post) introspects that user's
// access token; a logout sent from another site without the session cookie ends that browser's session; and a
// public device client (RFC 8628) polls while a third browser enters its user code, signs in and approves it.
// A fourth browser's code is exchanged with a DPoP proof (RFC 9449): the key-bound token is used at userinfo,
// refused as a bearer token, refreshed with a proof and introspected. A private_key_jwt client (RFC 7523) that
// takes only pushed authorization requests (RFC 9126) signs a fifth browser in through PAR, gets client
// credentials tokens, and after RP-initiated logout receives a back-channel logout token, checked against the
// JWKS; its ID tokens (and logout tokens) are EdDSA and its access tokens ES256. A client_secret_jwt service gets
// a token with an HMAC assertion.
//
// Configuration (environment):
//   RP_ISSUER                      issuer URL, e.g. http://127.0.0.1:8080
//   RP_CLIENT_ID, RP_CLIENT_SECRET first-party client (no consent page)
//   RP_REDIRECT_URI                a redirect URI registered for it (nothing needs to listen there)
//   RP_POST_LOGOUT_REDIRECT_URI    optional: a registered post-logout redirect URI (enables the logout step)
//   RP_USERNAME, RP_PASSWORD       an existing user
//   RP_EXPECTED_SUB                optional: the user's id, compared with the `sub` claim
//   RP_EXPECTED_EMAIL              optional: compared with the `email` claim from userinfo
//   RP_CONSENT_CLIENT_ID, RP_CONSENT_CLIENT_SECRET, RP_CONSENT_REDIRECT_URI
//                                  optional: a non-first-party client (enables the consent steps)
//   RP_GATEWAY_CLIENT_ID, RP_GATEWAY_CLIENT_SECRET
//                                  optional: a client registered as a resource server (an API gateway that
//                                  introspects the users' access tokens; authenticates with client_secret_post)
//   RP_DEVICE_CLIENT_ID            optional: a public client registered for the device authorization grant
//   RP_KEYED_CLIENT_ID, RP_KEYED_PRIVATE_JWK, RP_BACKCHANNEL_PORT
//                                  optional: a first-party private_key_jwt client (its private P-256 JWK, with
//                                  kid), registered with require_pushed_authorization_requests, the
//                                  back-channel logout URI http://127.0.0.1:RP_BACKCHANNEL_PORT/backchannel,
//                                  EdDSA ID tokens and ES256 access tokens
//   RP_HMAC_CLIENT_ID, RP_HMAC_CLIENT_SECRET
//                                  optional: a client_secret_jwt client with the client_credentials grant
//
// Prints one `ok - ...` line per passed step, then `N passed, N failed`. Exits 1 at the first failure.

import { createHash, createPublicKey, verify as verifySignature } from "node:crypto";
import { createServer } from "node:http";
import * as client from "openid-client";

const HTTP_TIMEOUT_MS = 15_000;
const CLOCK_SKEW_S = 60;

// ---------------------------------------------------------------------------------------------------
// Reporting

class CheckFailure extends Error {}

let passed = 0;
let current = "start";

function fail(message) {
  throw new CheckFailure(message);
}

function check(condition, message) {
  if (!condition) fail(message);
}

function equal(actual, expected, what) {
  if (actual !== expected) {
    fail(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

async function step(name, fn) {
  current = name;
  const detail = await fn();
  passed += 1;
  console.log(`ok ${passed} - ${name}${detail ? ` (${detail})` : ""}`);
}

function describeError(error) {
  if (error instanceof CheckFailure) return error.message;
  if (error instanceof client.ResponseBodyError) {
    return `server answered HTTP ${error.status} error=${error.error}` +
      (error.error_description ? ` error_description=${JSON.stringify(error.error_description)}` : "");
  }
  if (error instanceof client.AuthorizationResponseError) {
    return `authorization response carried error=${error.error}` +
      (error.error_description ? ` error_description=${JSON.stringify(error.error_description)}` : "");
  }
  if (error instanceof client.WWWAuthenticateChallengeError) {
    return `server answered HTTP ${error.status} with WWW-Authenticate challenge ` +
      JSON.stringify(error.cause);
  }
  const parts = [`${error?.name ?? "Error"}: ${error?.message ?? String(error)}`];
  if (error?.code) parts.push(`code=${error.code}`);
  let cause = error?.cause;
  for (let depth = 0; cause && depth < 3; depth += 1) {
    if (cause instanceof Response) {
      parts.push(`response HTTP ${cause.status} ${cause.url}`);
      break;
    }
    parts.push(`cause: ${cause?.message ?? JSON.stringify(cause)}`);
    cause = cause?.cause;
  }
  return parts.join("; ");
}

/** Runs `fn`, which must throw an OAuth error response with `error=<code>`. */
async function expectOAuthError(code, what, fn) {
  let result;
  try {
    result = await fn();
  } catch (error) {
    if (error instanceof client.ResponseBodyError) {
      equal(error.error, code, `${what}: error code`);
      return `HTTP ${error.status} error=${error.error}`;
    }
    fail(`${what}: expected an OAuth error response error=${code}, got ${describeError(error)}`);
  }
  fail(`${what}: expected error=${code}, but the request succeeded: ${JSON.stringify(result)}`);
}

// ---------------------------------------------------------------------------------------------------
// Configuration

function env(name, { optional = false } = {}) {
  const value = process.env[name];
  if (!value && !optional) {
    console.error(`check.mjs: environment variable ${name} is required`);
    process.exit(2);
  }
  return value || undefined;
}

const ISSUER = env("RP_ISSUER");
const CLIENT_ID = env("RP_CLIENT_ID");
const CLIENT_SECRET = env("RP_CLIENT_SECRET");
const REDIRECT_URI = env("RP_REDIRECT_URI");
const POST_LOGOUT_REDIRECT_URI = env("RP_POST_LOGOUT_REDIRECT_URI", { optional: true });
const USERNAME = env("RP_USERNAME");
const PASSWORD = env("RP_PASSWORD");
const EXPECTED_SUB = env("RP_EXPECTED_SUB", { optional: true });
const EXPECTED_EMAIL = env("RP_EXPECTED_EMAIL", { optional: true });
const CONSENT_CLIENT_ID = env("RP_CONSENT_CLIENT_ID", { optional: true });
const CONSENT_CLIENT_SECRET = env("RP_CONSENT_CLIENT_SECRET", { optional: true });
const CONSENT_REDIRECT_URI = env("RP_CONSENT_REDIRECT_URI", { optional: true }) ?? REDIRECT_URI;
const GATEWAY_CLIENT_ID = env("RP_GATEWAY_CLIENT_ID", { optional: true });
const GATEWAY_CLIENT_SECRET = env("RP_GATEWAY_CLIENT_SECRET", { optional: true });
const DEVICE_CLIENT_ID = env("RP_DEVICE_CLIENT_ID", { optional: true });
const KEYED_CLIENT_ID = env("RP_KEYED_CLIENT_ID", { optional: true });
const KEYED_PRIVATE_JWK = env("RP_KEYED_PRIVATE_JWK", { optional: true });
const BACKCHANNEL_PORT = env("RP_BACKCHANNEL_PORT", { optional: true });
const HMAC_CLIENT_ID = env("RP_HMAC_CLIENT_ID", { optional: true });
const HMAC_CLIENT_SECRET = env("RP_HMAC_CLIENT_SECRET", { optional: true });

const SCOPE = "openid profile email offline_access";

// ---------------------------------------------------------------------------------------------------
// A tiny browser: a cookie jar, manual redirects and hidden form fields.

class Browser {
  #cookies = new Map();

  /** One request; never follows redirects. Returns { response, body, location }. */
  async request(url, { method = "GET", form } = {}) {
    const target = new URL(url, ISSUER);
    const headers = { accept: "text/html" };
    const cookie = [...this.#cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    if (cookie) headers.cookie = cookie;
    let body;
    if (form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(form).toString();
    }
    let response;
    try {
      response = await fetch(target, {
        method,
        headers,
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      });
    } catch (error) {
      fail(`${method} ${target.pathname}: request failed: ${describeError(error)}`);
    }
    for (const line of response.headers.getSetCookie()) this.#store(line);
    const text = await response.text();
    const location = response.headers.get("location");
    return { method, url: target, response, body: text, location };
  }

  #store(line) {
    const [pair, ...attributes] = line.split(";");
    const at = pair.indexOf("=");
    if (at < 1) return;
    const name = pair.slice(0, at).trim();
    const value = pair.slice(at + 1).trim();
    const expired = attributes.some((a) => {
      const [k, v = ""] = a.split("=");
      const key = k.trim().toLowerCase();
      return (key === "max-age" && Number(v) <= 0) ||
        (key === "expires" && Date.parse(v) <= Date.now());
    });
    if (expired || value === "") this.#cookies.delete(name);
    else this.#cookies.set(name, value);
  }

  has(name) {
    return this.#cookies.has(name);
  }
}

function exchange(r) {
  const snippet = r.body.replace(/\s+/g, " ").slice(0, 400);
  return `${r.method} ${r.url.pathname}${r.url.search} -> HTTP ${r.response.status}` +
    (r.location ? ` Location: ${r.location}` : "") + (snippet ? ` body: ${snippet}` : "");
}

function expectRedirect(r, what) {
  if (r.response.status !== 303 && r.response.status !== 302) {
    fail(`${what}: expected a 303 redirect, got ${exchange(r)}`);
  }
  check(r.location, `${what}: redirect without Location: ${exchange(r)}`);
  return new URL(r.location, r.url);
}

function decodeEntities(text) {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (_, entity) => {
    const e = entity.toLowerCase();
    if (e.startsWith("#x")) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith("#")) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[e];
  });
}

/** The value of `<input type="hidden" name="NAME" value="...">` in `html`. */
function hiddenInput(r, name, what) {
  for (const tag of r.body.match(/<input\b[^>]*>/gi) ?? []) {
    const attrs = Object.fromEntries(
      [...tag.matchAll(/([a-z-]+)\s*=\s*"([^"]*)"/gi)].map(([, k, v]) => [k.toLowerCase(), decodeEntities(v)]),
    );
    if (attrs.type === "hidden" && attrs.name === name) return attrs.value ?? "";
  }
  fail(`${what}: no hidden input "${name}" in ${exchange(r)}`);
}

function sameEndpoint(a, b) {
  return a.origin === b.origin && a.pathname === b.pathname;
}

// ---------------------------------------------------------------------------------------------------
// Helpers for tokens

function decodeJwtPart(jwt, index) {
  const part = jwt.split(".")[index];
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
}

function audiences(claims) {
  return Array.isArray(claims.aud) ? claims.aud : [claims.aud];
}

/** OIDC Core §3.1.3.6: at_hash is the base64url of the left half of SHA-256(access_token) for RS256. */
function atHash(accessToken) {
  const digest = createHash("sha256").update(accessToken, "ascii").digest();
  return digest.subarray(0, digest.length / 2).toString("base64url");
}

function checkIdTokenClaims(claims, { clientId, nonce, what }) {
  const now = Math.floor(Date.now() / 1000);
  equal(claims.iss, ISSUER, `${what}: iss`);
  check(typeof claims.sub === "string" && claims.sub.length > 0, `${what}: sub missing`);
  if (EXPECTED_SUB) equal(claims.sub, EXPECTED_SUB, `${what}: sub`);
  check(audiences(claims).includes(clientId), `${what}: aud ${JSON.stringify(claims.aud)} lacks ${clientId}`);
  if (audiences(claims).length > 1 || claims.azp !== undefined) equal(claims.azp, clientId, `${what}: azp`);
  if (nonce !== undefined) equal(claims.nonce, nonce, `${what}: nonce`);
  check(Number.isInteger(claims.iat) && claims.iat <= now + CLOCK_SKEW_S, `${what}: bad iat ${claims.iat}`);
  check(Number.isInteger(claims.exp) && claims.exp > now, `${what}: expired or bad exp ${claims.exp}`);
  check(claims.exp > claims.iat, `${what}: exp ${claims.exp} not after iat ${claims.iat}`);
  if (claims.auth_time !== undefined) {
    check(Number.isInteger(claims.auth_time) && claims.auth_time <= now + CLOCK_SKEW_S,
      `${what}: bad auth_time ${claims.auth_time}`);
  }
}

function checkTokenResponse(tokens, what) {
  equal(tokens.token_type?.toLowerCase(), "bearer", `${what}: token_type`);
  check(typeof tokens.access_token === "string" && tokens.access_token.length > 0, `${what}: no access_token`);
  check(Number.isInteger(tokens.expires_in) && tokens.expires_in > 0,
    `${what}: expires_in should be a positive integer, got ${JSON.stringify(tokens.expires_in)}`);
  check(typeof tokens.refresh_token === "string" && tokens.refresh_token.length > 0,
    `${what}: no refresh_token although offline_access was requested`);
}

// ---------------------------------------------------------------------------------------------------
// The authorization code flow, browser side

/**
 * Sends the browser to the authorization endpoint and through the sign-in and consent pages as
 * needed, until it is redirected to `redirectUri`. Returns the callback URL and the pages seen.
 */
async function authorize(browser, config, { redirectUri, extra = {}, scope = SCOPE, pushed = false }) {
  const codeVerifier = client.randomPKCECodeVerifier();
  const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const parameters = {
    redirect_uri: redirectUri,
    scope,
    code_challenge: codeChallenge,
    code_challenge_method: "S256",
    state,
    nonce,
    ...extra,
  };
  let url;
  if (pushed) {
    // RFC 9126: the parameters go to the PAR endpoint (with client authentication); the browser gets request_uri.
    url = await client.buildAuthorizationUrlWithPAR(config, parameters);
    check(url.searchParams.get("request_uri")?.startsWith("urn:ietf:params:oauth:request_uri:"),
      `pushed authorization URL without a request_uri: ${url}`);
  } else {
    url = client.buildAuthorizationUrl(config, parameters);
    check(url.searchParams.get("code_challenge_method") === "S256", "authorization URL lacks S256");
    check(url.searchParams.get("response_type") === "code", "authorization URL lacks response_type=code");
  }

  const target = new URL(redirectUri);
  const seen = [];
  let r = await browser.request(url);
  for (let hops = 0; hops < 6; hops += 1) {
    if (extra.response_mode === "form_post" && r.response.status === 200) {
      // OAuth 2.0 Form Post Response Mode: the browser would POST this form to the redirect URI.
      const action = r.body.match(/<form method="post" action="([^"]*)"/)?.[1];
      check(action && decodeEntities(action) === redirectUri, `form_post page with another action: ${exchange(r)}`);
      const fields = {};
      for (const name of ["code", "state", "iss", "error", "error_description"]) {
        if (r.body.includes(`name="${name}"`)) fields[name] = hiddenInput(r, name, "form_post page");
      }
      const csp = r.response.headers.get("content-security-policy") ?? "";
      check(csp.includes(`form-action ${redirectUri}`), `form_post page CSP does not allow its form: ${csp}`);
      check(/script-src 'sha256-[A-Za-z0-9+/=]+'/.test(csp), `form_post page CSP allows more than its script: ${csp}`);
      const callback = new Request(redirectUri, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(fields).toString(),
      });
      return { callback, codeVerifier, state, nonce, seen };
    }
    const next = expectRedirect(r, `after ${r.method} ${r.url.pathname}`);
    if (sameEndpoint(next, target)) {
      return { callbackUrl: next, callback: next, codeVerifier, state, nonce, seen };
    }
    check(next.origin === new URL(ISSUER).origin, `redirected to an unexpected place: ${exchange(r)}`);
    const page = await browser.request(next);
    if (page.response.status !== 200) fail(`${next.pathname}: expected the page, got ${exchange(page)}`);
    if (next.pathname === "/login") {
      seen.push("login");
      check(browser.has("tessera-csrf"), `no tessera-csrf cookie after ${exchange(page)}`);
      r = await browser.request("/login", {
        method: "POST",
        form: {
          csrf: hiddenInput(page, "csrf", "login page"),
          request: hiddenInput(page, "request", "login page"),
          login: USERNAME,
          password: PASSWORD,
        },
      });
      if (r.response.status === 401) fail(`sign-in refused (wrong RP_USERNAME/RP_PASSWORD?): ${exchange(r)}`);
      check(browser.has("tessera-session"), `no tessera-session cookie after ${exchange(r)}`);
    } else if (next.pathname === "/consent") {
      seen.push("consent");
      r = await browser.request("/consent", {
        method: "POST",
        form: {
          csrf: hiddenInput(page, "csrf", "consent page"),
          request: hiddenInput(page, "request", "consent page"),
          decision: "allow",
        },
      });
    } else {
      fail(`unexpected page in the authorization flow: ${exchange(page)}`);
    }
  }
  fail("too many redirects in the authorization flow");
}

// ---------------------------------------------------------------------------------------------------
// DPoP (RFC 9449): sender-constrained tokens, self-contained

/** The RFC 7638 thumbprint of a P-256 or Ed25519 public key exported as a JWK. */
function jwkThumbprint(jwk) {
  const members = jwk.kty === "EC"
    ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
    : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash("sha256").update(JSON.stringify(members)).digest("base64url");
}

/** A new browser signs in; its code is exchanged with a DPoP proof, and the bound token is used and refreshed. */
async function dpopChecks(config) {
  const keyPair = await client.randomDPoPKeyPair("ES256");
  const dpop = client.getDPoPHandle(config, keyPair);
  const jkt = jwkThumbprint(await crypto.subtle.exportKey("jwk", keyPair.publicKey));
  let bound;

  await step("DPoP: discovery names the proof algorithms; the code exchange gives a key-bound access token", async () => {
    const algs = config.serverMetadata().dpop_signing_alg_values_supported ?? [];
    check(algs.includes("ES256"), `dpop_signing_alg_values_supported: ${JSON.stringify(algs)}`);
    const f = await authorize(new Browser(), config, { redirectUri: REDIRECT_URI });
    bound = await client.authorizationCodeGrant(config, f.callbackUrl, {
      pkceCodeVerifier: f.codeVerifier,
      expectedState: f.state,
      expectedNonce: f.nonce,
      idTokenExpected: true,
    }, undefined, { DPoP: dpop });
    equal(bound.token_type, "dpop", "token_type");
    equal(decodeJwtPart(bound.access_token, 1).cnf?.jkt, jkt, "access token cnf.jkt");
    return `jkt: ${jkt}`;
  });

  await step("DPoP: fetchUserInfo with a proof; the same token as a bearer token refused", async () => {
    const sub = bound.claims().sub;
    const info = await client.fetchUserInfo(config, bound.access_token, sub, { DPoP: dpop });
    equal(info.sub, sub, "userinfo sub");
    const plain = await fetch(config.serverMetadata().userinfo_endpoint, {
      headers: { authorization: `Bearer ${bound.access_token}` },
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    equal(plain.status, 401, "userinfo with the bound token as Bearer: status");
    return "bearer: 401";
  });

  await step("DPoP: refreshTokenGrant with a proof; introspection names the key", async () => {
    const refreshed = await client.refreshTokenGrant(config, bound.refresh_token, undefined, { DPoP: dpop });
    equal(refreshed.token_type, "dpop", "refreshed token_type");
    equal(decodeJwtPart(refreshed.access_token, 1).cnf?.jkt, jkt, "refreshed access token cnf.jkt");
    const i = await client.tokenIntrospection(config, refreshed.access_token);
    equal(i.active, true, "active");
    equal(i.token_type, "DPoP", "introspection token_type");
    equal(i.cnf?.jkt, jkt, "introspection cnf.jkt");
  });
}

// ---------------------------------------------------------------------------------------------------
// private_key_jwt (RFC 7523), pushed authorization requests (RFC 9126), back-channel logout, client_secret_jwt

/** Listens on RP_BACKCHANNEL_PORT for logout tokens; `next()` resolves with the next one received. */
function backchannelReceiver() {
  const received = [];
  const waiting = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => { body += chunk; });
    req.on("end", () => {
      const token = req.method === "POST" && req.url === "/backchannel"
        ? new URLSearchParams(body).get("logout_token")
        : null;
      // Back-Channel Logout 1.0 §2.8: 200 when the logout succeeded, 400 for a bad request.
      res.writeHead(token ? 200 : 400, { "cache-control": "no-store" }).end();
      if (!token) return;
      const waiter = waiting.shift();
      if (waiter) waiter(token); else received.push(token);
    });
  });
  server.listen(Number(BACKCHANNEL_PORT), "127.0.0.1");
  return {
    next(timeoutMs) {
      if (received.length) return Promise.resolve(received.shift());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no logout token within ${timeoutMs} ms`)), timeoutMs);
        waiting.push((token) => { clearTimeout(timer); resolve(token); });
      });
    },
    close() { server.close(); },
  };
}

/** Verifies a JWS against the issuer's JWKS with node's own crypto, independently of the client library. */
async function verifyWithJwks(config, jwt) {
  const [header64, payload64, signature64] = jwt.split(".");
  const header = JSON.parse(Buffer.from(header64, "base64url").toString());
  const response = await fetch(config.serverMetadata().jwks_uri, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  const { keys } = await response.json();
  const jwk = keys.find((k) => k.kid === header.kid);
  check(jwk, `no published key has kid ${header.kid}`);
  const key = createPublicKey({ key: jwk, format: "jwk" });
  const input = Buffer.from(`${header64}.${payload64}`);
  const signature = Buffer.from(signature64, "base64url");
  const ok = header.alg === "RS256" ? verifySignature("sha256", input, key, signature)
    : header.alg === "ES256" ? verifySignature("sha256", input, { key, dsaEncoding: "ieee-p1363" }, signature)
    : header.alg === "EdDSA" ? verifySignature(null, input, key, signature)
    : fail(`unexpected alg ${header.alg}`);
  check(ok, `the ${header.alg} signature does not verify with the JWKS`);
  return { header, claims: JSON.parse(Buffer.from(payload64, "base64url").toString()) };
}

async function keyedClientChecks() {
  const jwk = JSON.parse(KEYED_PRIVATE_JWK);
  const privateKey = await crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  const config = await client.discovery(
    new URL(ISSUER),
    KEYED_CLIENT_ID,
    undefined,
    client.PrivateKeyJwt({ key: privateKey, kid: jwk.kid }),
    { execute: [client.allowInsecureRequests], timeout: HTTP_TIMEOUT_MS / 1000 },
  );
  client.enableNonRepudiationChecks(config);
  const receiver = backchannelReceiver();
  const browser = new Browser();
  let tokens;
  try {
    await step("private_key_jwt: discovery lists the method and the assertion algorithms", async () => {
      const m = config.serverMetadata();
      check(m.token_endpoint_auth_methods_supported?.includes("private_key_jwt"),
        `token_endpoint_auth_methods_supported: ${m.token_endpoint_auth_methods_supported}`);
      check(m.token_endpoint_auth_signing_alg_values_supported?.includes("ES256"),
        `token_endpoint_auth_signing_alg_values_supported: ${m.token_endpoint_auth_signing_alg_values_supported}`);
      check(m.pushed_authorization_request_endpoint === `${ISSUER}/oauth2/par`,
        `pushed_authorization_request_endpoint: ${m.pushed_authorization_request_endpoint}`);
      check(m.backchannel_logout_supported === true && m.backchannel_logout_session_supported === true,
        "back-channel logout is not announced");
    });

    await step("PAR-only client: a request that was not pushed is refused", async () => {
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI,
        scope: "openid",
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: "S256",
        state: "unpushed",
      });
      const back = expectRedirect(await new Browser().request(url), "an unpushed request");
      equal(back.searchParams.get("error"), "invalid_request", "error for an unpushed request");
      equal(back.searchParams.get("state"), "unpushed", "state");
    });

    await step("PAR with private_key_jwt: pushed, signed in, code exchanged with an assertion", async () => {
      const f = await authorize(browser, config, { redirectUri: REDIRECT_URI, scope: SCOPE, pushed: true });
      check(f.seen.includes("login"), `the sign-in page was not shown (pages: ${f.seen})`);
      tokens = await client.authorizationCodeGrant(config, f.callbackUrl, {
        pkceCodeVerifier: f.codeVerifier,
        expectedState: f.state,
        expectedNonce: f.nonce,
        idTokenExpected: true,
      });
      checkTokenResponse(tokens, "PAR token response");
      checkIdTokenClaims(tokens.claims(), { clientId: KEYED_CLIENT_ID, nonce: f.nonce, what: "PAR ID token" });
      check(tokens.claims().sid, "the ID token has no sid (back-channel logout needs it)");
      // The client asked for EdDSA ID tokens and ES256 access tokens; both verify against the JWKS.
      equal((await verifyWithJwks(config, tokens.id_token)).header.alg, "EdDSA", "ID token alg");
      equal((await verifyWithJwks(config, tokens.access_token)).header.alg, "ES256", "access token alg");
      const m = config.serverMetadata();
      check(["RS256", "ES256", "EdDSA"].every((alg) => m.id_token_signing_alg_values_supported?.includes(alg)),
        `id_token_signing_alg_values_supported: ${m.id_token_signing_alg_values_supported}`);
      const info = await client.fetchUserInfo(config, tokens.access_token, tokens.claims().sub);
      equal(info.sub, tokens.claims().sub, "userinfo with the ES256 access token");
      return `sid: ${tokens.claims().sid}`;
    });

    await step("private_key_jwt: client credentials and refresh, each with a fresh assertion", async () => {
      const cc = await client.clientCredentialsGrant(config, { scope: "api:read" });
      equal(cc.scope, "api:read", "client credentials scope");
      equal(decodeJwtPart(cc.access_token, 1).client_id, KEYED_CLIENT_ID, "client credentials client_id");
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
      checkTokenResponse(refreshed, "refresh with private_key_jwt");
      tokens = refreshed;
    });

    await step("back-channel logout: RP-initiated logout sends a logout token the JWKS verifies", async () => {
      const sid = tokens.claims().sid;
      const url = client.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token,
        post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
        state: "keyed",
      });
      expectRedirect(await browser.request(url), "logout of the PAR browser");
      const logoutToken = await receiver.next(30_000);
      const { header, claims } = await verifyWithJwks(config, logoutToken);
      equal(header.typ, "logout+jwt", "logout token typ");
      equal(header.alg, "EdDSA", "logout token alg (the client's ID token algorithm)");
      equal(claims.iss, ISSUER, "logout token iss");
      check(audiences(claims).includes(KEYED_CLIENT_ID), `logout token aud: ${JSON.stringify(claims.aud)}`);
      equal(claims.sid, sid, "logout token sid");
      check(claims.events?.["http://schemas.openid.net/event/backchannel-logout"] !== undefined,
        `logout token events: ${JSON.stringify(claims.events)}`);
      check(claims.nonce === undefined, "a logout token must not carry a nonce");
      check(typeof claims.jti === "string" && Number.isInteger(claims.iat) && Number.isInteger(claims.exp),
        "logout token jti/iat/exp");
      return `sid: ${claims.sid}`;
    });
  } finally {
    receiver.close();
  }
}

async function hmacClientChecks() {
  await step("client_secret_jwt: client credentials with an HMAC assertion; the bare secret refused", async () => {
    const options = { execute: [client.allowInsecureRequests], timeout: HTTP_TIMEOUT_MS / 1000 };
    const config = await client.discovery(new URL(ISSUER), HMAC_CLIENT_ID, undefined,
      client.ClientSecretJwt(HMAC_CLIENT_SECRET), options);
    const cc = await client.clientCredentialsGrant(config, { scope: "api:read" });
    equal(decodeJwtPart(cc.access_token, 1).client_id, HMAC_CLIENT_ID, "client_secret_jwt token client_id");
    // The registered method is enforced: the secret itself, sent as client_secret_basic, is refused.
    const basic = Buffer.from(`${encodeURIComponent(HMAC_CLIENT_ID)}:${encodeURIComponent(HMAC_CLIENT_SECRET)}`)
      .toString("base64");
    const refused = await fetch(config.serverMetadata().token_endpoint, {
      method: "POST",
      headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", scope: "api:read" }),
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    equal(refused.status, 401, "client_secret_basic for a client_secret_jwt client: status");
    equal((await refused.json()).error, "invalid_client", "client_secret_basic for a client_secret_jwt client: error");
  });
}

// ---------------------------------------------------------------------------------------------------
// The checks

async function discover(clientId, clientSecret) {
  const config = await client.discovery(
    new URL(ISSUER),
    clientId,
    undefined,
    client.ClientSecretBasic(clientSecret),
    { execute: [client.allowInsecureRequests], timeout: HTTP_TIMEOUT_MS / 1000 },
  );
  // Verify the ID token signatures against the JWKS too (not only rely on the TLS-less channel).
  client.enableNonRepudiationChecks(config);
  return config;
}

async function main() {
  const browser = new Browser();
  let config;
  let flow;
  let tokens;
  let idClaims;
  let refreshed;

  await step("discovery: metadata fetched and issuer matches", async () => {
    config = await discover(CLIENT_ID, CLIENT_SECRET);
    const m = config.serverMetadata();
    equal(m.issuer, ISSUER, "issuer");
    for (const field of ["authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint",
      "introspection_endpoint", "revocation_endpoint"]) {
      check(typeof m[field] === "string" && m[field].startsWith(ISSUER), `${field} missing or foreign: ${m[field]}`);
    }
    check(m.response_types_supported?.includes("code"), "response_types_supported lacks code");
    check(m.code_challenge_methods_supported?.includes("S256"), "code_challenge_methods_supported lacks S256");
    check(!m.code_challenge_methods_supported?.includes("plain"), "code_challenge_methods_supported offers plain");
    check(m.id_token_signing_alg_values_supported?.includes("RS256"), "RS256 not among ID token algs");
    check(m.token_endpoint_auth_methods_supported?.includes("client_secret_basic"),
      "client_secret_basic not among token endpoint auth methods");
    equal(m.authorization_response_iss_parameter_supported, true, "authorization_response_iss_parameter_supported");
    check(m.scopes_supported?.includes("openid"), "scopes_supported lacks openid");
    return m.issuer;
  });

  await step("authorization URL with PKCE S256, state and nonce; sign-in form; redirect back", async () => {
    flow = await authorize(browser, config, { redirectUri: REDIRECT_URI });
    const params = flow.callbackUrl.searchParams;
    check(params.get("code"), `no code in ${flow.callbackUrl}`);
    equal(params.get("state"), flow.state, "state in the callback");
    equal(params.get("iss"), ISSUER, "iss in the callback (RFC 9207)");
    check(flow.seen.includes("login"), `the sign-in page was not shown (pages: ${flow.seen})`);
    check(!flow.seen.includes("consent"), "a first-party client was shown the consent page");
    return `pages: ${flow.seen.join(", ")}`;
  });

  await step("authorizationCodeGrant: code exchanged, ID token validated (signature, iss, aud, nonce, state)", async () => {
    tokens = await client.authorizationCodeGrant(config, flow.callbackUrl, {
      pkceCodeVerifier: flow.codeVerifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      idTokenExpected: true,
    });
    checkTokenResponse(tokens, "token response");
    check(typeof tokens.id_token === "string", "no id_token");
    const scopes = (tokens.scope ?? SCOPE).split(" ");
    check(scopes.includes("openid"), `granted scope lacks openid: ${tokens.scope}`);
    check(scopes.includes("offline_access"), `granted scope lacks offline_access: ${tokens.scope}`);
    return `scope: ${tokens.scope ?? "(as requested)"}, expires_in: ${tokens.expires_in}`;
  });

  await step("ID token claims: iss, sub, aud, azp, nonce, iat, exp, auth_time, at_hash, RS256", async () => {
    idClaims = tokens.claims();
    checkIdTokenClaims(idClaims, { clientId: CLIENT_ID, nonce: flow.nonce, what: "ID token" });
    const header = decodeJwtPart(tokens.id_token, 0);
    equal(header.alg, "RS256", "ID token alg");
    check(header.kid, "ID token header lacks kid");
    if (idClaims.at_hash !== undefined) equal(idClaims.at_hash, atHash(tokens.access_token), "at_hash");
    check(Number.isInteger(idClaims.auth_time), "auth_time missing (Tessera advertises it)");
    return `sub: ${idClaims.sub}, kid: ${header.kid}, at_hash: ${idClaims.at_hash === undefined ? "absent" : "matches"}`;
  });

  await step("fetchUserInfo: same subject, profile and email claims", async () => {
    const info = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
    equal(info.sub, idClaims.sub, "userinfo sub");
    equal(info.preferred_username, USERNAME, "userinfo preferred_username");
    if (EXPECTED_EMAIL) equal(info.email, EXPECTED_EMAIL, "userinfo email");
    check(typeof info.email === "string", "userinfo has no email although the email scope was granted");
    check(typeof info.email_verified === "boolean", "userinfo email_verified is not a boolean");
    return Object.keys(info).sort().join(",");
  });

  await step("refreshTokenGrant: new access and refresh tokens (rotation)", async () => {
    refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
    checkTokenResponse(refreshed, "refresh response");
    check(refreshed.access_token !== tokens.access_token, "the refresh returned the same access token");
    check(refreshed.refresh_token !== tokens.refresh_token, "the refresh token was not rotated");
    if (refreshed.id_token) {
      // openid-client has validated it; OIDC Core §12.2 wants the same iss/sub/aud as the original.
      const again = refreshed.claims();
      equal(again.iss, idClaims.iss, "refreshed ID token iss");
      equal(again.sub, idClaims.sub, "refreshed ID token sub");
      check(audiences(again).includes(CLIENT_ID), "refreshed ID token aud lacks the client");
      if (again.auth_time !== undefined) equal(again.auth_time, idClaims.auth_time, "refreshed ID token auth_time");
    }
    const info = await client.fetchUserInfo(config, refreshed.access_token, idClaims.sub);
    equal(info.sub, idClaims.sub, "userinfo sub with the refreshed access token");
    return refreshed.id_token ? "with a new ID token" : "no new ID token";
  });

  await step("tokenIntrospection: refreshed access token active", async () => {
    const i = await client.tokenIntrospection(config, refreshed.access_token);
    equal(i.active, true, "active");
    if (i.client_id !== undefined) equal(i.client_id, CLIENT_ID, "introspection client_id");
    if (i.sub !== undefined) equal(i.sub, idClaims.sub, "introspection sub");
    if (i.iss !== undefined) equal(i.iss, ISSUER, "introspection iss");
    if (i.exp !== undefined) check(i.exp > Math.floor(Date.now() / 1000), `introspection exp in the past: ${i.exp}`);
    if (i.scope !== undefined) check(i.scope.split(" ").includes("openid"), `introspection scope: ${i.scope}`);
    const r = await client.tokenIntrospection(config, refreshed.refresh_token);
    equal(r.active, true, "refresh token introspection active");
    return Object.keys(i).sort().join(",");
  });

  await step("tokenRevocation of the refresh token: grant revoked", async () => {
    await client.tokenRevocation(config, refreshed.refresh_token, { token_type_hint: "refresh_token" });
    const access = await client.tokenIntrospection(config, refreshed.access_token);
    equal(access.active, false, "access token introspection after revoking its refresh token: active");
    const refresh = await client.tokenIntrospection(config, refreshed.refresh_token);
    equal(refresh.active, false, "refresh token introspection after revocation: active");
    const refused = await expectOAuthError("invalid_grant", "refresh with the revoked refresh token",
      () => client.refreshTokenGrant(config, refreshed.refresh_token));
    try {
      const info = await client.fetchUserInfo(config, refreshed.access_token, client.skipSubjectCheck);
      fail(`userinfo still answers with a revoked access token: ${JSON.stringify(info)}`);
    } catch (error) {
      if (error instanceof CheckFailure) throw error;
      check(error instanceof client.WWWAuthenticateChallengeError && error.status === 401,
        `userinfo with a revoked access token: expected HTTP 401 with a challenge, got ${describeError(error)}`);
    }
    return `refresh: ${refused}; userinfo: 401`;
  });

  if (CONSENT_CLIENT_ID && CONSENT_CLIENT_SECRET) {
    let other;
    let otherFlow;
    let otherTokens;

    await step("second client (not first party): existing session, consent page, code issued", async () => {
      other = await discover(CONSENT_CLIENT_ID, CONSENT_CLIENT_SECRET);
      otherFlow = await authorize(browser, other, { redirectUri: CONSENT_REDIRECT_URI });
      equal(otherFlow.seen.join(","), "consent", "pages shown (the session should skip the sign-in)");
      equal(otherFlow.callbackUrl.searchParams.get("iss"), ISSUER, "iss in the callback");
      otherTokens = await client.authorizationCodeGrant(other, otherFlow.callbackUrl, {
        pkceCodeVerifier: otherFlow.codeVerifier,
        expectedState: otherFlow.state,
        expectedNonce: otherFlow.nonce,
        idTokenExpected: true,
      });
      checkTokenResponse(otherTokens, "second client token response");
      const claims = otherTokens.claims();
      checkIdTokenClaims(claims, { clientId: CONSENT_CLIENT_ID, nonce: otherFlow.nonce, what: "second ID token" });
      equal(claims.sub, idClaims.sub, "sub for the same user at another client (public subject type)");
    });

    await step("authorization code replay refused and the tokens it gave revoked", async () => {
      const refused = await expectOAuthError("invalid_grant", "second use of the same code",
        () => client.authorizationCodeGrant(other, otherFlow.callbackUrl, {
          pkceCodeVerifier: otherFlow.codeVerifier,
          expectedState: otherFlow.state,
          expectedNonce: otherFlow.nonce,
        }));
      // RFC 6749 §4.1.2 (SHOULD), RFC 9700 §4.5: Tessera revokes what the replayed code had issued.
      const i = await client.tokenIntrospection(other, otherTokens.access_token);
      equal(i.active, false, "access token issued for a replayed code: active");
      await expectOAuthError("invalid_grant", "refresh token issued for a replayed code",
        () => client.refreshTokenGrant(other, otherTokens.refresh_token));
      return refused;
    });

    await step("refresh token reuse refused and the grant revoked", async () => {
      // The replay above revoked that grant: a fresh code flow gives a clean one to test reuse with.
      const f = await authorize(browser, other, { redirectUri: CONSENT_REDIRECT_URI });
      check(!f.seen.includes("login"), `sign-in shown again although the session is alive (${f.seen})`);
      const t = await client.authorizationCodeGrant(other, f.callbackUrl, {
        pkceCodeVerifier: f.codeVerifier,
        expectedState: f.state,
        expectedNonce: f.nonce,
      });
      const rotated = await client.refreshTokenGrant(other, t.refresh_token);
      const reuse = await expectOAuthError("invalid_grant", "reuse of a spent refresh token",
        () => client.refreshTokenGrant(other, t.refresh_token));
      await expectOAuthError("invalid_grant", "the rotated refresh token after a reuse was detected",
        () => client.refreshTokenGrant(other, rotated.refresh_token));
      const i = await client.tokenIntrospection(other, rotated.access_token);
      equal(i.active, false, "access token of a grant revoked for refresh token reuse: active");
      return `reuse: ${reuse}; consent remembered: ${!f.seen.includes("consent")}`;
    });
  } else {
    console.log("# second client not configured: consent, code replay and refresh reuse steps skipped");
  }

  // A second browser signs in with response_mode=form_post; its tokens serve the next steps.
  const formBrowser = new Browser();
  let formTokens;
  await step("response_mode=form_post: the code arrives in a POSTed form, authorizationCodeGrant takes it", async () => {
    const m = config.serverMetadata();
    check(m.response_modes_supported?.includes("form_post"), `response_modes_supported: ${m.response_modes_supported}`);
    const f = await authorize(formBrowser, config, { redirectUri: REDIRECT_URI, extra: { response_mode: "form_post" } });
    check(f.seen.includes("login"), `the sign-in page was not shown (pages: ${f.seen})`);
    formTokens = await client.authorizationCodeGrant(config, f.callback, {
      pkceCodeVerifier: f.codeVerifier,
      expectedState: f.state,
      expectedNonce: f.nonce,
      idTokenExpected: true,
    });
    checkTokenResponse(formTokens, "form_post token response");
    checkIdTokenClaims(formTokens.claims(), { clientId: CLIENT_ID, nonce: f.nonce, what: "form_post ID token" });
    return `scope: ${formTokens.scope}`;
  });

  if (GATEWAY_CLIENT_ID && GATEWAY_CLIENT_SECRET) {
    await step("gateway (resource server, client_secret_post) introspects a user's access token of another client", async () => {
      const gateway = await client.discovery(
        new URL(ISSUER),
        GATEWAY_CLIENT_ID,
        undefined,
        client.ClientSecretPost(GATEWAY_CLIENT_SECRET),
        { execute: [client.allowInsecureRequests], timeout: HTTP_TIMEOUT_MS / 1000 },
      );
      const i = await client.tokenIntrospection(gateway, formTokens.access_token);
      equal(i.active, true, "active");
      equal(i.client_id, CLIENT_ID, "client_id");
      equal(i.username, USERNAME, "username");
      equal(i.sub, formTokens.claims().sub, "sub");
      equal(i.token_type, "Bearer", "token_type");
      equal(i.aud, ISSUER, "aud");
      check(Array.isArray(i.amr) && i.amr.includes("pwd"), `amr: ${JSON.stringify(i.amr)}`);
      equal(i.acr, "1", "acr");
      const garbage = await client.tokenIntrospection(gateway, "not-a-token");
      equal(garbage.active, false, "garbage active");
      return Object.keys(i).sort().join(",");
    });
  } else {
    console.log("# RP_GATEWAY_CLIENT_ID not set: gateway introspection step skipped");
  }

  if (DEVICE_CLIENT_ID) {
    await step("device authorization grant: a public client polls while the person enters the code and approves", async () => {
      const device = await client.discovery(new URL(ISSUER), DEVICE_CLIENT_ID, undefined, client.None(), {
        execute: [client.allowInsecureRequests],
        timeout: HTTP_TIMEOUT_MS / 1000,
      });
      const m = device.serverMetadata();
      equal(m.device_authorization_endpoint, `${ISSUER}/oauth2/device_authorization`, "device_authorization_endpoint");
      check(m.grant_types_supported?.includes("urn:ietf:params:oauth:grant-type:device_code"),
        `grant_types_supported: ${m.grant_types_supported}`);
      const started = await client.initiateDeviceAuthorization(device, { scope: SCOPE });
      check(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/.test(started.user_code),
        `user_code ${started.user_code}`);
      equal(started.verification_uri, `${ISSUER}/device`, "verification_uri");
      // The device polls (authorization_pending, maybe slow_down) while the person answers; settled, never thrown.
      const polled = client.pollDeviceAuthorizationGrant(device, started).then((t) => ({ t }), (e) => ({ e }));

      const person = new Browser();
      const entry = await person.request(started.verification_uri_complete);
      equal(entry.response.status, 200, `the device page: ${exchange(entry)}`);
      let r = await person.request("/device", {
        method: "POST",
        form: { csrf: hiddenInput(entry, "csrf", "device page"), user_code: started.user_code.toLowerCase() },
      });
      let next = expectRedirect(r, "user code entered");
      equal(next.pathname, "/login", "signed out: to the sign-in page");
      const login = await person.request(next);
      r = await person.request("/login", {
        method: "POST",
        form: {
          csrf: hiddenInput(login, "csrf", "login page"),
          request: hiddenInput(login, "request", "login page"),
          login: USERNAME,
          password: PASSWORD,
        },
      });
      next = expectRedirect(r, "signed in");
      equal(next.pathname, "/device", "back to the device page after sign-in");
      const approval = await person.request(next);
      equal(approval.response.status, 200, `the approval page: ${exchange(approval)}`);
      r = await person.request("/device/answer", {
        method: "POST",
        form: {
          csrf: hiddenInput(approval, "csrf", "approval page"),
          request: hiddenInput(approval, "request", "approval page"),
          decision: "allow",
        },
      });
      equal(r.response.status, 200, `approved: ${exchange(r)}`);

      const { t, e } = await polled;
      if (e) fail(`pollDeviceAuthorizationGrant: ${describeError(e)}`);
      checkTokenResponse(t, "device token response");
      checkIdTokenClaims(t.claims(), { clientId: DEVICE_CLIENT_ID, what: "device ID token" });
      await expectOAuthError("invalid_grant", "the device code polled again after its tokens",
        () => client.pollDeviceAuthorizationGrant(device, started));
      return `scope: ${t.scope}`;
    });
  } else {
    console.log("# RP_DEVICE_CLIENT_ID not set: device authorization step skipped");
  }

  await dpopChecks(config);

  if (KEYED_CLIENT_ID && KEYED_PRIVATE_JWK && BACKCHANNEL_PORT && POST_LOGOUT_REDIRECT_URI) {
    await keyedClientChecks();
  } else {
    console.log("# RP_KEYED_CLIENT_ID, RP_KEYED_PRIVATE_JWK or RP_BACKCHANNEL_PORT not set: private_key_jwt, PAR and back-channel logout steps skipped");
  }
  if (HMAC_CLIENT_ID && HMAC_CLIENT_SECRET) {
    await hmacClientChecks();
  } else {
    console.log("# RP_HMAC_CLIENT_ID not set: client_secret_jwt step skipped");
  }

  if (POST_LOGOUT_REDIRECT_URI) {
    await step("logout from another site (no session cookie): the id_token_hint's session ends anyway", async () => {
      const url = client.buildEndSessionUrl(config, {
        id_token_hint: formTokens.id_token,
        post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
        state: "elsewhere",
      });
      // A cross-site POST from the relying party's page carries no SameSite=Lax cookie: a cookie-less browser.
      const elsewhere = new Browser();
      const r = await elsewhere.request(url.origin + url.pathname, {
        method: "POST",
        form: Object.fromEntries(url.searchParams),
      });
      const back = expectRedirect(r, "logout without the cookie");
      check(sameEndpoint(back, new URL(POST_LOGOUT_REDIRECT_URI)), `logout went elsewhere: ${exchange(r)}`);
      equal(back.searchParams.get("state"), "elsewhere", "state after logout");
      const silent = client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI,
        scope: "openid",
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: "S256",
        state: "after",
        prompt: "none",
      });
      const again = expectRedirect(await formBrowser.request(silent), "prompt=none after logout");
      equal(again.searchParams.get("error"), "login_required", "prompt=none error (the session must be gone)");
    });

    await step("RP-initiated logout: id_token_hint honoured, back to post_logout_redirect_uri with state", async () => {
      const state = client.randomState();
      const url = client.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token,
        post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
        state,
      });
      const r = await browser.request(url);
      const back = expectRedirect(r, "logout");
      check(sameEndpoint(back, new URL(POST_LOGOUT_REDIRECT_URI)), `logout went elsewhere: ${exchange(r)}`);
      equal(back.searchParams.get("state"), state, "state after logout");
      check(!browser.has("tessera-session"), `session cookie not cleared by ${exchange(r)}`);
    });

    await step("after logout, prompt=none answers login_required", async () => {
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI,
        scope: "openid",
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: "S256",
        state: "silent",
        prompt: "none",
      });
      const r = await browser.request(url);
      const back = expectRedirect(r, "prompt=none");
      check(sameEndpoint(back, new URL(REDIRECT_URI)), `prompt=none did not return to the client: ${exchange(r)}`);
      equal(back.searchParams.get("error"), "login_required", "error");
      equal(back.searchParams.get("state"), "silent", "state");
      equal(back.searchParams.get("iss"), ISSUER, "iss");
    });
  } else {
    console.log("# RP_POST_LOGOUT_REDIRECT_URI not set: logout steps skipped");
  }
}

try {
  await main();
  console.log(`${passed} passed, 0 failed`);
} catch (error) {
  console.log(`not ok ${passed + 1} - ${current}`);
  console.log(`# ${describeError(error)}`);
  if (process.env.RP_DEBUG && error?.stack) console.error(error.stack);
  console.log(`${passed} passed, 1 failed`);
  process.exitCode = 1;
}
