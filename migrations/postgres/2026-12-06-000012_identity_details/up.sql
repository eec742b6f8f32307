-- A link the REST API started keeps the identity the upstream proved until the application finishes it.
ALTER TABLE sign_in_flows ADD COLUMN proven_identity TEXT;
-- Which upstream claim gives a new account's display name, and which upstream amr values are passed on.
ALTER TABLE identity_providers ADD COLUMN name_claim TEXT NOT NULL DEFAULT 'name';
ALTER TABLE identity_providers ADD COLUMN trusted_amr TEXT NOT NULL DEFAULT '';
-- A display name (the `name` claim), when the account has one.
ALTER TABLE users ADD COLUMN name TEXT;
