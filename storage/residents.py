"""Residents: who talked to the bot, in which language, from which poster or meeting."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, Row, now


@dataclass(frozen=True)
class Resident:
    user_id: int
    chat_id: int
    language: str
    source: str | None
    first_seen: float
    last_seen: float

    @classmethod
    def from_row(cls, row: Row) -> Resident:
        return cls(row["user_id"], row["chat_id"], row["language"], row["source"], row["first_seen"],
                   row["last_seen"])


class Residents:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def touch(self, user_id: int, chat_id: int, language: str, source: str | None = None) -> Resident:
        """Record that the resident was seen; the first deep-link source is kept, later ones ignored."""
        t = now()
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO residents(user_id, chat_id, language, source, first_seen, last_seen)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(user_id) DO UPDATE SET chat_id = excluded.chat_id, last_seen = excluded.last_seen,"
                " source = COALESCE(residents.source, excluded.source)",
                (user_id, chat_id, language, source, t, t),
            )
            row = await tx.fetchone("SELECT * FROM residents WHERE user_id = ?", (user_id,))
        assert row is not None
        return Resident.from_row(row)

    async def get(self, user_id: int) -> Resident | None:
        row = await self.db.fetchone("SELECT * FROM residents WHERE user_id = ?", (user_id,))
        return None if row is None else Resident.from_row(row)

    async def set_language(self, user_id: int, language: str) -> None:
        await self.db.execute("UPDATE residents SET language = ? WHERE user_id = ?", (language, user_id))

    async def count(self) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM residents") or 0)

    async def sources(self) -> list[tuple[str, int]]:
        rows = await self.db.fetchall(
            "SELECT COALESCE(source, '') AS s, COUNT(*) AS n FROM residents GROUP BY s ORDER BY n DESC")
        return [(r["s"], r["n"]) for r in rows]

    async def forget(self, user_id: int) -> None:
        """Erase what identifies the resident (used by /mydata erasure)."""
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE questions SET user_id = NULL WHERE user_id = ?", (user_id,))
            await tx.execute("UPDATE feedback SET user_id = NULL WHERE user_id = ?", (user_id,))
            await tx.execute("DELETE FROM residents WHERE user_id = ?", (user_id,))
