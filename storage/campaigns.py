"""Subscriptions, campaigns, runs, per-recipient deliveries, report messages and editors' drafts.

A run's recipients are copied into `deliveries` when the run starts (one row per recipient, unique per
run). The engine claims rows in small batches (pending → sending) before sending them and settles them
(sent / blocked / failed) after; at start-up `recover()` puts rows left 'sending' by a crash back to
'pending', so a killed process resumes with the first recipient not yet delivered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from storage.db import Database, Row, Transaction, now

_AUDIT = "INSERT INTO audit_log(at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)"
_DROP_QUEUED = "DELETE FROM deliveries WHERE person_id = ? AND status = 'pending'"

# --- subscriptions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    person_id: int
    chat_id: str
    language: str
    active: bool
    blocked: bool
    village: str | None
    topics: tuple[str, ...]
    consented_at: float
    updated_at: float
    channel: str = "telegram"

    @property
    def receiving(self) -> bool:
        return self.active and not self.blocked


def _audience_filter(audience: str) -> tuple[str, tuple[Any, ...]]:
    """SQL condition on `subscriptions s` for an audience ("all", "village:<id>", "topic:<id>")."""
    kind, _, value = audience.partition(":")
    if kind == "village":
        return "s.village = ?", (value,)
    if kind == "topic":
        return ("(NOT EXISTS (SELECT 1 FROM subscription_topics t WHERE t.person_id = s.person_id)"
                " OR EXISTS (SELECT 1 FROM subscription_topics t"
                " WHERE t.person_id = s.person_id AND t.topic = ?))", (value,))
    return "1", ()


class Subscriptions:
    """Residents who agreed to receive the commune's announcements."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def subscribe(self, person_id: int, chat_id: str, language: str, channel: str = "telegram"
                        ) -> Subscription:
        """Opt in (or back in): consent time is now; a resident who writes to us has not blocked us."""
        t = now()
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO subscriptions(person_id, channel, chat_id, language, active, blocked, consented_at,"
                " updated_at) VALUES (?, ?, ?, ?, 1, 0, ?, ?)"
                " ON CONFLICT(person_id) DO UPDATE SET chat_id = excluded.chat_id, channel = excluded.channel,"
                " language = excluded.language, active = 1, blocked = 0,"
                " consented_at = CASE WHEN subscriptions.active = 1 THEN subscriptions.consented_at"
                " ELSE excluded.consented_at END, updated_at = excluded.updated_at",
                (person_id, channel, str(chat_id), language, t, t),
            )
        sub = await self.get(person_id)
        assert sub is not None
        return sub

    async def get(self, person_id: int) -> Subscription | None:
        row = await self.db.fetchone("SELECT * FROM subscriptions WHERE person_id = ?", (person_id,))
        if row is None:
            return None
        topics = await self.db.fetchall(
            "SELECT topic FROM subscription_topics WHERE person_id = ? ORDER BY topic", (person_id,))
        return Subscription(row["person_id"], row["chat_id"], row["language"], bool(row["active"]),
                            bool(row["blocked"]), row["village"], tuple(t["topic"] for t in topics),
                            row["consented_at"], row["updated_at"], row["channel"])

    async def set_village(self, person_id: int, village: str | None) -> bool:
        n = await self.db.execute("UPDATE subscriptions SET village = ?, updated_at = ? WHERE person_id = ?",
                                  (village, now(), person_id))
        return n > 0

    async def toggle_topic(self, person_id: int, topic: str) -> tuple[str, ...] | None:
        """Add or remove one topic; None when the resident is not subscribed."""
        async with self.db.transaction() as tx:
            if await tx.fetchone("SELECT 1 FROM subscriptions WHERE person_id = ?", (person_id,)) is None:
                return None
            removed = await tx.execute("DELETE FROM subscription_topics WHERE person_id = ? AND topic = ?",
                                       (person_id, topic))
            if not removed:
                await tx.execute("INSERT INTO subscription_topics(person_id, topic) VALUES (?, ?)",
                                 (person_id, topic))
            await tx.execute("UPDATE subscriptions SET updated_at = ? WHERE person_id = ?", (now(), person_id))
            rows = await tx.fetchall("SELECT topic FROM subscription_topics WHERE person_id = ? ORDER BY topic",
                                     (person_id,))
        return tuple(r["topic"] for r in rows)

    async def unsubscribe(self, person_id: int) -> bool:
        """Stop at once: inactive, and queued deliveries to this resident are dropped."""
        async with self.db.transaction() as tx:
            n = await tx.execute("UPDATE subscriptions SET active = 0, updated_at = ?"
                                 " WHERE person_id = ? AND active = 1", (now(), person_id))
            await tx.execute(_DROP_QUEUED, (person_id,))
        return n > 0

    async def set_blocked(self, person_id: int, blocked: bool) -> bool:
        """The resident blocked (or unblocked) the bot; queued deliveries are dropped when blocked."""
        async with self.db.transaction() as tx:
            n = await tx.execute("UPDATE subscriptions SET blocked = ?, updated_at = ? WHERE person_id = ?",
                                 (int(blocked), now(), person_id))
            if blocked:
                await tx.execute(_DROP_QUEUED, (person_id,))
        return n > 0

    async def count(self, audience: str = "all") -> int:
        """How many residents an audience reaches now."""
        condition, params = _audience_filter(audience)
        return int(await self.db.fetchval(
            f"SELECT COUNT(*) FROM subscriptions s WHERE s.active = 1 AND s.blocked = 0 AND {condition}",
            params) or 0)

    async def count_by_village(self) -> dict[str, int]:
        rows = await self.db.fetchall(
            "SELECT village, COUNT(*) AS n FROM subscriptions WHERE active = 1 AND blocked = 0"
            " AND village IS NOT NULL GROUP BY village")
        return {r["village"]: r["n"] for r in rows}

    async def add_many(self, rows: Iterable[tuple[int | str, int | str, str, str | None]],
                       topics: dict[int | str, Sequence[str]] | None = None, channel: str = "telegram") -> None:
        """Bulk import (external user id, chat id, language, village) on a channel — for tests and
        benchmarks. People and identities are made for ids not seen before."""
        t = now()
        rows = list(rows)
        async with self.db.transaction() as tx:
            known = {r["external_id"]: int(r["person_id"]) for r in await tx.fetchall(
                "SELECT external_id, person_id FROM identities WHERE channel = ?", (channel,))}
            next_id = int((await tx.fetchone("SELECT COALESCE(MAX(id), 0) AS m FROM persons") or {"m": 0})["m"])
            new: list[tuple[int, str, str, str]] = []
            person_of: dict[str, int] = {}
            for user, chat, lang, _village in rows:
                key = str(user)
                if key not in known and key not in person_of:
                    next_id += 1
                    person_of[key] = next_id
                    new.append((next_id, key, str(chat), lang))
            await tx.executemany("INSERT INTO persons(id, created_at) VALUES (?, ?)", ((p, t) for p, *_ in new))
            await tx.executemany(
                "INSERT INTO identities(channel, external_id, person_id, chat_id, language, first_seen, last_seen)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)", ((channel, key, p, chat, lang, t, t) for p, key, chat, lang in new))
            known.update(person_of)
            await tx.executemany(
                "INSERT OR REPLACE INTO subscriptions(person_id, channel, chat_id, language, active, blocked,"
                " village, consented_at, updated_at) VALUES (?, ?, ?, ?, 1, 0, ?, ?, ?)",
                ((known[str(u)], channel, str(c), lang, v, t, t) for u, c, lang, v in rows))
            if topics:
                await tx.executemany(
                    "INSERT OR IGNORE INTO subscription_topics(person_id, topic) VALUES (?, ?)",
                    ((known[str(u)], topic) for u, ts in topics.items() for topic in ts))


