"""Migration 0004 (people and identities) on a database made by the code before it: no row is lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.db import Database
from storage.identities import Identities

# Rows as the Telegram-only code stored them (migrations 0001–0003): Telegram ids everywhere.
OLD_ROWS = """
INSERT INTO residents VALUES (1001, 'telegram', 1001, 'vi', 'poster-cho', 100, 200);
INSERT INTO residents VALUES (1002, 'telegram', 1002, 'en', NULL, 110, 210);
INSERT INTO questions(user_id, asked_at, text, folded, topic, score, status)
    VALUES (1001, 150, 'quen mat khau', 'quen mat khau', 'vneid-forgot-password', 0.9, 'answer'),
           (NULL, 151, 'gia lua', 'gia lua', NULL, 0, 'out_of_scope');
INSERT INTO feedback(question_id, user_id, faq_id, helpful, created_at) VALUES (1, 1001, 'x', 1, 160);
INSERT INTO staff VALUES (2001, 'officer', 'Minh', 100, 'cli');
INSERT INTO audit_log(at, actor, action, target) VALUES (1, 'tg:2001', 'request.view', 'request:1'),
                                                       (2, 'cli', 'staff.add', 'user:2001');
INSERT INTO help_requests(user_id, chat_id, topic, full_name, phone, village, status, officer_id, officer_name,
                          consent_at, created_at, updated_at, notice_chat_id, notice_message_id)
    VALUES (1001, 1001, 'kich-hoat', 'Lan', '0912345678', 'na-ngan', 'claimed', 2001, 'Minh', 1, 1, 1,
            -1001234, 55);
INSERT INTO help_events(request_id, at, actor, kind) VALUES (1, 1, 'resident', 'created'), (1, 2, 'tg:2001', 'claimed');
INSERT INTO help_officer_inputs VALUES (2001, 1, 'note', 3);
INSERT INTO subscriptions(user_id, chat_id, language, village, consented_at, updated_at)
    VALUES (1002, 1002, 'en', 'na-ngan', 1, 1);
INSERT INTO subscription_topics VALUES (1002, 'lua-dao');
INSERT INTO campaigns(body, html, first_at, created_by, notify_chat_id, created_at)
    VALUES ('**Họp thôn**', '<b>Họp thôn</b>', 1, 'tg:3001', 3001, 1);
INSERT INTO campaign_runs(campaign_id, due_at, status, recipients) VALUES (1, 1, 'sending', 1);
INSERT INTO deliveries(run_id, user_id, chat_id, status) VALUES (1, 1002, 1002, 'sent');
INSERT INTO run_reports VALUES (1, 3001, 77);
INSERT INTO campaign_drafts(user_id, chat_id, step, body, updated_at) VALUES (3001, 3001, 'audience', 'x', 1);
INSERT INTO help_drafts(user_id, chat_id, step, data, created_at, updated_at)
    VALUES (1002, 1002, 'name', '{"topic": "kich-hoat"}', 1, 1);
"""

COUNTS = ("questions", "feedback", "staff", "audit_log", "help_requests", "help_events", "help_officer_inputs",
          "subscriptions", "subscription_topics", "campaigns", "campaign_runs", "deliveries", "run_reports",
          "campaign_drafts", "help_drafts")


@pytest.fixture
async def old_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database file as the code before people/identities left it."""
    path = tmp_path / "old.sqlite3"
    every = Database.migration_files()
    monkeypatch.setattr(Database, "migration_files", staticmethod(lambda: [m for m in every if m[0] <= 3]))
    db = await Database(path).open()
    await db.conn.executescript(OLD_ROWS)
    await db.close()
    monkeypatch.setattr(Database, "migration_files", staticmethod(lambda: every))
    return path


