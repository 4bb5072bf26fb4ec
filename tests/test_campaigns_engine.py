"""The delivery engine without a channel: a fake port, a controllable clock, a real SQLite database."""

from __future__ import annotations

import asyncio
import time as walltime
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.campaigns.engine import (
    Blocked,
    Broadcast,
    EngineConfig,
    MaybeSent,
    Pacer,
    RetryLater,
    SendFailed,
    Unavailable,
    window_for,
)
from bot.campaigns.service import Campaigns
from bot.content import load_content
from bot.i18n import Catalogs
from storage.campaigns import Recipient, forget_subscriber, subscription_summary
from storage.db import Database
from storage.identities import Identities
from storage.staff import Staff

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class Clock:
    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at


@dataclass
class FakePort:
    """Records deliveries; `faults[chat]` is a list of exceptions raised by the next sends to that chat."""

    delivered: list[int] = field(default_factory=list)
    faults: dict[int, list[Exception]] = field(default_factory=dict)
    notes: list[tuple[int, str]] = field(default_factory=list)
    edits: list[tuple[int, int, str]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    delay: float = 0.0
    hook: object = None

    async def deliver(self, recipient: Recipient, message: Broadcast) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        chat = int(recipient.chat_id)  # chat ids are text in the database; the tests count in integers
        pending = self.faults.get(chat)
        if pending:
            raise pending.pop(0)
        self.delivered.append(chat)
        self.times.append(walltime.monotonic())
        if callable(self.hook):
            await self.hook(recipient)  # type: ignore[misc]

    async def notify(self, chat_id: int, html: str) -> int | None:
        self.notes.append((chat_id, html))
        return len(self.notes)

    async def edit(self, chat_id: int, message_id: int, html: str) -> None:
        self.edits.append((chat_id, message_id, html))


EDITOR = 900


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[Campaigns, FakePort, Clock]]:
    content = load_content(ROOT / "content")
    db = await Database(tmp_path / "e.sqlite3").open()
    staff = Staff(db)
    await staff.add(await Identities(db).ensure("telegram", str(EDITOR)), "editor", "test")
    clock = Clock(datetime(2026, 12, 10, 9, 0, tzinfo=TZ))
    service = Campaigns(db, content, Catalogs.load(ROOT / "content" / "locales"), staff, 2000.0, clock=clock)
    service.engine.config.backoff = 0.01
    port = FakePort()
    await service.engine.attach(port)
    yield service, port, clock
    await service.engine.stop()
    await db.close()


async def add_subscribers(service: Campaigns, n: int, start: int = 1) -> list[int]:
    ids = list(range(start, start + n))
    villages = [v.id for v in service.content.commune.villages]
    await service.subscriptions.add_many(
        [(i, i, "vi", villages[i % len(villages)]) for i in ids],
        topics={i: ["lua-dao"] for i in ids if i % 3 == 0})
    return ids


async def person(service: Campaigns, chat: int) -> int:
    """The person behind a subscriber's Telegram chat (person ids and chat ids differ)."""
    found = await Identities(service.store.db).get("telegram", str(chat))
    assert found is not None
    return found.person_id


async def run_all(service: Campaigns) -> None:
    await service.engine.tick()
    await service.engine.idle()


async def test_everyone_once_in_order_with_reports(world: tuple[Campaigns, FakePort, Clock]) -> None:
    service, port, _ = world
    ids = await add_subscribers(service, 250)
    campaign_id = await service.create("Họp **thôn**", at=None, notify_chat_id=EDITOR)
    await run_all(service)
    assert port.delivered == ids  # each once, in recipient order
    report = await service.report(campaign_id)
    assert report is not None
    assert report.to_json() == {"id": campaign_id, "status": "done", "recipients": 250, "sent": 250,
                                "failed": 0, "blocked": 0, "pending": 0}
    assert [chat for chat, _ in port.notes] == [str(EDITOR)] * 2  # the progress message, then the summary
    assert "Đã gửi 250/250 — 0 chặn bot — 0 lỗi" in port.edits[-1][2]  # the report, edited to its end
    assert "đã gửi xong" in port.notes[-1][1] and "250/250" not in port.notes[-1][1]  # not repeated