async def subscription_summary(db: Database, person_id: int) -> dict[str, Any] | None:
    """What is stored about a resident's subscription (for /mydata); None when nothing is."""
    sub = await Subscriptions(db).get(person_id)
    if sub is None:
        return None
    deliveries = int(await db.fetchval("SELECT COUNT(*) FROM deliveries WHERE person_id = ?", (person_id,)) or 0)
    return {
        "active": sub.active,
        "blocked": sub.blocked,
        "village": sub.village,
        "topics": list(sub.topics),
        "language": sub.language,
        "consented_at": sub.consented_at,
        "updated_at": sub.updated_at,
        "deliveries": deliveries,  # announcements sent (or queued) to this resident
    }


async def forget_subscriber(db: Database, person_id: int) -> None:
    """Erase the subscription, its topics and every delivery row of the resident (final run figures stay)."""
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM deliveries WHERE person_id = ?", (person_id,))
        await tx.execute("DELETE FROM subscription_topics WHERE person_id = ?", (person_id,))
        await tx.execute("DELETE FROM subscriptions WHERE person_id = ?", (person_id,))
        await tx.execute("DELETE FROM campaign_drafts WHERE person_id = ?", (person_id,))


# --- campaigns and runs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignRow:
    id: int
    body: str
    html: str
    photo: str | None
    template_id: str | None
    audience: str
    first_at: float
    repeat: str | None
    next_at: float | None
    status: str
    language: str
    created_by: str
    notify_chat_id: str | None
    created_at: float
    notify_channel: str | None = None

    @classmethod
    def from_row(cls, r: Row) -> CampaignRow:
        return cls(r["id"], r["body"], r["html"], r["photo"], r["template_id"], r["audience"],
                   r["first_at"], r["repeat"], r["next_at"], r["status"], r["language"], r["created_by"],
                   r["notify_chat_id"], r["created_at"], r["notify_channel"])


