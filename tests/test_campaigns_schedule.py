"""Campaign times: typed Vietnamese dates, quick picks, the cron parser, quiet hours, creation checks."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.campaigns.audience import Audience
from bot.campaigns.errors import CampaignError
from bot.campaigns.schedule import (
    Cron,
    QuietHours,
    ScheduleError,
    parse_when,
    tomorrow_morning,
    tonight,
)
from bot.campaigns.service import Campaigns, strip_front_matter, visible_length
from bot.content import load_content
from bot.i18n import Catalogs
from bot.when import parse_clock_text
from storage.db import Database
from storage.staff import Staff

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 12, 10, 9, 15, tzinfo=TZ)  # a Thursday morning


@pytest.mark.parametrize(("text", "expected"), [
    ("07:30 15/12", datetime(2026, 12, 15, 7, 30)),
    ("15/12 07:30", datetime(2026, 12, 15, 7, 30)),
    ("7h30 15/12/2026", datetime(2026, 12, 15, 7, 30)),
    ("7 giờ 30 ngày 15/12", datetime(2026, 12, 15, 7, 30)),
    ("19h", datetime(2026, 12, 10, 19, 0)),             # later today
    ("8:00", datetime(2026, 12, 11, 8, 0)),             # already past today: tomorrow
    ("7h tối mai", datetime(2026, 12, 11, 19, 0)),
    ("7h toi mai", datetime(2026, 12, 11, 19, 0)),
    ("3 giờ chiều hôm nay", datetime(2026, 12, 10, 15, 0)),
    ("thứ 2 7h", datetime(2026, 12, 14, 7, 0)),
    ("chủ nhật 16:00", datetime(2026, 12, 13, 16, 0)),
    ("07:30 05/01", datetime(2027, 1, 5, 7, 30)),       # a date without year that has passed: next year
    ("07:30 5-1-27", datetime(2027, 1, 5, 7, 30)),
])
def test_typed_vietnamese_times(text: str, expected: datetime) -> None:
    assert parse_when(text, NOW) == expected.replace(tzinfo=TZ)


@pytest.mark.parametrize("text", ["", "abc", "🙂", "<b>7</b>", "99:99", "25h"])
def test_unreadable_times_give_none(text: str) -> None:
    assert parse_when(text, NOW) is None


def test_impossible_dates_and_dates_without_time_are_refused() -> None:
    with pytest.raises(ScheduleError, match="no such date"):
        parse_when("07:30 31/02", NOW)
    with pytest.raises(ScheduleError, match="add a time"):
        parse_when("15/12", NOW)


def test_clock_and_quick_picks() -> None:
    assert parse_clock_text("7h30") == time(7, 30)
    assert parse_clock_text("7 giờ tối") == time(19, 0)
    assert parse_clock_text("hello") is None
    assert tonight(NOW) == datetime(2026, 12, 10, 19, 0, tzinfo=TZ)
    assert tonight(NOW.replace(hour=20)) is None
    assert tomorrow_morning(NOW) == datetime(2026, 12, 11, 7, 0, tzinfo=TZ)


def test_quiet_hours_span_midnight() -> None:
    quiet = QuietHours(time(21, 0), time(6, 30))
    assert quiet.contains(NOW.replace(hour=21, minute=0))
    assert quiet.contains(NOW.replace(hour=2))
    assert quiet.contains(NOW.replace(hour=6, minute=29))
    assert not quiet.contains(NOW.replace(hour=6, minute=30))
    assert not quiet.contains(NOW.replace(hour=20, minute=59))
    assert quiet.next_allowed(NOW.replace(hour=22)) == datetime(2026, 12, 11, 6, 30, tzinfo=TZ)
    assert quiet.next_allowed(NOW.replace(hour=3)) == datetime(2026, 12, 10, 6, 30, tzinfo=TZ)
    assert quiet.next_allowed(NOW) == NOW
    assert not QuietHours(time(0, 0), time(0, 0)).contains(NOW.replace(hour=23))  # equal: no quiet hours
    assert QuietHours(time(12, 0), time(13, 0)).contains(NOW.replace(hour=12, minute=30))


def test_cron_rules() -> None:
    monday = Cron.parse("0 7 * * 1")
    assert monday.next_after(NOW) == datetime(2026, 12, 14, 7, 0, tzinfo=TZ)
    assert monday.next_after(datetime(2026, 12, 14, 7, 0, tzinfo=TZ)) == datetime(2026, 12, 21, 7, 0, tzinfo=TZ)
    assert monday.next_after(datetime(2026, 12, 14, 7, 0, tzinfo=TZ), inclusive=True) == \
        datetime(2026, 12, 14, 7, 0, tzinfo=TZ)
    assert monday.weekly_day() == (1, time(7, 0))
    assert Cron.weekly(7, time(16, 30)).text == "30 16 * * 0"
    assert Cron.parse("30 16 * * 7").weekly_day() == (7, time(16, 30))
    workdays = Cron.parse("*/30 8-9 * * mon-fri")
    assert workdays.next_after(datetime(2026, 12, 11, 9, 45, tzinfo=TZ)) == datetime(2026, 12, 14, 8, 0, tzinfo=TZ)
    assert workdays.weekly_day() is None
    # day of month OR day of week when both are given (as cron does)
    either = Cron.parse("0 8 1 * 5")
    assert either.next_after(NOW) == datetime(2026, 12, 11, 8, 0, tzinfo=TZ)
    assert Cron.parse("0 8 30 2 *").next_after(NOW) is None  # 30 February never comes
    for bad in ("0 7 * *", "60 7 * * 1", "0 7 * * 8", "a b c d e", "0 7 */0 * *", "5-1 7 * * *"):
        with pytest.raises(ScheduleError):
            Cron.parse(bad)


def test_visible_length_and_front_matter() -> None:
    assert visible_length("<b>Họp</b> &amp; bàn") == len("Họp & bàn")
    assert visible_length("🙂") == 2  # Telegram counts UTF-16 units
    assert strip_front_matter("+++\nid = \"x\"\n+++\nBody **here**\n") == "Body **here**\n"
    assert strip_front_matter("no front matter") == "no front matter"


@pytest.fixture
async def service(tmp_path: Path) -> Campaigns:
    content = load_content(ROOT / "content")
    db = await Database(tmp_path / "s.sqlite3").open()
    catalogs = Catalogs.load(ROOT / "content" / "locales")
    svc = Campaigns(db, content, catalogs, Staff(db), 25.0, clock=lambda: NOW)
    yield svc  # type: ignore[misc]
    await db.close()


async def test_create_checks_text_audience_and_time(service: Campaigns) -> None:
    with pytest.raises(CampaignError, match="empty"):
        await service.create("   ", at=None)
    with pytest.raises(CampaignError, match="4096"):
        await service.create("chữ " * 1100, at=None)
    with pytest.raises(CampaignError, match="1024"):
        await service.create("chữ " * 300, at=None, photo="AgAC-file")
    with pytest.raises(CampaignError, match="No village"):
        await service.create("Họp thôn", at=None, audience="village:khong-co")
    with pytest.raises(CampaignError, match="all, village"):
        await service.create("Họp thôn", at=None, audience="everyone")
    with pytest.raises(ScheduleError, match="already passed"):
        await service.create("Họp thôn", at=NOW.replace(hour=8))
    with pytest.raises(ScheduleError, match="quiet hours") as refused:
        await service.create("Họp thôn", at=NOW.replace(hour=22))
    assert refused.value.suggestion_at == datetime(2026, 12, 11, 6, 30, tzinfo=TZ)
    assert "Thứ Sáu, 11/12/2026 06:30" in str(refused.value)
    with pytest.raises(ScheduleError, match="repeat time 22:00 is in the quiet hours"):
        await service.create("Họp thôn", at=None, repeat="0 22 * * 1")
    # HTML typed by the editor is text, not markup; the mini-format is rendered
    campaign_id = await service.create("**Họp** <script>", at=None, audience="topic:lua-dao")
    campaign = await service.get(campaign_id)
    assert campaign is not None
    assert campaign.html == "<b>Họp</b> &lt;script&gt;"
    assert campaign.audience == "topic:lua-dao" and campaign.first_at == NOW.timestamp()
    weekly = await service.create("Họp", at=None, repeat="0 7 * * 1", audience="village:thon-3")
    row = await service.get(weekly)
    assert row is not None and row.next_at == datetime(2026, 12, 14, 7, 0, tzinfo=TZ).timestamp()
    assert Audience.parse(row.audience, service.content.commune) == Audience("village", "thon-3")


async def test_templates_render_commune_values(service: Campaigns) -> None:
    template = service.template("kich-hoat-vneid")
    assert template is not None
    html = service.check_text(template.body)
    assert "{{" not in html and "<b>" in html and "1900 0368" in html
    assert "chưa cập nhật" in html  # police_address is not known yet in commune.toml
