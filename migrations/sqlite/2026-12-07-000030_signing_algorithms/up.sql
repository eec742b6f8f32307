-- Signing keys of ES256 (P-256) and EdDSA (Ed25519) beside RS256 need no new column: `algorithm` names the
-- kind, `public_n` / `public_e` hold RSA's n and e, P-256's x and y, or Ed25519's x.
-- A client may ask for its ID tokens (OpenID Connect Dynamic Client Registration §2
-- id_token_signed_response_alg) and its access tokens in another algorithm than RS256.
ALTER TABLE oauth_clients ADD COLUMN id_token_signed_response_alg TEXT;
ALTER TABLE oauth_clients ADD COLUMN access_token_signed_response_alg TEXT;
