-- RFC 8628 device authorizations. The device code and the user code are kept only as SHA-256 hashes; the state
-- lives here (not in one instance's memory), so any instance answers a poll or the person's approval.
CREATE TABLE device_authorizations (
    id TEXT PRIMARY KEY NOT NULL,
    device_code_hash TEXT NOT NULL UNIQUE,
    user_code_hash TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- The polling interval in seconds (RFC 8628 §3.5: raised by 5 at each slow_down) and the earliest time the
    -- next poll is welcome.
    interval_secs BIGINT NOT NULL,
    next_poll_at BIGINT NOT NULL,
    -- pending, approved or denied
    status TEXT NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    auth_time BIGINT,
    amr TEXT,
    acr TEXT,
    decided_at BIGINT,
    -- When the device code was exchanged for tokens, and the token family it produced.
    used_at BIGINT,
    session_id TEXT
);
CREATE INDEX device_authorizations_expires ON device_authorizations (expires_at);
