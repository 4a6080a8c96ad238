-- A call taken by the voicemail service has the outcome 'voicemail'. SQLite cannot change a
-- CHECK constraint in place: the table is made again with the same columns and indexes and
-- the rows copied (nothing references calls).
CREATE TABLE calls_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id      INTEGER NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    sip_call_id     TEXT    NOT NULL,
    caller_id       INTEGER REFERENCES employees (id) ON DELETE SET NULL,
    caller_number   TEXT    NOT NULL,
    caller_name     TEXT,
    dialled         TEXT    NOT NULL,
    callee_id       INTEGER REFERENCES employees (id) ON DELETE SET NULL,
    callee_number   TEXT,
    callee_name     TEXT,
    started_ms      INTEGER NOT NULL,
    answered_ms     INTEGER,
    ended_ms        INTEGER NOT NULL,
    -- As before, and voicemail: the voicemail service answered (a message may wait).
    outcome         TEXT    NOT NULL
        CHECK (outcome IN ('answered', 'missed', 'declined', 'busy', 'unavailable', 'failed', 'voicemail')),
    status          INTEGER,
    answered_device TEXT,
    cost_micros     INTEGER,
    currency        TEXT,
    diverted_from_id INTEGER REFERENCES employees (id) ON DELETE SET NULL,
    diverted_from_number TEXT,
    diversion TEXT
        CHECK (diversion IN ('always', 'busy', 'no_answer', 'offline', 'unavailable'))
);
INSERT INTO calls_new (id, company_id, sip_call_id, caller_id, caller_number, caller_name, dialled,
    callee_id, callee_number, callee_name, started_ms, answered_ms, ended_ms, outcome, status,
    answered_device, cost_micros, currency, diverted_from_id, diverted_from_number, diversion)
SELECT id, company_id, sip_call_id, caller_id, caller_number, caller_name, dialled,
    callee_id, callee_number, callee_name, started_ms, answered_ms, ended_ms, outcome, status,
    answered_device, cost_micros, currency, diverted_from_id, diverted_from_number, diversion
FROM calls;
DROP TABLE calls;
ALTER TABLE calls_new RENAME TO calls;
CREATE INDEX calls_caller ON calls (caller_id, started_ms);
CREATE INDEX calls_callee ON calls (callee_id, started_ms);
CREATE INDEX calls_company ON calls (company_id, started_ms);
CREATE INDEX calls_diverted ON calls (diverted_from_id, started_ms);
