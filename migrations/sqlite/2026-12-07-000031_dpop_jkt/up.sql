-- RFC 9449 §10: an authorization code bound to the DPoP key the client named (`dpop_jkt`) or proved at the
-- PAR endpoint; its exchange needs a proof by that key.
ALTER TABLE authorization_codes ADD COLUMN dpop_jkt TEXT;
