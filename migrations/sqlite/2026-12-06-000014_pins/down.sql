ALTER TABLE users DROP COLUMN pin_hash;
