-- Users of the phone system: one row per extension. The password itself is never stored:
-- an argon2 hash (web login) and digest HA1 values for the realm (SIP), MD5 and SHA-256.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    ext           TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    realm         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    ha1_md5       TEXT    NOT NULL,
    ha1_sha256    TEXT    NOT NULL,
    created_at    TEXT    NOT NULL DEFAULT (CURRENT_TIMESTAMP)
);

-- Settings of this installation (the SIP domain, the nonce secret).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
