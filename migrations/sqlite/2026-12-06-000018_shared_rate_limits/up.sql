-- Rate limits shared by every instance of a PostgreSQL database; a SQLite file has one process, which counts in
-- memory. The tables exist here too so that both schemas stay the same.
CREATE TABLE rate_buckets (
    key TEXT PRIMARY KEY NOT NULL,
    tokens DOUBLE NOT NULL,
    updated_ms BIGINT NOT NULL,
    taken BIGINT NOT NULL
);
CREATE TABLE rate_events (
    key TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX rate_events_key_at ON rate_events (key, at_ms);
CREATE INDEX rate_events_expires ON rate_events (expires_ms);
