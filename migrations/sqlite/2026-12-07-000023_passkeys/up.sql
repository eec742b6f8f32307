-- WebAuthn passkeys: an account's public-key credentials (several, each named), found at sign-in by the
-- credential id the authenticator names (base64url). `credential` is the verified credential as JSON (public
-- key, sign counter, backup flags), rewritten when a use changes its counter or flags.
CREATE TABLE passkeys (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    credential_id TEXT NOT NULL UNIQUE,
    credential TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX passkeys_user ON passkeys (user_id);
-- A WebAuthn ceremony between its two requests: the challenge's state (JSON), bound to the browser that
-- started it (and to the account or the sign-in flow it is for), short-lived and spent once.
CREATE TABLE passkey_ceremonies (
    id TEXT PRIMARY KEY NOT NULL,
    purpose TEXT NOT NULL,
    browser_binding TEXT NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    flow_id TEXT,
    state TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX passkey_ceremonies_expires ON passkey_ceremonies (expires_at);
