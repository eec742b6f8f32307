ALTER TABLE applications DROP COLUMN ip_ranges;
