"""Telegram's rate limits, as the bot needs them: our own `BaseRateLimiter` (PTB's public interface only).

- Overall: at most `overall_max_rate` requests a second to chats (replies and broadcasts together); requests
  without a chat (getUpdates, getMe…) are not limited.
- Groups: at most `group_per_minute` messages in any 60 seconds per group chat — a sliding window, so a burst
  cannot double it the way a leaky bucket's full bucket plus its refill would (Telegram allows about 20).
- Flood control: a 429 for one chat pauses that chat only (its retry_after), so a 429 on the officers' group
  does not delay an unrelated resident's answer; a 429 on a broadcast send (`rate_limit_args={"bulk": True}`)
  also pauses the other broadcast sends, never the replies; a 429 without a chat pauses everything.
- `rate_limit_args`: None (the default retries), an int (that many retries), or a dict
  `{"max_retries": n, "bulk": bool}`; 0 retries means one attempt, the 429 reaching the caller.

Why not a subclass of PTB's AIORateLimiter: its per-chat behaviour (every 429 pauses every request) is what
had to change, and its internals (`_run_request`, `_retry_after_event`) are private and may change.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

Result = bool | dict[str, Any] | list[dict[str, Any]]
ChatKey = int | str


def retry_seconds(exc: RetryAfter) -> float:
    value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _chat_key(chat_id: object) -> ChatKey | None:
    if chat_id is None:
        return None
    if isinstance(chat_id, int):
        return chat_id
    text = str(chat_id)
    return int(text) if text.lstrip("-").isdigit() else text


def _is_group(key: ChatKey) -> bool:
    return isinstance(key, str) or key < 0


class RateLimiter(BaseRateLimiter[Any]):
    def __init__(self, overall_max_rate: float = 30.0, group_per_minute: int = 20, max_retries: int = 2,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.overall = AsyncLimiter(overall_max_rate, 1)
        self.group_per_minute = group_per_minute
        self.max_retries = max_retries
        self.clock = clock
        self._windows: dict[ChatKey, deque[float]] = {}
        self._window_locks: dict[ChatKey, asyncio.Lock] = {}
        self._chat_paused: dict[ChatKey, float] = {}
        self._bulk_paused = 0.0
        self._all_paused = 0.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    # --- pauses ------------------------------------------------------------------------------------

    def _pause_left(self, key: ChatKey | None, bulk: bool) -> float:
        now = self.clock()
        until = self._all_paused
        if key is not None:
            until = max(until, self._chat_paused.get(key, 0.0))
        if bulk:
            until = max(until, self._bulk_paused)
        return until - now

    async def _wait_pauses(self, key: ChatKey | None, bulk: bool) -> None:
        while (left := self._pause_left(key, bulk)) > 0:  # noqa: ASYNC110 - a pause may grow meanwhile
            await asyncio.sleep(left)
        if key is not None and self._chat_paused.get(key, 1e18) <= self.clock():
            del self._chat_paused[key]

    def _pause(self, key: ChatKey | None, bulk: bool, seconds: float) -> None:
        until = self.clock() + seconds + 0.1
        if key is None:
            self._all_paused = max(self._all_paused, until)
        else:
            self._chat_paused[key] = max(self._chat_paused.get(key, 0.0), until)
        if bulk:
            self._bulk_paused = max(self._bulk_paused, until)

    # --- the group window --------------------------------------------------------------------------

    async def _group_slot(self, key: ChatKey) -> None:
        lock = self._window_locks.setdefault(key, asyncio.Lock())
        async with lock:
            window = self._windows.setdefault(key, deque())
            while True:
                now = self.clock()
                while window and now - window[0] >= 60.0:
                    window.popleft()
                if len(window) < self.group_per_minute:
                    window.append(now)
                    return
                await asyncio.sleep(60.0 - (now - window[0]) + 0.01)

    # --- requests ----------------------------------------------------------------------------------

    async def admit(self, bulk: bool = True) -> None:
        """A slot for a request sent around PTB (a broadcast text to a private chat): waits out the bulk
        pause, then takes one slot of the overall limit."""
        await self._wait_pauses(None, bulk)
        await self.overall.acquire()

    def pause_bulk(self, seconds: float) -> None:
        """A 429 met around PTB (the broadcast fast path): broadcast sends wait, replies do not."""
        self._bulk_paused = max(self._bulk_paused, self.clock() + seconds + 0.1)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Any,
    ) -> Result:
        retries, bulk = self.max_retries, False
        if isinstance(rate_limit_args, dict):
            retries = int(rate_limit_args.get("max_retries", self.max_retries))
            bulk = bool(rate_limit_args.get("bulk", False))
        elif isinstance(rate_limit_args, int):
            retries = rate_limit_args
        key = _chat_key(data.get("chat_id"))
        for attempt in range(retries + 1):
            await self._wait_pauses(key, bulk)
            try:
                if key is None:
                    return await callback(*args, **kwargs)
                if _is_group(key) and endpoint.startswith("send"):
                    await self._group_slot(key)
                async with self.overall:
                    return await callback(*args, **kwargs)
            except RetryAfter as exc:
                seconds = retry_seconds(exc)
                self._pause(key, bulk, seconds)
                if attempt >= retries:
                    raise
                log.info("flood control on %s: retrying after %.1f s", "a chat" if key is not None else "the bot",
                         seconds)
        raise AssertionError("unreachable")  # the last attempt returns or raises