async def test_audience_by_village_and_topic(world: tuple[Campaigns, FakePort, Clock]) -> None:
    service, port, _ = world
    ids = await add_subscribers(service, 240)
    village = service.content.commune.villages[2].id
    await service.create("Thôn", at=None, audience=f"village:{village}")
    await run_all(service)
    villages = [v.id for v in service.content.commune.villages]
    assert sorted(port.delivered) == [i for i in ids if villages[i % len(villages)] == village]
    port.delivered.clear()
    six = await person(service, 6)  # 6 chose lua-dao and now dinh-danh too
    await service.subscriptions.toggle_topic(six, "dinh-danh")
    await service.create("Lừa đảo", at=None, audience="topic:dinh-danh")
    await run_all(service)
    # who chose no topic gets every topic; who chose topics gets only those
    assert sorted(port.delivered) == sorted([i for i in ids if i % 3 != 0] + [6])


async def test_unsubscribed_and_blocked_are_excluded(world: tuple[Campaigns, FakePort, Clock]) -> None:
    service, port, _ = world
    ids = await add_subscribers(service, 30)
    await service.subscriptions.unsubscribe(await person(service, 3))
    await service.subscriptions.set_blocked(await person(service, 4), True)
    await service.subscriptions.set_blocked(await person(service, 5), True)
    await service.subscriptions.set_blocked(await person(service, 5), False)  # unblocked again: receives
    await service.create("Tin", at=None)
    await run_all(service)
    assert sorted(port.delivered) == [i for i in ids if i not in (3, 4)]


async def test_429_pauses_everyone_and_retries_the_same_recipient(world: tuple[Campaigns, FakePort, Clock]
                                                                   ) -> None:
    service, port, _ = world
    ids = await add_subscribers(service, 120)
    port.faults[40] = [RetryLater(0.5), RetryLater(0.3)]
    campaign_id = await service.create("Tin", at=None)
    started = walltime.monotonic()
    await run_all(service)
    assert sorted(port.delivered) == ids  # nothing skipped, nothing twice
    assert Counter(port.delivered).most_common(1)[0][1] == 1
    assert walltime.monotonic() - started >= 0.8  # both waits were honoured
    assert service.engine.floods == 2
    # while the pause lasted, nobody was sent to
    gaps = [b - a for a, b in zip(port.times, port.times[1:], strict=False)]
    assert max(gaps) >= 0.25
    report = await service.report(campaign_id)
    assert report is not None and (report.sent, report.failed) == (120, 0)


async def test_403_blocks_and_other_errors_retry_then_fail(world: tuple[Campaigns, FakePort, Clock]) -> None:
    service, port, _ = world
    ids = await add_subscribers(service, 50)
    port.faults[7] = [Blocked("Forbidden: bot was blocked by the user")]
    port.faults[8] = [SendFailed("Bad Gateway"), SendFailed("Bad Gateway")]  # third try works
    port.faults[9] = [SendFailed("Bad Request: chat not found")] * 5
    campaign_id = await service.create("Tin", at=None)
    await run_all(service)
    assert sorted(port.delivered) == [i for i in ids if i not in (7, 9)]
    report = await service.report(campaign_id)
    assert report is not None
    assert (report.sent, report.blocked, report.failed, report.pending) == (48, 1, 1, 0)
    sub = await service.subscriptions.get(await person(service, 7))
    assert sub is not None and sub.blocked  # never retried, excluded next time
    row = await service.store.db.fetchone("SELECT tries, error FROM deliveries WHERE person_id = ?",
                                             (await person(service, 9),))
    assert row is not None and row["tries"] == 3 and "chat not found" in row["error"]
    assert "chat not found" in port.notes[-1][1]  # the summary names the first errors
    port.delivered.clear()
    await service.create("Tin 2", at=None)
    await run_all(service)
    assert 7 not in port.delivered and 9 in port.delivered


