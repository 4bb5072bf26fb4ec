"""Vietnamese dates and times as people type them ("07:30 15/12", "7h tối mai", "thứ 2 7h", "3.12.26 7g30").

Channel-free and shared: campaign scheduling and help-request appointments both read typed times here.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

from bot.faq.normalize import fold
from bot.i18n import N_


class WhenError(ValueError):
    """A typed time that names something impossible; `msgid` is a gettext id, `params` its placeholders."""

    def __init__(self, msgid: str, **params: Any) -> None:
        self.msgid = msgid
        self.params = params
        super().__init__(msgid.format(**params) if params else msgid)


# "7:30", "07:30", "7h30", "7h", "7 giờ 30", "19g" — `h` only when no letter follows ("12 hôm nay").
_TIME = re.compile(
    r"(?<![\d/-])(\d{1,2})\s*(?::|h(?![a-z])|g(?![a-z])|gio)\s*(\d{1,2})?(?:\s*phut)?(?![\d/])")
_DATE = re.compile(r"(?<![\d:.])(\d{1,2})\s*[/.-]\s*(\d{1,2})(?:\s*[/.-]\s*(\d{2}|\d{4}))?(?![\d:])")
_RELATIVE = (
    (re.compile(r"\b(?:hom qua)\b"), -1),  # "yesterday": read, so that it is refused as past, not taken as tomorrow
    (re.compile(r"\b(?:ngay kia|ngay mot|mot)\b"), 2),
    (re.compile(r"\b(?:ngay mai|mai)\b"), 1),
    (re.compile(r"\b(?:hom nay|nay)\b"), 0),
)
# Thứ Hai … Thứ Bảy, Chủ nhật (folded), or "t2" … "t7", "cn".
_WEEKDAY_WORDS = {"hai": 1, "ba": 2, "tu": 3, "nam": 4, "sau": 5, "bay": 6}
_WEEKDAY = re.compile(r"\b(?:thu\s*(hai|ba|tu|nam|sau|bay|[2-7])|t([2-7])|(chu nhat|cn))\b")
_AFTERNOON = re.compile(r"\b(?:chieu|toi|dem)\b")
_MORNING = re.compile(r"\b(?:sang)\b")


def _weekday_in(text: str) -> int | None:
    """ISO weekday (Mon=1 … Sun=7) named in folded text, else None."""
    m = _WEEKDAY.search(text)
    if not m:
        return None
    if m.group(3):
        return 7
    word = m.group(1) or m.group(2)
    return int(word) - 1 if word.isdigit() else _WEEKDAY_WORDS[word]


def parse_clock_text(text: str) -> time | None:
    """A time of day as residents type it ("7h30", "19:00", "7 giờ tối"), else None."""
    folded = fold(text)
    m = _TIME.search(folded)
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if _AFTERNOON.search(folded) and 1 <= hour <= 11 and not _MORNING.search(folded):
        hour += 12
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_when(text: str, now: datetime) -> datetime | None:
    """A typed Vietnamese date and time → an aware datetime in `now`'s time zone, or None if unreadable.

    Understands "07:30 15/12", "15/12/2026 7h30", "7h tối mai", "19:00 hôm nay", "thứ 2 7h". A time
    without a date means its next occurrence; a date without a year means its next occurrence too.
    Raises WhenError for a date that does not exist (31/02) or a date without a time.
    """
    folded = fold(text)
    clock = parse_clock_text(folded)
    date_match = _DATE.search(_TIME.sub(" ", folded))
    weekday = _weekday_in(folded)
    offset = next((days for pattern, days in _RELATIVE if pattern.search(folded)), None)
    has_date = date_match is not None or weekday is not None or offset is not None
    if clock is None:
        if has_date:
            raise WhenError(N_("Please add a time too, for example 07:30 15/12."))
        return None
    today = now.date()
    if date_match is not None:
        day, month = int(date_match.group(1)), int(date_match.group(2))
        year_text = date_match.group(3)
        year = today.year if year_text is None else int(year_text) + (2000 if len(year_text) == 2 else 0)
        try:
            when = now.replace(year=year, month=month, day=day, hour=clock.hour, minute=clock.minute,
                               second=0, microsecond=0)
        except ValueError:
            raise WhenError(N_("There is no such date: {date}."), date=date_match.group(0)) from None
        if year_text is None and when < now - timedelta(days=1):
            when = when.replace(year=year + 1)
        return when
    base = now.replace(hour=clock.hour, minute=clock.minute, second=0, microsecond=0)
    if offset is not None:
        return base + timedelta(days=offset)
    if weekday is not None:
        days = (weekday - now.isoweekday()) % 7
        when = base + timedelta(days=days)
        return when if when > now else when + timedelta(days=7)
    return base if base > now else base + timedelta(days=1)
