DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE signing_keys;
DROP TABLE users;
