-- After this long without activity, an application asks for the PIN (or password) again before a refresh.
ALTER TABLE applications ADD COLUMN idle_timeout_secs BIGINT;
-- The last activity Tessera saw of a token family (NULL: none since it was made).
ALTER TABLE sessions ADD COLUMN last_active_at BIGINT;
