"""The one PTB callback that hands an update to the conversation core."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from handlers.telegram.app import Ctx
from handlers.telegram.inbound import event_of, who_of

log = logging.getLogger(__name__)


async def to_core(update: Update, context: Ctx) -> None:
    data = context.bot_data
    conversation = data.conversation
    who = who_of(update)
    event = event_of(update, data.bot_id, data.bot_username)
    if conversation is None or who is None or event is None:
        if update.callback_query is not None:
            await answer(update, None, False)
        return
    turn = await conversation.handle(who, event)
    if update.callback_query is not None:
        await answer(update, turn.toast_text, turn.toast_alert)


async def answer(update: Update, text: str | None, alert: bool) -> None:
    """Acknowledge a button press. Best-effort: Telegram refuses late answers ("query is too old"),
    and that must never undo or stop what the press did."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(text, show_alert=alert)
    except TelegramError as exc:
        log.info("could not acknowledge a button press: %s", exc)
