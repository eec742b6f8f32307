-- Access policy per application: who may enter (access_mode), how (login_methods), which proof of contact
-- counts (verification_channels), how long a sent code may be entered, and the client its access link lands
-- in (a client with an initiate_login_uri, OpenID Connect Core §4). Existing applications keep today's
-- behaviour: registration, passwords, no proof of contact needed.
-- Members of invite-only applications, and invitations by e-mail.
-- Accounts without an e-mail address (a guest, a sign-up by text message) or without a password (codes only):
-- users.email and users.password_hash become optional, and guests are marked. One-time codes may go to an
-- address or number that has no account yet (a sign-up by code).

ALTER TABLE applications ADD COLUMN access_mode TEXT NOT NULL DEFAULT 'registration';
ALTER TABLE applications ADD COLUMN login_methods TEXT NOT NULL DEFAULT 'password';
ALTER TABLE applications ADD COLUMN verification_channels TEXT NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN code_ttl_secs BIGINT NOT NULL DEFAULT 60;
ALTER TABLE applications ADD COLUMN home_client_id TEXT;
ALTER TABLE oauth_clients ADD COLUMN initiate_login_uri TEXT;

ALTER TABLE users ALTER COLUMN email DROP NOT NULL;
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;
ALTER TABLE users ADD COLUMN guest BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX users_phone ON users (phone);
CREATE INDEX users_guest_created_at ON users (guest, created_at);

ALTER TABLE one_time_codes ALTER COLUMN user_id DROP NOT NULL;
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
