-- An account's PIN (argon2id), for the extra checks an application may ask for after idle time.
ALTER TABLE users ADD COLUMN pin_hash TEXT;
