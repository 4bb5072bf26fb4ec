"""When an announcement goes out: typed Vietnamese date/time, quick picks, weekly repeats, a small 5-field
cron (for the command line's --repeat) and the commune's quiet hours. Channel-free; all in local time.

Times are aware datetimes. `parse_when` and the quick picks work in the commune's time zone; the caller
converts to UTC (Unix seconds) for storage.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot import when
from bot.campaigns.errors import CampaignError
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


# --- typed date and time (the parser is shared with help-request appointments: bot/when.py) -----------


def parse_when(text: str, now: datetime) -> datetime | None:
    """A typed Vietnamese date and time (see `bot.when.parse_when`); ScheduleError when it names a date
    that does not exist or a date without a time."""
    try:
        return when.parse_when(text, now)
    except when.WhenError as exc:
        raise ScheduleError(exc.msgid, **exc.params) from None


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