@dataclass(frozen=True)
class RunRow:
    id: int
    campaign_id: int
    due_at: float
    status: str
    started_at: float | None
    finished_at: float | None
    recipients: int
    sent: int | None
    failed: int | None
    blocked: int | None

    @classmethod
    def from_row(cls, r: Row) -> RunRow:
        return cls(r["id"], r["campaign_id"], r["due_at"], r["status"], r["started_at"], r["finished_at"],
                   r["recipients"], r["sent"], r["failed"], r["blocked"])


@dataclass
class Counts:
    """Deliveries of a run by outcome."""

    sent: int = 0
    blocked: int = 0
    failed: int = 0
    pending: int = 0  # pending or in flight
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.blocked + self.failed + self.pending + self.cancelled


@dataclass(frozen=True)
class Recipient:
    person_id: int
    chat_id: str
    language: str
    channel: str = "telegram"


@dataclass(frozen=True)
class Outcome:
    """How one delivery ended: sent | blocked | failed, or pending (released unsent, e.g. at shutdown)."""

    person_id: int
    status: str
    tries: int = 1
    error: str | None = None


@dataclass
class Draft:
    """An editor's campaign being written; `step` is where the dialogue is."""

    person_id: int
    chat_id: str
    step: str
    body: str | None = None
    html: str | None = None
    photo: str | None = None
    template_id: str | None = None
    audience: str | None = None
    at: float | None = None
    repeat: str | None = None
    updated_at: float = field(default=0.0)
    channel: str = "telegram"


class CampaignStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # campaigns

    async def create(self, *, body: str, html: str, photo: str | None, template_id: str | None, audience: str,
                     first_at: float, repeat: str | None, language: str, created_by: str,
                     notify_chat_id: str | None, notify_channel: str | None = None) -> int:
        async with self.db.transaction() as tx:
            campaign_id = await tx.execute(
                "INSERT INTO campaigns(body, html, photo, template_id, audience, first_at, repeat, next_at,"
                " status, language, created_by, notify_chat_id, notify_channel, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'scheduled', ?, ?, ?, ?, ?)",
                (body, html, photo, template_id, audience, first_at, repeat, first_at, language, created_by,
                 None if notify_chat_id is None else str(notify_chat_id),
                 None if notify_chat_id is None else (notify_channel or "telegram"), now()))
            await tx.execute(_AUDIT, (now(), created_by, "campaign.create", f"campaign:{campaign_id}",
                                      audience))
        return campaign_id

    async def get(self, campaign_id: int) -> CampaignRow | None:
        row = await self.db.fetchone("SELECT * FROM campaigns WHERE id = ?", (campaign_id,))
        return None if row is None else CampaignRow.from_row(row)

    async def listing(self, limit: int = 100) -> list[CampaignRow]:
        """Scheduled and running first (soonest first), then the past ones (latest first)."""
        rows = await self.db.fetchall(
            "SELECT * FROM campaigns ORDER BY CASE WHEN status IN ('scheduled', 'sending', 'paused') THEN 0"
            " ELSE 1 END, CASE WHEN status IN ('scheduled', 'sending', 'paused') THEN COALESCE(next_at, 0)"
            " ELSE -created_at END, id DESC LIMIT ?", (limit,))
        return [CampaignRow.from_row(r) for r in rows]

    async def cancel(self, campaign_id: int, actor: str) -> bool:
        """Cancel a campaign that is not finished: no more runs; undelivered rows of a running one stop."""
        async with self.db.transaction() as tx:
            n = await tx.execute(
                "UPDATE campaigns SET status = 'cancelled', next_at = NULL"
                " WHERE id = ? AND status IN ('scheduled', 'sending', 'paused')", (campaign_id,))
            if not n:
                return False
            runs = await tx.fetchall("SELECT id FROM campaign_runs WHERE campaign_id = ?"
                                     " AND status IN ('sending', 'paused')", (campaign_id,))
            for run in runs:
                await tx.execute("UPDATE deliveries SET status = 'cancelled', updated_at = ?"
                                 " WHERE run_id = ? AND status = 'pending'", (now(), run["id"]))
                await self._freeze(tx, run["id"], "cancelled")
            await tx.execute(_AUDIT, (now(), actor, "campaign.cancel", f"campaign:{campaign_id}", None))
        return True

    async def due(self, at: float) -> list[CampaignRow]:
        rows = await self.db.fetchall(
            "SELECT * FROM campaigns WHERE next_at IS NOT NULL AND next_at <= ?"
            " AND status IN ('scheduled', 'sending', 'paused') ORDER BY next_at, id", (at,))
        return [CampaignRow.from_row(r) for r in rows]

    async def next_due_at(self) -> float | None:
        value = await self.db.fetchval("SELECT MIN(next_at) FROM campaigns WHERE next_at IS NOT NULL"
                                       " AND status IN ('scheduled', 'sending', 'paused')")
        return None if value is None else float(value)

    async def start_run(self, campaign: CampaignRow, due_at: float, next_at: float | None) -> RunRow | None:
        """Create the run due at `due_at` with one delivery row per recipient; move the campaign on.

        None when that run exists already (a second start-up racing the first) or the campaign changed.
        """
        condition, params = _audience_filter(campaign.audience)
        async with self.db.transaction() as tx:
            if not await self._advance(tx, campaign.id, due_at, next_at, "'sending'"):
                return None
            run_id = await tx.execute(
                "INSERT INTO campaign_runs(campaign_id, due_at, status, started_at)"
                " VALUES (?, ?, 'sending', ?)", (campaign.id, due_at, now()))
            await tx.execute(
                "INSERT INTO deliveries(run_id, person_id, channel, chat_id, language)"
                " SELECT ?, s.person_id, s.channel, s.chat_id, s.language FROM subscriptions s"
                f" WHERE s.active = 1 AND s.blocked = 0 AND {condition} ORDER BY s.person_id",
                (run_id, *params))
            recipients = await tx.fetchone("SELECT COUNT(*) FROM deliveries WHERE run_id = ?", (run_id,))
            await tx.execute("UPDATE campaign_runs SET recipients = ? WHERE id = ?",
                             (recipients[0] if recipients else 0, run_id))
            row = await tx.fetchone("SELECT * FROM campaign_runs WHERE id = ?", (run_id,))
        assert row is not None
        return RunRow.from_row(row)

    async def record_missed(self, campaign: CampaignRow, due_at: float,
                            next_at: float | None) -> RunRow | None:
        """A run that was due while the bot was down, too late to send now."""
        # a one-off campaign that was only waiting is missed; a weekly one waits for its next week
        missed = "CASE WHEN status = 'scheduled' THEN 'missed' ELSE status END" if next_at is None else "status"
        async with self.db.transaction() as tx:
            if not await self._advance(tx, campaign.id, due_at, next_at, missed):
                return None
            run_id = await tx.execute(
                "INSERT INTO campaign_runs(campaign_id, due_at, status, finished_at, sent, failed, blocked)"
                " VALUES (?, ?, 'missed', ?, 0, 0, 0)", (campaign.id, due_at, now()))
            row = await tx.fetchone("SELECT * FROM campaign_runs WHERE id = ?", (run_id,))
        return None if row is None else RunRow.from_row(row)

    @staticmethod
    async def _advance(tx: Transaction, campaign_id: int, due_at: float, next_at: float | None,
                       status_sql: str) -> bool:
        """Move a campaign past its run due at `due_at` (`status_sql`: a constant SQL expression). False
        when something else did it already, or that run exists: each due time makes one run at most."""
        moved = await tx.execute(
            f"UPDATE campaigns SET next_at = ?, status = {status_sql} WHERE id = ? AND next_at = ?"
            " AND status IN ('scheduled', 'sending', 'paused')", (next_at, campaign_id, due_at))
        if not moved:
            return False
        existing = await tx.fetchone("SELECT 1 FROM campaign_runs WHERE campaign_id = ? AND due_at = ?",
                                     (campaign_id, due_at))
        return existing is None

    async def run(self, run_id: int) -> RunRow | None:
        row = await self.db.fetchone("SELECT * FROM campaign_runs WHERE id = ?", (run_id,))
        return None if row is None else RunRow.from_row(row)

    async def runs(self, campaign_id: int) -> list[RunRow]:
        rows = await self.db.fetchall("SELECT * FROM campaign_runs WHERE campaign_id = ? ORDER BY due_at, id",
                                      (campaign_id,))
        return [RunRow.from_row(r) for r in rows]

    async def active_runs(self) -> list[RunRow]:
        rows = await self.db.fetchall(
            "SELECT * FROM campaign_runs WHERE status IN ('sending', 'paused') ORDER BY due_at, id")
        return [RunRow.from_row(r) for r in rows]

    async def set_run_status(self, run_id: int, status: str) -> None:
        """'sending' or 'paused' (quiet hours); the campaign shows the same, unless it moved on."""
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE campaign_runs SET status = ? WHERE id = ?"
                             " AND status IN ('sending', 'paused')", (status, run_id))
            await tx.execute(
                "UPDATE campaigns SET status = ?"
                " WHERE id = (SELECT campaign_id FROM campaign_runs WHERE id = ?)"
                " AND status IN ('sending', 'paused')", (status, run_id))

    # deliveries

    async def recover(self) -> int:
        """After a crash: rows claimed but not settled go back to the queue (they may be sent twice)."""
        async with self.db.transaction() as tx:
            n = await tx.execute(
                "UPDATE deliveries SET status = 'pending' WHERE status = 'sending' AND run_id IN"
                " (SELECT id FROM campaign_runs WHERE status IN ('sending', 'paused'))")
            await tx.execute("UPDATE deliveries SET status = 'cancelled' WHERE status = 'sending'")
        return n

    async def requeue_sending(self, run_id: int) -> int:
        """Rows of a run left 'sending' by a worker that died go back to the queue; their count."""
        return await self.db.execute("UPDATE deliveries SET status = 'pending' WHERE run_id = ? AND status = 'sending'",
                                     (run_id,))

    async def queued_channels(self, run_id: int) -> list[str]:
        """The channels a run still has queued rows on."""
        rows = await self.db.fetchall("SELECT DISTINCT channel FROM deliveries WHERE run_id = ?"
                                      " AND status = 'pending' ORDER BY channel", (run_id,))
        return [str(r["channel"]) for r in rows]

    async def fail_queued(self, run_id: int, channels: Sequence[str], reason: str) -> int:
        """Queued rows on `channels` fail with `reason` (a channel that is not running); their count."""
        marks = ", ".join("?" for _ in channels)
        return await self.db.execute(
            f"UPDATE deliveries SET status = 'failed', error = ?, updated_at = ? WHERE run_id = ?"
            f" AND status = 'pending' AND channel IN ({marks})", (reason[:300], now(), run_id, *channels))

    async def claim(self, run_id: int, limit: int, channel: str | None = None) -> list[Recipient] | None:
        """Mark up to `limit` queued rows (of one channel, or any) 'sending' in recipient order and return
        them; None when the run is no longer sending (cancelled, paused, finished)."""
        where, params = ("AND channel = ?", (channel,)) if channel is not None else ("", ())
        async with self.db.transaction() as tx:
            run = await tx.fetchone("SELECT status FROM campaign_runs WHERE id = ?", (run_id,))
            if run is None or run["status"] != "sending":
                return None
            rows = await tx.fetchall(
                "SELECT person_id, channel, chat_id, language FROM deliveries WHERE run_id = ? AND status = 'pending'"
                f" {where} ORDER BY person_id LIMIT ?", (run_id, *params, limit))
            if rows:
                await tx.executemany(
                    "UPDATE deliveries SET status = 'sending' WHERE run_id = ? AND person_id = ?",
                    ((run_id, r["person_id"]) for r in rows))
        return [Recipient(r["person_id"], r["chat_id"], r["language"], r["channel"]) for r in rows]

    async def settle(self, run_id: int, outcomes: Sequence[Outcome]) -> None:
        """Record how deliveries ended; a 'blocked' outcome also marks the subscriber blocked."""
        if not outcomes:
            return
        t = now()
        async with self.db.transaction() as tx:
            # An outcome also overrides 'cancelled': a send in flight when the run was cancelled did happen.
            await tx.executemany(
                "UPDATE deliveries SET status = ?, tries = tries + ?, error = ?, updated_at = ?"
                " WHERE run_id = ? AND person_id = ?"
                " AND (status = 'sending' OR (status = 'cancelled' AND ? != 'pending'))",
                ((o.status, o.tries, o.error, t, run_id, o.person_id, o.status) for o in outcomes))
            blocked = [(t, o.person_id) for o in outcomes if o.status == "blocked"]
            if blocked:
                await tx.executemany("UPDATE subscriptions SET blocked = 1, updated_at = ? WHERE person_id = ?",
                                     blocked)

    async def counts(self, run_id: int) -> Counts:
        rows = await self.db.fetchall("SELECT status, COUNT(*) AS n FROM deliveries WHERE run_id = ?"
                                      " GROUP BY status", (run_id,))
        return _counts(rows)

    async def finish_run(self, run_id: int) -> RunRow | None:
        """No queued rows left: freeze the run's figures; the campaign waits for its next run or is done."""
        async with self.db.transaction() as tx:
            left = await tx.fetchone("SELECT 1 FROM deliveries WHERE run_id = ?"
                                     " AND status IN ('pending', 'sending') LIMIT 1", (run_id,))
            if left is not None:
                return None
            await self._freeze(tx, run_id, "done")
            await tx.execute(
                "UPDATE campaigns SET status = CASE WHEN next_at IS NULL THEN 'done' ELSE 'scheduled' END"
                " WHERE id = (SELECT campaign_id FROM campaign_runs WHERE id = ?)"
                " AND status IN ('sending', 'paused', 'scheduled')"
                " AND NOT EXISTS (SELECT 1 FROM campaign_runs r WHERE r.campaign_id = campaigns.id"
                " AND r.id != ? AND r.status IN ('sending', 'paused'))", (run_id, run_id))
            row = await tx.fetchone("SELECT * FROM campaign_runs WHERE id = ?", (run_id,))
        return None if row is None else RunRow.from_row(row)

    @staticmethod
    async def _freeze(tx: Transaction, run_id: int, status: str) -> None:
        rows = await tx.fetchall("SELECT status, COUNT(*) AS n FROM deliveries WHERE run_id = ?"
                                 " GROUP BY status", (run_id,))
        c = _counts(rows)
        await tx.execute(
            "UPDATE campaign_runs SET status = ?, finished_at = ?, sent = ?, failed = ?, blocked = ?"
            " WHERE id = ? AND status IN ('sending', 'paused')",
            (status, now(), c.sent, c.failed, c.blocked, run_id))

    async def close_cancelled(self, run_id: int) -> None:
        """After a cancelled run's last send: rows still queued or claimed are cancelled, and the frozen
        figures recounted (sends that were in flight at the cancel did happen)."""
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE deliveries SET status = 'cancelled', updated_at = ? WHERE run_id = ?"
                             " AND status IN ('pending', 'sending')", (now(), run_id))
            rows = await tx.fetchall("SELECT status, COUNT(*) AS n FROM deliveries WHERE run_id = ?"
                                     " GROUP BY status", (run_id,))
            c = _counts(rows)
            await tx.execute("UPDATE campaign_runs SET sent = ?, failed = ?, blocked = ? WHERE id = ?"
                             " AND status != 'missed'", (c.sent, c.failed, c.blocked, run_id))

    async def prune(self, finished_before: float) -> int:
        """Forget who received runs finished before this time (their figures stay on the run)."""
        async with self.db.transaction() as tx:
            old = "SELECT id FROM campaign_runs WHERE finished_at < ? AND status IN ('done', 'cancelled', 'missed')"
            n = await tx.execute(f"DELETE FROM deliveries WHERE run_id IN ({old})", (finished_before,))
            await tx.execute(f"DELETE FROM run_reports WHERE run_id IN ({old})", (finished_before,))
        return n

    async def failures(self, run_id: int, limit: int = 20) -> list[tuple[int, str]]:
        rows = await self.db.fetchall("SELECT person_id, error FROM deliveries WHERE run_id = ?"
                                      " AND status = 'failed' ORDER BY person_id LIMIT ?", (run_id, limit))
        return [(r["person_id"], r["error"] or "") for r in rows]

    # report messages

    async def add_report(self, run_id: int, chat_id: str, message_id: str, channel: str = "telegram") -> None:
        await self.db.execute("INSERT OR REPLACE INTO run_reports(run_id, channel, chat_id, message_id)"
                              " VALUES (?, ?, ?, ?)", (run_id, channel, str(chat_id), str(message_id)))

    async def reports(self, run_id: int) -> list[tuple[str, str, str]]:
        """(channel, chat id, message id) of the progress messages of a run."""
        rows = await self.db.fetchall("SELECT channel, chat_id, message_id FROM run_reports WHERE run_id = ?",
                                      (run_id,))
        return [(r["channel"], r["chat_id"], r["message_id"]) for r in rows]

    # drafts

    async def draft(self, person_id: int) -> Draft | None:
        r = await self.db.fetchone("SELECT * FROM campaign_drafts WHERE person_id = ?", (person_id,))
        if r is None:
            return None
        return Draft(r["person_id"], r["chat_id"], r["step"], r["body"], r["html"], r["photo"],
                     r["template_id"], r["audience"], r["at"], r["repeat"], r["updated_at"], r["channel"])

    async def save_draft(self, d: Draft) -> None:
        d.updated_at = now()
        await self.db.execute(
            "INSERT OR REPLACE INTO campaign_drafts(person_id, channel, chat_id, step, body, html, photo,"
            " template_id, audience, at, repeat, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (d.person_id, d.channel, str(d.chat_id), d.step, d.body, d.html, d.photo, d.template_id, d.audience,
             d.at, d.repeat,
             d.updated_at))

    async def delete_draft(self, person_id: int) -> bool:
        return await self.db.execute("DELETE FROM campaign_drafts WHERE person_id = ?", (person_id,)) > 0


def _counts(rows: Iterable[Row]) -> Counts:
    c = Counts()
    for r in rows:
        status, n = r["status"], r["n"]
        if status == "sent":
            c.sent += n
        elif status == "blocked":
            c.blocked += n
        elif status == "failed":
            c.failed += n
        elif status == "cancelled":
            c.cancelled += n
        else:
            c.pending += n
    return c
