DROP TABLE backchannel_logouts;
ALTER TABLE oauth_clients DROP COLUMN backchannel_logout_session_required;
ALTER TABLE oauth_clients DROP COLUMN backchannel_logout_uri;
