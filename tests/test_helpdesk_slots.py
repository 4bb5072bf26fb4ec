"""Office time from the commune profile: slots offered, working hours, reminders, typed appointment times."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest

from bot.content import Commune, load_content
from bot.helpdesk import slots as s
from bot.i18n import TZ

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def commune() -> Commune:
    return load_content(ROOT / "content").commune


def at(y: int, mo: int, d: int, h: int = 9, mi: int = 0) -> float:
    return datetime(y, mo, d, h, mi, tzinfo=TZ).timestamp()


def test_next_slots_skip_today_weekends_and_holidays(commune: Commune) -> None:
    friday = at(2026, 11, 27)
    days = sorted({x.day for x in s.next_slots(commune, friday)})
    assert days == [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)]
    # 1 and 2 September 2026 are public holidays in the profile.
    monday = at(2026, 8, 31)
    assert sorted({x.day for x in s.next_slots(commune, monday)}) == [
        date(2026, 9, 3), date(2026, 9, 4), date(2026, 9, 7)]
    assert len(s.next_slots(commune, monday)) == 3 * len(commune.office_slots)


def test_slot_labels_in_vietnamese_and_english(commune: Commune) -> None:
    slot = s.Slot(date(2026, 12, 1), 0, time(7, 30), time(11, 30))
    assert s.slot_label(slot) == "Thứ Ba, 01/12 — 7:30–11:30"
    assert s.slot_label(slot, "en") == "Tuesday, 1 Dec — 7:30–11:30"


def test_slot_keys_are_checked_against_the_profile(commune: Commune) -> None:
    now = at(2026, 11, 27)
    offered = s.next_slots(commune, now)[0]
    assert s.slot_from_key(commune, offered.key, now) == offered
    for key in ("20261127-0",      # today
                "20261128-0",      # a Saturday
                "20261201-7",      # no such slot
                "20270301-0",      # too far ahead
                "20261301-0", "x", "", "20261201-0:1"):
        assert s.slot_from_key(commune, key, now) is None, key


def test_working_seconds_count_only_office_time(commune: Commune) -> None:
    # Friday 16:00 -> Monday 09:00: 1 h on Friday, 1.5 h on Monday morning.
    assert s.working_seconds(commune, at(2026, 11, 27, 16), at(2026, 11, 30, 9)) == 2.5 * 3600
    # Lunch break and nights do not count.
    assert s.working_seconds(commune, at(2026, 12, 1, 11), at(2026, 12, 1, 14)) == 3600
    assert s.working_seconds(commune, at(2026, 12, 1, 18), at(2026, 12, 2, 7)) == 0
    # Holidays do not count.
    assert s.working_seconds(commune, at(2026, 9, 1, 7), at(2026, 9, 2, 18)) == 0
    assert s.working_seconds(commune, at(2026, 12, 2), at(2026, 12, 1)) == 0


def test_reminder_is_the_evening_before(commune: Commune) -> None:
    assert s.reminder_at(commune, at(2026, 12, 1, 8)) == at(2026, 11, 30, 19)


@pytest.mark.parametrize(("typed", "expected"), [
    ("02/12 8:30", (2026, 12, 2, 8, 30)),
    ("2/12 14h", (2026, 12, 2, 14, 0)),
    ("8h30 2/12", (2026, 12, 2, 8, 30)),
    ("14:00 02/12", (2026, 12, 2, 14, 0)),
    ("02/12/2026 lúc 9:15", (2026, 12, 2, 9, 15)),
    ("3.12.26 7g30", (2026, 12, 3, 7, 30)),
    ("05/01 8:00", (2027, 1, 5, 8, 0)),   # early January means next year
])
def test_typed_appointment_times(commune: Commune, typed: str, expected: tuple[int, ...]) -> None:
    now = at(2026, 11, 27)
    moment = s.parse_when(commune, typed, now)
    assert moment is not None, typed
    assert (moment.year, moment.month, moment.day, moment.hour, moment.minute) == expected
    assert moment.tzinfo is not None and moment.utcoffset() == TZ.utcoffset(moment)


@pytest.mark.parametrize("typed", ["", "mai", "02/12", "31/02 8:00", "25:00 02/12", "x" * 500, "2/12 8:75"])
def test_unreadable_appointment_times(commune: Commune, typed: str) -> None:
    assert s.parse_when(commune, typed, at(2026, 11, 27)) is None


def test_appointment_problems() -> None:
    now = at(2026, 11, 27)
    assert s.appointment_problem(datetime(2026, 11, 26, 8, tzinfo=TZ), now) == "past"
    assert s.appointment_problem(datetime(2027, 6, 1, 8, tzinfo=TZ), now) == "far"
    assert s.appointment_problem(datetime(2026, 12, 1, 8, tzinfo=TZ), now) is None


def test_appointment_choices_put_the_preferred_slot_first(commune: Commune) -> None:
    now = at(2026, 11, 27)
    preferred = s.Slot(date(2026, 12, 2), 1, time(13, 30), time(17, 0))
    choices = s.appointment_choices(commune, now, preferred)
    assert choices[0] == datetime(2026, 12, 2, 13, 30, tzinfo=commune.tzinfo)
    assert len(choices) == len(set(choices))
    assert s.from_stamp(commune, s.stamp(choices[0])) == choices[0]
    assert s.from_stamp(commune, "202612021") is None and s.from_stamp(commune, "202613021330") is None
