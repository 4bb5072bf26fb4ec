-- People, not platform ids. An identity (channel, external id as text) belongs to a person; everything the
-- bot keeps is keyed by the person, so /mydata and erasure cover every channel and an officer on Telegram
-- can serve a resident on Zalo. Chat and message ids become text (Zalo's are hex strings).
--
-- Lossless for a database made before: every Telegram user id found anywhere becomes one person with a
-- Telegram identity; the residents table (one row per Telegram user: chat, language, source, first and
-- last seen) becomes those identities; actors "tg:<user id>" become "person:<id>".

-- Keys of parents (subscriptions) change before their children follow: check foreign keys at commit.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE persons (
    id          INTEGER PRIMARY KEY,
    created_at  REAL    NOT NULL
);

CREATE TABLE identities (
    channel      TEXT    NOT NULL,               -- telegram | zalo
    external_id  TEXT    NOT NULL,               -- the channel's user id, as text
    person_id    INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    chat_id      TEXT    NOT NULL,               -- private chat for replies and broadcasts
    language     TEXT    NOT NULL DEFAULT 'vi',
    source       TEXT,                           -- deep-link payload of the first /start
    first_seen   REAL    NOT NULL,
    last_seen    REAL    NOT NULL,
    PRIMARY KEY (channel, external_id)
) WITHOUT ROWID;
CREATE INDEX identities_person ON identities(person_id);

-- Options offered as a numbered list on a channel without buttons: the typed "2" picks the second.
CREATE TABLE choice_menus (
    channel     TEXT NOT NULL,
    chat_id     TEXT NOT NULL,
    options     TEXT NOT NULL,                   -- JSON [[label, data], …]
    updated_at  REAL NOT NULL,
    PRIMARY KEY (channel, chat_id)
) WITHOUT ROWID;

-- Every Telegram user id the old tables mention, numbered 1, 2, 3…
CREATE TABLE _people_map (person INTEGER PRIMARY KEY, tg INTEGER NOT NULL UNIQUE);
INSERT OR IGNORE INTO _people_map(tg)
    SELECT user_id FROM residents
    UNION SELECT user_id FROM questions WHERE user_id IS NOT NULL
    UNION SELECT user_id FROM feedback WHERE user_id IS NOT NULL
    UNION SELECT user_id FROM staff
    UNION SELECT user_id FROM help_drafts
    UNION SELECT user_id FROM help_requests WHERE user_id IS NOT NULL
    UNION SELECT officer_id FROM help_requests WHERE officer_id IS NOT NULL
    UNION SELECT user_id FROM help_officer_inputs
    UNION SELECT user_id FROM subscriptions
    UNION SELECT user_id FROM deliveries
    UNION SELECT user_id FROM campaign_drafts
    UNION SELECT CAST(substr(actor, 4) AS INTEGER) FROM audit_log WHERE actor GLOB 'tg:[0-9]*'
    UNION SELECT CAST(substr(actor, 4) AS INTEGER) FROM help_events WHERE actor GLOB 'tg:[0-9]*'
    UNION SELECT CAST(substr(created_by, 4) AS INTEGER) FROM campaigns WHERE created_by GLOB 'tg:[0-9]*';

INSERT INTO persons(id, created_at)
    SELECT m.person, COALESCE((SELECT first_seen FROM residents r WHERE r.user_id = m.tg),
                              (SELECT MIN(asked_at) FROM questions q WHERE q.user_id = m.tg),
                              unixepoch('now'))
    FROM _people_map m;

-- On Telegram a private chat's id is the user's id: that is the chat of users never seen by /start.
INSERT INTO identities(channel, external_id, person_id, chat_id, language, source, first_seen, last_seen)
    SELECT 'telegram', CAST(m.tg AS TEXT), m.person,
           CAST(COALESCE(r.chat_id, s.chat_id, m.tg) AS TEXT),
           COALESCE(r.language, s.language, 'vi'), r.source,
           COALESCE(r.first_seen, p.created_at), COALESCE(r.last_seen, p.created_at)
    FROM _people_map m
    JOIN persons p ON p.id = m.person
    LEFT JOIN residents r ON r.user_id = m.tg
    LEFT JOIN subscriptions s ON s.user_id = m.tg;

-- residents: now the identities (kept as a view of the same rows for reading).
DROP TABLE residents;

-- questions, feedback
ALTER TABLE questions RENAME COLUMN user_id TO person_id;
UPDATE questions SET person_id = (SELECT person FROM _people_map WHERE tg = questions.person_id)
    WHERE person_id IS NOT NULL;
CREATE INDEX questions_person ON questions(person_id);
ALTER TABLE feedback RENAME COLUMN user_id TO person_id;
UPDATE feedback SET person_id = (SELECT person FROM _people_map WHERE tg = feedback.person_id)
    WHERE person_id IS NOT NULL;

-- staff roles name people
ALTER TABLE staff RENAME COLUMN user_id TO person_id;
UPDATE staff SET person_id = (SELECT person FROM _people_map WHERE tg = staff.person_id);

-- the audit trail and request histories name people
UPDATE audit_log SET actor = 'person:' || (SELECT person FROM _people_map
                                           WHERE tg = CAST(substr(audit_log.actor, 4) AS INTEGER))
    WHERE actor GLOB 'tg:[0-9]*';
UPDATE audit_log SET target = 'person:' || COALESCE((SELECT person FROM _people_map
                                           WHERE tg = CAST(substr(audit_log.target, 6) AS INTEGER)), 0)
    WHERE target GLOB 'user:[0-9]*';
UPDATE help_events SET actor = 'person:' || (SELECT person FROM _people_map
                                             WHERE tg = CAST(substr(help_events.actor, 4) AS INTEGER))
    WHERE actor GLOB 'tg:[0-9]*';
UPDATE campaigns SET created_by = 'person:' || (SELECT person FROM _people_map
                                                WHERE tg = CAST(substr(campaigns.created_by, 4) AS INTEGER))
    WHERE created_by GLOB 'tg:[0-9]*';

-- help_drafts: keyed by person; the chat is on a channel, as text
ALTER TABLE help_drafts RENAME COLUMN user_id TO person_id;
UPDATE help_drafts SET person_id = (SELECT person FROM _people_map WHERE tg = help_drafts.person_id);
ALTER TABLE help_drafts ADD COLUMN channel TEXT NOT NULL DEFAULT 'telegram';
ALTER TABLE help_drafts RENAME COLUMN chat_id TO _chat_old;
ALTER TABLE help_drafts ADD COLUMN chat_id TEXT NOT NULL DEFAULT '';
UPDATE help_drafts SET chat_id = CAST(_chat_old AS TEXT);
ALTER TABLE help_drafts DROP COLUMN _chat_old;

-- help_requests: the resident and the officer are people; chats and the group notice are text
DROP INDEX help_requests_user;
DROP INDEX help_requests_notice;
ALTER TABLE help_requests RENAME COLUMN user_id TO person_id;
UPDATE help_requests SET person_id = (SELECT person FROM _people_map WHERE tg = help_requests.person_id)
    WHERE person_id IS NOT NULL;
UPDATE help_requests SET officer_id = (SELECT person FROM _people_map WHERE tg = help_requests.officer_id)
    WHERE officer_id IS NOT NULL;
ALTER TABLE help_requests ADD COLUMN channel TEXT NOT NULL DEFAULT 'telegram';
ALTER TABLE help_requests RENAME COLUMN chat_id TO _chat_old;
ALTER TABLE help_requests ADD COLUMN chat_id TEXT;
UPDATE help_requests SET chat_id = CAST(_chat_old AS TEXT) WHERE _chat_old IS NOT NULL;
ALTER TABLE help_requests DROP COLUMN _chat_old;
ALTER TABLE help_requests RENAME COLUMN notice_chat_id TO _notice_chat_old;
ALTER TABLE help_requests ADD COLUMN notice_chat_id TEXT;
UPDATE help_requests SET notice_chat_id = CAST(_notice_chat_old AS TEXT) WHERE _notice_chat_old IS NOT NULL;
ALTER TABLE help_requests DROP COLUMN _notice_chat_old;
ALTER TABLE help_requests RENAME COLUMN notice_message_id TO _notice_message_old;
ALTER TABLE help_requests ADD COLUMN notice_message_id TEXT;
UPDATE help_requests SET notice_message_id = CAST(_notice_message_old AS TEXT)
    WHERE _notice_message_old IS NOT NULL;
ALTER TABLE help_requests DROP COLUMN _notice_message_old;
CREATE INDEX help_requests_person ON help_requests(person_id, status);
CREATE INDEX help_requests_notice ON help_requests(notice_chat_id, notice_message_id);

ALTER TABLE help_officer_inputs RENAME COLUMN user_id TO person_id;
UPDATE help_officer_inputs SET person_id = (SELECT person FROM _people_map
                                            WHERE tg = help_officer_inputs.person_id);

-- subscriptions (and their topics, which follow the renamed key)
DROP INDEX subscriptions_audience;
ALTER TABLE subscriptions RENAME COLUMN user_id TO person_id;
UPDATE subscriptions SET person_id = (SELECT person FROM _people_map WHERE tg = subscriptions.person_id);
ALTER TABLE subscriptions RENAME COLUMN chat_id TO _chat_old;
ALTER TABLE subscriptions ADD COLUMN chat_id TEXT NOT NULL DEFAULT '';
UPDATE subscriptions SET chat_id = CAST(_chat_old AS TEXT);
ALTER TABLE subscriptions DROP COLUMN _chat_old;
CREATE INDEX subscriptions_audience ON subscriptions(active, blocked, village);
ALTER TABLE subscription_topics RENAME COLUMN user_id TO person_id;
UPDATE subscription_topics SET person_id = (SELECT person FROM _people_map
                                            WHERE tg = subscription_topics.person_id);

-- campaigns: where reports go is a chat on a channel
ALTER TABLE campaigns ADD COLUMN notify_channel TEXT;
ALTER TABLE campaigns RENAME COLUMN notify_chat_id TO _notify_old;
ALTER TABLE campaigns ADD COLUMN notify_chat_id TEXT;
UPDATE campaigns SET notify_chat_id = CAST(_notify_old AS TEXT), notify_channel = 'telegram'
    WHERE _notify_old IS NOT NULL;
ALTER TABLE campaigns DROP COLUMN _notify_old;

-- deliveries: one row per (run, person), sent on the subscriber's channel
DROP INDEX deliveries_user;
ALTER TABLE deliveries RENAME COLUMN user_id TO person_id;
UPDATE deliveries SET person_id = (SELECT person FROM _people_map WHERE tg = deliveries.person_id);
ALTER TABLE deliveries ADD COLUMN channel TEXT NOT NULL DEFAULT 'telegram';
ALTER TABLE deliveries RENAME COLUMN chat_id TO _chat_old;
ALTER TABLE deliveries ADD COLUMN chat_id TEXT NOT NULL DEFAULT '';
UPDATE deliveries SET chat_id = CAST(_chat_old AS TEXT);
ALTER TABLE deliveries DROP COLUMN _chat_old;
CREATE INDEX deliveries_person ON deliveries(person_id, status);

-- run_reports: chat and message ids as text (its key changes, so the small table is rebuilt)
CREATE TABLE run_reports_new (
    run_id      INTEGER NOT NULL REFERENCES campaign_runs(id) ON DELETE CASCADE,
    channel     TEXT    NOT NULL DEFAULT 'telegram',
    chat_id     TEXT    NOT NULL,
    message_id  TEXT    NOT NULL,
    PRIMARY KEY (run_id, channel, chat_id)
) WITHOUT ROWID;
INSERT INTO run_reports_new(run_id, channel, chat_id, message_id)
    SELECT run_id, 'telegram', CAST(chat_id AS TEXT), CAST(message_id AS TEXT) FROM run_reports;
DROP TABLE run_reports;
ALTER TABLE run_reports_new RENAME TO run_reports;

-- campaign_drafts: one per editor (a person), in a chat on a channel
ALTER TABLE campaign_drafts RENAME COLUMN user_id TO person_id;
UPDATE campaign_drafts SET person_id = (SELECT person FROM _people_map WHERE tg = campaign_drafts.person_id);
ALTER TABLE campaign_drafts ADD COLUMN channel TEXT NOT NULL DEFAULT 'telegram';
ALTER TABLE campaign_drafts RENAME COLUMN chat_id TO _chat_old;
ALTER TABLE campaign_drafts ADD COLUMN chat_id TEXT NOT NULL DEFAULT '';
UPDATE campaign_drafts SET chat_id = CAST(_chat_old AS TEXT);
ALTER TABLE campaign_drafts DROP COLUMN _chat_old;

DROP TABLE _people_map;
