-- Accounts without an e-mail address or a password, and codes without an account, cannot go back: they are
-- deleted.

DROP TABLE invitations;
DROP TABLE application_members;

DROP INDEX one_time_codes_destination;
DROP INDEX one_time_codes_binding;
DELETE FROM one_time_codes WHERE user_id IS NULL;
ALTER TABLE one_time_codes ALTER COLUMN user_id SET NOT NULL;

DROP INDEX users_guest_created_at;
DROP INDEX users_phone;
DELETE FROM users WHERE email IS NULL OR password_hash IS NULL;
ALTER TABLE users DROP COLUMN guest;
ALTER TABLE users ALTER COLUMN password_hash SET NOT NULL;
ALTER TABLE users ALTER COLUMN email SET NOT NULL;

ALTER TABLE oauth_clients DROP COLUMN initiate_login_uri;
ALTER TABLE applications DROP COLUMN home_client_id;
ALTER TABLE applications DROP COLUMN code_ttl_secs;
ALTER TABLE applications DROP COLUMN verification_channels;
ALTER TABLE applications DROP COLUMN login_methods;
ALTER TABLE applications DROP COLUMN access_mode;
