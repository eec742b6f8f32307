ALTER TABLE sign_in_flows DROP COLUMN result_hash;
DROP TABLE identity_providers;
DROP TABLE federation_logins;
DROP TABLE external_identities;
ALTER TABLE applications DROP COLUMN external_providers;
