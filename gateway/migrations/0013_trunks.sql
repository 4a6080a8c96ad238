-- SIP trunks to the phone network (issue 15), set up by the installation's operator. Calls
-- out go to the lowest `priority` first and fail over to the next on a 5xx or no answer.
-- A trunk with a `username` registers to the carrier with it; one without is a trusted
-- peer by its address. The password is needed in clear for the carrier's digest challenge:
-- it is never shown by the CLI or the API, nor logged.
CREATE TABLE trunks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    priority   INTEGER NOT NULL DEFAULT 10,
    host       TEXT    NOT NULL,
    port       INTEGER NOT NULL DEFAULT 5060 CHECK (port BETWEEN 1 AND 65535),
    transport  TEXT    NOT NULL DEFAULT 'udp' CHECK (transport IN ('udp', 'tcp', 'tls')),
    username   TEXT,
    password   TEXT,
    -- The carrier's codecs, in its order of preference, e.g. "PCMA PCMU".
    codecs     TEXT    NOT NULL DEFAULT 'PCMA PCMU',
    created_at INTEGER NOT NULL
);

-- Call permissions (internal / national / international, premium-rate numbers allowed or
-- not) and the caller ID shown on outside calls (own number, the company's main number, or
-- withheld): a company default, and per person (NULL: the company's).
ALTER TABLE companies ADD COLUMN call_permission TEXT NOT NULL DEFAULT 'national'
    CHECK (call_permission IN ('internal', 'national', 'international'));
ALTER TABLE companies ADD COLUMN premium_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE companies ADD COLUMN caller_id TEXT NOT NULL DEFAULT 'own'
    CHECK (caller_id IN ('own', 'main', 'withheld'));
-- The company's main number (E.164) and the extension a call to it rings.
ALTER TABLE companies ADD COLUMN main_number TEXT;
ALTER TABLE companies ADD COLUMN main_ext TEXT;
ALTER TABLE employees ADD COLUMN call_permission TEXT
    CHECK (call_permission IN ('internal', 'national', 'international'));
ALTER TABLE employees ADD COLUMN premium_calls INTEGER;
ALTER TABLE employees ADD COLUMN caller_id TEXT CHECK (caller_id IN ('own', 'main', 'withheld'));
-- The person's mobile (E.164), for *8.
ALTER TABLE employees ADD COLUMN mobile_number TEXT;
