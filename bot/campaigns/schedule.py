"""When an announcement goes out: typed Vietnamese date/time, quick picks, weekly repeats, a small 5-field
cron (for the command line's --repeat) and the commune's quiet hours. Channel-free; all in local time.

Times are aware datetimes. `parse_when` and the quick picks work in the commune's time zone; the caller
converts to UTC (Unix seconds) for storage.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.campaigns.errors import CampaignError
from bot.faq.normalize import fold
from bot.i18n import N_


class ScheduleError(CampaignError):
    """A time or repeat rule that cannot be used."""


# --- quiet hours -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuietHours:
    """No announcement is delivered from `start` to `end` (local time; may span midnight)."""

    start: time
    end: time

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    def contains(self, local: datetime) -> bool:
        t = local.timetz().replace(tzinfo=None)
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def contains_clock(self, t: time) -> bool:
        return self.contains(datetime.combine(date(2000, 1, 3), t))

    def next_allowed(self, local: datetime) -> datetime:
        """`local` itself when deliveries are allowed then, else the end of that quiet period."""
        if not self.contains(local):
            return local
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end


# --- typed date and time -----------------------------------------------------------------------------

# "7:30", "07:30", "7h30", "7h", "7 giờ 30", "19g" — `h` only when no letter follows ("12 hôm nay").
_TIME = re.compile(
    r"(?<![\d/-])(\d{1,2})\s*(?::|h(?![a-z])|g(?![a-z])|gio)\s*(\d{1,2})?(?:\s*phut)?(?![\d/])")
_DATE = re.compile(r"(?<![\d:])(\d{1,2})\s*[/-]\s*(\d{1,2})(?:\s*[/-]\s*(\d{2}|\d{4}))?(?![\d:])")
_RELATIVE = (
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
    Raises ScheduleError for a date that does not exist (31/02) or a date without a time.
    """
    folded = fold(text)
    clock = parse_clock_text(folded)
    date_match = _DATE.search(_TIME.sub(" ", folded))
    weekday = _weekday_in(folded)
    offset = next((days for pattern, days in _RELATIVE if pattern.search(folded)), None)
    has_date = date_match is not None or weekday is not None or offset is not None
    if clock is None:
        if has_date:
            raise ScheduleError(N_("Please add a time too, for example 07:30 15/12."))
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
            raise ScheduleError(N_("There is no such date: {date}."), date=date_match.group(0)) from None
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


def tonight(now: datetime) -> datetime | None:
    """Today at 19:00, if that is still ahead."""
    at = now.replace(hour=19, minute=0, second=0, microsecond=0)
    return at if at > now else None


def tomorrow_morning(now: datetime) -> datetime:
    """Tomorrow at 07:00."""
    return now.replace(hour=7, minute=0, second=0, microsecond=0) + timedelta(days=1)


# --- cron ----------------------------------------------------------------------------------------------

_NAMES = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
    "nov": 11, "dec": 12, "sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6,
}  # fmt: skip
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
           ("day of week", 0, 7))
_SEARCH_DAYS = 366 * 5


def _bad_field(part: str, name: str) -> ScheduleError:
    return ScheduleError(N_("Bad repeat rule: {part} in the {field} field."), part=part, field=name)


def _parse_field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.lower().split(","):
        body, slash, step_text = part.partition("/")
        first, dash, last = body.partition("-")
        try:
            step = int(step_text) if slash else 1
            if body == "*":
                start, end = low, high
            else:
                start = _NAMES[first] if first in _NAMES else int(first)
                end = (_NAMES[last] if last in _NAMES else int(last)) if dash else (high if slash else start)
        except ValueError:
            raise _bad_field(part, name) from None
        if step < 1 or not (low <= start <= end <= high):
            raise _bad_field(part, name)
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    """A 5-field cron rule (minute hour day-of-month month day-of-week) in local time.

    Fields take `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`, and English month and
    day names; Sunday is 0 or 7. As in cron, when both day fields are restricted either may match.
    """

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday … 6 = Saturday
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, text: str) -> Cron:
        fields = text.split()
        if len(fields) != 5:
            raise ScheduleError(N_("A repeat rule has 5 fields (minute hour day month weekday), "
                                   "for example \"0 7 * * 1\"."))
        sets = [_parse_field(f, *spec) for f, spec in zip(fields, _FIELDS, strict=True)]
        weekdays = frozenset(d % 7 for d in sets[4])
        return cls(" ".join(fields), sets[0], sets[1], sets[2], sets[3], weekdays,
                   fields[2] == "*", fields[4] == "*")

    @classmethod
    def weekly(cls, iso_weekday: int, at: time) -> Cron:
        """Every week on `iso_weekday` (Mon=1 … Sun=7) at `at`."""
        return cls.parse(f"{at.minute} {at.hour} * * {iso_weekday % 7}")

    def clock_times(self) -> Iterable[time]:
        return (time(h, m) for h in sorted(self.hours) for m in sorted(self.minutes))

    def weekly_day(self) -> tuple[int, time] | None:
        """(ISO weekday, time) when the rule is one time on one weekday every week, else None."""
        if (len(self.minutes), len(self.hours), len(self.weekdays)) != (1, 1, 1) or not self.any_day:
            return None
        if len(self.months) != 12:
            return None
        weekday = next(iter(self.weekdays)) or 7
        return weekday, time(next(iter(self.hours)), next(iter(self.minutes)))

    def _day_matches(self, d: date) -> bool:
        if d.month not in self.months:
            return False
        dom = d.day in self.days
        dow = d.isoweekday() % 7 in self.weekdays
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return dow
        if self.any_weekday:
            return dom
        return dom or dow

    def next_after(self, after: datetime, *, inclusive: bool = False) -> datetime | None:
        """The first matching minute after `after` (or at it, with `inclusive`); None if none in 5 years."""
        start = after.replace(second=0, microsecond=0)
        if not inclusive or start < after:
            start += timedelta(minutes=1)
        clocks = sorted(self.clock_times())
        day = start.date()
        for _ in range(_SEARCH_DAYS):
            if self._day_matches(day):
                for t in clocks:
                    candidate = start.replace(year=day.year, month=day.month, day=day.day, hour=t.hour,
                                              minute=t.minute)
                    if candidate >= start:
                        return candidate
            day += timedelta(days=1)
        return None
