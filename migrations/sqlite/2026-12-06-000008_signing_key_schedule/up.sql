-- A signing key is published before it signs: it becomes the signing key at `activates_at`, which a rotation
-- sets at least the JWKS cache lifetime ahead. Existing keys were active from their creation.

ALTER TABLE signing_keys ADD COLUMN activates_at BIGINT NOT NULL DEFAULT 0;
UPDATE signing_keys SET activates_at = created_at;
