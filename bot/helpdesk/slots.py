"""Office time from the commune profile: working days, appointment slots, working hours, reminders.

All times are local to the commune (content/commune.toml `timezone`, Asia/Ho_Chi_Minh); stored times are
Unix seconds. Working days are the profile's office weekdays minus its listed holidays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot import when
from bot.content import Commune
from bot.i18n import DEFAULT_LANGUAGE, fmt_date, fmt_time

SLOT_DAYS = 3                # working days offered to residents
SLOT_HORIZON_DAYS = 45       # a slot key further ahead than this is refused
REMINDER_TIME = time(19, 0)  # the evening before an appointment
APPOINTMENT_HORIZON_DAYS = 90
_KEY = re.compile(r"^(\d{8})-(\d{1,2})$")
_STAMP = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class Slot:
    day: date
    index: int
    start: time
    end: time

    @property
    def key(self) -> str:
        return f"{self.day:%Y%m%d}-{self.index}"


def local_now(commune: Commune, now: float) -> datetime:
    return datetime.fromtimestamp(now, commune.tzinfo)


def is_working_day(commune: Commune, day: date) -> bool:
    return day.isoweekday() in commune.office_weekdays and day not in commune.holidays


def working_days_after(commune: Commune, day: date, count: int) -> list[date]:
    """The next `count` working days strictly after `day` (none when the profile has no weekdays)."""
    out: list[date] = []
    probe = day
    for _ in range(400):
        if len(out) >= count:
            break
        probe += timedelta(days=1)
        if is_working_day(commune, probe):
            out.append(probe)
    return out


def next_slots(commune: Commune, now: float, days: int = SLOT_DAYS) -> list[Slot]:
    """The office slots of the next `days` working days, from tomorrow."""
    today = local_now(commune, now).date()
    return [Slot(day, i, start, end) for day in working_days_after(commune, today, days)
            for i, (start, end) in enumerate(commune.office_slots)]


def slot_from_key(commune: Commune, key: str, now: float) -> Slot | None:
    """The slot a button stands for, if it is still a future working-day slot of the profile."""
    match = _KEY.match(key)
    if not match:
        return None
    try:
        day = datetime.strptime(match.group(1), "%Y%m%d").date()
    except ValueError:
        return None
    index = int(match.group(2))
    today = local_now(commune, now).date()
    if not (today < day <= today + timedelta(days=SLOT_HORIZON_DAYS)) or not is_working_day(commune, day):
        return None
    if index >= len(commune.office_slots):
        return None
    start, end = commune.office_slots[index]
    return Slot(day, index, start, end)


def slot_label(slot: Slot, lang: str = DEFAULT_LANGUAGE) -> str:
    """'Thứ Ba, 02/12 — 7:30–11:30'."""
    return f"{fmt_date(slot.day, lang)} — {fmt_time(slot.start)}–{fmt_time(slot.end)}"


def working_seconds(commune: Commune, start: float, end: float) -> float:
    """Office time (slots of working days) between two instants."""
    if end <= start:
        return 0.0
    tz = commune.tzinfo
    first, last = local_now(commune, start), local_now(commune, end)
    total = 0.0
    day = first.date()
    while day <= last.date():
        if is_working_day(commune, day):
            for slot_start, slot_end in commune.office_slots:
                a = max(datetime.combine(day, slot_start, tz), first)
                b = min(datetime.combine(day, slot_end, tz), last)
                if b > a:
                    total += (b - a).total_seconds()
        day += timedelta(days=1)
    return total


def reminder_at(commune: Commune, appointment: float) -> float:
    """The evening before the appointment (19:00 local, the previous day)."""
    day = local_now(commune, appointment).date() - timedelta(days=1)
    return datetime.combine(day, REMINDER_TIME, commune.tzinfo).timestamp()


def appointment_choices(commune: Commune, now: float, preferred: Slot | None,
                        days: int = SLOT_DAYS) -> list[datetime]:
    """Start times to offer an officer: the resident's preferred slot first, then the next slots."""
    tz = commune.tzinfo
    times = [datetime.combine(s.day, s.start, tz) for s in next_slots(commune, now, days)]
    if preferred is not None:
        wanted = datetime.combine(preferred.day, preferred.start, tz)
        if wanted.timestamp() > now:
            times = [wanted, *(t for t in times if t != wanted)]
    return times


def stamp(moment: datetime) -> str:
    """A local time as 12 digits for button data: yyyymmddHHMM."""
    return f"{moment:%Y%m%d%H%M}"


def from_stamp(commune: Commune, text: str) -> datetime | None:
    if not _STAMP.match(text):
        return None
    try:
        return datetime.strptime(text, "%Y%m%d%H%M").replace(tzinfo=commune.tzinfo)
    except ValueError:
        return None


def parse_when(commune: Commune, text: str, now: float) -> datetime | None:
    """An appointment typed by an officer ('02/12 8:30', '2/12/2026 14h', '8h30 2/12', 'thứ 2 8h'), read by
    the shared parser in bot/when.py; None when it cannot be read or names an impossible date."""
    try:
        return when.parse_when(text[:100], local_now(commune, now))
    except when.WhenError:
        return None


def appointment_problem(moment: datetime, now: float) -> str | None:
    """'past' or 'far' when an appointment time cannot be used, else None."""
    if moment.timestamp() <= now:
        return "past"
    if moment.timestamp() > now + APPOINTMENT_HORIZON_DAYS * 86400:
        return "far"
    return None


def in_office(commune: Commune, moment: datetime) -> bool:
    """The moment falls on a working day (holidays excluded) inside one of the office slots."""
    local = moment.astimezone(commune.tzinfo)
    if not is_working_day(commune, local.date()):
        return False
    return any(start <= local.time() < end for start, end in commune.office_slots)


def next_office_time(commune: Commune, after: datetime) -> datetime | None:
    """The first office time at or after `after` (a slot's start, or the next half hour inside a slot)."""
    tz = commune.tzinfo
    local = after.astimezone(tz)
    rounded = local.replace(second=0, microsecond=0)
    if rounded < local or rounded.minute % 30:
        rounded += timedelta(minutes=30 - rounded.minute % 30)
    day = rounded.date()
    for _ in range(400):
        if is_working_day(commune, day):
            for start, end in commune.office_slots:
                begin = datetime.combine(day, start, tz)
                finish = datetime.combine(day, end, tz)
                if rounded < finish:
                    return max(begin, rounded)
        day += timedelta(days=1)
    return None


def office_problem(commune: Commune, moment: datetime, now: float) -> str | None:
    """'past', 'far', 'closed' (not a working day or outside office hours) or None when the time can be used."""
    problem = appointment_problem(moment, now)
    if problem is not None:
        return problem
    if commune.office_slots and commune.office_weekdays and not in_office(commune, moment):
        return "closed"
    return None
