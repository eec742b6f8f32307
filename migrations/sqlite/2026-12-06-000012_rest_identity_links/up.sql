-- A link the REST API started keeps the identity the upstream proved until the application finishes it.
ALTER TABLE sign_in_flows ADD COLUMN proven_identity TEXT;