async def test_quiet_hours_pause_a_long_run_and_resume_at_the_end(world: tuple[Campaigns, FakePort, Clock]
                                                                    ) -> None:
    service, port, clock = world
    ids = await add_subscribers(service, 200)
    clock.set(datetime(2026, 12, 10, 20, 55, tzinfo=TZ))
    campaign_id = await service.create("Tối", at=None, notify_chat_id=EDITOR)

    async def at_hundred(recipient: Recipient) -> None:
        if len(port.delivered) == 100:
            clock.set(datetime(2026, 12, 10, 21, 0, tzinfo=TZ))  # 21:00 strikes in the middle of the run

    port.hook = at_hundred
    await run_all(service)
    assert len(port.delivered) <= 100 + service.engine.config.window
    sent_before = len(port.delivered)
    assert sent_before < 200
    campaign = await service.get(campaign_id)
    assert campaign is not None and campaign.status == "paused"
    assert any("06:30" in text for _, text in port.notes + [(c, t) for c, _, t in port.edits])
    clock.set(datetime(2026, 12, 11, 3, 0, tzinfo=TZ))  # still night: nothing moves
    await run_all(service)
    assert len(port.delivered) == sent_before
    clock.set(datetime(2026, 12, 11, 6, 30, tzinfo=TZ))
    port.hook = None
    await run_all(service)
    assert sorted(port.delivered) == ids
    report = await service.report(campaign_id)
    assert report is not None and (report.status, report.sent) == ("done", 200)


async def test_weekly_repeat_runs_every_week(world: tuple[Campaigns, FakePort, Clock]) -> None:
    service, port, clock = world
    await add_subscribers(service, 10)
    campaign_id = await service.create("Thứ Hai", at=None, repeat="0 7 * * 1")  # Thursday now
    await run_all(service)
    assert port.delivered == []
    for week in range(3):
        monday = datetime(2026, 12, 14, 7, 0, tzinfo=TZ) + timedelta(weeks=week)
        clock.set(monday - timedelta(minutes=1))
        await run_all(service)
        assert len(port.delivered) == 10 * week
        clock.set(monday + timedelta(seconds=3))
        await run_all(service)
        assert len(port.delivered) == 10 * (week + 1)
    runs = await service.store.runs(campaign_id)
    assert [r.status for r in runs] == ["done"] * 3
    campaign = await service.get(campaign_id)
    assert campaign is not None and campaign.status == "scheduled"
    assert campaign.next_at == datetime(2027, 1, 4, 7, 0, tzinfo=TZ).timestamp()
    assert await service.cancel(campaign_id, "test")
    clock.set(datetime(2027, 1, 4, 7, 1, tzinfo=TZ))
    await run_all(service)
    assert len(port.delivered) == 30


async def test_missed_run_is_sent_when_under_an_hour_late_else_reported(world: tuple[Campaigns, FakePort, Clock]
                                                                        ) -> None:
    service, port, clock = world
    await add_subscribers(service, 5)
    soon = await service.create("A", at=datetime(2026, 12, 10, 10, 0, tzinfo=TZ), notify_chat_id=EDITOR)
    late = await service.create("B", at=datetime(2026, 12, 10, 11, 0, tzinfo=TZ))  # from the command line
    weekly = await service.create("C", at=None, repeat="0 10 * * 4", notify_chat_id=EDITOR)  # Thursdays 10:00
    # the bot was down from 09:30 to 11:50: "A" is 110 minutes late, "B" 50 minutes, weekly "C" 110 minutes
    clock.set(datetime(2026, 12, 10, 11, 50, tzinfo=TZ))
    await run_all(service)
    assert port.delivered == [1, 2, 3, 4, 5]  # only B
    statuses = {c: (await service.get(c)).status for c in (soon, late, weekly)}  # type: ignore[union-attr]
    assert statuses == {soon: "missed", late: "done", weekly: "scheduled"}
    missed_notes = [text for chat, text in port.notes if "trễ quá 1 giờ" in text]
    assert len(missed_notes) == 2 and all("10:00" in t for t in missed_notes)
    weekly_row = await service.get(weekly)
    assert weekly_row is not None and weekly_row.next_at == datetime(2026, 12, 17, 10, 0, tzinfo=TZ).timestamp()
    report = await service.report(soon)
    assert report is not None and report.to_json()["status"] == "missed"


