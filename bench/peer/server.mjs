// The peer for bench/run.sh: panva's oidc-provider set up like Tessera's bench — loopback only, default
// in-memory adapter, one signing key of each algorithm made at start (RSA-2048, P-256, Ed25519), and one
// confidential client that may use client_credentials for the scope api:read, authenticating with
// client_secret_basic.
//
// Usage: node server.mjs [port]   (or PORT=…). The client's id and secret come from PEER_CLIENT_ID and
// PEER_CLIENT_SECRET (bench/run.sh passes Tessera's, so both servers see byte-identical requests); without
// them a random pair is made. Once listening it prints one JSON line on stdout:
// {"issuer":…,"client_id":…,"client_secret":…}. PEER_VERBOSE=1 keeps oidc-provider's console notices.
//
// Token formats: client_credentials tokens for the default resource (urn:tessera-bench:api) are JWTs
// (accessTokenFormat 'jwt', RS256), signed per request like Tessera's access tokens. oidc-provider refuses to
// introspect structured (JWT) tokens ("Structured JWT Tokens cannot be introspected"), so a token asked for
// with resource=urn:tessera-bench:opaque is opaque (accessTokenFormat 'opaque', kept in the in-memory
// adapter); the introspection scenario introspects one of those. Tokens asked for with
// resource=urn:tessera-bench:es256 or urn:tessera-bench:eddsa are JWTs signed with ES256 or EdDSA, as Tessera
// signs for a client registered with that access-token algorithm.
import { generateKeyPairSync, randomBytes } from 'node:crypto';

const port = Number(process.argv[2] ?? process.env.PORT ?? 3000);
const host = '127.0.0.1';
const issuer = `http://${host}:${port}`;
const clientId = process.env.PEER_CLIENT_ID || `bench-${randomBytes(8).toString('hex')}`;
const clientSecret = process.env.PEER_CLIENT_SECRET || randomBytes(32).toString('base64url');

if (!process.env.PEER_VERBOSE) {
  // oidc-provider's "you SHOULD/MUST change this default" notices go through console.info/console.warn.
  console.info = () => {};
  console.warn = () => {};
}
// Imported after the console is quieted: it warns at load time on Node.js 20 ("Unsupported runtime").
const { default: Provider } = await import('oidc-provider');

const jwkOf = (privateKey, alg) => ({ ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg });
const signingKeys = [
  jwkOf(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'RS256'),
  jwkOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ES256'),
  jwkOf(generateKeyPairSync('ed25519').privateKey, 'EdDSA'),
];

const API = 'urn:tessera-bench:api';
const OPAQUE_API = 'urn:tessera-bench:opaque';
const jwtServer = (audience, alg) => ({ scope: 'api:read', audience, accessTokenTTL: 3600, accessTokenFormat: 'jwt', jwt: { sign: { alg } } });
const resourceServers = {
  [API]: jwtServer(API, 'RS256'),
  'urn:tessera-bench:es256': jwtServer('urn:tessera-bench:es256', 'ES256'),
  'urn:tessera-bench:eddsa': jwtServer('urn:tessera-bench:eddsa', 'EdDSA'),
  [OPAQUE_API]: { scope: 'api:read', audience: OPAQUE_API, accessTokenTTL: 3600, accessTokenFormat: 'opaque' },
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'api:read',
  }],
  jwks: { keys: signingKeys },
  scopes: ['api:read'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf ?? API,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resourceIndicator) => {
        const server = resourceServers[resourceIndicator];
        if (!server) throw new Provider.errors.InvalidTarget();
        return server;
      },
    },
  },
  // Never asked for by the bench (there are no end users); present so nothing falls back to a dev default.
  findAccount: async () => undefined,
});
provider.silent = true; // Koa: don't print errors thrown by requests
provider.on('server_error', (_ctx, err) => {
  if (process.env.PEER_VERBOSE) process.stderr.write(`server_error: ${err?.stack ?? err}\n`);
});

const server = provider.listen(port, host, () => {
  process.stdout.write(`${JSON.stringify({ issuer, client_id: clientId, client_secret: clientSecret })}\n`);
});
server.on('error', (err) => {
  process.stderr.write(`peer: ${err.message}\n`);
  process.exit(1);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(0));
}
