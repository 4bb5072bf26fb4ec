-- Campaign broadcasts: subscriptions, campaigns, their runs, one delivery row per (run, recipient),
-- the editors' drafts (dialogue state that survives a restart) and the report messages kept up to date.

CREATE TABLE subscriptions (
    user_id       INTEGER PRIMARY KEY,           -- channel user id (Telegram user id)
    channel       TEXT    NOT NULL DEFAULT 'telegram',
    chat_id       INTEGER NOT NULL,              -- private chat the announcements go to
    language      TEXT    NOT NULL DEFAULT 'vi',
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),   -- opted in (0 after unsubscribe)
    blocked       INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),  -- the user blocked the bot (403)
    village       TEXT,                          -- a village id of content/commune.toml, or NULL
    consented_at  REAL    NOT NULL,              -- when the resident agreed to receive announcements
    updated_at    REAL    NOT NULL
);
CREATE INDEX subscriptions_audience ON subscriptions(active, blocked, village);

-- Topics a subscriber chose; none at all means "every topic".
CREATE TABLE subscription_topics (
    user_id  INTEGER NOT NULL REFERENCES subscriptions(user_id) ON DELETE CASCADE,
    topic    TEXT    NOT NULL,
    PRIMARY KEY (user_id, topic)
) WITHOUT ROWID;
CREATE INDEX subscription_topics_topic ON subscription_topics(topic, user_id);

CREATE TABLE campaigns (
    id              INTEGER PRIMARY KEY,
    body            TEXT    NOT NULL,            -- the source text (mini-format), as written
    html            TEXT    NOT NULL,            -- what residents receive (Telegram HTML), rendered once
    photo           TEXT,                        -- a channel file id (optional)
    template_id     TEXT,
    audience        TEXT    NOT NULL DEFAULT 'all',   -- all | village:<id> | topic:<id>
    first_at        REAL    NOT NULL,            -- first due time (Unix seconds, UTC)
    repeat          TEXT,                        -- 5-field cron in commune time, or NULL for once
    next_at         REAL,                        -- next due time; NULL when nothing more is due
    status          TEXT    NOT NULL DEFAULT 'scheduled'
                    CHECK (status IN ('scheduled', 'sending', 'paused', 'done', 'cancelled', 'missed')),
    language        TEXT    NOT NULL DEFAULT 'vi',   -- language of the editor's reports
    created_by      TEXT    NOT NULL,            -- "tg:<user id>" or "cli"
    notify_chat_id  INTEGER,                     -- where reports go; NULL = every editor
    created_at      REAL    NOT NULL
);
CREATE INDEX campaigns_due ON campaigns(status, next_at);

CREATE TABLE campaign_runs (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns(id),
    due_at       REAL    NOT NULL,
    status       TEXT    NOT NULL
                 CHECK (status IN ('sending', 'paused', 'done', 'cancelled', 'missed')),
    started_at   REAL,
    finished_at  REAL,
    recipients   INTEGER NOT NULL DEFAULT 0,
    -- final figures, frozen when the run ends (deliveries of erased residents may be deleted later)
    sent         INTEGER,
    failed       INTEGER,
    blocked      INTEGER,
    UNIQUE (campaign_id, due_at)
);
CREATE INDEX campaign_runs_status ON campaign_runs(status);

-- One row per (run, recipient). status: pending → sending (claimed, in flight) → sent | blocked | failed;
-- cancelled when the run is cancelled. A restart puts 'sending' rows back to 'pending'.
CREATE TABLE deliveries (
    run_id      INTEGER NOT NULL REFERENCES campaign_runs(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,
    chat_id     INTEGER NOT NULL,
    language    TEXT    NOT NULL DEFAULT 'vi',
    status      TEXT    NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'blocked', 'failed', 'cancelled')),
    tries       INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    updated_at  REAL,
    PRIMARY KEY (run_id, user_id)
) WITHOUT ROWID;
CREATE INDEX deliveries_queue ON deliveries(run_id, status, user_id);
CREATE INDEX deliveries_user ON deliveries(user_id, status);

-- The progress message of a run in an editor's chat, edited in place.
CREATE TABLE run_reports (
    run_id      INTEGER NOT NULL REFERENCES campaign_runs(id) ON DELETE CASCADE,
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    PRIMARY KEY (run_id, chat_id)
) WITHOUT ROWID;

-- An editor's campaign being written (/campaign): one per editor, kept across restarts.
CREATE TABLE campaign_drafts (
    user_id      INTEGER PRIMARY KEY,
    chat_id      INTEGER NOT NULL,
    step         TEXT    NOT NULL,               -- text | audience | when | weekly_time | confirm
    body         TEXT,
    html         TEXT,
    photo        TEXT,
    template_id  TEXT,
    audience     TEXT,
    at           REAL,
    repeat       TEXT,
    updated_at   REAL    NOT NULL
);