async def test_crash_mid_run_resumes_with_the_first_undelivered(tmp_path: Path) -> None:
    """A process that dies with rows claimed: the next start sends every row not marked sent."""
    content = load_content(ROOT / "content")
    catalogs = Catalogs.load(ROOT / "content" / "locales")
    clock = Clock(datetime(2026, 12, 10, 9, 0, tzinfo=TZ))
    db = await Database(tmp_path / "c.sqlite3").open()
    first = Campaigns(db, content, catalogs, Staff(db), 1000.0, clock=clock)
    ids = await add_subscribers(first, 300)
    port = FakePort()
    stop_at = asyncio.Event()

    async def die_at_120(recipient: Recipient) -> None:
        if len(port.delivered) >= 120:
            stop_at.set()
            await asyncio.sleep(3600)  # hangs like a process frozen before the kill

    port.hook = die_at_120
    await first.engine.attach(port)
    await first.create("Tin", at=None)
    await first.engine.tick()
    await asyncio.wait_for(stop_at.wait(), 5)
    for task in list(first.engine._workers.values()):  # the kill: nothing gets to write its outcome
        task.cancel()
    await asyncio.sleep(0.05)
    await db.close()
    before = list(port.delivered)

    db = await Database(tmp_path / "c.sqlite3").open()
    second = Campaigns(db, content, catalogs, Staff(db), 1000.0, clock=clock)
    port2 = FakePort()
    recovered = await second.engine.attach(port2)
    assert 0 < recovered <= second.engine.config.window * 2
    await run_all(second)
    received = Counter(before + port2.delivered)
    assert set(received) == set(ids)  # everyone got it
    duplicates = sum(n - 1 for n in received.values())
    assert duplicates <= second.engine.config.window
    assert port2.delivered[0] == min(port2.delivered)  # resumed in order from the first not marked sent
    await db.close()


async def test_pacer_holds_the_rate() -> None:
    pacer = Pacer(200.0)
    started = walltime.monotonic()
    for _ in range(100):
        await pacer.acquire()
    elapsed = walltime.monotonic() - started
    assert 0.45 <= elapsed <= 1.5  # 100 slots at 200/s ≈ 0.5 s (a small catch-up burst; slower when busy)
    assert window_for(25) == 10 and window_for(1000) == 100 and EngineConfig(rate=25).window == 10


async def test_subscription_summary_and_forget(world: tuple[Campaigns, FakePort, Clock]) -> None:
    service, _port, _ = world
    sub = await service.subscriptions.subscribe(77, 77, "vi")
    await service.subscriptions.set_village(77, "thon-2")
    await service.subscriptions.toggle_topic(77, "lua-dao")
    await service.create("Tin", at=None)
    await run_all(service)
    summary = await subscription_summary(service.store.db, 77)
    assert summary is not None
    assert (summary["active"], summary["village"], summary["topics"], summary["deliveries"]) == \
        (True, "thon-2", ["lua-dao"], 1)
    assert summary["consented_at"] == sub.consented_at
    await forget_subscriber(service.store.db, 77)
    assert await subscription_summary(service.store.db, 77) is None
    assert await service.store.db.fetchval("SELECT COUNT(*) FROM deliveries WHERE person_id = 77") == 0
    assert await service.store.db.fetchval("SELECT COUNT(*) FROM subscription_topics WHERE person_id = 77") == 0


async def test_a_clean_stop_during_a_long_flood_pause_loses_and_repeats_nothing(
        world: tuple[Campaigns, FakePort, Clock]) -> None:
    service, port, _ = world
    ids = await add_subscribers(service, 60)
    port.faults[30] = [RetryLater(60)]  # Telegram asks for a minute of silence
    campaign_id = await service.create("Tin", at=None)
    await service.engine.tick()
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0.3)
    assert service.engine.pacer.paused
    started = loop.time()
    await service.engine.stop()  # SIGTERM: must not wait the minute out
    assert loop.time() - started < 2
    sent_before = list(port.delivered)
    assert 30 not in sent_before
    row = await service.store.db.fetchone("SELECT status FROM deliveries WHERE person_id = ?",
                                             (await person(service, 30),))
    assert row is not None and row["status"] == "pending"  # back in the queue, not lost
    service.engine.pacer = Pacer(2000.0)  # the next process starts without the old pause
    await service.engine.attach(port)
    await run_all(service)
    assert sorted(port.delivered) == ids and len(port.delivered) == len(set(port.delivered))
    report = await service.report(campaign_id)
    assert report is not None and (report.status, report.sent) == ("done", 60)


