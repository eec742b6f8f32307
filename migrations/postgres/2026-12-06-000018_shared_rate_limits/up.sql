-- Rate limits shared by every instance on this database: token buckets, and the events of sliding windows.
CREATE TABLE rate_buckets (
    key TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    updated_ms BIGINT NOT NULL,
    allowed BOOLEAN NOT NULL
);
CREATE TABLE rate_events (
    key TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX rate_events_key_at ON rate_events (key, at_ms);
CREATE INDEX rate_events_expires ON rate_events (expires_ms);
