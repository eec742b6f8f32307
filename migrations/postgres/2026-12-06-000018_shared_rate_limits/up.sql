-- Rate limits shared by every instance on this database: token buckets, and the events of sliding windows.
-- Unlogged: no WAL, so no disk flush at each request's commit; a database crash empties them (every budget and
-- window starts afresh), which a limit can afford.
CREATE UNLOGGED TABLE rate_buckets (
    key TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    updated_ms BIGINT NOT NULL,
    taken BIGINT NOT NULL
);
CREATE UNLOGGED TABLE rate_events (
    key TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX rate_events_key_at ON rate_events (key, at_ms);
CREATE INDEX rate_events_expires ON rate_events (expires_ms);