async def test_cancel_in_the_middle_stops_before_the_next_message(world: tuple[Campaigns, FakePort, Clock]
                                                                  ) -> None:
    service, port, _ = world
    await add_subscribers(service, 300)
    campaign_id = await service.create("Tin", at=None, notify_chat_id=EDITOR)

    async def cancel_at_fifty(recipient: Recipient) -> None:
        if len(port.delivered) == 50:
            assert await service.cancel(campaign_id, "tg:900")

    port.hook = cancel_at_fifty
    await run_all(service)
    assert 50 <= len(port.delivered) <= 50 + service.engine.in_flight_limit()
    report = await service.report(campaign_id)
    assert report is not None
    assert (report.status, report.sent, report.pending) == ("cancelled", len(port.delivered), 0)
    left = await service.store.db.fetchval(
        "SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'sending')")
    assert left == 0
    assert "đã bị hủy" in port.notes[-1][1]
    assert not await service.cancel(campaign_id, "tg:900")  # only once


async def test_who_received_old_runs_is_forgotten(world: tuple[Campaigns, FakePort, Clock]) -> None:
    service, _port, clock = world
    await add_subscribers(service, 5)
    campaign_id = await service.create("Tin", at=None)
    await run_all(service)
    db = service.store.db
    assert await db.fetchval("SELECT COUNT(*) FROM deliveries") == 5
    await db.execute("UPDATE campaign_runs SET finished_at = finished_at - 200 * 86400")
    clock.set(clock() + timedelta(hours=2))  # the hourly clean-up comes round
    await service.engine.tick()
    assert await db.fetchval("SELECT COUNT(*) FROM deliveries") == 0
    report = await service.report(campaign_id)
    assert report is not None and (report.sent, report.recipients) == (5, 5)  # the figures stay


async def test_a_database_locked_by_another_process_mid_run_loses_and_repeats_nothing(
        world: tuple[Campaigns, FakePort, Clock], tmp_path: Path) -> None:
    """Issue 14 item 5: another process holds a write transaction longer than the busy timeout."""
    import sqlite3
    import threading

    service, port, _ = world
    db = service.store.db
    await db.execute("PRAGMA busy_timeout=100")  # what 10 s is in production, shortened for the test
    ids = await add_subscribers(service, 80)
    port.delay = 0.005
    locked = threading.Event()

    def hold_lock() -> None:
        other = sqlite3.connect(tmp_path / "e.sqlite3", timeout=5)
        other.execute("BEGIN IMMEDIATE")
        locked.set()
        walltime.sleep(1.5)  # 15 × the busy timeout
        other.rollback()
        other.close()

    async def lock_when_started(recipient: Recipient) -> None:
        if len(port.delivered) == 15 and not locked.is_set():
            threading.Thread(target=hold_lock, daemon=True).start()

    port.hook = lock_when_started
    campaign_id = await service.create("Tin", at=None)
    await service.engine.tick()
    for _ in range(200):
        await asyncio.sleep(0.05)
        await service.engine.tick()
        report = await service.report(campaign_id)
        if report is not None and report.status == "done":
            break
    assert locked.is_set()
    assert sorted(port.delivered) == ids  # everyone, once
    report = await service.report(campaign_id)
    assert report is not None and (report.status, report.sent, report.pending) == ("done", 80, 0)


async def test_a_send_that_may_have_arrived_is_retried_once_never_blindly_again(
        world: tuple[Campaigns, FakePort, Clock]) -> None:
    service, port, _ = world
    ids = await add_subscribers(service, 10)
    port.faults[3] = [MaybeSent("ReadTimeout")]  # the retry gets through: one copy counted
    port.faults[5] = [MaybeSent("ReadTimeout"), MaybeSent("ReadTimeout"), MaybeSent("ReadTimeout")]
    port.faults[7] = [Unavailable("Bad Gateway")] * 6  # more than max_tries: still retried (within budget)
    campaign_id = await service.create("Tin", at=None)
    await run_all(service)
    assert sorted(port.delivered) == [i for i in ids if i != 5]
    assert port.faults[5] == [MaybeSent("ReadTimeout")] or len(port.faults[5]) == 1  # tried twice, not three times
    report = await service.report(campaign_id)
    assert report is not None and (report.sent, report.failed) == (9, 1)
    row = await service.store.db.fetchone("SELECT error FROM deliveries WHERE person_id = ?",
                                          (await person(service, 5),))
    assert row is not None and "may have arrived" in row["error"]
