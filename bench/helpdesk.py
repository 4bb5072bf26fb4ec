"""Help-request benchmark: simulated residents fill the whole form at the same time through the sandbox.

    .venv/bin/python bench/helpdesk.py                          # 500 residents, limiter as in the tests
    .venv/bin/python bench/helpdesk.py --residents 100 --rate 25  # the production default rate limit

The real bot (build_application, long polling over HTTP) runs against devtools.sandbox in this process. Each
resident sends /request, agrees, picks a topic, types a name, shares their contact, picks a village, types
an ID number, picks a slot, types a note and confirms. Printed: requests stored (must equal the number of
residents, with no duplicates and none lost), p50/p99 latency of each step (the resident's action to the
bot's answer), throughput, how long the officers' group took to receive every request (Telegram allows
~20 messages a minute in a group, so notices are batched 10 to a message), and peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from devtools.sandbox import SANDBOX_TOKEN, Sandbox  # noqa: E402
from handlers.telegram.app import App, build_application, start_app, stop_app  # noqa: E402

OFFICERS_CHAT = -1009999
FIRST_USER = 100_000
STEPS = ("request", "consent", "topic", "name", "phone", "village", "id", "slot", "note", "confirm")
JSON = dict[str, Any]


class Driver:
    """Routes the bot's messages to one queue per chat (one subscription; O(1) per event)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.world = sandbox.world
        self.queues: defaultdict[int, asyncio.Queue[JSON]] = defaultdict(asyncio.Queue)
        self.subscription = sandbox.subscribe(maxsize=10_000_000)
        self.latency: dict[str, list[float]] = {step: [] for step in STEPS}

    async def route(self) -> None:
        async for event in self.subscription:
            if event.get("type") == "message" and event["message"]["from_bot"]:
                self.queues[event["chat_id"]].put_nowait(event["message"])

    async def act(self, user_id: int, step: str, action: Any, replies: int = 1) -> JSON:
        """Do `action` (a world call) and wait for the bot's `replies`-th answer; record the latency."""
        started = time.perf_counter()
        action()
        message: JSON = {}
        for _ in range(replies):
            message = await asyncio.wait_for(self.queues[user_id].get(), timeout=300)
        self.latency[step].append(time.perf_counter() - started)
        return message


def buttons(message: JSON) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row if "callback_data" in b]


async def resident(driver: Driver, index: int) -> str:
    """One resident through the whole form; returns the confirmation text."""
    uid = FIRST_USER + index
    world = driver.world
    world.add_user(uid, f"Dân {index}")

    def send(text: str) -> Any:
        return lambda: world.user_message(uid, text=text)

    def press(message: JSON, data: str) -> Any:
        return lambda: world.press(uid, uid, message["message_id"], data)

    consent = await driver.act(uid, "request", send("/request"))
    topics = await driver.act(uid, "consent", press(consent, "rq:consent:yes"))
    await driver.act(uid, "topic", press(topics, "rq:topic:level2"))
    await driver.act(uid, "name", send(f"Nguyễn Văn {chr(ord('A') + index % 26)}"))
    villages = await driver.act(uid, "phone", lambda: world.user_contact(uid), replies=2)
    await driver.act(uid, "village", press(villages, f"rq:village:thon-{index % 8 + 1}"))
    slots = await driver.act(uid, "id", send(f"019{2 + index % 2}05{index:06d}"))
    # the chosen time is said back, then the note's question
    await driver.act(uid, "slot", press(slots, next(d for d in buttons(slots) if d.startswith("rq:slot:"))),
                     replies=2)
    summary = await driver.act(uid, "note", send(f"Ghi chú số {index} <b>&</b>"))
    assert "rq:summary:confirm" in buttons(summary), summary["text"]
    confirmation = await driver.act(uid, "confirm", press(summary, "rq:summary:confirm"))
    return str(confirmation["text"])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def wait_posted(app: App, total: int, limit: float) -> tuple[int, float]:
    """Wait until every request was posted to the officers' group; (posted, seconds)."""
    db = app.bot_data.svc.db
    started = time.perf_counter()
    posted = 0
    while time.perf_counter() - started < limit:
        posted = int(await db.fetchval("SELECT COUNT(*) FROM help_requests WHERE posted_at IS NOT NULL") or 0)
        if posted >= total:
            break
        await asyncio.sleep(0.5)
    return posted, time.perf_counter() - started


