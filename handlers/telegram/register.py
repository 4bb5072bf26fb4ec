"""All Telegram handler registration, in one place and in order (PTB tries handlers in order).

Every update goes to the conversation core (`dispatch.to_core`), which decides; this module only says
which updates the bot reacts to, and what the Telegram side does at start-up (command menus, the campaign
engine's Telegram port).
"""

from __future__ import annotations

import logging

from telegram import BotCommand, BotCommandScopeAllPrivateChats, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, ChatMemberHandler, MessageHandler, filters

from bot.campaigns.flow import stop_button
from bot.dialogue import commands
from bot.dialogue.model import Address
from bot.i18n import LANGUAGES, Catalogs, language_of
from handlers.telegram.app import App, Ctx
from handlers.telegram.broadcast import TelegramPort
from handlers.telegram.dispatch import to_core
from handlers.telegram.port import inline

log = logging.getLogger(__name__)


def register(app: App, catalogs: Catalogs) -> None:
    """1. messages (new ones: text, commands, contacts, photos, stickers…) — the core sees groups only when
    addressed (a mention, a reply, /command@bot); 2. edited messages — an edit is never an answer (see
    bot.dialogue.basics.on_edited); 3. button presses, forged or old ones included (the core refuses them);
    4. the bot blocked or unblocked in a private chat."""
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL, to_core))
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, to_core))
    app.add_handler(CallbackQueryHandler(to_core))
    app.add_handler(ChatMemberHandler(to_core, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_error_handler(on_error)


async def on_error(update: object, context: Ctx) -> None:
    """Errors outside the core (the core answers its own): log them (tokens are filtered out)."""
    log.error("error while handling an update", exc_info=context.error)


def broadcast_markup(catalogs: Catalogs) -> dict[str, InlineKeyboardMarkup | None]:
    """The option under every announcement, per language (as the core's flows build it)."""
    return {code: inline(stop_button(catalogs.gettext(code))) for code in LANGUAGES}


def port_of(app: App) -> TelegramPort:
    markups = broadcast_markup(app.bot_data.svc.catalogs)
    return TelegramPort(app.bot, lambda code: markups.get(language_of(code)),
                        app.bot_data.svc.settings.send_timeout)


async def on_startup(app: App, owns_core: bool = True) -> None:
    """After services are open: the command menus, the campaign engine's Telegram port, the core's jobs."""
    svc = app.bot_data.svc
    for lang in LANGUAGES:
        _ = svc.catalogs.gettext(lang)
        menu = [BotCommand(name, _(desc)) for name, desc in commands.RESIDENT]
        try:
            if lang == "vi":
                await app.bot.set_my_commands(menu)
                await app.bot.set_my_commands(menu, scope=BotCommandScopeAllPrivateChats())
            await app.bot.set_my_commands(menu, language_code=lang)
        except TelegramError:
            log.warning("could not set the command menu for %s", lang, exc_info=True)
    await set_staff_commands(app)
    await svc.campaigns.engine.attach(port_of(app), spawn=app.create_task, alive=lambda: app.running)
    if owns_core:
        from bot.dialogue.routes import start_jobs

        start_jobs(svc)


async def set_staff_commands(app: App) -> None:
    """Each staff member's private chat shows their role's commands too (everyone else the residents')."""
    svc = app.bot_data.svc
    for member in await svc.staff.members():
        role = await svc.staff.role(member.person_id)
        for identity in await svc.identities.of_person(member.person_id):
            if identity.channel == "telegram":
                await svc.channels.set_commands(Address("telegram", identity.chat_id), identity.language,
                                                commands.for_role(role))


__all__ = ["Update", "on_startup", "register"]
