"""The core's messages as python-telegram-bot calls: HTML parse mode, inline keyboards, reply keyboards,
edits, photos and documents. Errors become the core's delivery errors."""

from __future__ import annotations

from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import ExtBot

from bot.dialogue.core import Blocked, DeliveryError, Refused, TryLater
from bot.dialogue.model import Buttons, Capabilities, Out, Sent
from bot.dialogue.render import Rendered
from handlers.telegram.broadcast import chat_of
from handlers.telegram.ratelimit import retry_seconds

CAPS = Capabilities(channel="telegram", buttons=True, edits=True, text_limit=4096, markup="html",
                    contact_button=True, files=True, command_menu=True, group_per_minute=20)

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | None


def inline(buttons: Buttons) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
                                 for row in buttons])


def markup_of(message: Rendered) -> Markup:
    if message.contact_label:
        return ReplyKeyboardMarkup([[KeyboardButton(message.contact_label, request_contact=True)]],
                                   resize_keyboard=True, one_time_keyboard=True)
    if message.buttons:
        return inline(message.buttons)
    if message.keyboard:
        return ReplyKeyboardMarkup([[KeyboardButton(label) for label in row] for row in message.keyboard],
                                   resize_keyboard=True, is_persistent=True)
    return None


def delivery_error(exc: TelegramError) -> DeliveryError:
    if isinstance(exc, RetryAfter):
        return TryLater(exc.message, retry_seconds(exc))
    if isinstance(exc, Forbidden):
        return Blocked(exc.message)
    if isinstance(exc, BadRequest):
        return Refused(exc.message)
    if isinstance(exc, TimedOut):  # the request may have gone out: it may have arrived
        return TryLater(exc.message, maybe_sent=True)
    if isinstance(exc, NetworkError):
        return TryLater(exc.message)
    return TryLater(exc.message)


class TelegramChannel:
    """The Telegram port of the core (see bot.dialogue.core.ChannelPort)."""

    caps = CAPS

    def __init__(self, bot: ExtBot[Any]) -> None:
        self.bot = bot

    async def send(self, chat: str, message: Rendered, out: Out) -> Sent:
        chat_id = chat_of(chat)
        markup = markup_of(message)
        reply_to = int(out.reply_to) if out.reply_to and out.reply_to.isdigit() else None
        last: Message | None = None
        try:
            if out.document is not None:
                with out.document.open("rb") as handle:
                    last = await self.bot.send_document(chat_id, handle, filename=out.document.name,
                                                        caption=message.parts[0] if message.parts else None,
                                                        parse_mode=ParseMode.HTML, reply_markup=markup)
                return Sent(str(last.message_id))
            if out.photo is not None:
                caption = message.parts[0] if message.parts else None
                last = await self.bot.send_photo(chat_id, out.photo, caption=caption, parse_mode=ParseMode.HTML,
                                                 reply_markup=markup)
                return Sent(str(last.message_id))
            parts = message.parts
            for i, part in enumerate(parts):
                final = i == len(parts) - 1
                last = await self.bot.send_message(
                    chat_id, part, parse_mode=ParseMode.HTML, reply_markup=markup if final else None,
                    reply_to_message_id=reply_to if i == 0 else None)
        except TelegramError as exc:
            raise delivery_error(exc) from exc
        return Sent(str(last.message_id) if last is not None else "")

    async def set_commands(self, chat: str, commands: list[tuple[str, str]]) -> None:
        """A chat-scoped command menu (staff see their own commands)."""
        try:
            await self.bot.set_my_commands([BotCommand(name, desc) for name, desc in commands],
                                           scope=BotCommandScopeChat(chat_of(chat)))
        except TelegramError as exc:
            raise delivery_error(exc) from exc

    async def edit(self, chat: str, message_id: str, message: Rendered, out: Out) -> bool:
        if len(message.parts) != 1 or not message_id.isdigit() or message.keyboard or message.contact_label:
            return False
        try:
            await self.bot.edit_message_text(message.parts[0], chat_of(chat), int(message_id),
                                             parse_mode=ParseMode.HTML, reply_markup=inline(message.buttons))
        except BadRequest as exc:
            return "not modified" in str(exc).lower()
        except TelegramError as exc:
            raise delivery_error(exc) from exc
        return True
