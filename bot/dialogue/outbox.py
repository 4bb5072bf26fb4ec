"""Notices to people who are not the one acting go through a persistent outbox (issue 14 item 3).

An officer's "claimed", appointment, message and "done", reminders, a dropped form: each is stored first,
then sent at once; a temporary error (429, 5xx, network, timeout) leaves it pending and a job retries it
with backoff (1 s, 2 s, 4 s … at most 5 minutes apart) until it is delivered or a day has passed; a blocked
chat is marked and never retried. A restart or an outage delays a notice, never drops it: letters found
in flight at start-up are sent again (the only case where one may arrive twice). Letters to one chat keep
their order: a new one does not overtake an older one still waiting.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.dialogue.core import Blocked, Channels, DeliveryError, TryLater
from bot.dialogue.model import Address, Button, Out
from storage.db import Database
from storage.outbox import Letter, OutboxStore, waiting_before

log = logging.getLogger(__name__)

MAX_GAP = 300.0          # seconds between two tries, at most
BUDGET = 24 * 3600.0     # a letter not delivered within a day is failed (and shown so)
SWEEP_SECONDS = 5.0
BATCH = 50


def encode(out: Out) -> str:
    return json.dumps({"text": out.text, "buttons": [[[b.label, b.data] for b in row] for row in out.buttons],
                       "menu": out.menu}, ensure_ascii=False)


def decode(raw: str) -> Out:
    data = json.loads(raw)
    buttons = tuple(tuple(Button(str(label), str(value)) for label, value in row) for row in data.get("buttons", []))
    return Out(str(data.get("text", "")), buttons, menu=bool(data.get("menu", False)))


@dataclass(frozen=True)
class Delivery:
    """How a letter stands: sent | pending | blocked | failed (what the officer is shown)."""

    letter_id: int
    status: str
    error: str | None = None


class Outbox:
    def __init__(self, db: Database, channels: Channels, clock: Callable[[], float] = time.time) -> None:
        self.store = OutboxStore(db)
        self.db = db
        self.channels = channels
        self.clock = clock

    async def send(self, address: Address, out: Out, language: str, *, person: int | None = None,
                   purpose: str | None = None) -> Delivery:
        """Store the letter, then try to deliver it now."""
        letter_id = await self.store.add(person, address.channel, address.chat, language, encode(out), purpose,
                                         self.clock())
        if await waiting_before(self.db, address.channel, address.chat, letter_id):
            await self.store.settle(letter_id, "pending", 0, None, self.clock())
            return Delivery(letter_id, "pending")
        letter = await self.store.get(letter_id)
        assert letter is not None
        return await self._deliver(letter)

    async def deliver_due(self) -> int:
        """Send what is due (the job calls this); returns how many were tried."""
        letters = await self.store.claim_due(BATCH, self.clock())
        blocked_chats: set[tuple[str, str]] = set()
        for letter in letters:
            key = (letter.channel, letter.chat_id)
            if key in blocked_chats:  # keep the order of one chat: an earlier one is waiting again
                await self.store.settle(letter.id, "pending", letter.tries, letter.error, letter.next_at)
                continue
            result = await self._deliver(letter)
            if result.status == "pending":
                blocked_chats.add(key)
        return len(letters)

    async def _deliver(self, letter: Letter) -> Delivery:
        tries = letter.tries + 1
        try:
            await self.channels.send(Address(letter.channel, letter.chat_id), decode(letter.message), letter.language)
        except Blocked as exc:
            await self.store.settle(letter.id, "blocked", tries, str(exc)[:300])
            log.info("letter %d: the person blocked the bot", letter.id)
            return Delivery(letter.id, "blocked", str(exc)[:300])
        except TryLater as exc:
            return await self._later(letter, tries, str(exc)[:300], exc.retry_after)
        except DeliveryError as exc:
            await self.store.settle(letter.id, "failed", tries, str(exc)[:300])
            log.warning("letter %d refused: %s", letter.id, exc)
            return Delivery(letter.id, "failed", str(exc)[:300])
        except Exception as exc:
            log.exception("letter %d: unexpected error while sending", letter.id)
            return await self._later(letter, tries, f"{type(exc).__name__}", 0.0)
        await self.store.settle(letter.id, "sent", tries)
        return Delivery(letter.id, "sent")

    async def _later(self, letter: Letter, tries: int, error: str, retry_after: float) -> Delivery:
        now = self.clock()
        if now - letter.created_at > BUDGET:
            await self.store.settle(letter.id, "failed", tries, error)
            log.warning("letter %d not delivered within a day: %s", letter.id, error)
            return Delivery(letter.id, "failed", error)
        gap = max(retry_after, min(MAX_GAP, 2.0 ** (tries - 1)))
        await self.store.settle(letter.id, "pending", tries, error, now + gap)
        log.info("letter %d not delivered yet (try %d, again in %.0f s): %s", letter.id, tries, gap, error)
        return Delivery(letter.id, "pending", error)

    async def statuses(self, purpose: str) -> list[Delivery]:
        return [Delivery(letter.id, letter.status, letter.error) for letter in await self.store.by_purpose(purpose)]

    async def recover(self) -> int:
        return await self.store.recover()
