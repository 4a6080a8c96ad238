-- Each person's own presence choice (the contact list's colours): kept across restarts.
-- Whether a person is offline, ringing or in a call is derived by the core, never stored.
ALTER TABLE employees ADD COLUMN presence TEXT NOT NULL DEFAULT 'available'
    CHECK (presence IN ('available', 'dnd', 'away'));

-- Incoming calls that ended before this time (Unix ms) are no longer counted as missed on
-- the badge.
ALTER TABLE employees ADD COLUMN history_seen_ms INTEGER NOT NULL DEFAULT 0;

-- Call detail records: one row per call attempt, written by the gateway when the call ends.
-- Employees are referenced by id (the extension can be renumbered); the numbers and names
-- as they were at the time are kept beside them. Times are Unix milliseconds. Cost columns
-- are filled once calls reach the phone network (trunks).
CREATE TABLE calls (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id      INTEGER NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    sip_call_id     TEXT    NOT NULL,
    -- The caller: an employee, or (from a trunk) an outside number.
    caller_id       INTEGER REFERENCES employees (id) ON DELETE SET NULL,
    caller_number   TEXT    NOT NULL,
    caller_name     TEXT,
    -- What was dialled, and the employee it reached (NULL: nobody).
    dialled         TEXT    NOT NULL,
    callee_id       INTEGER REFERENCES employees (id) ON DELETE SET NULL,
    callee_number   TEXT,
    callee_name     TEXT,
    started_ms      INTEGER NOT NULL,
    answered_ms     INTEGER,
    ended_ms        INTEGER NOT NULL,
    -- answered: talked; missed: rang, nobody answered (caller gave up or no answer);
    -- declined: the callee refused it; busy: busy or do not disturb; unavailable: no
    -- device logged in; failed: anything else (not found, error).
    outcome         TEXT    NOT NULL
        CHECK (outcome IN ('answered', 'missed', 'declined', 'busy', 'unavailable', 'failed')),
    -- The SIP status that ended an unanswered call (486, 487, 480, ...).
    status          INTEGER,
    -- Which device answered: its user agent or contact, as registered.
    answered_device TEXT,
    cost_micros     INTEGER,
    currency        TEXT
);
CREATE INDEX calls_caller ON calls (caller_id, started_ms);
CREATE INDEX calls_callee ON calls (callee_id, started_ms);
CREATE INDEX calls_company ON calls (company_id, started_ms);
