-- Residents, the questions they ask, feedback on answers, staff roles and the audit trail.
CREATE TABLE residents (
    user_id     INTEGER PRIMARY KEY,          -- channel user id (Telegram user id)
    channel     TEXT    NOT NULL DEFAULT 'telegram',
    chat_id     INTEGER NOT NULL,             -- private chat for replies and broadcasts
    language    TEXT    NOT NULL DEFAULT 'vi',
    source      TEXT,                          -- deep-link payload of the first /start
    first_seen  REAL    NOT NULL,
    last_seen   REAL    NOT NULL
);

CREATE TABLE questions (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER,
    asked_at    REAL    NOT NULL,
    text        TEXT    NOT NULL,              -- phone and ID numbers masked before storing
    folded      TEXT    NOT NULL,              -- lower case, no diacritics: groups gaps by meaning-ish
    topic       TEXT,                          -- answered FAQ id, NULL when not answered
    score       REAL    NOT NULL,
    status      TEXT    NOT NULL               -- answer | unsure | out_of_scope | empty
);
CREATE INDEX questions_status ON questions(status, asked_at);

CREATE TABLE feedback (
    id          INTEGER PRIMARY KEY,
    question_id INTEGER REFERENCES questions(id) ON DELETE SET NULL,
    user_id     INTEGER,
    faq_id      TEXT    NOT NULL,
    helpful     INTEGER NOT NULL CHECK (helpful IN (0, 1)),
    created_at  REAL    NOT NULL,
    UNIQUE (question_id, user_id)
);

CREATE TABLE staff (
    user_id     INTEGER PRIMARY KEY,
    role        TEXT    NOT NULL CHECK (role IN ('officer', 'editor', 'admin')),
    display     TEXT,
    added_at    REAL    NOT NULL,
    added_by    TEXT    NOT NULL
);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          REAL    NOT NULL,
    actor       TEXT    NOT NULL,              -- "tg:<user id>", "cli", "system"
    action      TEXT    NOT NULL,              -- e.g. request.view, request.claim, access.refused
    target      TEXT,                          -- e.g. "request:42"
    detail      TEXT                           -- masked; never raw phone or ID numbers
);
CREATE INDEX audit_target ON audit_log(target, at);
