"""The Telegram rate limiter: a 429 for one chat pauses that chat only; groups get ≤ 20 messages a minute."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import RetryAfter

from handlers.telegram import ratelimit
from handlers.telegram.ratelimit import RateLimiter


class VirtualTime:
    """A clock that moves only when someone sleeps (so a minute of Telegram time takes no real time)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._real_sleep = asyncio.sleep

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await self._real_sleep(0)


@pytest.fixture
def vt(monkeypatch: pytest.MonkeyPatch) -> VirtualTime:
    vt = VirtualTime()
    monkeypatch.setattr(ratelimit.asyncio, "sleep", vt.sleep)
    return vt


async def call(limiter: RateLimiter, chat: Any, outcome: list[Any], endpoint: str = "sendMessage",
               args: Any = None) -> Any:
    async def callback() -> Any:
        if outcome:
            raise outcome.pop(0)
        return {"ok": True}

    return await limiter.process_request(callback, (), {}, endpoint, {"chat_id": chat}, args)


async def test_a_429_for_the_group_does_not_delay_a_resident(vt: VirtualTime) -> None:
    limiter = RateLimiter(overall_max_rate=1000, clock=vt.clock)
    flood = [RetryAfter(timedelta(seconds=15))]
    group = asyncio.create_task(call(limiter, -1001234, flood))
    await asyncio.sleep(0)  # the group's send meets the 429 and pauses that chat
    started = vt.now
    assert await call(limiter, 555, []) == {"ok": True}
    assert vt.now - started < 1  # the resident's reply did not wait for the group's 15 s
    assert await group == {"ok": True}  # and the group's message went after its pause


async def test_the_group_chat_itself_waits_out_its_429(vt: VirtualTime) -> None:
    limiter = RateLimiter(overall_max_rate=1000, clock=vt.clock)
    started = vt.now
    await call(limiter, -1001234, [RetryAfter(timedelta(seconds=15))])
    assert vt.now - started >= 15


async def test_at_most_20_messages_a_minute_in_a_group(vt: VirtualTime) -> None:
    limiter = RateLimiter(overall_max_rate=1000, clock=vt.clock)
    sent_at: list[float] = []
    for _ in range(45):
        await call(limiter, -1001234, [])
        sent_at.append(vt.now)
    for i, at in enumerate(sent_at):
        in_window = [t for t in sent_at if at <= t < at + 60]
        assert len(in_window) <= 20, (i, len(in_window))
    assert sent_at[-1] - sent_at[0] < 130  # and no slower than that


async def test_no_retry_lets_the_429_reach_the_caller_and_pauses_bulk_only(vt: VirtualTime) -> None:
    limiter = RateLimiter(overall_max_rate=1000, clock=vt.clock)
    with pytest.raises(RetryAfter):
        await call(limiter, 777, [RetryAfter(timedelta(seconds=5))], args={"max_retries": 0, "bulk": True})
    started = vt.now
    await call(limiter, 888, [])  # a reply to someone else: not paused
    assert vt.now - started < 1
    await call(limiter, 999, [], args={"max_retries": 0, "bulk": True})  # another broadcast send waits
    assert vt.now - started >= 5
