"""Help requests: half-filled forms (drafts), requests, their events, officers' pending inputs.

Every change of a request's state is one conditional UPDATE inside a transaction, so two officers (or an
officer and the resident) acting at the same moment cannot both win: the loser's UPDATE matches no row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from storage.db import Database, Row, Transaction

OPEN = ("new", "claimed", "scheduled")
CLOSED = ("done", "unreachable", "cancelled")
STATUSES = OPEN + CLOSED
EVENT_TEXT_KINDS = ("note", "message")  # events whose detail is free text written about the resident

# Columns a state change may set besides status (names are never taken from input).
_SETTABLE = frozenset({"appointment_at", "remind_at", "reminded_at", "outcome", "closed_at"})


class TooManyOpen(Exception):
    """The resident already has the maximum number of open requests."""


class DraftGone(Exception):
    """The form was already sent, cancelled or dropped (a second press of "confirm")."""


@dataclass
class Draft:
    person_id: int
    chat_id: str
    language: str
    step: str
    data: dict[str, str]
    editing: bool
    consent_at: float | None
    created_at: float
    updated_at: float
    channel: str = "telegram"

    @classmethod
    def from_row(cls, row: Row) -> Draft:
        try:
            data = json.loads(row["data"])
        except ValueError:
            data = {}
        clean = {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        return cls(row["person_id"], row["chat_id"], row["language"], row["step"], clean, bool(row["editing"]),
                   row["consent_at"], row["created_at"], row["updated_at"], row["channel"])


@dataclass(frozen=True)
class NewRequest:
    """What a confirmed form stores."""

    person_id: int
    chat_id: str
    language: str
    topic: str
    full_name: str
    phone: str
    village: str
    id_number: str | None
    slot_date: str | None
    slot_start: str | None
    slot_end: str | None
    note: str | None
    consent_at: float
    channel: str = "telegram"


@dataclass(frozen=True)
class HelpRequest:
    id: int
    person_id: int | None
    chat_id: str | None
    language: str
    topic: str
    full_name: str
    phone: str
    village: str
    id_number: str | None
    slot_date: str | None
    slot_start: str | None
    slot_end: str | None
    note: str | None
    status: str
    officer_id: int | None
    officer_name: str | None
    appointment_at: float | None
    remind_at: float | None
    reminded_at: float | None
    outcome: str | None
    consent_at: float
    created_at: float
    updated_at: float
    claimed_at: float | None
    closed_at: float | None
    anonymised_at: float | None
    notice_chat_id: str | None
    notice_message_id: str | None
    posted_at: float | None
    channel: str = "telegram"

    @classmethod
    def from_row(cls, row: Row) -> HelpRequest:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


@dataclass(frozen=True)
class HelpEvent:
    at: float
    actor: str
    kind: str
    detail: str | None


@dataclass(frozen=True)
class OfficerInput:
    person_id: int
    request_id: int
    kind: str
    started_at: float


@dataclass(frozen=True)
class StoredQuestion:
    asked_at: float
    text: str


@dataclass(frozen=True)
class PersonalData:
    """Everything stored about one resident, for /mydata."""

    resident: Row | None
    questions: list[StoredQuestion]
    question_count: int
    feedback_count: int
    draft: Draft | None
    requests: list[HelpRequest]


class HelpStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- drafts ---------------------------------------------------------------------------------

    async def draft(self, person_id: int) -> Draft | None:
        row = await self.db.fetchone("SELECT * FROM help_drafts WHERE person_id = ?", (person_id,))
        return None if row is None else Draft.from_row(row)

    async def start_draft(self, person_id: int, chat_id: str, language: str, step: str, now: float,
                          channel: str = "telegram") -> Draft:
        """The resident's draft: a new one at `step`, or the one already open (kept as it is)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO help_drafts(person_id, channel, chat_id, language, step, data, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, '{}', ?, ?) ON CONFLICT(person_id) DO NOTHING",
                (person_id, channel, str(chat_id), language, step, now, now))
            row = await tx.fetchone("SELECT * FROM help_drafts WHERE person_id = ?", (person_id,))
        assert row is not None
        return Draft.from_row(row)

    async def save_draft(self, draft: Draft) -> bool:
        """Write the draft back; False when it no longer exists (cancelled or expired meanwhile)."""
        n = await self.db.execute(
            "UPDATE help_drafts SET chat_id = ?, language = ?, step = ?, data = ?, editing = ?, consent_at = ?,"
            " updated_at = ? WHERE person_id = ?",
            (draft.chat_id, draft.language, draft.step, json.dumps(draft.data, ensure_ascii=False),
             int(draft.editing), draft.consent_at, draft.updated_at, draft.person_id))
        return n > 0

    async def delete_draft(self, person_id: int) -> bool:
        return await self.db.execute("DELETE FROM help_drafts WHERE person_id = ?", (person_id,)) > 0

    async def take_expired_drafts(self, before: float) -> list[Draft]:
        """Delete the drafts idle since before `before` and return them (to tell their residents)."""
        async with self.db.transaction() as tx:
            rows = await tx.fetchall("SELECT * FROM help_drafts WHERE updated_at < ? ORDER BY updated_at",
                                     (before,))
            await tx.execute("DELETE FROM help_drafts WHERE updated_at < ?", (before,))
        return [Draft.from_row(r) for r in rows]

    # --- requests -------------------------------------------------------------------------------

    async def create(self, new: NewRequest, max_open: int, now: float) -> HelpRequest:
        """Store a confirmed form and drop its draft, atomically.

        Raises DraftGone when the draft is no longer waiting for confirmation (a double press) and
        TooManyOpen when the resident already has `max_open` open requests.
        """
        async with self.db.transaction() as tx:
            waiting = await tx.fetchone("SELECT 1 FROM help_drafts WHERE person_id = ? AND step = 'summary'",
                                        (new.person_id,))
            if waiting is None:
                raise DraftGone
            if await self._open_count(tx, new.person_id) >= max_open:
                raise TooManyOpen
            request_id = await tx.execute(
                "INSERT INTO help_requests(person_id, channel, chat_id, language, topic, full_name, phone,"
                " village, id_number, slot_date, slot_start, slot_end, note, status, consent_at, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?, ?)",
                (new.person_id, new.channel, str(new.chat_id), new.language, new.topic, new.full_name, new.phone,
                 new.village,
                 new.id_number, new.slot_date, new.slot_start, new.slot_end, new.note, new.consent_at, now, now))
            await self._event(tx, request_id, "resident", "created", None, now)
            await tx.execute("DELETE FROM help_drafts WHERE person_id = ?", (new.person_id,))
            row = await tx.fetchone("SELECT * FROM help_requests WHERE id = ?", (request_id,))
        assert row is not None
        return HelpRequest.from_row(row)

    @staticmethod
    async def _open_count(tx: Transaction, person_id: int) -> int:
        row = await tx.fetchone(
            f"SELECT COUNT(*) FROM help_requests WHERE person_id = ? AND status IN ({_marks(OPEN)})",
            (person_id, *OPEN))
        return int(row[0]) if row else 0

    async def open_count(self, person_id: int) -> int:
        return int(await self.db.fetchval(
            f"SELECT COUNT(*) FROM help_requests WHERE person_id = ? AND status IN ({_marks(OPEN)})",
            (person_id, *OPEN)) or 0)

    async def get(self, request_id: int) -> HelpRequest | None:
        row = await self.db.fetchone("SELECT * FROM help_requests WHERE id = ?", (request_id,))
        return None if row is None else HelpRequest.from_row(row)

    async def for_person(self, person_id: int) -> list[HelpRequest]:
        rows = await self.db.fetchall("SELECT * FROM help_requests WHERE person_id = ? ORDER BY id DESC",
                                      (person_id,))
        return [HelpRequest.from_row(r) for r in rows]

    async def queue(self) -> list[HelpRequest]:
        """Open requests, oldest first."""
        rows = await self.db.fetchall(
            f"SELECT * FROM help_requests WHERE status IN ({_marks(OPEN)}) ORDER BY created_at, id", OPEN)
        return [HelpRequest.from_row(r) for r in rows]

    async def listing(self, status: str | None = None, since: float | None = None,
                      until: float | None = None) -> list[HelpRequest]:
        """Requests (optionally of one status, created in [since, until)), oldest first."""
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if since is not None:
            where.append("created_at >= ?")
            params.append(since)
        if until is not None:
            where.append("created_at < ?")
            params.append(until)
        rows = await self.db.fetchall(
            f"SELECT * FROM help_requests WHERE {' AND '.join(where)} ORDER BY created_at, id", params)
        return [HelpRequest.from_row(r) for r in rows]

    async def claim(self, request_id: int, officer_id: int, officer_name: str, now: float) -> bool:
        """Give a new request to an officer. One conditional UPDATE: exactly one claimant wins."""
        async with self.db.transaction() as tx:
            n = await tx.execute(
                "UPDATE help_requests SET status = 'claimed', officer_id = ?, officer_name = ?, claimed_at = ?,"
                " updated_at = ? WHERE id = ? AND status = 'new'",
                (officer_id, officer_name, now, now, request_id))
            if n == 1:
                await self._event(tx, request_id, f"person:{officer_id}", "claimed", officer_name, now)
        return n == 1

    async def transition(self, request_id: int, allowed_from: Sequence[str], status: str, actor: str,
                         kind: str, detail: str | None, now: float, **sets: Any) -> HelpRequest | None:
        """Move a request to `status` if it is in one of `allowed_from` (one conditional UPDATE, plus an
        event); returns the request as it is now, or None when it was not in an allowed state."""
        unknown = set(sets) - _SETTABLE
        if unknown or status not in STATUSES:
            raise ValueError(f"bad transition {status} {sorted(unknown)}")
        columns = "".join(f", {name} = ?" for name in sets)
        async with self.db.transaction() as tx:
            n = await tx.execute(
                f"UPDATE help_requests SET status = ?, updated_at = ?{columns}"
                f" WHERE id = ? AND status IN ({_marks(allowed_from)})",
                (status, now, *sets.values(), request_id, *allowed_from))
            if n != 1:
                return None
            await self._event(tx, request_id, actor, kind, detail, now)
            row = await tx.fetchone("SELECT * FROM help_requests WHERE id = ?", (request_id,))
        return None if row is None else HelpRequest.from_row(row)

    async def add_event(self, request_id: int, actor: str, kind: str, detail: str | None, now: float,
                        only_if: Sequence[str] = STATUSES) -> bool:
        """Record a note or a message on a request that is in one of `only_if`."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                f"SELECT 1 FROM help_requests WHERE id = ? AND status IN ({_marks(only_if)})",
                (request_id, *only_if))
            if row is None:
                return False
            await self._event(tx, request_id, actor, kind, detail, now)
            await tx.execute("UPDATE help_requests SET updated_at = ? WHERE id = ?", (now, request_id))
        return True

    async def events(self, request_id: int) -> list[HelpEvent]:
        rows = await self.db.fetchall(
            "SELECT at, actor, kind, detail FROM help_events WHERE request_id = ? ORDER BY at, id", (request_id,))
        return [HelpEvent(r["at"], r["actor"], r["kind"], r["detail"]) for r in rows]

    @staticmethod
    async def _event(tx: Transaction, request_id: int, actor: str, kind: str, detail: str | None,
                     now: float) -> None:
        await tx.execute("INSERT INTO help_events(request_id, at, actor, kind, detail) VALUES (?, ?, ?, ?, ?)",
                         (request_id, now, actor, kind, detail))

    # --- the officers' group notices and the timed jobs ------------------------------------------

    async def unposted(self, limit: int) -> list[HelpRequest]:
        rows = await self.db.fetchall(
            "SELECT * FROM help_requests WHERE status = 'new' AND posted_at IS NULL ORDER BY id LIMIT ?", (limit,))
        return [HelpRequest.from_row(r) for r in rows]

    async def unclaimed_posted_before(self, before: float) -> list[HelpRequest]:
        rows = await self.db.fetchall(
            "SELECT * FROM help_requests WHERE status = 'new' AND posted_at IS NOT NULL AND posted_at <= ?"
            " ORDER BY id", (before,))
        return [HelpRequest.from_row(r) for r in rows]

    async def mark_posted(self, request_ids: Iterable[int], chat_id: str, message_id: str, now: float,
                          repost: bool = False) -> None:
        ids = list(request_ids)
        async with self.db.transaction() as tx:
            await tx.executemany(
                "UPDATE help_requests SET notice_chat_id = ?, notice_message_id = ?, posted_at = ? WHERE id = ?",
                [(str(chat_id), str(message_id), now, i) for i in ids])
            if repost:
                await tx.executemany(
                    "INSERT INTO help_events(request_id, at, actor, kind, detail) VALUES (?, ?, 'system', "
                    "'reposted', NULL)", [(i, now) for i in ids])

    async def on_notice(self, chat_id: str, message_id: str) -> list[HelpRequest]:
        """The requests a group notice lists."""
        rows = await self.db.fetchall(
            "SELECT * FROM help_requests WHERE notice_chat_id = ? AND notice_message_id = ? ORDER BY id",
            (str(chat_id), str(message_id)))
        return [HelpRequest.from_row(r) for r in rows]

    async def due_reminders(self, now: float) -> list[HelpRequest]:
        rows = await self.db.fetchall(
            "SELECT * FROM help_requests WHERE status = 'scheduled' AND reminded_at IS NULL"
            " AND remind_at <= ? AND appointment_at > ? AND chat_id IS NOT NULL ORDER BY remind_at",
            (now, now))
        return [HelpRequest.from_row(r) for r in rows]

    async def mark_reminded(self, request_id: int, now: float) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE help_requests SET reminded_at = ? WHERE id = ?", (now, request_id))
            await self._event(tx, request_id, "system", "reminded", None, now)

    # --- personal data --------------------------------------------------------------------------

    async def anonymise_closed_before(self, before: float, now: float) -> int:
        """Retention: strip what identifies residents from requests closed before `before`."""
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                f"SELECT id FROM help_requests WHERE status IN ({_marks(CLOSED)}) AND closed_at < ?"
                " AND anonymised_at IS NULL", (*CLOSED, before))
            await self._anonymise(tx, [r["id"] for r in rows], now)
        return len(rows)

    async def erase_person(self, person_id: int, now: float) -> list[HelpRequest]:
        """Erasure: cancel the resident's open requests, anonymise all of them, drop the draft.

        Returns the requests that were open (now cancelled and anonymised), to update the officers."""
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                f"SELECT id FROM help_requests WHERE person_id = ? AND status IN ({_marks(OPEN)})", (person_id, *OPEN))
            cancelled = [r["id"] for r in rows]
            for request_id in cancelled:
                await tx.execute("UPDATE help_requests SET status = 'cancelled', closed_at = ?, updated_at = ?"
                                 " WHERE id = ?", (now, now, request_id))
                await self._event(tx, request_id, "resident", "cancelled", "erasure", now)
            await tx.execute("DELETE FROM help_officer_inputs WHERE request_id IN"
                             " (SELECT id FROM help_requests WHERE person_id = ?)", (person_id,))
            rows = await tx.fetchall("SELECT id FROM help_requests WHERE person_id = ?", (person_id,))
            await self._anonymise(tx, [r["id"] for r in rows], now)
            await tx.execute("DELETE FROM help_drafts WHERE person_id = ?", (person_id,))
            found = await tx.fetchall(
                f"SELECT * FROM help_requests WHERE id IN ({_marks(cancelled)})", cancelled) if cancelled else []
        return [HelpRequest.from_row(r) for r in found]

    async def _anonymise(self, tx: Transaction, ids: list[int], now: float) -> None:
        if not ids:
            return
        await tx.executemany(
            "UPDATE help_requests SET person_id = NULL, chat_id = NULL, full_name = '', phone = '',"
            " id_number = NULL, note = NULL, anonymised_at = ?, updated_at = ? WHERE id = ?",
            [(now, now, i) for i in ids])
        await tx.executemany(
            f"UPDATE help_events SET detail = NULL WHERE request_id = ? AND kind IN ({_marks(EVENT_TEXT_KINDS)})",
            [(i, *EVENT_TEXT_KINDS) for i in ids])
        await tx.executemany(
            "INSERT INTO help_events(request_id, at, actor, kind, detail) VALUES (?, ?, 'system', 'anonymised',"
            " NULL)", [(i, now) for i in ids])

    async def personal_data(self, person_id: int, question_limit: int = 5) -> PersonalData:
        resident = await self.db.fetchone("SELECT * FROM identities WHERE person_id = ? ORDER BY first_seen"
                                          " LIMIT 1", (person_id,))
        rows = await self.db.fetchall(
            "SELECT asked_at, text FROM questions WHERE person_id = ? ORDER BY id DESC LIMIT ?",
            (person_id, question_limit))
        questions = [StoredQuestion(r["asked_at"], r["text"]) for r in rows]
        count = int(await self.db.fetchval("SELECT COUNT(*) FROM questions WHERE person_id = ?", (person_id,)) or 0)
        feedback = int(await self.db.fetchval("SELECT COUNT(*) FROM feedback WHERE person_id = ?", (person_id,)) or 0)
        return PersonalData(resident, questions, count, feedback, await self.draft(person_id),
                            await self.for_person(person_id))

    # --- officers' pending inputs ---------------------------------------------------------------

    async def set_input(self, person_id: int, request_id: int, kind: str, now: float) -> None:
        await self.db.execute(
            "INSERT INTO help_officer_inputs(person_id, request_id, kind, started_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(person_id) DO UPDATE SET request_id = excluded.request_id, kind = excluded.kind,"
            " started_at = excluded.started_at", (person_id, request_id, kind, now))

    async def get_input(self, person_id: int) -> OfficerInput | None:
        row = await self.db.fetchone("SELECT * FROM help_officer_inputs WHERE person_id = ?", (person_id,))
        return None if row is None else OfficerInput(row["person_id"], row["request_id"], row["kind"],
                                                     row["started_at"])

    async def clear_input(self, person_id: int) -> bool:
        return await self.db.execute("DELETE FROM help_officer_inputs WHERE person_id = ?", (person_id,)) > 0


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)
