-- Help requests: residents' half-filled forms, the requests, their history, officers' pending inputs.

-- One half-filled form per resident; it survives a restart and is dropped after 24 hours idle.
CREATE TABLE help_drafts (
    user_id     INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL,
    language    TEXT    NOT NULL DEFAULT 'vi',
    step        TEXT    NOT NULL,              -- consent | topic | name | phone | village | id | slot | note | summary | edit
    data        TEXT    NOT NULL DEFAULT '{}', -- JSON object of the answers so far
    editing     INTEGER NOT NULL DEFAULT 0,    -- 1: go back to the summary after this step
    consent_at  REAL,
    created_at  REAL    NOT NULL,
    updated_at  REAL    NOT NULL
);
CREATE INDEX help_drafts_updated ON help_drafts(updated_at);

CREATE TABLE help_requests (
    id                INTEGER PRIMARY KEY,     -- reference code HT-<id, 4 digits>
    user_id           INTEGER,                 -- NULL once anonymised
    chat_id           INTEGER,
    language          TEXT    NOT NULL DEFAULT 'vi',
    topic             TEXT    NOT NULL,
    full_name         TEXT    NOT NULL,        -- '' once anonymised
    phone             TEXT    NOT NULL,        -- normalised 0xxxxxxxxx; '' once anonymised
    village           TEXT    NOT NULL,
    id_number         TEXT,                    -- 12 digits, optional; NULL once anonymised
    slot_date         TEXT,                    -- preferred slot: ISO date, HH:MM, HH:MM (local time)
    slot_start        TEXT,
    slot_end          TEXT,
    note              TEXT,
    status            TEXT    NOT NULL DEFAULT 'new'
                      CHECK (status IN ('new', 'claimed', 'scheduled', 'done', 'unreachable', 'cancelled')),
    officer_id        INTEGER,
    officer_name      TEXT,
    appointment_at    REAL,
    remind_at         REAL,                    -- when the resident gets the evening-before reminder
    reminded_at       REAL,
    outcome           TEXT,
    consent_at        REAL    NOT NULL,
    created_at        REAL    NOT NULL,
    updated_at        REAL    NOT NULL,
    claimed_at        REAL,
    closed_at         REAL,
    anonymised_at     REAL,
    notice_chat_id    INTEGER,                 -- the officers' group message that offers the claim
    notice_message_id INTEGER,
    posted_at         REAL                     -- last time it was posted there (NULL: not yet)
);
CREATE INDEX help_requests_user ON help_requests(user_id, status);
CREATE INDEX help_requests_status ON help_requests(status, created_at);
CREATE INDEX help_requests_notice ON help_requests(notice_chat_id, notice_message_id);

-- Who did what to a request (notes and messages to the resident keep their text until anonymised).
CREATE TABLE help_events (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES help_requests(id) ON DELETE CASCADE,
    at          REAL    NOT NULL,
    actor       TEXT    NOT NULL,              -- "resident", "tg:<officer id>", "system", "cli"
    kind        TEXT    NOT NULL,              -- created | claimed | scheduled | note | message | done | ...
    detail      TEXT
);
CREATE INDEX help_events_request ON help_events(request_id, at);

-- An officer who pressed "note" / "message" / "appointment" and is expected to type it next.
CREATE TABLE help_officer_inputs (
    user_id     INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES help_requests(id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('note', 'message', 'appointment')),
    started_at  REAL    NOT NULL
);
