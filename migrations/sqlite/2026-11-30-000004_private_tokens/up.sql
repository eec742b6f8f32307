-- Private (application) tokens: long-lived credentials a user makes for scripts and back-end jobs. Only the
-- SHA-256 of a token is stored, and its first characters for display.

CREATE TABLE private_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    description TEXT NOT NULL,
    prefix TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_reason TEXT,
    last_used_at BIGINT,
    last_used_ip TEXT
);
CREATE INDEX private_tokens_user_id ON private_tokens (user_id);
CREATE INDEX private_tokens_expires_at ON private_tokens (expires_at);