async def run(residents: int, rate: float, group_timeout: float) -> int:
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory() as tmp:
        async with Sandbox() as sandbox:
            officer = sandbox.user(99, "Cán bộ")
            sandbox.group(OFFICERS_CHAT, "Tổ hỗ trợ", members=[officer])
            settings = Settings(token=SANDBOX_TOKEN, api_url=sandbox.url, data_dir=Path(tmp),
                                content_dir=ROOT / "content", officer_chat_id=OFFICERS_CHAT, broadcast_rate=rate)
            app = build_application(settings)
            await start_app(app, poll_timeout=1)
            await sandbox.wait_until_polling()
            driver = Driver(sandbox)
            router = asyncio.create_task(driver.route())
            started = time.perf_counter()
            results = await asyncio.gather(*(resident(driver, i) for i in range(residents)), return_exceptions=True)
            elapsed = time.perf_counter() - started
            failures = [r for r in results if isinstance(r, BaseException)]
            db = app.bot_data.svc.db
            stored = int(await db.fetchval("SELECT COUNT(*) FROM help_requests") or 0)
            people = int(await db.fetchval("SELECT COUNT(DISTINCT person_id) FROM help_requests") or 0)
            duplicates = int(await db.fetchval(
                "SELECT COUNT(*) FROM (SELECT person_id FROM help_requests GROUP BY person_id"
                " HAVING COUNT(*) > 1)") or 0)
            drafts = int(await db.fetchval("SELECT COUNT(*) FROM help_drafts") or 0)
            codes = {w for text in results if isinstance(text, str) for w in text.split() if w.startswith("HT-")}
            posted, posted_after = await wait_posted(app, stored, group_timeout)
            group_messages = len(sandbox.messages(OFFICERS_CHAT))
            await stop_app(app)
            driver.subscription.close()
            await router
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    steps = sum(len(v) for v in driver.latency.values())
    print(f"help-request form, {residents} residents at once (limiter: {max(30.0, rate * 1.2):g} requests/s overall)")
    print(f"  requests stored        {stored} (residents: {residents}; distinct residents: {people}; "
          f"duplicates: {duplicates}; lost: {residents - people}; drafts left: {drafts})")
    print(f"  reference codes        {len(codes)} distinct, one per resident: {len(codes) == residents}")
    print(f"  failed residents       {len(failures)}" + (f" (first: {failures[0]!r})" if failures else ""))
    print(f"  wall time              {elapsed:.1f} s for {steps} steps: {steps / elapsed:.0f} steps/s, "
          f"{stored / elapsed:.1f} requests/s")
    print("  latency per step       p50 / p99 / max (ms), action -> bot's answer over HTTP long polling")
    for step in STEPS:
        values = driver.latency[step]
        if values:
            print(f"    {step:<10} {pct(values, 0.5) * 1000:7.0f} {pct(values, 0.99) * 1000:7.0f} "
                  f"{max(values) * 1000:7.0f}   (n={len(values)}, mean {statistics.fmean(values) * 1000:.0f})")
    print(f"  officers' group        {posted}/{stored} requests posted in {group_messages} messages, "
          f"{posted_after:.1f} s after the last confirmation")
    print(f"  peak memory (RSS)      {rss_peak / 1024:.0f} MB for the whole process (bot + sandbox + drivers); "
          f"{rss_before / 1024:.0f} MB before start")
    ok = stored == residents == people and duplicates == 0 and not failures and drafts == 0
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=500)
    parser.add_argument("--rate", type=float, default=1000.0,
                        help="BOT_BROADCAST_RATE (the overall limiter is max(30, 1.2 × rate) requests/s)")
    parser.add_argument("--group-timeout", type=float, default=240.0,
                        help="seconds to wait for every request to reach the officers' group")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    return asyncio.run(run(args.residents, args.rate, args.group_timeout))


if __name__ == "__main__":
    sys.exit(main())
