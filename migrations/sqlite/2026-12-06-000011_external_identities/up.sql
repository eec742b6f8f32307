-- Sign-in through upstream OpenID providers (Google, or any OpenID Connect provider by issuer).
-- external_identities: an account's identities at upstream providers, keyed on (issuer, subject) — never on an
-- e-mail address alone.
-- federation_logins: a browser's round trip to an upstream provider in progress. The `state` sent upstream is
-- stored as a SHA-256 hash; the PKCE verifier is sealed like other secrets; each row is used once. A round trip
-- that links an identity to a signed-in account names the account (link_user_id), and where a relying party
-- that sent the browser wants it back (return_to, one of its redirect URIs).
-- applications.external_providers: the upstream providers an application offers (login method `external`).

ALTER TABLE applications ADD COLUMN external_providers TEXT NOT NULL DEFAULT '';

CREATE TABLE external_identities (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider_id TEXT NOT NULL,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    UNIQUE (issuer, subject)
);
CREATE INDEX external_identities_user_id ON external_identities (user_id);

CREATE TABLE federation_logins (
    id TEXT PRIMARY KEY NOT NULL,
    state_hash TEXT NOT NULL UNIQUE,
    provider_id TEXT NOT NULL,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    browser_binding TEXT NOT NULL,
    request_id TEXT,
    link_user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    return_to TEXT,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed_at BIGINT
);
CREATE INDEX federation_logins_expires_at ON federation_logins (expires_at);

-- Upstream providers added through the admin API (those of the configuration file live there); the client
-- secret is sealed like other secrets. Lists are space-separated.
CREATE TABLE identity_providers (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    scopes TEXT NOT NULL,
    email_claim TEXT NOT NULL,
    username_claim TEXT NOT NULL,
    allowed_domains TEXT NOT NULL,
    trust_email BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A sign-in through an upstream provider started over the REST API waits at stage `external` until the
-- provider's callback records the account and the hash of a one-time result code for the application.
ALTER TABLE sign_in_flows ADD COLUMN result_hash TEXT;
