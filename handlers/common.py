"""Small helpers shared by handlers: services, translation, menus, sending long HTML safely."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import ExtBot

from bot.faq.render import split_message
from bot.i18n import Translate, language_of
from handlers.telegram.app import Ctx, Services

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def svc(context: Ctx) -> Services:
    return context.bot_data.svc


def lang(update: Update) -> str:
    user = update.effective_user
    return language_of(user.language_code if user else None)


def tr(update: Update, context: Ctx) -> Translate:
    """The gettext of the user's language."""
    return svc(context).catalogs.gettext(lang(update))


def menu_labels(_: Translate) -> dict[str, str]:
    """Main-menu button label -> action."""
    return {
        _("❓ Questions: VNeID, online services"): "faq",
        _("🔔 Commune announcements"): "subscribe",
        _("🙋 Ask an officer for help"): "request",
        _("📞 Contacts"): "contacts",
    }


def main_menu(_: Translate) -> ReplyKeyboardMarkup:
    labels = list(menu_labels(_))
    return ReplyKeyboardMarkup(
        [[KeyboardButton(labels[0])], [KeyboardButton(labels[1]), KeyboardButton(labels[2])],
         [KeyboardButton(labels[3])]],
        resize_keyboard=True,
        is_persistent=True,
    )


def inline(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Rows of (label, callback data) -> an inline keyboard."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=data) for text, data in row]
                                 for row in rows])


async def send_html(bot: ExtBot[None], chat_id: int, html: str,
                    reply_markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None,
                    reply_to: int | None = None) -> Message:
    """Send HTML split into ≤ 4096-character parts; the keyboard goes under the last part."""
    parts = split_message(html)
    message: Message | None = None
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        message = await bot.send_message(
            chat_id, part, parse_mode=ParseMode.HTML, reply_markup=reply_markup if last else None,
            reply_to_message_id=reply_to if i == 0 else None,
            link_preview_options=NO_PREVIEW,
        )
    assert message is not None
    return message
