DROP TABLE mfa_challenges;
DROP TABLE one_time_codes;
DROP TABLE recovery_codes;
DROP TABLE totp_factors;
ALTER TABLE users DROP COLUMN phone;
