-- Voicemail (gateway/src/voicemail.rs): messages and greetings are WAV files under the data
-- folder (`file` is relative to it); the rows say whose and what.
CREATE TABLE voicemails (
    id INTEGER PRIMARY KEY,
    employee_id INTEGER NOT NULL REFERENCES employees(id) ON DELETE CASCADE,
    caller TEXT NOT NULL,
    caller_name TEXT,
    situation TEXT NOT NULL CHECK (situation IN ('busy', 'no_answer', 'offline', 'default')),
    received_at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    heard_at INTEGER,
    file TEXT NOT NULL UNIQUE,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX voicemails_by_person ON voicemails (employee_id, received_at DESC);

CREATE TABLE greetings (
    employee_id INTEGER NOT NULL REFERENCES employees(id) ON DELETE CASCADE,
    situation TEXT NOT NULL CHECK (situation IN ('busy', 'no_answer', 'offline', 'default')),
    file TEXT NOT NULL UNIQUE,
    duration_ms INTEGER NOT NULL,
    size INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (employee_id, situation)
);
