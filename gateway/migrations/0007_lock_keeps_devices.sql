-- The devices an extension had when it was locked (device ids, and `login:<user name>` for
-- phones with a device credential, as a JSON array): they may register again (a reloaded
-- browser tab, a restarted desk phone); any other device is refused while locked.
ALTER TABLE employees ADD COLUMN locked_devices TEXT NOT NULL DEFAULT '[]';
