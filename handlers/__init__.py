"""All handler registration, in one place and in order (PTB tries handlers in order, first match wins)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import BotCommand, BotCommandScopeAllPrivateChats, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, ChatMemberHandler, CommandHandler, MessageHandler, filters

from bot.dialogue import commands
from bot.dialogue.model import Address
from bot.i18n import LANGUAGES, Catalogs
from handlers import campaigns, helpdesk, officer
from handlers.common import main_menu, menu_labels, tr
from handlers.telegram.app import App, Ctx
from handlers.telegram.dispatch import to_core

log = logging.getLogger(__name__)

# Commands shown in Telegram's menu: the core's lists (bot/dialogue/commands.py).
COMMANDS = commands.RESIDENT


class AddressedToBot(filters.MessageFilter):
    """Every private message; in groups only messages that mention the bot or reply to it."""

    def filter(self, message: Any) -> bool:
        if message.chat.type == "private":
            return True
        bot = message.get_bot()
        reply = message.reply_to_message
        if reply is not None and reply.from_user is not None and reply.from_user.id == bot.id:
            return True
        username = "@" + (bot.username or "").lower()
        return any(entity.type == "mention" and message.parse_entity(entity).lower() == username
                   for entity in message.entities or ())


TextConsumer = Callable[[Update, Ctx], Awaitable[bool]]


def text_router(consumers: list[TextConsumer]) -> Callable[[Update, Ctx], Coroutine[Any, Any, None]]:
    """Free text goes first to open dialogues (a half-filled form, a campaign draft), kept in SQLite;
    a consumer returns True when the text was its answer. Otherwise the text is a question for the FAQ."""

    async def on_text(update: Update, context: Ctx) -> None:
        for consume in consumers:
            if await consume(update, context):
                return
        await to_core(update, context)

    return on_text


def cancel_router(cancellers: list[TextConsumer]) -> Callable[[Update, Ctx], Coroutine[Any, Any, None]]:
    """/cancel: every open dialogue is asked to cancel itself (each returns True if it had one open)."""

    async def on_cancel(update: Update, context: Ctx) -> None:
        cancelled = [await cancel(update, context) for cancel in cancellers]
        message = update.effective_message
        if not any(cancelled) and message is not None:
            _ = tr(update, context)
            await message.reply_text(_("There is nothing to cancel."), reply_markup=main_menu(_))

    return on_cancel


def menu_router(actions: dict[str, Any]) -> Any:
    """A handler for main-menu buttons: label (any language) -> action -> handler."""

    async def on_menu(update: Update, context: Ctx) -> None:
        message = update.effective_message
        if message is None or message.text is None:
            return
        action = menu_labels(tr(update, context)).get(message.text)
        if action is None:  # a label of the other language
            for lang in LANGUAGES:
                action = action or menu_labels(context.bot_data.svc.catalogs.gettext(lang)).get(message.text)
        await actions.get(action or "", to_core)(update, context)

    return on_menu


async def on_unknown_button(update: Update, context: Ctx) -> None:
    """A button whose data no handler accepted (old, or forged): answer calmly, change nothing."""
    query = update.callback_query
    if query is None:
        return
    await query.answer(tr(update, context)("This button is out of date."))


async def on_error(update: object, context: Ctx) -> None:
    """Log the error (the log filter removes tokens) and tell the user calmly."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat and update.effective_chat.type == "private":
        try:
            _ = tr(update, context)
            await context.bot.send_message(update.effective_chat.id,
                                           _("Sorry, something went wrong. Please try again in a moment."))
        except TelegramError:
            pass


