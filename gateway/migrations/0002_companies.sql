-- Companies (tenants), employees, number blocks, web sessions, one-time links and API tokens.
-- Times are Unix seconds (INTEGER), so the same logic runs on PostgreSQL (BIGINT) later.

CREATE TABLE companies (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    -- SIP domain and digest realm; lower case.
    domain      TEXT    NOT NULL UNIQUE,
    -- Extensions of this company have this many digits (3: 100-999).
    ext_digits  INTEGER NOT NULL DEFAULT 3,
    created_at  INTEGER NOT NULL
);

-- The installation's first company takes the users made before companies existed, in the
-- domain this data folder was set up with.
INSERT INTO companies (id, name, domain, created_at)
VALUES (1, 'Default company',
        COALESCE((SELECT value FROM settings WHERE key = 'domain'), 'centrala.local'),
        CAST(strftime('%s', 'now') AS INTEGER));

-- An employee is an extension of a company. Web login: e-mail and an argon2 hash. SIP:
-- digest HA1 values of the SIP password set from the command line (desk phones, JsSIP), if
-- any; the web app uses short-lived HMAC credentials instead.
CREATE TABLE employees (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id        INTEGER NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    ext               TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    email             TEXT,
    role              TEXT    NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user')),
    app_access        INTEGER NOT NULL DEFAULT 0,
    web_password_hash TEXT,
    sip_realm         TEXT,
    ha1_md5           TEXT,
    ha1_sha256        TEXT,
    invited_at        INTEGER,
    created_at        INTEGER NOT NULL,
    UNIQUE (company_id, ext)
);
CREATE UNIQUE INDEX employees_email ON employees (email);

INSERT INTO employees (id, company_id, ext, name, sip_realm, ha1_md5, ha1_sha256, created_at)
SELECT id, 1, ext, name, realm, ha1_md5, ha1_sha256, CAST(strftime('%s', 'now') AS INTEGER)
FROM users;
DROP TABLE users;

-- A block of public numbers: first_number (E.164, "+48226006100") and the next size - 1,
-- mapped one to one onto the extensions from first_ext.
CREATE TABLE number_blocks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id   INTEGER NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    first_number TEXT    NOT NULL UNIQUE,
    size         INTEGER NOT NULL,
    first_ext    TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
);

-- Web sessions; only a SHA-256 of the cookie's token is kept.
CREATE TABLE sessions (
    token_hash  TEXT    PRIMARY KEY,
    employee_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    expires_at  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

-- Single-use links sent by e-mail: 'invite' (first password) and 'reset' (forgot password).
CREATE TABLE links (
    token_hash  TEXT    PRIMARY KEY,
    employee_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('invite', 'reset')),
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    created_at  INTEGER NOT NULL
);

-- Admin API tokens for scripts, per company.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id   INTEGER NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_by   INTEGER REFERENCES employees (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
