-- Resource servers: a client (an API gateway) allowed to introspect every token of its application, not only
-- the tokens issued to it (RFC 7662 §2.1).

ALTER TABLE oauth_clients ADD COLUMN resource_server BOOLEAN NOT NULL DEFAULT FALSE;
