-- Security events: who did what to whom, from where. Kept `retention.audit_days`, then pruned.
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    occurred_at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor_id TEXT,
    subject_type TEXT,
    subject_id TEXT,
    application_id TEXT,
    ip TEXT,
    user_agent TEXT,
    request_id TEXT,
    details TEXT NOT NULL
);
CREATE INDEX audit_events_occurred ON audit_events (occurred_at, id);
CREATE INDEX audit_events_subject ON audit_events (subject_id, occurred_at);
CREATE INDEX audit_events_actor ON audit_events (actor_id, occurred_at);
CREATE INDEX audit_events_application ON audit_events (application_id, occurred_at);
