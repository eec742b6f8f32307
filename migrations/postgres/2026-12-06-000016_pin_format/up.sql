-- The PINs a person may set through the application: any, digits or passphrase.
ALTER TABLE applications ADD COLUMN pin_format TEXT NOT NULL DEFAULT 'any';
