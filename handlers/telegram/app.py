"""The Telegram channel's application: `build_application(settings)` builds the python-telegram-bot app
that serves the conversation core (services are built by bot.services.build_services)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.error import InvalidToken, NetworkError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackContext,
    ContextTypes,
    ExtBot,
)

from bot.config import Settings
from bot.content_gate import load_checked
from bot.dialogue.core import Conversation
from bot.i18n import Catalogs
from bot.services import Services, build_services
from handlers.telegram.ratelimit import RateLimiter

log = logging.getLogger(__name__)


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats run concurrently; updates of one chat run in order."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}  # chat id -> (lock, users of it)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = getattr(update, "effective_chat", None)
        key = chat.id if chat is not None else 0
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


@dataclass
class BotData:
    """`context.bot_data`: PTB creates it with no arguments; `post_init` fills `services`."""

    services: Services | None = None
    conversation: Conversation | None = None
    bot_username: str = ""
    bot_id: int = 0

    @property
    def svc(self) -> Services:
        if self.services is None:
            raise RuntimeError("the application has not been initialised")
        return self.services


Ctx = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]
App = Application[ExtBot[None], Ctx, dict[Any, Any], dict[Any, Any], BotData, Any]


def build_application(settings: Settings, services: Services | None = None, owns_core: bool = True) -> App:
    """Build the bot. Services are opened in post_init unless given (tests, bot/app.py pass their own).
    `owns_core`: this app starts and stops the core's jobs (False when bot/app.py runs several channels)."""
    if not settings.token:
        raise ValueError("build_application needs a token (the sandbox uses a fake one)")
    # PTB 22: RetryAfter.retry_after as a timedelta (the future default; silences its deprecation warning).
    os.environ.setdefault("PTB_TIMEDELTA", "true")

    # Content and catalogs are read before anything starts: a broken content folder stops start-up.
    content = services.content if services else load_checked(settings.content_dir)
    catalogs = services.catalogs if services else Catalogs.load(settings.content_dir / "locales")

    async def post_init(app: App) -> None:
        bot_data: BotData = app.bot_data
        bot_data.services = services or await build_services(settings, content, catalogs)
        me = await app.bot.get_me()
        bot_data.bot_username = me.username or ""
        bot_data.bot_id = me.id
        from bot.dialogue.people import identifier
        from bot.dialogue.routes import build_router
        from handlers.telegram.port import TelegramChannel

        svc = bot_data.services
        if owns_core:
            svc.jobs.start()
        svc.channels.add(TelegramChannel(app.bot))
        bot_data.conversation = Conversation(svc, svc.channels, build_router(), identifier(svc.identities))
        from handlers.telegram.register import on_startup

        await on_startup(app, owns_core=owns_core)

    async def post_shutdown(app: App) -> None:
        bot_data: BotData = app.bot_data
        if bot_data.services is not None and owns_core:
            await bot_data.services.jobs.stop()
        if bot_data.services is not None and services is None:
            await bot_data.services.db.close()

    overall = max(30.0, settings.broadcast_rate * 1.2)
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .context_types(ContextTypes(bot_data=BotData))
        # Our own limiter: per-chat flood control, ≤ 20 messages a minute per group, a shared overall budget.
        .rate_limiter(RateLimiter(overall_max_rate=overall, max_retries=2))
        .read_timeout(settings.send_timeout)
        .concurrent_updates(PerChatUpdateProcessor(64))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    app: App = builder.build()
    from handlers.telegram.register import register

    register(app, catalogs)
    return app


async def start_app(app: App, poll_interval: float = 0.0, poll_timeout: int = 10) -> None:
    """Initialise, run post_init, start handlers and long polling (what run_polling does, minus the loop)."""
    try:
        await app.initialize()
    except InvalidToken as exc:
        from bot.app import StartError

        raise StartError(f"Telegram refused BOT_TOKEN ({exc}); check the token") from None
    except NetworkError as exc:
        from bot.app import StartError

        raise StartError(f"Telegram Bot API unreachable: {exc}") from None
    if app.post_init is not None:
        await app.post_init(app)
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=poll_interval, timeout=poll_timeout,
                                    allowed_updates=Update.ALL_TYPES)


async def stop_app(app: App) -> None:
    """Stop polling and handlers, then shut down (post_shutdown closes the database)."""
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()
    if app.post_shutdown is not None:
        await app.post_shutdown(app)