async def test_every_row_survives_and_telegram_ids_become_people(old_db: Path) -> None:
    async with Database(old_db) as db:
        for table in COUNTS:
            assert await db.fetchval(f"SELECT COUNT(*) FROM {table}") > 0, table
        ids = Identities(db)
        lan, hoa_en, minh, hoa = [await ids.get("telegram", str(u)) for u in (1001, 1002, 2001, 3001)]
        assert lan is not None and hoa_en is not None and minh is not None and hoa is not None
        assert (lan.chat_id, lan.language, lan.source, lan.first_seen) == ("1001", "vi", "poster-cho", 100)
        assert hoa_en.language == "en"
        assert len({lan.person_id, hoa_en.person_id, minh.person_id, hoa.person_id}) == 4
        assert await db.fetchval("SELECT COUNT(*) FROM persons") == 4
        # Every key now names the person, never the Telegram id.
        assert await db.fetchval("SELECT person_id FROM questions WHERE id = 1") == lan.person_id
        assert await db.fetchval("SELECT person_id FROM questions WHERE id = 2") is None
        assert await db.fetchval("SELECT person_id FROM feedback") == lan.person_id
        assert await db.fetchval("SELECT person_id FROM staff") == minh.person_id
        row = await db.fetchone("SELECT * FROM help_requests")
        assert row is not None
        assert (row["person_id"], row["officer_id"], row["channel"], row["chat_id"]) == (
            lan.person_id, minh.person_id, "telegram", "1001")
        assert (row["notice_chat_id"], row["notice_message_id"]) == ("-1001234", "55")
        assert row["full_name"] == "Lan" and row["phone"] == "0912345678"
        actors = [r["actor"] for r in await db.fetchall("SELECT actor FROM help_events ORDER BY id")]
        assert actors == ["resident", f"person:{minh.person_id}"]
        rows = await db.fetchall("SELECT actor, target FROM audit_log ORDER BY id")
        audit = [(r["actor"], r["target"]) for r in rows]
        assert audit == [(f"person:{minh.person_id}", "request:1"), ("cli", f"person:{minh.person_id}")]
        assert await db.fetchval("SELECT person_id FROM help_officer_inputs") == minh.person_id
        sub = await db.fetchone("SELECT * FROM subscriptions")
        assert sub is not None and (sub["person_id"], sub["chat_id"], sub["village"]) == (
            hoa_en.person_id, "1002", "na-ngan")
        assert await db.fetchval("SELECT person_id FROM subscription_topics") == hoa_en.person_id
        campaign = await db.fetchone("SELECT * FROM campaigns")
        assert campaign is not None
        assert (campaign["created_by"], campaign["notify_channel"], campaign["notify_chat_id"]) == (
            f"person:{hoa.person_id}", "telegram", "3001")
        delivery = await db.fetchone("SELECT * FROM deliveries")
        assert delivery is not None
        assert (delivery["person_id"], delivery["channel"], delivery["chat_id"], delivery["status"]) == (
            hoa_en.person_id, "telegram", "1002", "sent")
        assert [tuple(r) for r in await db.fetchall("SELECT channel, chat_id, message_id FROM run_reports")] == [
            ("telegram", "3001", "77")]
        assert await db.fetchval("SELECT person_id FROM campaign_drafts") == hoa.person_id
        draft = await db.fetchone("SELECT * FROM help_drafts")
        assert draft is not None and (draft["person_id"], draft["chat_id"], draft["data"]) == (
            hoa_en.person_id, "1002", '{"topic": "kich-hoat"}')
        assert await db.fetchall("PRAGMA foreign_key_check") == []
        assert await db.fetchval("SELECT COUNT(*) FROM sqlite_master WHERE name = '_people_map'") == 0


async def test_a_returning_resident_is_the_same_person(old_db: Path) -> None:
    async with Database(old_db) as db:
        ids = Identities(db)
        lan = await ids.get("telegram", "1001")
        assert lan is not None
        seen = await ids.resolve("telegram", "1001", "1001", "vi")
        assert seen.person == lan.person_id
        hoa_en = await ids.get("telegram", "1002")
        assert hoa_en is not None
        assert "form" in (await ids.resolve("telegram", "1002", "1002", "en")).open
        new = await ids.resolve("zalo", "a1b2c3", "a1b2c3", "vi")
        assert new.person not in (lan.person_id, hoa_en.person_id) and new.open == frozenset()
