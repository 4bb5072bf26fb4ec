"""The delivery engine: due campaigns become runs, runs are delivered through one `SendPort` per channel.

Channel-free: a channel (handlers/telegram/broadcast.py, handlers/zalo_bot/broadcast.py) implements
`SendPort` and maps its errors to
`RetryLater` (flood control), `Blocked` (the user blocked the bot, deactivated) and anything else (a
failure, retried). Everything the engine knows lives in SQLite (storage.campaigns); `tick()` rebuilds the
work from the database, so a restart — or a campaign added from the command line — needs nothing else.

Delivery of one run (`_deliver`):
- each channel of a run is delivered by its own dispatcher, at its own pace: rows of that channel are
  claimed from the queue in small batches (pending → sending, committed) and sent in recipient order,
  each send waiting for the channel's `Pacer` (its `rate` messages per second over all runs), so a 429
  from Zalo pauses Zalo sends only; rows of a channel that is not running fail with that reason;
- outcomes are written back in batches (sending → sent / blocked / failed). At most `window` claimed rows
  per channel may have been sent without their outcome being written yet: that is the duplicate bound
  (per channel) after a kill -9
  (at start-up `recover()` puts 'sending' rows back in the queue);
- 429: the whole pacer pauses for retry_after, then the same recipient is retried (not counted as a try);
  403: blocked, never retried; other errors: up to `max_tries` with exponential backoff, then failed;
- quiet hours (the commune's, e.g. 21:00–06:30) stop a run between two messages; `tick()` resumes it after.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from bot.campaigns.report import missed_text, progress_text, summary_text
from bot.campaigns.schedule import Cron, QuietHours
from bot.content import Commune
from bot.i18n import Catalogs
from storage.campaigns import CampaignRow, CampaignStore, Counts, Outcome, Recipient, RunRow
from storage.staff import Staff

log = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], datetime]
Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[Any]"]


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- the port ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Broadcast:
    """What every recipient of a campaign gets: Telegram-safe HTML, and an optional photo (file id)."""

    campaign_id: int
    html: str
    photo: str | None = None


class RetryLater(Exception):
    """Flood control (HTTP 429): wait `seconds`, then send the same message again."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds:g} s")
        self.seconds = seconds


class Blocked(Exception):
    """The recipient cannot be reached any more (blocked the bot, deleted the account): never retry."""


class SendFailed(Exception):
    """Any other failure (the platform refused this message); the engine retries a few times with backoff."""


class Unavailable(SendFailed):
    """The platform is in trouble (5xx, no connection): the message was not taken. Retried with backoff
    until `retry_budget` seconds have passed, however many tries that takes."""


class MaybeSent(SendFailed):
    """No answer in time after the request went out: the message may have arrived. Retried once, never
    more (a blind retry may be a second copy); it counts toward the duplicate bound."""


class SendPort(Protocol):
    """A channel. It may also have `async def release() -> None`, called whenever no run is being
    delivered any more (to close connections kept for broadcasts)."""

    async def deliver(self, recipient: Recipient, message: Broadcast) -> None:
        """Send one announcement; raise RetryLater, Blocked or SendFailed."""

    async def notify(self, chat_id: str, html: str) -> str | None:
        """Send a report to a staff chat; its message id (None if it could not be sent)."""

    async def edit(self, chat_id: str, message_id: str, html: str) -> None:
        """Replace a report's text (errors are the port's to swallow)."""


# --- pacing --------------------------------------------------------------------------------------------


