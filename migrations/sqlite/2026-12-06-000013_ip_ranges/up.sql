-- The networks an application may be used from (space-separated CIDR blocks, start-end pairs, addresses).
ALTER TABLE applications ADD COLUMN ip_ranges TEXT NOT NULL DEFAULT '';
