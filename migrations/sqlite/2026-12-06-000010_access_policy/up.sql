-- Access policy per application: who may enter (access_mode), how (login_methods), which proof of contact
-- counts (verification_channels), how long a sent code may be entered, and the client its access link lands
-- in (a client with an initiate_login_uri, OpenID Connect Core §4). Existing applications keep today's
-- behaviour: registration, passwords, no proof of contact needed.
-- Members of invite-only applications, and invitations by e-mail.
-- Accounts without an e-mail address (a guest, a sign-up by text message) or without a password (codes only):
-- users.email and users.password_hash become optional, and guests are marked. One-time codes may go to an
-- address or number that has no account yet (a sign-up by code).
-- SQLite cannot drop NOT NULL in place: users and one_time_codes are rebuilt inside one transaction with
-- foreign keys off (they cannot be turned off inside one: see metadata.toml); the rows are copied unchanged,
-- so every reference to them still holds.

PRAGMA foreign_keys = OFF;

BEGIN;

ALTER TABLE applications ADD COLUMN access_mode TEXT NOT NULL DEFAULT 'registration';
ALTER TABLE applications ADD COLUMN login_methods TEXT NOT NULL DEFAULT 'password';
ALTER TABLE applications ADD COLUMN verification_channels TEXT NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN code_ttl_secs BIGINT NOT NULL DEFAULT 60;
ALTER TABLE applications ADD COLUMN home_client_id TEXT;
ALTER TABLE oauth_clients ADD COLUMN initiate_login_uri TEXT;

CREATE TABLE users_new (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    email TEXT UNIQUE,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash TEXT,
    scopes TEXT NOT NULL DEFAULT '',
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    phone TEXT,
    guest BOOLEAN NOT NULL DEFAULT FALSE
);
INSERT INTO users_new (id, username, email, email_verified, password_hash, scopes, is_active, failed_logins,
                       locked_until, created_at, updated_at, phone)
    SELECT id, username, email, email_verified, password_hash, scopes, is_active, failed_logins,
           locked_until, created_at, updated_at, phone
    FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE INDEX users_phone ON users (phone);
CREATE INDEX users_guest_created_at ON users (guest, created_at);

CREATE TABLE one_time_codes_new (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    binding TEXT NOT NULL,
    channel TEXT NOT NULL,
    destination TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    consumed_at BIGINT
);
INSERT INTO one_time_codes_new SELECT id, user_id, purpose, binding, channel, destination, code_hash, created_at,
    expires_at, attempts, consumed_at FROM one_time_codes;
DROP TABLE one_time_codes;
ALTER TABLE one_time_codes_new RENAME TO one_time_codes;
CREATE INDEX one_time_codes_user_purpose ON one_time_codes (user_id, purpose, binding);
CREATE INDEX one_time_codes_binding ON one_time_codes (binding, purpose);
CREATE INDEX one_time_codes_destination ON one_time_codes (destination, purpose);

CREATE TABLE application_members (
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (application_id, user_id)
);
CREATE INDEX application_members_user_id ON application_members (user_id);

CREATE TABLE invitations (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT,
    accepted_by TEXT REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX invitations_application_id ON invitations (application_id);
CREATE INDEX invitations_expires_at ON invitations (expires_at);

COMMIT;

PRAGMA foreign_keys = ON;
