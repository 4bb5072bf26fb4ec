"""Residents as the bot has seen them: an identity's first contact, language and where they came from."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, Row


@dataclass(frozen=True)
class Resident:
    person_id: int
    channel: str
    chat_id: str
    language: str
    source: str | None
    first_seen: float
    last_seen: float

    @classmethod
    def from_row(cls, row: Row) -> Resident:
        return cls(row["person_id"], row["channel"], row["chat_id"], row["language"], row["source"],
                   row["first_seen"], row["last_seen"])


class Residents:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, person_id: int) -> Resident | None:
        """The person's first identity (the one /mydata calls "using the bot since")."""
        row = await self.db.fetchone("SELECT * FROM identities WHERE person_id = ? ORDER BY first_seen LIMIT 1",
                                     (person_id,))
        return None if row is None else Resident.from_row(row)

    async def set_language(self, person_id: int, language: str) -> None:
        await self.db.execute("UPDATE identities SET language = ? WHERE person_id = ?", (language, person_id))

    async def count(self) -> int:
        return int(await self.db.fetchval("SELECT COUNT(DISTINCT person_id) FROM identities") or 0)

    async def sources(self) -> list[tuple[str, int]]:
        rows = await self.db.fetchall(
            "SELECT COALESCE(source, '') AS s, COUNT(*) AS n FROM identities GROUP BY s ORDER BY n DESC")
        return [(r["s"], r["n"]) for r in rows]

    async def forget(self, person_id: int) -> None:
        """Erase what identifies the resident (used by /mydata erasure)."""
        async with self.db.transaction() as tx:
            # The texts go too (a typed name or address may be inside); topic, score and time stay for counts.
            await tx.execute("UPDATE questions SET person_id = NULL, text = '', folded = '' WHERE person_id = ?",
                             (person_id,))
            await tx.execute("UPDATE feedback SET person_id = NULL WHERE person_id = ?", (person_id,))
