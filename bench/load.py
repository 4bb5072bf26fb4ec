"""Per-message cost: the bot beside a bare python-telegram-bot app, same machine, same run (issue 8 item 6).

    .venv/bin/python bench/load.py                 # 300 residents each asking one question, 3 rounds
    .venv/bin/python bench/load.py --residents 500 --rounds 5

Both apps long-poll the same kind of sandbox (devtools/sandbox) over HTTP in this process. The baseline is a
bare PTB application (AIORateLimiter, 64 concurrent updates) whose one handler looks the question up in the
same FAQ index and replies — "bare-answer": with the answer's HTML and 👍/👎 buttons, what a resident gets,
but with no database and no conversation core; "bare-title": with the matched title only (the classic
echo-with-lookup, a much lighter reply for the in-process sandbox to parse). The bot is the real application
(build_application: identities, open dialogues, the question log, rendering, the rate limiter). Every
resident sends one free-text question at once; printed per app: replies per second until the last reply,
p50/p99 of each resident's wait, replies lost (must be 0), and the ratio bot / bare (target ≥ 0.9).
Rounds alternate the two apps so neither gets a warmer machine.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import logging
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update  # noqa: E402
from telegram.constants import ParseMode  # noqa: E402
from telegram.ext import AIORateLimiter, ApplicationBuilder, ContextTypes, MessageHandler, filters  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.content import load_content  # noqa: E402
from bot.faq.render import render_html  # noqa: E402
from bot.faq.service import FaqService  # noqa: E402
from devtools.sandbox import SANDBOX_TOKEN, Sandbox  # noqa: E402
from handlers.telegram.app import build_application, start_app, stop_app  # noqa: E402

QUESTIONS = ("quen mat khau vneid thi lam sao", "dang ky dinh danh muc 2 o dau", "lam can cuoc cho con bao nhieu tien",
             "kich hoat tai khoan vneid the nao", "doi so dien thoai vneid", "ko nhan duoc ma otp")
FIRST_USER = 500_000
# Both apps get the same overall budget, high enough that CPU, not the limiter, sets the pace (the bot's
# limiter allows broadcast_rate × 1.2 a second overall).
BROADCAST_RATE = 1000.0
OVERALL = BROADCAST_RATE * 1.2


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


async def drive(sandbox: Sandbox, residents: int, start: int) -> tuple[float, list[float], int]:
    """Every resident sends one question at once; (seconds to the last reply, waits, lost)."""
    world = sandbox.world
    subscription = sandbox.subscribe(maxsize=10_000_000)
    sent_at: dict[int, float] = {}
    waits: dict[int, float] = {}
    done = asyncio.Event()

    async def route() -> None:
        async for event in subscription:
            if event.get("type") == "message" and event["message"]["from_bot"]:
                chat = event["chat_id"]
                if chat in sent_at and chat not in waits:
                    waits[chat] = time.perf_counter() - sent_at[chat]
                    if len(waits) == residents:
                        done.set()

    router = asyncio.create_task(route())
    ids = [start + i for i in range(residents)]
    for uid in ids:
        world.add_user(uid, f"Dân {uid}")
    began = time.perf_counter()
    for i, uid in enumerate(ids):
        sent_at[uid] = time.perf_counter()
        world.user_message(uid, text=QUESTIONS[i % len(QUESTIONS)])
    try:
        await asyncio.wait_for(done.wait(), timeout=120)
    except TimeoutError:
        pass
    elapsed = time.perf_counter() - began
    subscription.close()
    router.cancel()
    return elapsed, list(waits.values()), residents - len(waits)


async def bare_app(sandbox: Sandbox, same_reply: bool) -> Any:
    content = load_content(ROOT / "content")
    faq = FaqService(content)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("👍", callback_data="fb:1:1"),
                                      InlineKeyboardButton("👎", callback_data="fb:1:0")]])

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # The same reply a resident gets (the answer's HTML and feedback buttons), without the core.
        assert update.message is not None and update.message.text is not None
        match = faq.ask(update.message.text)
        if not same_reply:  # the classic echo with lookup: the matched title only
            await update.message.reply_text(faq.faq(match.topic).title if match.topic else "?")
            return
        if match.topic is None:
            await update.message.reply_text("?")
            return
        item = faq.faq(match.topic)
        body = render_html(item, content.commune, "(chưa cập nhật)")
        await update.message.reply_text(f"<b>{html.escape(item.title)}</b>\n\n{body}", parse_mode=ParseMode.HTML,
                                        reply_markup=keyboard)

    app = (ApplicationBuilder().token(SANDBOX_TOKEN).base_url(f"{sandbox.url}/bot")
           .rate_limiter(AIORateLimiter(overall_max_rate=OVERALL, max_retries=2)).concurrent_updates(64).build())
    app.add_handler(MessageHandler(filters.TEXT, answer))
    return app


async def run(kind: str, residents: int, start: int) -> tuple[float, list[float], int]:
    sandbox = Sandbox(record_text=False)
    await sandbox.start()
    app: Any
    if kind.startswith("bare"):
        app = await bare_app(sandbox, same_reply=kind == "bare-answer")
    else:
        settings = Settings(token=SANDBOX_TOKEN, api_url=sandbox.url, data_dir=Path(tempfile.mkdtemp()) / "data",
                            content_dir=ROOT / "content", broadcast_rate=BROADCAST_RATE)
        app = build_application(settings)
    await start_app(app, poll_timeout=1)
    await sandbox.wait_until_polling()
    try:
        return await drive(sandbox, residents, start)
    finally:
        await stop_app(app)
        await sandbox.stop()


async def main(residents: int, rounds: int) -> None:
    kinds = ("bare-title", "bare-answer", "bot")
    results: dict[str, list[tuple[float, list[float], int]]] = {kind: [] for kind in kinds}
    order: list[Callable[[], Awaitable[None]]] = []
    for r in range(rounds):
        for kind in (kinds if r % 2 == 0 else tuple(reversed(kinds))):
            async def one(kind: str = kind, r: int = r) -> None:
                results[kind].append(await run(kind, residents, FIRST_USER + r * residents))
            order.append(one)
    for step in order:
        await step()
    print(f"{residents} residents asking at once, {rounds} rounds (median of rounds)")
    rate: dict[str, float] = {}
    for kind, runs in results.items():
        rates = sorted(len(w) / t for t, w, _lost in runs)
        p99 = sorted(pct(w, 0.99) for _t, w, _lost in runs)
        p50 = sorted(pct(w, 0.5) for _t, w, _lost in runs)
        lost = sum(lost for *_x, lost in runs)
        rate[kind] = rates[len(rates) // 2]
        print(f"  {kind:11}: {rate[kind]:6.1f} replies/s   p50 {p50[len(p50) // 2]:.2f} s   "
              f"p99 {p99[len(p99) // 2]:.2f} s   lost {lost}")
    print(f"  ratio bot / bare-answer (the same reply): {rate['bot'] / rate['bare-answer']:.2f}× (target ≥ 0.9)")
    print(f"  ratio bot / bare-title (a title only, a lighter reply): {rate['bot'] / rate['bare-title']:.2f}×")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.residents, args.rounds))
