"""The outbox: messages stored before they are sent, with their delivery state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.db import Database, Row, now


@dataclass(frozen=True)
class Letter:
    id: int
    person_id: int | None
    channel: str
    chat_id: str
    language: str
    message: str
    purpose: str | None
    status: str
    tries: int
    next_at: float
    error: str | None
    created_at: float
    sent_at: float | None

    @classmethod
    def from_row(cls, row: Row) -> Letter:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


class OutboxStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, person_id: int | None, channel: str, chat_id: str, language: str, message: str,
                  purpose: str | None, at: float | None = None) -> int:
        t = now() if at is None else at
        return await self.db.execute(
            "INSERT INTO outbox(person_id, channel, chat_id, language, message, purpose, status, next_at,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, 'sending', ?, ?)",
            (person_id, channel, chat_id, language, message, purpose, t, t))

    async def claim_due(self, limit: int, at: float | None = None) -> list[Letter]:
        """Due pending letters, marked 'sending' (in flight) in the same statement."""
        t = now() if at is None else at
        rows = await self.db.fetchall(
            "UPDATE outbox SET status = 'sending' WHERE id IN (SELECT id FROM outbox WHERE status = 'pending'"
            " AND next_at <= ? ORDER BY next_at, id LIMIT ?) RETURNING *", (t, limit))
        return sorted((Letter.from_row(r) for r in rows), key=lambda letter: letter.id)

    async def get(self, letter_id: int) -> Letter | None:
        row = await self.db.fetchone("SELECT * FROM outbox WHERE id = ?", (letter_id,))
        return None if row is None else Letter.from_row(row)

    async def settle(self, letter_id: int, status: str, tries: int, error: str | None = None,
                     next_at: float | None = None) -> None:
        t = now()
        await self.db.execute(
            "UPDATE outbox SET status = ?, tries = ?, error = ?, next_at = COALESCE(?, next_at),"
            " sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?",
            (status, tries, error, next_at, status, t, letter_id))

    async def recover(self) -> int:
        """At start-up: letters left 'sending' by a stopped process are tried again (at most these few
        may arrive twice: they may have reached the platform before the process stopped)."""
        return await self.db.execute("UPDATE outbox SET status = 'pending' WHERE status = 'sending'")

    async def by_purpose(self, purpose: str) -> list[Letter]:
        rows = await self.db.fetchall("SELECT * FROM outbox WHERE purpose = ? ORDER BY id", (purpose,))
        return [Letter.from_row(r) for r in rows]

    async def counts(self) -> dict[str, int]:
        rows = await self.db.fetchall("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")
        return {r["status"]: int(r["n"]) for r in rows}

    async def next_due(self) -> float | None:
        value = await self.db.fetchval("SELECT MIN(next_at) FROM outbox WHERE status = 'pending'")
        return None if value is None else float(value)

    async def forget_person(self, person_id: int) -> None:
        """Erasure: letters to the person go (sent ones too: their text may name them)."""
        await self.db.execute("DELETE FROM outbox WHERE person_id = ?", (person_id,))

    async def prune(self, before: float, statuses: Sequence[str] = ("sent", "blocked", "failed")) -> int:
        marks = ",".join("?" * len(statuses))
        return await self.db.execute(f"DELETE FROM outbox WHERE status IN ({marks}) AND created_at < ?",
                                     (*statuses, before))


async def waiting_before(db: Database, channel: str, chat_id: str, letter_id: int) -> bool:
    """Is an older letter to this chat still waiting (so this one must not overtake it)?"""
    return await db.fetchval(
        "SELECT 1 FROM outbox WHERE channel = ? AND chat_id = ? AND status = 'pending' AND id < ? LIMIT 1",
        (channel, chat_id, letter_id)) is not None
