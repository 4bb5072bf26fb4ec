"""The month's figures, from the database (storage.report), as one JSON-ready object. Counts only.

Month boundaries are midnight in the commune's time zone (content/commune.toml, Asia/Ho_Chi_Minh).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from datetime import datetime, tzinfo
from typing import Any

from bot.content import Content
from storage.db import Database
from storage.report import ReportStore, Span

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
REQUEST_STATUSES = ("new", "claimed", "scheduled", "done", "unreachable", "cancelled")
DELIVERY_STATUSES = ("sent", "blocked", "failed", "pending", "sending", "cancelled")


def parse_month(text: str) -> tuple[int, int]:
    """'2026-11' -> (2026, 11); ValueError otherwise."""
    match = MONTH_RE.match(text.strip())
    if not match:
        raise ValueError(f"a month is written YYYY-MM, like 2026-11, not {text!r}")
    return int(match.group(1)), int(match.group(2))


def month_name(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def shift(year: int, month: int, by: int) -> tuple[int, int]:
    """The month `by` months after (year, month); negative goes back."""
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def month_span(year: int, month: int, tz: tzinfo) -> Span:
    start = datetime(year, month, 1, tzinfo=tz)
    ny, nm = shift(year, month, 1)
    return Span(start.timestamp(), datetime(ny, nm, 1, tzinfo=tz).timestamp())


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _sorted(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


class ReportFigures:
    """Builds the figures of a month; the one source for the CLI, the .docx, the schedule and the panel."""

    def __init__(self, db: Database, content: Content) -> None:
        self.store = ReportStore(db)
        self.content = content

    @property
    def tz(self) -> tzinfo:
        return self.content.commune.tzinfo

    async def monthly(self, month: str) -> dict[str, Any]:
        year, mon = parse_month(month)
        span = month_span(year, mon, self.tz)
        return {
            "month": month_name(year, mon),
            "timezone": self.content.commune.timezone,
            "from": datetime.fromtimestamp(span.start, self.tz).isoformat(),
            "until": datetime.fromtimestamp(span.end, self.tz).isoformat(),
            "questions": await self._questions(span),
            "requests": await self._requests(span),
            "campaigns": await self._campaigns(span),
            "subscribers": await self._subscribers(span),
        }

    async def _questions(self, span: Span) -> dict[str, Any]:
        statuses = await self.store.question_statuses(span)
        groups: Counter[str] = Counter()
        for topic, n in (await self.store.answered_topics(span)).items():
            faq = self.content.faqs.get(topic)
            groups[faq.group if faq else "other"] += n
        up, down = await self.store.feedback(span)
        answered, declined, unsure = (statuses.get(k, 0) for k in ("answer", "out_of_scope", "unsure"))
        return {"asked": answered + declined + unsure, "answered": answered, "declined": declined,
                "unsure": unsure, "by_group": _sorted(groups), "thumbs_up": up, "thumbs_down": down}

    async def _requests(self, span: Span) -> dict[str, Any]:
        received = await self.store.requests_received(span)
        closed = await self.store.requests_closed(span)
        by_village_status: dict[str, dict[str, int]] = {}
        for _topic, village, status in received:
            row = by_village_status.setdefault(village, dict.fromkeys(REQUEST_STATUSES, 0))
            row[status] = row.get(status, 0) + 1
        return {
            "received": len(received),
            "done": closed.get("done", 0),
            "unreachable": closed.get("unreachable", 0),
            "cancelled": closed.get("cancelled", 0),
            "open_at_month_end": await self.store.requests_open_at(span.end),
            "by_topic": _sorted(Counter(t for t, _, _ in received)),
            "by_village": _sorted(Counter(v for _, v, _ in received)),
            "by_village_status": dict(sorted(by_village_status.items())),
            "median_days_to_appointment": _median(await self.store.days_to_appointment(span)),
            "median_days_to_close": _median(await self.store.days_to_close(span)),
            "sla_reposts": await self.store.reposts(span),
        }

    async def _campaigns(self, span: Span) -> dict[str, Any]:
        deliveries = await self.store.deliveries(span)
        by_channel: dict[str, dict[str, int]] = {}
        for (channel, status), n in sorted(deliveries.items()):
            row = by_channel.setdefault(channel, {"recipients": 0, "delivered": 0, "blocked": 0, "failed": 0})
            row["recipients"] += n
            key = "delivered" if status == "sent" else status
            if key in row:
                row[key] += n

        def total(key: str) -> int:
            return sum(row[key] for row in by_channel.values())

        return {"sent": await self.store.runs(span), "recipients": total("recipients"),
                "delivered": total("delivered"), "blocked": total("blocked"), "failed": total("failed"),
                "by_channel": by_channel}

    async def _subscribers(self, span: Span) -> dict[str, Any]:
        rows = await self.store.subscribers(span)
        active = [r for r in rows if r["at_end"]]
        return {
            "at_month_end": len(active),
            "new": sum(1 for r in rows if r["new"]),
            "left": sum(1 for r in rows if r["left"]),
            "by_village": _sorted(Counter(r["village"] or "unknown" for r in active)),
            "by_channel": _sorted(Counter(r["channel"] for r in active)),
        }
