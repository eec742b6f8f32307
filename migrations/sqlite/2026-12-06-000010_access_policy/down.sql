-- Accounts without an e-mail address or a password, and codes without an account, cannot go back: they are
-- deleted first, while foreign keys still cascade to what they own.

DELETE FROM users WHERE email IS NULL OR password_hash IS NULL;
DELETE FROM one_time_codes WHERE user_id IS NULL;

PRAGMA foreign_keys = OFF;

BEGIN;

DROP TABLE invitations;
DROP TABLE application_members;

CREATE TABLE one_time_codes_old (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
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
INSERT INTO one_time_codes_old SELECT * FROM one_time_codes;
DROP TABLE one_time_codes;
ALTER TABLE one_time_codes_old RENAME TO one_time_codes;
CREATE INDEX one_time_codes_user_purpose ON one_time_codes (user_id, purpose, binding);

CREATE TABLE users_old (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL UNIQUE,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash TEXT NOT NULL,
    scopes TEXT NOT NULL DEFAULT '',
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    phone TEXT
);
INSERT INTO users_old SELECT id, username, email, email_verified, password_hash, scopes, is_active, failed_logins,
    locked_until, created_at, updated_at, phone FROM users;
DROP TABLE users;
ALTER TABLE users_old RENAME TO users;

ALTER TABLE oauth_clients DROP COLUMN initiate_login_uri;
ALTER TABLE applications DROP COLUMN home_client_id;
ALTER TABLE applications DROP COLUMN code_ttl_secs;
ALTER TABLE applications DROP COLUMN verification_channels;
ALTER TABLE applications DROP COLUMN login_methods;
ALTER TABLE applications DROP COLUMN access_mode;

COMMIT;

PRAGMA foreign_keys = ON;
