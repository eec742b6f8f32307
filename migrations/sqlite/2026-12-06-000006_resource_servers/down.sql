ALTER TABLE oauth_clients DROP COLUMN resource_server;
