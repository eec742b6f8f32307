-- RFC 7591 initial access tokens: an administrator hands one to whoever may register clients in an
-- application. Only the token's SHA-256 is kept; `uses_left` NULL means any number of registrations.
CREATE TABLE registration_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    description TEXT NOT NULL,
    uses_left BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
-- RFC 7592: the registration access token of each dynamically registered client (its SHA-256), with which
-- the client reads, replaces and deletes its own registration.
CREATE TABLE client_registrations (
    client_id TEXT PRIMARY KEY NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    access_token_hash TEXT NOT NULL UNIQUE,
    registration_token_id TEXT REFERENCES registration_tokens (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);