def register(app: App, catalogs: Catalogs) -> None:
    """Register every handler. Note: order matters — commands, buttons, menu labels, then free text."""
    private = filters.ChatType.PRIVATE
    labels = set()
    for lang in LANGUAGES:
        labels |= set(menu_labels(catalogs.gettext(lang)))
    # Features add: their menu actions, consumers of free text for their open dialogues, and cancellers
    # (/cancel asks each one; a canceller replies itself and returns True when it closed a dialogue).
    text_consumers: list[TextConsumer] = []
    cancellers: list[TextConsumer] = []
    menu_actions: dict[str, Any] = {
        "faq": to_core,
        "contacts": to_core,
    }

    # 1. Commands (Latin names, plus Vietnamese aliases where Telegram allows them).
    app.add_handler(CommandHandler(["start", "batdau", "help", "trogiup", "huongdan", "contacts", "lienhe",
                                    "faq", "hoidap"], to_core))
    app.add_handler(CommandHandler(["cancel", "huy"], cancel_router(cancellers)))

    # --- help requests: resident form (/request, /status, /mydata, /cancel) and officer queue go here ---
    menu_actions["request"] = helpdesk.start_request
    # An officer asked to type a note or an appointment goes first: they just pressed that button.
    text_consumers.extend([officer.consume_text, helpdesk.consume_text])
    cancellers.extend([officer.cancel_input, helpdesk.cancel_form])
    app.add_handler(CommandHandler(["request", "hotro"], helpdesk.start_request))
    app.add_handler(CommandHandler(["status", "tinhtrang"], helpdesk.show_status))
    app.add_handler(CommandHandler(["mydata", "dulieu"], helpdesk.show_mydata))
    app.add_handler(CommandHandler(["queue", "hangdoi"], officer.show_queue))
    # A shared contact is the form's phone number (before the catch-all for non-text messages below).
    app.add_handler(MessageHandler(filters.CONTACT & private, helpdesk.on_contact))
    app.add_handler(CallbackQueryHandler(helpdesk.start_request, pattern=r"^ask$"))
    app.add_handler(CallbackQueryHandler(helpdesk.on_form_button, pattern=r"^rq:"))
    app.add_handler(CallbackQueryHandler(helpdesk.on_status_button, pattern=r"^rs:"))
    app.add_handler(CallbackQueryHandler(helpdesk.on_mydata_button, pattern=r"^md:"))
    app.add_handler(CallbackQueryHandler(officer.on_button, pattern=r"^(hq|hs|hz):"))
    # --- campaigns: /subscribe, /unsubscribe, my_chat_member, editor /campaign go here ---
    menu_actions["subscribe"] = campaigns.subscribe
    text_consumers.append(campaigns.consume_draft_text)  # the editor's draft: text, typed date/time
    cancellers.append(campaigns.cancel_draft)
    app.add_handler(CommandHandler(["subscribe", "nhanthongbao"], campaigns.subscribe))
    app.add_handler(CommandHandler(["unsubscribe", "dungthongbao"], campaigns.unsubscribe))
    app.add_handler(CommandHandler(["campaign", "thongbao"], campaigns.campaign_menu))
    app.add_handler(CallbackQueryHandler(campaigns.on_subscriber_button, pattern=campaigns.SUBSCRIBER_BUTTONS))
    app.add_handler(CallbackQueryHandler(campaigns.on_editor_button, pattern=campaigns.EDITOR_BUTTONS))
    # Blocking / unblocking the bot keeps the subscriber's status true.
    app.add_handler(ChatMemberHandler(campaigns.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    # A photo is the picture of an editor's draft (others get "only text", as in 5. below).
    app.add_handler(MessageHandler(private & filters.PHOTO, campaigns.on_photo))
    # (Conversation steps that consume free text must be registered before the free-text FAQ handler.)

    # 2. Inline buttons of the FAQ (browse edits in place; suggestions and feedback add messages).
    app.add_handler(CallbackQueryHandler(to_core, pattern=r"^(grp$|g:|f:|a:|fb:)"))

    # 3. Main-menu buttons arrive as plain text: match their labels before free text does.
    app.add_handler(MessageHandler(private & filters.Text(sorted(labels)), menu_router(menu_actions)))

    # 4. Free text: private chats, or groups when the bot is mentioned or replied to.
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & AddressedToBot(),
                                   text_router(text_consumers)))

    # 5. Anything else in private (stickers, photos, voice…): only text is understood for now.
    app.add_handler(MessageHandler(private & ~filters.TEXT & ~filters.COMMAND & ~filters.StatusUpdate.ALL,
                                   to_core))

    # 6. Last: buttons no handler above accepted (old or forged data).
    app.add_handler(CallbackQueryHandler(to_core))
    app.add_error_handler(on_error)


async def on_startup(app: App) -> None:
    """After services are open: the command menu in Vietnamese (default) and English."""
    catalogs = app.bot_data.svc.catalogs
    for lang in LANGUAGES:
        _ = catalogs.gettext(lang)
        commands = [BotCommand(name, _(desc)) for name, desc in COMMANDS]
        try:
            if lang == "vi":
                await app.bot.set_my_commands(commands)
                await app.bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats())
            await app.bot.set_my_commands(commands, language_code=lang)
        except TelegramError:
            log.warning("could not set the command menu for %s", lang, exc_info=True)
    await set_staff_commands(app)
    # --- feature start-up (rebuild reminders / schedules from the database) goes here ---
    await campaigns.on_startup(app)  # the delivery engine: resumes runs, polls for due campaigns
    officer.schedule_jobs(app)


async def set_staff_commands(app: App) -> None:
    """Each staff member's private chat shows their role's commands too (the rest see the residents')."""
    svc = app.bot_data.svc
    for member in await svc.staff.members():
        role = await svc.staff.role(member.person_id)
        for identity in await svc.identities.of_person(member.person_id):
            if identity.channel == "telegram":
                await svc.channels.set_commands(Address("telegram", identity.chat_id), identity.language,
                                                commands.for_role(role))
