ALTER TABLE sessions DROP COLUMN last_active_at;
ALTER TABLE applications DROP COLUMN idle_timeout_secs;
