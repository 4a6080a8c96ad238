-- Personal call routing. `locked`: no new device may register (existing ones go on).
-- `routing`: forwarding rules and ring strategy as JSON (see gateway/src/forwarding.rs).
-- `default_device`: the key of the device that rings first and places click-to-call (an
-- RFC 5626 instance, or a contact address), as the core names it.
ALTER TABLE employees ADD COLUMN locked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE employees ADD COLUMN routing TEXT NOT NULL DEFAULT '{}';
ALTER TABLE employees ADD COLUMN default_device TEXT;

-- Device credentials: a SIP user name and password for a desk phone or a third-party
-- softphone, several per person. Bound to the employee, not to the extension, so that
-- renumbering keeps them working. Only digest HA1 values are kept (the password is shown once).
CREATE TABLE device_credentials (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id  INTEGER NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    employee_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    username    TEXT    NOT NULL,
    label       TEXT    NOT NULL,
    realm       TEXT    NOT NULL,
    ha1_md5     TEXT    NOT NULL,
    ha1_sha256  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  INTEGER REFERENCES employees (id) ON DELETE SET NULL,
    UNIQUE (company_id, username)
);
CREATE INDEX device_credentials_employee ON device_credentials (employee_id);

-- A forwarded call is recorded once, with the person who finally rang as callee and the
-- person it was forwarded away from (and why), so both histories show it.
ALTER TABLE calls ADD COLUMN diverted_from_id INTEGER REFERENCES employees (id) ON DELETE SET NULL;
ALTER TABLE calls ADD COLUMN diverted_from_number TEXT;
ALTER TABLE calls ADD COLUMN diversion TEXT
    CHECK (diversion IN ('always', 'busy', 'no_answer', 'offline', 'unavailable'));
CREATE INDEX calls_diverted ON calls (diverted_from_id, started_ms);
