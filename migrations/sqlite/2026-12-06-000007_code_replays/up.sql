-- A replayed authorization code is remembered on the code itself, so the token family it produces is born
-- revoked even when the replay overtakes the first redemption (RFC 6749 §4.1.2: tokens issued from a replayed
-- code SHOULD be revoked).

ALTER TABLE authorization_codes ADD COLUMN replayed_at BIGINT;
