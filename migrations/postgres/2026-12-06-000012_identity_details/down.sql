ALTER TABLE users DROP COLUMN name;
ALTER TABLE identity_providers DROP COLUMN trusted_amr;
ALTER TABLE identity_providers DROP COLUMN name_claim;
ALTER TABLE sign_in_flows DROP COLUMN proven_identity;
