-- OpenID Connect Back-Channel Logout 1.0 §2.2: where a client takes logout tokens, and whether it needs `sid`.
ALTER TABLE oauth_clients ADD COLUMN backchannel_logout_uri TEXT;
ALTER TABLE oauth_clients ADD COLUMN backchannel_logout_session_required BOOLEAN NOT NULL DEFAULT FALSE;

-- The outbox of logout tokens to send: one row per client and ended session (`sid`) or subject. The token is
-- signed afresh at each attempt (its `exp` stays short); `leased_until`/`lease` hold a row for one sender.
CREATE TABLE backchannel_logouts (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    sub TEXT NOT NULL,
    sid TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    leased_until BIGINT,
    lease TEXT,
    last_status INTEGER,
    delivered_at BIGINT,
    failed_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX backchannel_logouts_due ON backchannel_logouts (next_attempt_at);
