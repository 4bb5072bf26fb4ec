-- Messages to people who are not the one acting (an officer's notice to a resident, a reminder): stored first,
-- then sent, retried with backoff on temporary errors, so a restart or an outage delays them, never drops them.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    person_id   INTEGER,                          -- the recipient (NULL for a group chat)
    channel     TEXT    NOT NULL,
    chat_id     TEXT    NOT NULL,
    language    TEXT    NOT NULL DEFAULT 'vi',
    message     TEXT    NOT NULL,                 -- JSON: text, buttons, menu (the core's Out)
    purpose     TEXT,                             -- e.g. "request:12" (what the officer sees it under)
    status      TEXT    NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'blocked', 'failed')),
    tries       INTEGER NOT NULL DEFAULT 0,
    next_at     REAL    NOT NULL,                 -- when to try (again)
    error       TEXT,
    created_at  REAL    NOT NULL,
    sent_at     REAL
);
CREATE INDEX outbox_due ON outbox(status, next_at);
CREATE INDEX outbox_purpose ON outbox(purpose, id);
CREATE INDEX outbox_person ON outbox(person_id);
