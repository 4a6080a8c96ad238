-- The PIN that opens a person's voicemail box from a phone that is not theirs (*97): an
-- argon2 hash, like passwords; NULL means the box opens only from the owner's own devices.
ALTER TABLE employees ADD COLUMN voicemail_pin TEXT;
