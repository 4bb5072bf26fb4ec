"""Timed work of the core (sweeps, campaign ticks, reports), channel-free: plain asyncio tasks.

Every job reads its state from the database when it runs, so nothing is lost on a restart; the schedule is
rebuilt by starting the jobs again. (PTB's JobQueue is Telegram's; the core must run with Zalo alone too.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, time, timedelta
from typing import Any

from bot.i18n import TZ

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]


class Jobs:
    """Background tasks and repeating jobs; `stop()` cancels them all."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()
        self.running = True

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str = "job") -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    def every(self, seconds: float, job: Job, *, first: float = 0.0, name: str = "job") -> asyncio.Task[Any]:
        """Run `job` every `seconds` (after `first`); a failing run is logged and the next one still runs."""

        async def loop() -> None:
            await asyncio.sleep(first)
            while self.running:
                await self._run(job, name)
                await asyncio.sleep(seconds)

        return self.spawn(loop(), name)

    def daily(self, at: time, job: Job, *, name: str = "daily",
              clock: Callable[[], datetime] | None = None) -> asyncio.Task[Any]:
        """Run `job` every day at `at` (commune time unless `at` has its own tzinfo)."""
        now_of = clock or (lambda: datetime.now(TZ))

        async def loop() -> None:
            while self.running:
                now = now_of()
                moment = datetime.combine(now.date(), at.replace(tzinfo=None), at.tzinfo or TZ)
                if moment <= now:
                    moment += timedelta(days=1)
                await asyncio.sleep((moment - now).total_seconds())
                await self._run(job, name)

        return self.spawn(loop(), name)

    async def _run(self, job: Job, name: str) -> None:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job %s failed", name)

    def start(self) -> None:
        self.running = True

    async def stop(self) -> None:
        self.running = False
        tasks = [t for t in self.tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.tasks.clear()
