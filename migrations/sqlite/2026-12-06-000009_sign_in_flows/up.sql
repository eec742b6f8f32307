-- Sign-ins in progress, for every front door: the step a sign-in waits at (a second factor today; a code sent
-- for a code sign-in, or the proof of an address or number, as applications ask), the application it is for,
-- and the browser it happens in (or none: the REST API). The token naming it is stored as a SHA-256 hash. It
-- replaces mfa_challenges, whose rows — second factors waiting at most minutes — are not carried over.

DROP TABLE mfa_challenges;

CREATE TABLE sign_in_flows (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    browser_binding TEXT,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    amr TEXT NOT NULL DEFAULT '',
    channel TEXT,
    destination TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    consumed_at BIGINT
);
CREATE INDEX sign_in_flows_expires_at ON sign_in_flows (expires_at);
