DROP TABLE revoked_tokens;
DROP TABLE consents;
DROP TABLE authorization_codes;
DROP TABLE authorization_requests;
DROP TABLE browser_sessions;
DROP INDEX sessions_browser_session_id;
-- SQLite cannot drop a column that takes part in a foreign key: rebuild the table instead. Dropping the old
-- table cascades to refresh_tokens, so going down signs everyone out of the REST API.
CREATE TABLE sessions_before_oidc (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_reason TEXT
);
INSERT INTO sessions_before_oidc
    SELECT id, user_id, auth_time, created_at, expires_at, revoked_at, revoked_reason
    FROM sessions WHERE client_id IS NULL;
DROP TABLE sessions;
ALTER TABLE sessions_before_oidc RENAME TO sessions;
CREATE INDEX sessions_user_id ON sessions (user_id);
DROP TABLE oauth_clients;
DROP TABLE applications;
