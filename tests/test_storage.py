"""Storage: migrations are atomic and recorded; residents, questions, staff and audit behave."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from storage.db import Database
from storage.identities import Identities
from storage.questions import Questions
from storage.residents import Residents
from storage.staff import Staff


async def test_migrations_apply_once_and_are_recorded(tmp_path: Path) -> None:
    db = await Database(tmp_path / "a.sqlite3").open()
    names = [r["name"] for r in await db.fetchall("SELECT name FROM schema_migrations ORDER BY number")]
    assert names == [name for _, name, _ in Database.migration_files()]
    assert await db.migrate() == []
    assert await db.fetchval("PRAGMA journal_mode") == "wal"
    await db.close()


async def test_failed_migration_leaves_nothing_half_applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = Database.migration_files()
    broken = (9999, "9999_broken.sql", "CREATE TABLE half_done(x INTEGER);\nINSERT INTO nope VALUES (1);")
    monkeypatch.setattr(Database, "migration_files", staticmethod(lambda: [*real, broken]))
    db = Database(tmp_path / "b.sqlite3")
    with pytest.raises(Exception, match="nope"):
        await db.open()
    # The failed open closed its connection (a leftover one keeps the process alive): look at the file.
    with contextlib.closing(sqlite3.connect(tmp_path / "b.sqlite3")) as raw:
        assert raw.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0
        assert raw.execute("SELECT COUNT(*) FROM schema_migrations WHERE number = 9999").fetchone()[0] == 0
        assert raw.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == len(real)


async def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    async with Database(tmp_path / "c.sqlite3") as db:
        seen = await Identities(db).resolve("telegram", "1", "1", "vi")
        with pytest.raises(RuntimeError):
            async with db.transaction() as tx:
                await tx.execute("UPDATE identities SET language = 'en' WHERE person_id = ?", (seen.person,))
                raise RuntimeError("boom")
        resident = await Residents(db).get(seen.person)
        assert resident is not None and resident.language == "vi"


async def test_first_source_is_kept(tmp_path: Path) -> None:
    async with Database(tmp_path / "d.sqlite3") as db:
        ids = Identities(db)
        seen = await ids.resolve("telegram", "7", "7", "vi")
        await ids.set_source("telegram", "7", "hop-thon-3")
        await ids.set_source("telegram", "7", "poster-cho")
        again = await Residents(db).get(seen.person)
        assert again is not None and again.source == "hop-thon-3"
        assert await Residents(db).sources() == [("hop-thon-3", 1)]


async def test_one_person_per_identity_and_many_identities_per_person(tmp_path: Path) -> None:
    async with Database(tmp_path / "p.sqlite3") as db:
        ids = Identities(db)
        first = await ids.resolve("telegram", "42", "42", "vi")
        again = await ids.resolve("telegram", "42", None, "en")  # from a group: the private chat is kept
        zalo = await ids.resolve("zalo", "42", "42", "vi")  # the same digits on another channel: someone else
        assert first.person == again.person != zalo.person
        identity = await ids.get("telegram", "42")
        assert identity is not None and identity.chat_id == "42" and identity.language == "vi"
        assert await ids.ensure("telegram", "42") == first.person


async def test_gaps_group_by_folded_text_and_count_thumbs_down(tmp_path: Path) -> None:
    async with Database(tmp_path / "e.sqlite3") as db:
        q = Questions(db)
        for _ in range(3):
            await q.record(1, "gia lua hom nay", "gia lua hom nay", None, 0.1, "out_of_scope")
        await q.record(2, "cai gi do", "cai gi do", None, 0.3, "unsure")
        qid = await q.record(3, "doi sdt", "doi sdt", "vneid-change-phone", 0.9, "answer")
        assert await q.feedback(qid, 3, "vneid-change-phone", helpful=False)
        assert not await q.feedback(qid, 3, "vneid-change-phone", helpful=False)
        gaps = await q.gaps()
        assert [(g.folded, g.count, g.kind) for g in gaps] == [
            ("gia lua hom nay", 3, "out_of_scope"),
            ("doi sdt", 1, "thumbs_down"),
            ("cai gi do", 1, "unsure"),
        ]


async def test_staff_roles_and_audit(tmp_path: Path) -> None:
    async with Database(tmp_path / "f.sqlite3") as db:
        staff = Staff(db, admin_ids=frozenset({99}))
        await staff.add(5, "officer", "cli")
        assert await staff.has_role(5, "officer")
        assert not await staff.has_role(5, "editor")
        admin = await Identities(db).ensure("telegram", "99")  # BOT_ADMIN_IDS are Telegram user ids
        assert await staff.has_role(admin, "editor")  # admins hold every role
        assert not await staff.has_role(99, "editor")  # a person id is not a Telegram id
        assert await staff.role(6) is None
        assert await staff.remove(5, "cli")
        assert await staff.role(5) is None
        actions = [e.action for e in await staff.audit_trail()]
        assert actions == ["staff.remove", "staff.add"]
        with pytest.raises(ValueError):
            await staff.add(8, "mayor", "cli")
