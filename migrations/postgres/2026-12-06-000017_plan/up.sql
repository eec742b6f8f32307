-- The plan an account is on (shown by the appmixer profile; set by administrators).
ALTER TABLE users ADD COLUMN plan TEXT NOT NULL DEFAULT 'free';
