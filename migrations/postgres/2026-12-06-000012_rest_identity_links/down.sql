ALTER TABLE sign_in_flows DROP COLUMN proven_identity;
