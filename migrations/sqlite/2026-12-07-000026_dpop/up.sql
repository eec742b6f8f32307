-- RFC 9449 DPoP. Proofs already seen, for replay protection shared by every instance: the SHA-256 of a proof's
-- key thumbprint and jti, kept until the proof would be too old to be accepted anyway.
CREATE TABLE dpop_proofs (
    proof_hash TEXT PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX dpop_proofs_expires ON dpop_proofs (expires_at);
-- The JWK SHA-256 thumbprint (RFC 7638) a token family's refresh tokens are bound to (RFC 9449 §5), if any.
ALTER TABLE sessions ADD COLUMN dpop_jkt TEXT;
