ALTER TABLE sessions DROP COLUMN dpop_jkt;
DROP TABLE dpop_proofs;
