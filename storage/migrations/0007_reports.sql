-- Monthly reports for the People's Committee: what the scheduler sent (so a restart never sends twice)
-- and when a report of a month was opened again (the command line, the sandbox panel), which stops the reminder.
CREATE TABLE report_log (
    id          INTEGER PRIMARY KEY,
    month       TEXT    NOT NULL,                 -- the month reported on, YYYY-MM
    kind        TEXT    NOT NULL CHECK (kind IN ('sent', 'reminded', 'opened')),
    at          REAL    NOT NULL,
    recipients  INTEGER NOT NULL DEFAULT 0,       -- chats it went to (sent, reminded)
    path        TEXT                              -- the .docx written (sent, opened)
);
CREATE UNIQUE INDEX report_log_once ON report_log(month, kind) WHERE kind IN ('sent', 'reminded');
CREATE INDEX report_log_month ON report_log(month, kind, at);
