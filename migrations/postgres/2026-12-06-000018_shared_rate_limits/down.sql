DROP TABLE rate_events;
DROP TABLE rate_buckets;