class Pacer:
    """Hands out send slots at `rate` per second for every run together; `pause()` stops everyone.

    A sender that fell behind may catch up by at most `burst` slots at once, so no second holds more than
    about rate + burst messages.
    """

    def __init__(self, rate: float, burst: float | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("the broadcast rate must be positive")
        self.interval = 1.0 / rate
        self.burst = burst if burst is not None else max(1.0, rate * 0.02)
        self._monotonic = monotonic
        self._next = 0.0
        self._paused_until = 0.0
        self.pauses = 0

    def pause(self, seconds: float) -> None:
        """Flood control: nobody sends for `seconds`; the schedule restarts after the pause."""
        until = self._monotonic() + max(0.0, seconds)
        self._paused_until = max(self._paused_until, until)
        self._next = max(self._next, self._paused_until)
        self.pauses += 1

    @property
    def paused(self) -> bool:
        return self._paused_until > self._monotonic()

    async def acquire(self, give_up: Callable[[], bool] = lambda: False) -> bool:
        """Wait for the next slot; False when `give_up()` turned true during a flood-control pause."""
        while True:
            now = self._monotonic()
            if self._paused_until > now:
                if give_up():
                    return False
                await asyncio.sleep(min(self._paused_until - now, 0.5))
                continue
            slot = max(self._next, now - self.burst * self.interval)
            self._next = slot + self.interval
            if slot > now:
                await asyncio.sleep(slot - now)
                if self._paused_until > self._monotonic():
                    continue  # a 429 arrived meanwhile: wait it out, then take a new slot
            return True


# --- the engine ----------------------------------------------------------------------------------------


def window_for(rate: float) -> int:
    """Rows that may be in flight (sent, outcome not yet written) for one run: the duplicate bound."""
    return max(10, min(100, round(rate / 10)))


@dataclass
class EngineConfig:
    rate: float = 25.0
    window: int = 0  # 0: window_for(rate)
    max_tries: int = 3
    backoff: float = 1.0  # seconds before the 2nd try; doubled each time
    late_limit: float = 3600.0  # a run later than this at start-up is missed
    report_interval: float = 3.0  # at most one progress edit per this many seconds
    flush_interval: float = 0.2
    concurrency: int = 0  # sends awaiting their answer at once; 0: adapt to the measured latency
    keep_days: float = 180.0  # who received a run is forgotten this long after it ended
    db_patience: float = 120.0  # seconds a locked database is waited out before a worker gives up
    retry_budget: float = 900.0  # seconds a recipient is retried while the platform is unavailable
    max_backoff: float = 60.0

    def __post_init__(self) -> None:
        if self.window <= 0:
            self.window = window_for(self.rate)


@dataclass
class _RunState:
    run: RunRow
    campaign: CampaignRow
    counts: Counts
    reports: list[tuple[str, str, str]] = field(default_factory=list)  # (channel, chat, message)
    last_report: float = 0.0


class Engine:
    """Turns due campaigns into runs and delivers runs. `attach()` a port, then call `tick()` every few
    seconds (the Telegram app does it from a JobQueue job); `stop()` (or `alive()` turning false) ends
    the workers after their in-flight sends."""

    def __init__(self, store: CampaignStore, staff: Staff, commune: Commune, catalogs: Catalogs,
                 config: EngineConfig, clock: Clock = utc_now) -> None:
        self.store = store
        self.staff = staff
        self.commune = commune
        self.catalogs = catalogs
        self.config = config
        self.clock = clock
        self.quiet = QuietHours(commune.quiet_start, commune.quiet_end)
        self.ports: dict[str, SendPort] = {}
        self.pacers: dict[str, Pacer] = {"telegram": Pacer(config.rate)}
        self._spawn: Spawn = asyncio.create_task
        self._alive: Callable[[], bool] = lambda: True
        self._stopping = False
        self._owner = ""
        self._workers: dict[int, asyncio.Task[Any]] = {}
        self._tick_lock = asyncio.Lock()
        self.floods = 0
        self.cancelled: set[int] = set()  # campaigns cancelled in this process: stop between two messages
        self.latency = 0.0  # the fastest recent send (seconds): sets how many sends are kept in flight
        self._block_min, self._block_count = float("inf"), 0
        self._pruned_at = 0.0

    # lifecycle

    @property
    def port(self) -> SendPort | None:
        """The Telegram port (or the only one): editors' previews and reports where no channel is named."""
        return self.ports.get("telegram") or next(iter(self.ports.values()), None)

    @property
    def pacer(self) -> Pacer:
        return self.pacers["telegram"]

    @pacer.setter
    def pacer(self, value: Pacer) -> None:
        self.pacers["telegram"] = value

    async def attach(self, port: SendPort, spawn: Spawn | None = None, alive: Callable[[], bool] | None = None,
                     *, channel: str = "telegram", rate: float | None = None) -> int:
        """Connect a channel (paced at `rate` messages a second, default the engine's). The first channel
        attached sets how workers are spawned and when the engine stops; rows left in flight by a crash
        go back to the queue then (their count)."""
        # The first channel (again after a stop, or a new app of the same channel) owns the lifecycle.
        owner = not self.ports or self._stopping or not self.running or channel == self._owner
        self.ports[channel] = port
        if rate is not None or channel not in self.pacers:
            self.pacers[channel] = Pacer(rate or self.config.rate)
        if not owner:
            return 0
        self._owner = channel
        self._spawn = spawn or asyncio.create_task
        self._alive = alive or (lambda: True)
        self._stopping = False
        recovered = await self.store.recover()
        if recovered:
            log.warning("%d deliveries were in flight when the bot stopped; they are queued again", recovered)
        return recovered

    def detach(self, channel: str) -> None:
        self.ports.pop(channel, None)

    async def stop(self) -> None:
        """Stop dispatching; wait for in-flight sends and their outcomes to be written."""
        self._stopping = True
        workers = list(self._workers.values())
        if workers:
            await asyncio.gather(*workers, return_exceptions=True)

    @property
    def running(self) -> bool:
        return not self._stopping and self._alive()

    def local(self, at: datetime | float) -> datetime:
        if isinstance(at, int | float):
            at = datetime.fromtimestamp(at, UTC)
        return at.astimezone(self.commune.tzinfo)

    def poke(self) -> None:
        """Look for due work now instead of at the next tick (after a campaign was created)."""
        if self.ports and self.running:
            self._spawn(self.tick())

    async def idle(self) -> None:
        """Wait until no run is being delivered (tests, benchmarks)."""
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    # scheduling

    async def tick(self) -> None:
        """Start due runs (or record them missed), resume paused runs, restart runs left by a restart."""
        if not self.ports or not self.running:
            return
        async with self._tick_lock:
            now = self.clock()
            for campaign in await self.store.due(now.timestamp()):
                await self._start_due(campaign, now)
            if now.timestamp() - self._pruned_at > 3600:
                self._pruned_at = now.timestamp()
                if await self.store.prune(now.timestamp() - self.config.keep_days * 86400):
                    log.info("deliveries of runs older than %g days were deleted", self.config.keep_days)
            quiet = self.quiet.contains(self.local(now))
            for run in await self.store.active_runs():
                if run.id in self._workers:
                    continue
                if quiet:
                    if run.status == "sending":
                        await self.store.set_run_status(run.id, "paused")
                    continue
                if run.status == "paused":
                    await self.store.set_run_status(run.id, "sending")
                    run = replace(run, status="sending")
                self._workers[run.id] = self._spawn(self._work(run))

    def following(self, campaign: CampaignRow, due_at: float) -> float | None:
        """The due time after `due_at`: the next cron time, or None for a one-off campaign."""
        if not campaign.repeat:
            return None
        nxt = Cron.parse(campaign.repeat).next_after(self.local(due_at))
        return None if nxt is None else nxt.timestamp()

    async def _start_due(self, campaign: CampaignRow, now: datetime) -> None:
        due = campaign.next_at
        while due is not None and due <= now.timestamp():
            nxt = self.following(campaign, due)
            if now.timestamp() - due > self.config.late_limit:
                if await self.store.record_missed(campaign, due, nxt) is not None:
                    log.warning("campaign %d: run due at %s was missed", campaign.id, self.local(due))
                    _, lang = self.catalogs.gettext(campaign.language), campaign.language
                    await self._tell(campaign, missed_text(_, campaign.id, self.local(due), lang))
                campaign = replace(campaign, next_at=nxt)
                due = nxt
                continue
            run = await self.store.start_run(campaign, due, nxt)
            if run is not None:
                log.info("campaign %d: run %d started for %d recipients", campaign.id, run.id, run.recipients)
            return

    # reports

    async def _targets(self, campaign: CampaignRow) -> list[tuple[str, str]]:
        """(channel, chat) of the editor who made the campaign, or of every editor."""
        if campaign.notify_chat_id is not None:
            return [(campaign.notify_channel or "telegram", campaign.notify_chat_id)]
        return await self.staff.chats_of_role("editor")

    async def _tell(self, campaign: CampaignRow, text: str) -> None:
        for channel, chat_id in await self._targets(campaign):
            port = self.ports.get(channel)
            if port is not None:
                with contextlib.suppress(Exception):
                    await port.notify(chat_id, text)

    async def _report(self, state: _RunState, status: str, force: bool = False) -> None:
        if not self.ports:
            return
        now = time.monotonic()
        if not force and now - state.last_report < self.config.report_interval:
            return
        state.last_report = now
        campaign = state.campaign
        _ = self.catalogs.gettext(campaign.language)
        resume = self.quiet.next_allowed(self.local(self.clock())) if status == "paused" else None
        text = progress_text(_, campaign.id, state.counts, state.run.recipients, campaign.language, status,
                             resume)
        if not state.reports:
            for channel, chat_id in await self._targets(campaign):
                port = self.ports.get(channel)
                message_id = await port.notify(chat_id, text) if port is not None else None
                if message_id is not None:
                    await self.store.add_report(state.run.id, chat_id, message_id, channel)
                    state.reports.append((channel, chat_id, message_id))
            return
        for channel, chat_id, message_id in state.reports:
            port = self.ports.get(channel)
            if port is not None:  # a channel that cannot edit ignores it: its editor gets the summary
                await port.edit(chat_id, message_id, text)

    # delivery

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        """A database step of a run, retried while the database is locked or busy (another process holding
        a write transaction longer than the busy timeout) — up to `db_patience` seconds, then raised."""
        waited, pause = 0.0, 0.5
        while True:
            try:
                return await call()
            except sqlite3.OperationalError as exc:
                if waited >= self.config.db_patience or not self.running:
                    raise
                log.warning("database busy during a broadcast (%s); trying again in %.1f s", exc, pause)
                await asyncio.sleep(pause)
                waited += pause
                pause = min(pause * 2, 5.0)

    async def _work(self, run: RunRow) -> None:
        try:
            await self._deliver(run)
        except Exception:
            log.exception("run %d stopped by an error; the next tick resumes it", run.id)
            # Rows it had claimed go back to the queue now, not at the next process start (the same bound:
            # at most `window` per channel of them may have been sent already).
            try:
                n = await self._retrying(lambda: self.store.requeue_sending(run.id))
                if n:
                    log.warning("run %d: %d deliveries in flight were queued again", run.id, n)
            except Exception:
                log.exception("run %d: could not queue its in-flight deliveries again", run.id)
        finally:
            self._workers.pop(run.id, None)
            for port in list(self.ports.values()) if not self._workers else ():
                release = getattr(port, "release", None)
                if release is not None:
                    with contextlib.suppress(Exception):
                        await release()

    async def _deliver(self, run: RunRow) -> None:
        campaign = await self.store.get(run.campaign_id)
        assert campaign is not None and self.ports
        message = Broadcast(campaign.id, campaign.html, campaign.photo)
        state = _RunState(run, campaign, await self.store.counts(run.id),
                          reports=await self.store.reports(run.id))
        await self._report(state, "sending", force=True)
        channels = await self.store.queued_channels(run.id)
        absent = [c for c in channels if c not in self.ports]
        if absent:  # nobody could send them: say so rather than leave the run open for ever
            n = await self.store.fail_queued(run.id, absent, "channel not running: " + ", ".join(absent))
            log.warning("run %d: %d deliveries on channels that are not running (%s) failed", run.id, n,
                        ", ".join(absent))
            state.counts = await self.store.counts(run.id)
        reasons = await asyncio.gather(*(self._deliver_on(channel, state, message)
                                         for channel in channels if channel in self.ports))
        reason = next((r for r in ("cancelled", "stopped", "quiet") if r in reasons), None)
        await self._finish(state, reason)

    async def _deliver_on(self, channel: str, state: _RunState, message: Broadcast) -> str | None:
        """Deliver one channel's rows of a run at that channel's pace; why it stopped (None: all sent)."""
        run, campaign = state.run, state.campaign
        port, pacer = self.ports[channel], self.pacers[channel]
        window, flush_size = self.config.window, max(1, self.config.window // 4)
        queue: deque[Recipient] = deque()
        tasks: set[asyncio.Task[Outcome]] = set()
        finished: list[Outcome] = []
        unsettled = 0  # dispatched rows whose outcome is not written yet (≤ window)
        last_flush = time.monotonic()
        reason: str | None = None  # why dispatching stopped: quiet | stopped | cancelled
        exhausted = False

        async def flush() -> None:
            nonlocal unsettled, last_flush
            batch = finished[:]
            finished.clear()
            await self._retrying(lambda: self.store.settle(run.id, batch))
            unsettled -= len(batch)
            last_flush = time.monotonic()
            for o in batch:
                if o.status == "sent":
                    state.counts.sent += 1
                elif o.status == "blocked":
                    state.counts.blocked += 1
                elif o.status == "failed":
                    state.counts.failed += 1
                if o.status != "pending":
                    state.counts.pending -= 1
            await self._report(state, "sending")

        def settled(task: asyncio.Task[Outcome]) -> None:
            tasks.discard(task)
            if not task.cancelled():
                finished.append(task.result())

        while True:
            if finished and (len(finished) >= flush_size or unsettled >= window or reason or exhausted
                             or time.monotonic() - last_flush >= self.config.flush_interval):
                await flush()
            if reason is None:
                reason = self._why_stop()
            if reason is not None or exhausted:
                if not tasks and not finished:
                    break
                if tasks:
                    await asyncio.wait(tasks, timeout=self.config.flush_interval)
                continue
            if unsettled >= window or len(tasks) >= self.in_flight_limit():
                if tasks:
                    await asyncio.wait(tasks, timeout=self.config.flush_interval,
                                       return_when=asyncio.FIRST_COMPLETED)
                continue
            if not queue:
                batch = await self._retrying(lambda: self.store.claim(run.id, window, channel))
                if batch is None:
                    reason = "cancelled"
                elif not batch:
                    exhausted = True
                queue.extend(batch or ())
                continue
            await pacer.acquire(self._stopped)
            reason = "cancelled" if campaign.id in self.cancelled else self._why_stop()
            if reason is not None:
                continue
            recipient = queue.popleft()
            unsettled += 1
            task = asyncio.create_task(self._send_one(recipient, message, port, pacer))
            tasks.add(task)
            task.add_done_callback(settled)

        if queue:  # claimed, never sent: back to the queue
            unsent = [Outcome(r.person_id, "pending", 0) for r in queue]
            await self._retrying(lambda: self.store.settle(run.id, unsent))
        return reason

    def in_flight_limit(self) -> int:
        """How many sends may await their answer at once: enough to keep the pace (Little's law: rate ×
        latency, with a margin), no more — every extra connection costs CPU and delays replies."""
        if self.config.concurrency > 0:
            return self.config.concurrency
        return max(2, min(self.config.window, math.ceil(self.config.rate * self.latency * 1.2) + 1))

    def _observe(self, seconds: float) -> None:
        """Keep the fastest recent send time — the network's own latency, without the time spent queueing
        behind our own sends: the minimum over blocks of 200 sends. It starts at 0 (two sends in flight)
        and grows only as far as measured: from above, queueing behind one's own sends (or a busy CPU)
        would pass for latency and ask for ever more sends in flight."""
        self._block_min = min(self._block_min, seconds)
        self._block_count += 1
        if self._block_count >= 200:
            self.latency, self._block_min, self._block_count = self._block_min, float("inf"), 0
        else:
            self.latency = min(self.latency, self._block_min)

    def _stopped(self) -> bool:
        return not self.running

    def _why_stop(self) -> str | None:
        if not self.running:
            return "stopped"
        if self.quiet.contains(self.local(self.clock())):
            return "quiet"
        return None

    async def _finish(self, state: _RunState, reason: str | None) -> None:
        run_id, campaign = state.run.id, state.campaign
        if reason == "quiet":
            await self.store.set_run_status(run_id, "paused")
            await self._report(state, "paused", force=True)
            return
        if reason == "stopped":
            await self._report(state, "stopped", force=True)
            return
        if reason is None:
            done = await self.store.finish_run(run_id)
            if done is None:
                return  # rows went back to the queue (a stop in the middle of a retry): next tick resumes
        cancelled = reason == "cancelled"
        if cancelled:
            await self.store.close_cancelled(run_id)
        state.counts = await self.store.counts(run_id)
        if cancelled:
            state.counts.pending = 0
        await self._report(state, "cancelled" if cancelled else "done", force=True)
        errors = [f"{uid}: {err}" for uid, err in await self.store.failures(run_id, 3)]
        _ = self.catalogs.gettext(campaign.language)
        text = summary_text(_, campaign.id, state.counts, state.run.recipients, campaign.language,
                            cancelled, errors)
        for channel, chat_id, _message_id in state.reports:
            port = self.ports.get(channel)
            if port is not None:
                await port.notify(chat_id, text)
        log.info("campaign %d run %d %s: %d sent, %d blocked, %d failed", campaign.id, run_id,
                 "cancelled" if cancelled else "done", state.counts.sent, state.counts.blocked,
                 state.counts.failed)

    async def _send_one(self, recipient: Recipient, message: Broadcast, port: SendPort, pacer: Pacer) -> Outcome:
        """Deliver to one recipient; the dispatcher has taken the first pacer slot already."""
        tries = 0
        uncertain = 0  # sends that may have arrived (no answer in time)
        first = True
        began = time.monotonic()
        while True:
            if not first and not await pacer.acquire(self._stopped):
                return Outcome(recipient.person_id, "pending", tries)  # stopping: back to the queue, unsent
            first = False
            started = time.monotonic()
            try:
                await port.deliver(recipient, message)
                self._observe(time.monotonic() - started)
                return Outcome(recipient.person_id, "sent", tries + 1)
            except RetryLater as exc:
                self.floods += 1
                log.info("flood control on %s: its sends wait %.1f s", recipient.channel, exc.seconds)
                pacer.pause(exc.seconds)
            except Blocked as exc:
                return Outcome(recipient.person_id, "blocked", tries + 1, str(exc)[:300])
            except MaybeSent as exc:
                tries += 1
                uncertain += 1
                if uncertain >= 2:  # asked twice with no answer: a third copy is worse than none
                    log.info("no answer twice for a subscriber; not retried: %s", exc)
                    return Outcome(recipient.person_id, "failed", tries,
                                   f"no answer from the platform (it may have arrived): {exc}"[:300])
                await asyncio.sleep(self.config.backoff)
            except Unavailable as exc:
                tries += 1
                if time.monotonic() - began >= self.config.retry_budget or not self.running:
                    if not self.running:
                        return Outcome(recipient.person_id, "pending", tries)  # stopping: try again later
                    return Outcome(recipient.person_id, "failed", tries, f"{type(exc).__name__}: {exc}"[:300])
                await asyncio.sleep(min(self.config.max_backoff, self.config.backoff * 2 ** min(tries - 1, 10)))
            except Exception as exc:  # SendFailed, network errors, anything the port did not expect
                tries += 1
                reason = f"{type(exc).__name__}: {exc}"[:300]
                if tries >= self.config.max_tries:
                    log.info("delivery to a subscriber failed after %d tries: %s", tries, reason)
                    return Outcome(recipient.person_id, "failed", tries, reason)
                await asyncio.sleep(self.config.backoff * 2 ** (tries - 1))

