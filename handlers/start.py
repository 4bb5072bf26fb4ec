"""/start (with deep-link source), /help, the main menu, contacts, non-text messages."""

from __future__ import annotations

import html
import re

from telegram import Update
from telegram.constants import ParseMode

from handlers.common import NO_PREVIEW, lang, main_menu, svc, tr
from handlers.telegram.app import Ctx

# Deep-link payloads Telegram allows: A-Z a-z 0-9 _ -, up to 64 characters.
_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


async def remember(update: Update, context: Ctx, source: str | None = None) -> None:
    """Record the resident as seen (private chats only)."""
    user, chat = update.effective_user, update.effective_chat
    if user and chat and chat.type == "private":
        await svc(context).residents.touch(user.id, chat.id, lang(update), source)


def contacts_html(update: Update, context: Ctx) -> str:
    """The commune's contacts, from content/commune.toml; unknown values say so."""
    _ = tr(update, context)
    values = svc(context).content.commune.values
    unknown = _("not updated yet")

    def v(key: str) -> str:
        return html.escape(values.get(key) or unknown)

    return _(
        "<b>Contacts</b>\n"
        "👮 {police_name}: {police_address}, phone {police_phone}\n"
        "🏛 {one_stop_name}: {one_stop_address}, phone {one_stop_phone}\n"
        "🕗 Office hours: {office_hours}\n"
        "☎️ Ministry of Public Security hotline for VNeID: {hotline} (press 4 for an operator)"
    ).format(police_name=v("police_name"), police_address=v("police_address"), police_phone=v("police_phone"),
             one_stop_name=v("one_stop_name"), one_stop_address=v("one_stop_address"),
             one_stop_phone=v("one_stop_phone"), office_hours=v("office_hours"), hotline=v("hotline_vneid"))


async def start(update: Update, context: Ctx) -> None:
    """Welcome the resident, record where they came from, show the main menu."""
    message = update.effective_message
    if message is None:
        return
    payload = context.args[0] if context.args else None
    source = payload if payload and _PAYLOAD.match(payload) else None
    await remember(update, context, source)
    _ = tr(update, context)
    commune = html.escape(svc(context).content.commune.display_name)
    text = _(
        "Hello! This is the information bot of <b>{commune}</b>.\n"
        "I answer questions about electronic identification (VNeID, level 1 and level 2), the căn cước card "
        "and online public services; I send the commune's announcements; and I can pass your request for "
        "help to the commune police.\n\n"
        "Type your question in your own words (diacritics are not needed), or use the buttons below."
    ).format(commune=commune)
    await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=main_menu(_),
                             link_preview_options=NO_PREVIEW)


async def show_help(update: Update, context: Ctx) -> None:
    """Explain what the bot does and list the commands."""
    message = update.effective_message
    if message is None:
        return
    _ = tr(update, context)
    text = _(
        "<b>How to use this bot</b>\n"
        "• Type a question, for example: <i>kich hoat vneid the nao</i>, <i>quên mật khẩu VNeID</i>.\n"
        "• /start — the main menu\n"
        "• /subscribe — receive the commune's announcements; /unsubscribe — stop them\n"
        "• /request — ask a commune officer to help you register; /status — your requests\n"
        "• /mydata — see or erase what the bot keeps about you\n"
        "• /cancel — stop what you are filling in\n\n"
        "The bot never asks for your OTP code, password or passcode. Never give them to anyone."
    )
    await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=main_menu(_),
                             link_preview_options=NO_PREVIEW)


async def show_contacts(update: Update, context: Ctx) -> None:
    """Show the commune's contacts."""
    message = update.effective_message
    if message is None:
        return
    await message.reply_text(contacts_html(update, context), parse_mode=ParseMode.HTML,
                             link_preview_options=NO_PREVIEW)


async def not_text(update: Update, context: Ctx) -> None:
    """Stickers, photos, voice…: say that only text is understood for now."""
    message = update.effective_message
    if message is None:
        return
    _ = tr(update, context)
    await message.reply_text(_("Sorry, I can only read text messages for now. Please type your question."))
