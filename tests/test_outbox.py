"""The outbox: a notice to a resident survives temporary errors and restarts, exactly once, in order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest_asyncio

from bot.dialogue.core import Blocked, Channels, TryLater
from bot.dialogue.model import Address, Capabilities, Out, Sent
from bot.dialogue.outbox import Outbox
from bot.dialogue.render import Rendered
from bot.i18n import Catalogs
from bot.menu import menu_rows
from storage.db import Database

ROOT = Path(__file__).resolve().parent.parent
CAPS = Capabilities(channel="flaky", buttons=False, edits=False, text_limit=2000, markup="plain",
                    contact_button=False, files=False)


@dataclass
class Flaky:
    """A channel that fails as told: `fail` is consumed one error per send."""

    caps: Capabilities = CAPS
    fail: list[Exception] = field(default_factory=list)
    delivered: list[tuple[str, str]] = field(default_factory=list)

    async def send(self, chat: str, message: Rendered, out: Out) -> Sent:
        if self.fail:
            raise self.fail.pop(0)
        self.delivered.append((chat, message.parts[0]))
        return Sent(str(len(self.delivered)))

    async def edit(self, chat: str, message_id: str, message: Rendered, out: Out) -> bool:
        return False


class Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest_asyncio.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[Outbox, Flaky, Clock, Database]]:
    db = await Database(tmp_path / "o.sqlite3").open()
    catalogs = Catalogs.load(ROOT / "content" / "locales")
    channels = Channels(catalogs.gettext, menu_rows)
    port = Flaky()
    channels.add(port)
    clock = Clock()
    yield Outbox(db, channels, clock), port, clock, db
    await db.close()


async def test_temporary_errors_delay_a_notice_but_never_drop_it(setup: tuple[Outbox, Flaky, Clock, Database]) -> None:
    outbox, port, clock, _db = setup
    port.fail = [TryLater("502 Bad Gateway"), TryLater("timed out")]
    to = Address("flaky", "lan")
    first = await outbox.send(to, Out("Cán bộ đã nhận HT-0001"), "vi", person=1, purpose="request:1")
    assert first.status == "pending" and port.delivered == []
    # Sent later, exactly once, when the backoff allows.
    assert await outbox.deliver_due() == 0  # not due yet
    clock.t += 1.5
    await outbox.deliver_due()
    clock.t += 2.5
    await outbox.deliver_due()
    await outbox.deliver_due()
    assert port.delivered == [("lan", "Cán bộ đã nhận HT-0001")]
    assert [d.status for d in await outbox.statuses("request:1")] == ["sent"]


async def test_a_newer_notice_does_not_overtake_an_older_one(setup: tuple[Outbox, Flaky, Clock, Database]) -> None:
    outbox, port, clock, _db = setup
    port.fail = [TryLater("429", retry_after=3)]
    to = Address("flaky", "lan")
    await outbox.send(to, Out("1 claimed"), "vi", purpose="request:1")
    second = await outbox.send(to, Out("2 appointment"), "vi", purpose="request:1")
    assert second.status == "pending" and port.delivered == []
    clock.t += 3.1
    await outbox.deliver_due()
    assert [text for _chat, text in port.delivered] == ["1 claimed", "2 appointment"]


async def test_blocked_is_marked_and_never_retried(setup: tuple[Outbox, Flaky, Clock, Database]) -> None:
    outbox, port, clock, _db = setup
    port.fail = [Blocked("Forbidden: bot was blocked by the user")]
    result = await outbox.send(Address("flaky", "binh"), Out("Xong"), "vi", purpose="request:2")
    assert result.status == "blocked"
    clock.t += 3600
    assert await outbox.deliver_due() == 0 and port.delivered == []


async def test_after_a_crash_letters_in_flight_are_sent_again(setup: tuple[Outbox, Flaky, Clock, Database]) -> None:
    outbox, port, _clock, db = setup
    # A process stopped between storing and settling: the row is still 'sending'.
    await outbox.store.add(3, "flaky", "hoa", "vi", '{"text": "Lịch hẹn 8:00", "buttons": [], "menu": false}',
                           "request:3")
    assert await outbox.deliver_due() == 0
    assert await outbox.recover() == 1
    await outbox.deliver_due()
    assert port.delivered == [("hoa", "Lịch hẹn 8:00")]
    assert await db.fetchval("SELECT status FROM outbox") == "sent"


async def test_a_day_of_failures_ends_as_failed(setup: tuple[Outbox, Flaky, Clock, Database]) -> None:
    outbox, port, clock, _db = setup
    port.fail = [TryLater("down")] * 1000
    await outbox.send(Address("flaky", "lan"), Out("x"), "vi", purpose="request:4")
    for _ in range(400):
        clock.t += 300
        await outbox.deliver_due()
    assert [d.status for d in await outbox.statuses("request:4")] == ["failed"]
