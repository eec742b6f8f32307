-- RFC 9126 pushed authorization requests. Only the SHA-256 of the request_uri's random part is kept, with the
-- validated request (JSON) and the client that pushed it; each lives a minute and is spent once.
CREATE TABLE pushed_requests (
    request_uri_hash TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    parameters TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- When an authorization request used it (single use, RFC 9126 §4).
    used_at BIGINT
);
CREATE INDEX pushed_requests_expires ON pushed_requests (expires_at);
-- RFC 9126 §6: a client may be required to push its authorization requests.
ALTER TABLE oauth_clients ADD COLUMN require_pushed_authorization_requests BOOLEAN NOT NULL DEFAULT FALSE;
