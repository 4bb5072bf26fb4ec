"""Counts for the monthly report, and the log of reports sent. Counts only: no names, phones or ID numbers.

Every query takes the month as [start, end) in Unix seconds (the caller turns local months into them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage.db import Database, now


@dataclass(frozen=True)
class Span:
    """[start, end) in Unix seconds."""

    start: float
    end: float


class ReportStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- questions -----------------------------------------------------------------------------------

    async def question_statuses(self, span: Span) -> dict[str, int]:
        rows = await self.db.fetchall(
            "SELECT status, COUNT(*) AS n FROM questions WHERE asked_at >= ? AND asked_at < ? GROUP BY status",
            (span.start, span.end))
        return {str(r["status"]): int(r["n"]) for r in rows}

    async def answered_topics(self, span: Span) -> dict[str, int]:
        """FAQ id -> questions answered with it."""
        rows = await self.db.fetchall(
            "SELECT topic, COUNT(*) AS n FROM questions WHERE asked_at >= ? AND asked_at < ?"
            " AND status = 'answer' AND topic IS NOT NULL GROUP BY topic", (span.start, span.end))
        return {str(r["topic"]): int(r["n"]) for r in rows}

    async def feedback(self, span: Span) -> tuple[int, int]:
        """(👍, 👎) given in the month."""
        row = await self.db.fetchone(
            "SELECT COALESCE(SUM(helpful = 1), 0) AS up, COALESCE(SUM(helpful = 0), 0) AS down FROM feedback"
            " WHERE created_at >= ? AND created_at < ?", (span.start, span.end))
        return (int(row["up"]), int(row["down"])) if row else (0, 0)

    # --- help requests -------------------------------------------------------------------------------

    async def requests_received(self, span: Span) -> list[tuple[str, str, str]]:
        """(topic, village, status now) of each request made in the month."""
        rows = await self.db.fetchall(
            "SELECT topic, village, status FROM help_requests WHERE created_at >= ? AND created_at < ?",
            (span.start, span.end))
        return [(str(r["topic"]), str(r["village"]), str(r["status"])) for r in rows]

    async def requests_closed(self, span: Span) -> dict[str, int]:
        """status -> requests closed (done, unreachable, cancelled) in the month."""
        rows = await self.db.fetchall(
            "SELECT status, COUNT(*) AS n FROM help_requests WHERE closed_at >= ? AND closed_at < ?"
            " AND status IN ('done', 'unreachable', 'cancelled') GROUP BY status", (span.start, span.end))
        return {str(r["status"]): int(r["n"]) for r in rows}

    async def requests_open_at(self, moment: float) -> int:
        """Requests made before `moment` and not closed by then."""
        return int(await self.db.fetchval(
            "SELECT COUNT(*) FROM help_requests WHERE created_at < ? AND (closed_at IS NULL OR closed_at >= ?)",
            (moment, moment)))

    async def days_to_appointment(self, span: Span) -> list[float]:
        """Days from request to appointment, for requests made in the month that got one."""
        rows = await self.db.fetchall(
            "SELECT (appointment_at - created_at) / 86400.0 AS d FROM help_requests"
            " WHERE created_at >= ? AND created_at < ? AND appointment_at IS NOT NULL", (span.start, span.end))
        return [float(r["d"]) for r in rows]

    async def days_to_close(self, span: Span) -> list[float]:
        """Days from request to close, for requests done or unreachable in the month."""
        rows = await self.db.fetchall(
            "SELECT (closed_at - created_at) / 86400.0 AS d FROM help_requests"
            " WHERE closed_at >= ? AND closed_at < ? AND status IN ('done', 'unreachable')",
            (span.start, span.end))
        return [float(r["d"]) for r in rows]

    async def reposts(self, span: Span) -> int:
        """Times an unclaimed request was posted again to the officers' group (the SLA re-post)."""
        return int(await self.db.fetchval(
            "SELECT COUNT(*) FROM help_events WHERE kind = 'reposted' AND at >= ? AND at < ?",
            (span.start, span.end)))

    # --- campaigns -----------------------------------------------------------------------------------

    async def runs(self, span: Span) -> int:
        """Campaign runs started in the month (a repeating campaign counts once per run)."""
        return int(await self.db.fetchval(
            "SELECT COUNT(*) FROM campaign_runs WHERE COALESCE(started_at, due_at) >= ?"
            " AND COALESCE(started_at, due_at) < ?", (span.start, span.end)))

    async def deliveries(self, span: Span) -> dict[tuple[str, str], int]:
        """(channel, status) -> deliveries of the runs started in the month."""
        rows = await self.db.fetchall(
            "SELECT d.channel, d.status, COUNT(*) AS n FROM deliveries d JOIN campaign_runs r ON r.id = d.run_id"
            " WHERE COALESCE(r.started_at, r.due_at) >= ? AND COALESCE(r.started_at, r.due_at) < ?"
            " GROUP BY d.channel, d.status", (span.start, span.end))
        return {(str(r["channel"]), str(r["status"])): int(r["n"]) for r in rows}

    # --- subscribers ---------------------------------------------------------------------------------

    async def subscribers(self, span: Span) -> list[dict[str, Any]]:
        """One row per subscription: channel, village, and whether it is active at the month's end,
        new in the month, or left in the month (unsubscribed or blocked the bot)."""
        rows = await self.db.fetchall(
            "SELECT channel, COALESCE(village, '') AS village,"
            " (consented_at < :end AND (active = 1 AND blocked = 0 OR updated_at >= :end)) AS at_end,"
            " (consented_at >= :start AND consented_at < :end) AS new,"
            " ((active = 0 OR blocked = 1) AND updated_at >= :start AND updated_at < :end) AS left_"
            " FROM subscriptions", {"start": span.start, "end": span.end})
        return [{"channel": str(r["channel"]), "village": str(r["village"]), "at_end": bool(r["at_end"]),
                 "new": bool(r["new"]), "left": bool(r["left_"])} for r in rows]

    # --- who gets the report, and what was sent ------------------------------------------------------

    async def staff_chats(self, admin_telegram_ids: frozenset[int]) -> list[tuple[str, str, str]]:
        """(channel, chat, language) of every identity of admins and editors, BOT_ADMIN_IDS included."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT i.channel, i.chat_id, i.language FROM staff s JOIN identities i"
            " ON i.person_id = s.person_id WHERE s.role IN ('admin', 'editor') ORDER BY s.person_id, i.channel")
        chats = [(str(r["channel"]), str(r["chat_id"]), str(r["language"])) for r in rows]
        for tg in sorted(admin_telegram_ids):
            row = await self.db.fetchone(
                "SELECT chat_id, language FROM identities WHERE channel = 'telegram' AND external_id = ?", (str(tg),))
            chat = ("telegram", str(row["chat_id"]) if row else str(tg), str(row["language"]) if row else "vi")
            if all(c[:2] != chat[:2] for c in chats):
                chats.append(chat)
        return chats

    async def logged(self, month: str, kind: str) -> float | None:
        """When the last `kind` entry of `month` was written, or None."""
        value = await self.db.fetchval(
            "SELECT MAX(at) FROM report_log WHERE month = ? AND kind = ?", (month, kind))
        return None if value is None else float(value)

    async def log(self, month: str, kind: str, recipients: int = 0, path: str | None = None,
                  at: float | None = None) -> bool:
        """Record it; False when a 'sent' or 'reminded' of that month was already there (sent once only)."""
        async with self.db.transaction() as tx:
            if kind != "opened" and await tx.fetchone(
                    "SELECT 1 FROM report_log WHERE month = ? AND kind = ?", (month, kind)):
                return False
            await tx.execute("INSERT INTO report_log(month, kind, at, recipients, path) VALUES (?, ?, ?, ?, ?)",
                             (month, kind, now() if at is None else at, recipients, path))
        return True
