-- The outgoing mail queue (gateway/src/mailqueue.rs): every e-mail is written here first and
-- delivered by a worker with retries and backoff. `body` and `link` hold a one-time link
-- while the mail waits; they are cleared once it is sent or given up.
CREATE TABLE mail_queue (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    to_name TEXT NOT NULL,
    to_addr TEXT NOT NULL,
    lang TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    link TEXT NOT NULL DEFAULT '',
    -- A file under the data folder to attach (voicemail), with its name and media type.
    attachment_path TEXT,
    attachment_name TEXT,
    attachment_type TEXT,
    state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_ms INTEGER NOT NULL,
    next_ms INTEGER NOT NULL,
    sent_ms INTEGER
);
CREATE INDEX mail_queue_due ON mail_queue (next_ms) WHERE state = 'queued';
