-- RFC 7523 client authentication. The replay markers of DPoP proofs serve client assertions' jti too, so the
-- table takes a name for both: the SHA-256 of what was seen, kept until it could no longer be accepted.
ALTER TABLE dpop_proofs RENAME TO replay_markers;
ALTER TABLE replay_markers RENAME COLUMN proof_hash TO marker_hash;
-- private_key_jwt: the client's public keys, a JWK Set (RFC 7517 §5) as JSON.
ALTER TABLE oauth_clients ADD COLUMN jwks TEXT;
-- client_secret_jwt: the secret is an HMAC key, so beside its hash it is kept sealed (never in the clear
-- when TESSERA_SECRET_KEY is set).
ALTER TABLE oauth_clients ADD COLUMN secret_sealed TEXT;
