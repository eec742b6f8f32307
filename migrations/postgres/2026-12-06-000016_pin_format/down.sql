ALTER TABLE applications DROP COLUMN pin_format;
