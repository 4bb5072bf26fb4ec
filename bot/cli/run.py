"""`run` (the bot; with no token the local sandbox) and `chat` (the sandbox with a terminal chat)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sqlite3
import sys
from typing import Any

from bot import runlock
from bot.config import Settings, load_settings
from bot.content import ContentError
from bot.logs import setup_logging

log = logging.getLogger(__name__)

def add_parsers(sub: Any) -> None:
    p = sub.add_parser("run", help="run the bot (long polling); with no BOT_TOKEN, the local sandbox")
    p.add_argument("--no-web", action="store_true", help="sandbox: do not serve the web chat")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("chat", help="the local sandbox with a chat in this terminal")
    p.set_defaults(func=cmd_chat)


async def wait_for_signal() -> None:
    """Return on SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve(settings: Settings) -> None:
    """Run the channels the tokens ask for (Telegram, Zalo or both) until a signal arrives."""
    from bot.app import Runtime, StartError

    runtime = Runtime(settings)
    try:
        await runtime.start()
    except ContentError as exc:
        raise StartupError(f"the content has errors; fix them (python -m bot content check):\n{exc}") from None
    except (sqlite3.Error, OSError) as exc:
        raise StartupError(f"cannot use the database in {settings.data_dir}: {exc}") from None
    except StartError as exc:  # a channel could not start (a refused token, an unreachable API)
        raise StartupError(str(exc)) from None
    # What start-up built (content, the FAQ index and classifier, catalogs) lives as long as the process:
    # kept out of the cyclic garbage collector's scans, which otherwise walk it all again and again and show
    # as the slowest answers (bench/faq.py: p99 per question, see README "The FAQ engine").
    gc.collect()
    gc.freeze()
    log.info("bot running; stop with Ctrl+C")
    try:
        await wait_for_signal()
    finally:
        await runtime.stop()


async def serve_sandbox(settings: Settings, terminal: bool, web: bool) -> None:
    from devtools.sandbox.local import run_local

    await run_local(settings, terminal=terminal, web=web)


def cmd_run(args: argparse.Namespace) -> int:
    settings = load_settings()
    setup_logging(settings.token, secrets=(settings.zalo_token, settings.zalo_webhook_secret))
    try:
        if not settings.sandbox:
            with runlock.hold(settings.data_dir):
                asyncio.run(serve(settings))
        else:
            # No token: the local sandbox (its own database, data/sandbox). A terminal chat from a terminal.
            with runlock.hold(settings.data_dir / "sandbox"):
                asyncio.run(serve_sandbox(settings, terminal=sys.stdin.isatty(), web=not args.no_web))
    except runlock.AlreadyRunning as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)  # one line, no traceback: systemd restarts us
        return 1
    return 0


class StartupError(Exception):
    """A known reason the bot cannot start (bad content, an unusable data folder, a refused token)."""


def cmd_chat(args: argparse.Namespace) -> int:
    settings = load_settings()
    if not settings.sandbox:
        print("BOT_TOKEN or ZALO_BOT_TOKEN is set: the terminal chat only runs against the local sandbox. "
              "Unset it first.")
        return 2
    setup_logging(None, level=logging.WARNING)
    try:
        with runlock.hold(settings.data_dir / "sandbox"):
            asyncio.run(serve_sandbox(settings, terminal=True, web=False))
    except runlock.AlreadyRunning as exc:
        print(f"error: {exc} (`make run` serves the web chat on the same sandbox)", file=sys.stderr)
        return 1
    return 0
