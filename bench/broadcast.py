"""Broadcast benchmark: one campaign to many subscribers through the sandbox, while residents ask questions.

    .venv/bin/python bench/broadcast.py                                  # 10,000 subscribers at 1,000/s
    .venv/bin/python bench/broadcast.py --subscribers 100000 --rate 1000
    .venv/bin/python bench/broadcast.py --subscribers 10000 --rate 30   # ~6 minutes (Telegram's free rate)
    .venv/bin/python bench/broadcast.py --subscribers 2000 --rate 200   # a quick run

The real bot runs as `python -m bot run` in a child process (BOT_TOKEN fake, BOT_API_URL = a sandbox in
this process, BOT_BROADCAST_RATE = --rate), exactly as deployed. Subscribers are written to its database
before it starts; the campaign is created the way `python -m bot campaign create --at now` does, while the
bot runs (it polls the database). Meanwhile one resident every --ask-interval seconds asks an FAQ question.

Printed: delivered / duplicates / missing; achieved rate (sends ÷ time from the first to the last send) ÷
configured rate (target ≥ 0.95); total time from the campaign's creation to the end of its run; the bot
process's peak memory (VmHWM); p50/p99/max time from a resident's question to the bot's answer, during the
broadcast and, as the baseline, before it (bot idle). Quiet hours are switched off in a copy of content/.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.campaigns.engine import window_for  # noqa: E402
from bot.campaigns.service import Campaigns  # noqa: E402
from bot.content import load_content  # noqa: E402
from bot.i18n import Catalogs  # noqa: E402
from devtools.sandbox import SANDBOX_TOKEN, Sandbox  # noqa: E402
from storage.campaigns import Subscriptions  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.staff import Staff  # noqa: E402

FIRST_SUBSCRIBER = 1_000_000
FIRST_ASKER = 900_000
QUESTIONS = ("quên mật khẩu vneid", "kich hoat tai khoan dinh danh", "làm căn cước mất bao lâu",
             "đổi số điện thoại vneid", "không nhận được mã otp")
MARKER = "Thông báo thử tải"


def content_copy(folder: Path) -> Path:
    """content/ with quiet hours switched off (equal start and end), so the bench runs at any hour."""
    target = folder / "content"
    shutil.copytree(ROOT / "content", target)
    commune = target / "commune.toml"
    text = commune.read_text(encoding="utf-8")
    text = text.replace('quiet_start = "21:00"', 'quiet_start = "00:00"').replace(
        'quiet_end = "06:30"', 'quiet_end = "00:00"')
    commune.write_text(text, encoding="utf-8")
    return target


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of a live process, in MB (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Askers:
    """Residents asking questions now and then; records the time to each answer (ms)."""

    def __init__(self, sandbox: Sandbox, interval: float) -> None:
        self.sandbox = sandbox
        self.interval = interval
        self.samples: list[tuple[float, float]] = []  # (asked at, latency ms)
        self._n = 0

    async def ask_once(self) -> None:
        world = self.sandbox.world
        user_id = FIRST_ASKER + self._n % 200
        question = QUESTIONS[self._n % len(QUESTIONS)]
        self._n += 1
        if user_id not in world.users:
            world.add_user(user_id, f"Hỏi {user_id}")
        chat = world.chats[user_id]
        asked = time.perf_counter()
        sent = world.user_message(user_id, text=question)

        def answered() -> bool | None:
            return True if any(m.from_bot and m.message_id > sent.message_id
                               for m in chat.messages.values()) else None

        try:
            await world.wait_until(answered, 30)
        except TimeoutError:
            self.samples.append((asked, 30_000.0))
            return
        self.samples.append((asked, (time.perf_counter() - asked) * 1000))

    async def run(self, stop: asyncio.Event) -> None:
        tasks: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            task = asyncio.create_task(self.ask_once())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            try:
                await asyncio.wait_for(stop.wait(), self.interval)
            except TimeoutError:
                pass
        if tasks:
            await asyncio.gather(*tasks)

    def between(self, start: float, end: float) -> list[float]:
        return [ms for at, ms in self.samples if start <= at <= end]


async def bench(subscribers: int, rate: float, ask_interval: float, idle_seconds: float) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="bench-broadcast-"))
    content_dir = content_copy(folder)
    data = folder / "data"
    sandbox = Sandbox(record_text=False, max_messages_per_chat=4, call_log_size=subscribers + 50_000)
    await sandbox.start()
    world = sandbox.world
    setup = time.perf_counter()
    ids = list(range(FIRST_SUBSCRIBER, FIRST_SUBSCRIBER + subscribers))
    for uid in ids:
        world.add_user(uid, "Dân")
    async with Database(data / "bot.sqlite3") as db:
        await Subscriptions(db).add_many((uid, uid, "vi", None) for uid in ids)
    print(f"  setup: {subscribers:,} subscribers in {time.perf_counter() - setup:.1f} s", flush=True)

    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update(BOT_TOKEN=SANDBOX_TOKEN, BOT_API_URL=sandbox.url, BOT_DATA_DIR=str(data),
               BOT_CONTENT_DIR=str(content_dir), BOT_BROADCAST_RATE=str(rate), PYTHONPATH=str(ROOT))
    log = folder / "bot.log"
    with log.open("ab") as out:
        bot = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", env=env, stdout=out,
                                                   stderr=out, cwd=folder)
    stop_asking = asyncio.Event()
    askers = Askers(sandbox, ask_interval)
    try:
        await sandbox.wait_until_polling(timeout=30)
        asking = asyncio.create_task(askers.run(stop_asking))
        idle_from = time.perf_counter()
        await asyncio.sleep(idle_seconds)
        idle_to = time.perf_counter()

        content = load_content(content_dir)
        async with Database(data / "bot.sqlite3") as db:
            service = Campaigns(db, content, Catalogs.load(content_dir / "locales"), Staff(db), rate)
            cpu_before = cpu_seconds(bot.pid)
            created = time.perf_counter()
            campaign_id = await service.create(f"**{MARKER}**: họp thôn lúc 8 giờ sáng Chủ nhật.", at=None)
            while True:
                await asyncio.sleep(0.5)
                row = await db.fetchone("SELECT status, started_at, finished_at FROM campaign_runs"
                                        " WHERE campaign_id = ?", (campaign_id,))
                if row is not None and row["status"] == "done":
                    break
                if bot.returncode is not None:
                    raise RuntimeError("the bot died:\n" + log.read_text(errors="replace")[-3000:])
            finished = time.perf_counter()
            cpu_used = cpu_seconds(bot.pid) - cpu_before
            report = await service.report(campaign_id)
        stop_asking.set()
        await asking
        peak = peak_rss_mb(bot.pid)  # a high-water mark: read it before the process ends
    finally:
        stop_asking.set()
        if bot.returncode is None:
            bot.send_signal(signal.SIGTERM)
            await asyncio.wait_for(bot.wait(), 60)
        await sandbox.stop()

    sends = [c for c in world.calls("sendMessage") if c.status == 200 and c.chat_id in world.users
             and FIRST_SUBSCRIBER <= (c.chat_id or 0) < FIRST_SUBSCRIBER + subscribers]
    first, last = sends[0].time, sends[-1].time
    achieved = (len(sends) - 1) / (last - first) if len(sends) > 1 else float("nan")
    per_chat = [sum(1 for m in world.chats[uid].messages.values() if m.from_bot) for uid in ids]
    duplicates = sum(max(0, n - 1) for n in per_chat)
    missing = sum(1 for n in per_chat if n == 0)
    during = askers.between(created, finished)
    idle = askers.between(idle_from, idle_to)
    floods = sum(1 for c in world.calls("sendMessage") if c.status == 429)
    assert report is not None
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "subscribers": subscribers, "rate": rate, "sent": report.sent, "failed": report.failed,
        "duplicates": duplicates, "missing": missing, "floods": floods,
        "achieved": achieved, "ratio": achieved / rate, "send_seconds": last - first,
        "total_seconds": finished - created,
        "peak_mb": peak, "cpu_ms": cpu_used * 1000 / max(1, report.sent),
        "p50": percentile(during, 0.5), "p99": percentile(during, 0.99),
        "max": max(during, default=float("nan")), "questions": len(during),
        "idle_p50": percentile(idle, 0.5), "idle_p99": percentile(idle, 0.99), "idle_questions": len(idle),
    }


def show(r: dict[str, float]) -> None:
    print(f"\n{int(r['subscribers']):,} subscribers at {r['rate']:g}/s "
          f"(window {window_for(r['rate'])}: the duplicate bound after a kill -9)")
    print(f"  delivered      {int(r['sent']):,} sent, {int(r['failed'])} failed, {int(r['duplicates'])} duplicates, "
          f"{int(r['missing'])} missing, {int(r['floods'])} × 429")
    print(f"  rate           {r['achieved']:.1f}/s achieved vs {r['rate']:g}/s configured: "
          f"ratio {r['ratio']:.3f} (target ≥ 0.95)")
    print(f"  total time     {r['total_seconds']:.1f} s from creation to the end of the run "
          f"({r['send_seconds']:.1f} s first to last send; the bot polls every 2 s)")
    print(f"  peak memory    {r['peak_mb']:.0f} MB (bot process, VmHWM)")
    print(f"  bot CPU        {r['cpu_ms']:.2f} ms per message (user + system, answering questions included)")
    print(f"  reply time     p50 {r['p50']:.0f} ms, p99 {r['p99']:.0f} ms, max {r['max']:.0f} ms over "
          f"{int(r['questions'])} questions during the broadcast; baseline (idle bot) p50 {r['idle_p50']:.0f} ms, "
          f"p99 {r['idle_p99']:.0f} ms over {int(r['idle_questions'])}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=1000.0, help="BOT_BROADCAST_RATE (messages per second)")
    parser.add_argument("--ask-interval", type=float, default=0.25, help="seconds between residents' questions")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of questions before the campaign")
    args = parser.parse_args()
    result = asyncio.run(bench(args.subscribers, args.rate, args.ask_interval, args.idle))
    show(result)
    return 0 if result["missing"] == 0 and result["ratio"] >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
