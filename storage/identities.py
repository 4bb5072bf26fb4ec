"""People and their identities on the channels; the numbered choices offered where there are no buttons.

An identity is (channel, external user id as text) and belongs to a person; everything else the bot keeps
is keyed by the person. `resolve` is the one round trip every inbound message makes: it finds (or makes)
the person, records that they were seen, and says which dialogues they have open, so the core asks only
those (a half-filled form, an officer's pending note, an editor's draft).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from storage.db import Database, Row, now

# Open dialogues, as the core's router names them, and the subquery that tells each.
OPEN_PROBES = {
    "form": "EXISTS (SELECT 1 FROM help_drafts d WHERE d.person_id = identities.person_id)",
    "officer_input": "EXISTS (SELECT 1 FROM help_officer_inputs o WHERE o.person_id = identities.person_id)",
    "draft": "EXISTS (SELECT 1 FROM campaign_drafts c WHERE c.person_id = identities.person_id)",
}
_RETURNING = "person_id, language, " + ", ".join(f"{sql} AS {name}" for name, sql in OPEN_PROBES.items())


@dataclass(frozen=True)
class Seen:
    """The result of `resolve`: the person, their stored language, the dialogues they have open."""

    person: int
    language: str
    open: frozenset[str]


@dataclass(frozen=True)
class Identity:
    channel: str
    external_id: str
    person_id: int
    chat_id: str
    language: str
    source: str | None
    first_seen: float
    last_seen: float

    @classmethod
    def from_row(cls, row: Row) -> Identity:
        return cls(row["channel"], row["external_id"], row["person_id"], row["chat_id"], row["language"],
                   row["source"], row["first_seen"], row["last_seen"])


class Identities:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def resolve(self, channel: str, external_id: str, chat_id: str | None, language: str) -> Seen:
        """The person behind (channel, external id), made on first contact. `chat_id` is the private chat
        (None when the message came from a group: the known private chat is kept)."""
        t = now()
        row = await self.db.fetchone(
            f"UPDATE identities SET last_seen = ?, chat_id = COALESCE(?, chat_id)"
            f" WHERE channel = ? AND external_id = ? RETURNING {_RETURNING}",
            (t, chat_id, channel, external_id))
        if row is None:
            async with self.db.transaction() as tx:
                existing = await tx.fetchone(f"SELECT {_RETURNING} FROM identities WHERE channel = ? AND"
                                             " external_id = ?", (channel, external_id))
                if existing is not None:
                    row = existing
                else:
                    person = await tx.execute("INSERT INTO persons(created_at) VALUES (?)", (t,))
                    await tx.execute(
                        "INSERT INTO identities(channel, external_id, person_id, chat_id, language, first_seen,"
                        " last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (channel, external_id, person, chat_id or external_id, language, t, t))
                    return Seen(person, language, frozenset())
        return Seen(int(row["person_id"]), str(row["language"]),
                    frozenset(name for name in OPEN_PROBES if row[name]))

    async def ensure(self, channel: str, external_id: str, language: str = "vi") -> int:
        """The person of an identity known only by id (staff added on the command line, BOT_ADMIN_IDS)."""
        row = await self.db.fetchone("SELECT person_id FROM identities WHERE channel = ? AND external_id = ?",
                                     (channel, external_id))
        if row is not None:
            return int(row["person_id"])
        t = now()
        async with self.db.transaction() as tx:
            existing = await tx.fetchone("SELECT person_id FROM identities WHERE channel = ? AND external_id = ?",
                                         (channel, external_id))
            if existing is not None:
                return int(existing["person_id"])
            person = await tx.execute("INSERT INTO persons(created_at) VALUES (?)", (t,))
            await tx.execute(
                "INSERT INTO identities(channel, external_id, person_id, chat_id, language, first_seen, last_seen)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)", (channel, external_id, person, external_id, language, t, t))
            return person

    async def set_source(self, channel: str, external_id: str, source: str) -> None:
        """Where a resident came from (deep link of the first /start); a later one does not replace it."""
        await self.db.execute("UPDATE identities SET source = COALESCE(source, ?) WHERE channel = ? AND"
                              " external_id = ?", (source, channel, external_id))

    async def of_person(self, person_id: int) -> list[Identity]:
        rows = await self.db.fetchall("SELECT * FROM identities WHERE person_id = ? ORDER BY first_seen",
                                      (person_id,))
        return [Identity.from_row(r) for r in rows]

    async def get(self, channel: str, external_id: str) -> Identity | None:
        row = await self.db.fetchone("SELECT * FROM identities WHERE channel = ? AND external_id = ?",
                                     (channel, external_id))
        return None if row is None else Identity.from_row(row)

    async def external_ids(self, person_ids: list[int], channel: str) -> dict[int, str]:
        if not person_ids:
            return {}
        marks = ",".join("?" * len(person_ids))
        rows = await self.db.fetchall(f"SELECT person_id, external_id FROM identities WHERE channel = ? AND"
                                      f" person_id IN ({marks})", (channel, *person_ids))
        return {int(r["person_id"]): str(r["external_id"]) for r in rows}

    async def count(self) -> int:
        return int(await self.db.fetchval("SELECT COUNT(DISTINCT person_id) FROM identities") or 0)

    # --- numbered choices (channels without buttons) ---------------------------------------------------

    async def remember(self, channel: str, chat_id: str, options: tuple[tuple[str, str], ...]) -> None:
        await self.db.execute(
            "INSERT INTO choice_menus(channel, chat_id, options, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(channel, chat_id) DO UPDATE SET options = excluded.options,"
            " updated_at = excluded.updated_at",
            (channel, chat_id, json.dumps([list(o) for o in options], ensure_ascii=False), now()))

    async def recall(self, channel: str, chat_id: str, max_age: float = 86400.0) -> tuple[tuple[str, str], ...]:
        raw = await self.db.fetchval("SELECT options FROM choice_menus WHERE channel = ? AND chat_id = ? AND"
                                     " updated_at >= ?", (channel, chat_id, now() - max_age))
        if not raw:
            return ()
        try:
            return tuple((str(label), str(data)) for label, data in json.loads(raw))
        except (ValueError, TypeError):
            return ()

    async def forget_choices(self, channel: str, chat_id: str) -> None:
        await self.db.execute("DELETE FROM choice_menus WHERE channel = ? AND chat_id = ?", (channel, chat_id))

    async def erase(self, person_id: int) -> None:
        """Erasure (/mydata): the person's identities and choices go; the person row goes with them."""
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM choice_menus WHERE (channel, chat_id) IN"
                             " (SELECT channel, chat_id FROM identities WHERE person_id = ?)", (person_id,))
            await tx.execute("DELETE FROM identities WHERE person_id = ?", (person_id,))
            await tx.execute("DELETE FROM persons WHERE id = ?", (person_id,))
