-- API keys (`x-api-key`): an application's credentials beside the user's bearer token. Only the SHA-256 of a
-- key is stored, and its first characters for display.

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    last_used_at BIGINT
);
CREATE INDEX api_keys_application_id ON api_keys (application_id);
