ALTER TABLE oauth_clients DROP COLUMN secret_sealed;
ALTER TABLE oauth_clients DROP COLUMN jwks;
ALTER TABLE replay_markers RENAME COLUMN marker_hash TO proof_hash;
ALTER TABLE replay_markers RENAME TO dpop_proofs;
