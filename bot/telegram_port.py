"""Telegram side of the campaign engine: the `SendPort` over PTB, and the rate limiter that lets the engine
see flood control itself.

PTB errors map to the engine's: RetryAfter (429) → RetryLater, Forbidden (403: blocked, deactivated,
kicked) → Blocked, any other TelegramError → SendFailed (retried by the engine).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, cast

from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, ExtBot

from bot.campaigns.engine import Blocked, Broadcast, RetryLater, SendFailed
from storage.campaigns import Recipient

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# Broadcast sends ask the rate limiter for no retry: the engine waits out a 429 itself, for every campaign.
NO_RETRY = {"max_retries": 0}


class RateLimiter(AIORateLimiter):
    """PTB's AIORateLimiter, where `rate_limit_args={"max_retries": n}` is honoured, n = 0 included.

    Stock PTB 22 expects an int and reads it as `rate_limit_args or max_retries`, so 0 silently becomes
    the default (and a dict fails). Plain ints and None behave exactly as in PTB.
    """

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Any,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if isinstance(rate_limit_args, dict):
            retries = int(rate_limit_args.get("max_retries", self._max_retries))
            if retries > 0:
                return await super().process_request(callback, args, kwargs, endpoint, data, retries)
            chat_id = data.get("chat_id")
            group: int | str | bool = chat_id if isinstance(chat_id, str) or (
                isinstance(chat_id, int) and chat_id < 0) else False
            # One attempt through the same limiters; a RetryAfter reaches the caller.
            return await self._run_request(chat=chat_id is not None, group=group,
                                           allow_paid_broadcast=bool(data.get("allow_paid_broadcast", False)),
                                           callback=callback, args=args, kwargs=kwargs)
        return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)


def retry_seconds(exc: RetryAfter) -> float:
    value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


Markup = Callable[[str], InlineKeyboardMarkup | None]


class TelegramPort:
    """Sends announcements and editors' reports through the app's bot (and its rate limiter)."""

    def __init__(self, bot: ExtBot[Any], markup: Markup) -> None:
        self.bot = bot
        self.markup = markup  # the buttons under an announcement, per language ("Dừng nhận tin")

    async def send(self, chat_id: int, message: Broadcast, language: str, **extra: Any) -> Message:
        """Send an announcement exactly as residents get it (also used for the editor's preview)."""
        bot = cast(Any, self.bot)  # ExtBot[None] is typed without rate_limit_args
        markup = self.markup(language)
        if message.photo:
            sent: Message = await bot.send_photo(chat_id, message.photo, caption=message.html or None,
                                                 parse_mode=ParseMode.HTML, reply_markup=markup, **extra)
            return sent
        sent = await bot.send_message(chat_id, message.html, parse_mode=ParseMode.HTML, reply_markup=markup,
                                      link_preview_options=NO_PREVIEW, **extra)
        return sent

    async def deliver(self, recipient: Recipient, message: Broadcast) -> None:
        extra = {"rate_limit_args": NO_RETRY} if self.bot.rate_limiter is not None else {}
        try:
            await self.send(recipient.chat_id, message, recipient.language, **extra)
        except RetryAfter as exc:
            raise RetryLater(retry_seconds(exc)) from exc
        except Forbidden as exc:
            raise Blocked(exc.message) from exc
        except TelegramError as exc:
            raise SendFailed(exc.message) from exc

    async def notify(self, chat_id: int, html: str) -> int | None:
        try:
            sent = await self.bot.send_message(chat_id, html, parse_mode=ParseMode.HTML,
                                               link_preview_options=NO_PREVIEW)
        except TelegramError as exc:
            log.warning("could not send a campaign report to chat %s: %s", chat_id, exc)
            return None
        return sent.message_id

    async def edit(self, chat_id: int, message_id: int, html: str) -> None:
        try:
            await self.bot.edit_message_text(html, chat_id=chat_id, message_id=message_id,
                                             parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW)
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                log.warning("could not update a campaign report: %s", exc)
        except TelegramError as exc:
            log.warning("could not update a campaign report: %s", exc)
