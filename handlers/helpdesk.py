"""Help requests, resident side: /request and its form, /status, /mydata (see and erase), /cancel."""

from __future__ import annotations

import html
import logging
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup, Update

from bot.campaigns.audience import TOPICS
from bot.dialogue import callbacks as cb
from bot.helpdesk.form import Contact, Input, Pick, Text
from bot.helpdesk.messages import Msg, Say, label, msg, render
from bot.helpdesk.model import ref_code
from bot.helpdesk.service import Reply, Who
from bot.i18n import N_, TZ, Translate, fmt_datetime
from handlers import officer
from handlers.common import inline, lang, main_menu, send_html, svc, tr
from handlers.start import remember
from handlers.telegram.app import Ctx

log = logging.getLogger(__name__)

cb.register_shape("rq", 2)  # a button of the form: step, value
cb.register_shape("rs", 2)  # /status: cancel | cancel-yes | keep, request id
cb.register_shape("md", 1)  # /mydata: erase | erase-yes | keep

MAX_STATUS = 20


def who(update: Update) -> Who:
    user = update.effective_user
    assert user is not None
    return Who(user.id, user.id, lang(update))  # the form always runs in the private chat


def say_markup(say: Say, _: Translate) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    if say.contact:
        return ReplyKeyboardMarkup([[KeyboardButton(_("📱 Send my phone number"), request_contact=True)]],
                                   resize_keyboard=True, one_time_keyboard=True)
    if say.choices:
        return inline([[(label(c, _), cb.make("rq", say.step, c.value)) for c in row] for row in say.choices])
    return main_menu(_) if say.menu else None


async def send_says(update: Update, context: Ctx, says: list[Say]) -> None:
    _ = tr(update, context)
    chat_id = who(update).chat_id
    for say in says:
        await send_html(context.bot, chat_id, render(say.text, _), say_markup(say, _))


def plain(message: Msg, _: Translate) -> str:
    """A message as plain text (button answers are not HTML)."""
    return html.unescape(render(message, _))


async def in_private(update: Update, context: Ctx) -> bool:
    """The form runs in private chats only; elsewhere say how to get there."""
    chat = update.effective_chat
    if chat is not None and chat.type == "private":
        return True
    _ = tr(update, context)
    text = _("To ask an officer for help, please write to me in a private chat: press my name, then “Start”.")
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)
    return False


async def after(update: Update, context: Ctx, reply: Reply) -> None:
    """Deliver a form reply; a new request is posted to the officers' group in the background."""
    await send_says(update, context, reply.says)
    if reply.created is not None:
        officer.post_soon(context.application)


async def start_request(update: Update, context: Ctx) -> None:
    """Open the help-request form, or continue the one in progress."""
    if update.effective_user is None or not await in_private(update, context):
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    await remember(update, context)
    says = await svc(context).helpdesk.begin(who(update), tr(update, context))
    await send_says(update, context, says)


async def answer_form(update: Update, context: Ctx, given: Input) -> Reply:
    return await svc(context).helpdesk.answer(who(update), given, tr(update, context))


async def on_form_button(update: Update, context: Ctx) -> None:
    """A button of the form (rq:<step>:<value>)."""
    query = update.callback_query
    if query is None or update.effective_user is None:
        return
    data = cb.parse(query.data)
    if data is None:
        await query.answer(tr(update, context)("This button is out of date."))
        return
    if not await in_private(update, context):
        return
    _ = tr(update, context)
    reply = await answer_form(update, context, Pick(*data.args))
    await query.answer(plain(reply.toast, _) if reply.toast else None)
    await after(update, context, reply)


async def on_contact(update: Update, context: Ctx) -> None:
    """A shared contact: the form's phone number, accepted only if it is the sender's own."""
    message, user = update.effective_message, update.effective_user
    if message is None or message.contact is None or user is None:
        return
    contact = message.contact
    reply = await answer_form(update, context, Contact(contact.phone_number, contact.user_id == user.id))
    await after(update, context, reply)


async def consume_text(update: Update, context: Ctx) -> bool:
    """Free text that answers the open form; False when no form is open (the text is then a question)."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or message.text is None or chat is None or chat.type != "private":
        return False
    reply = await answer_form(update, context, Text(message.text))
    if not reply.handled:
        return False
    await after(update, context, reply)
    return True


async def cancel_form(update: Update, context: Ctx) -> bool:
    """/cancel: drop the half-filled form (True when there was one)."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or not await svc(context).helpdesk.cancel_form(user.id):
        return False
    _ = tr(update, context)
    await message.reply_text(_("Your request form was cancelled. Nothing was sent."), reply_markup=main_menu(_))
    return True


# --- /status -----------------------------------------------------------------------------------------


async def show_status(update: Update, context: Ctx) -> None:
    """List the resident's requests with their state; open ones can be cancelled."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not await in_private(update, context):
        return
    _ = tr(update, context)
    helpdesk = svc(context).helpdesk
    requests = await helpdesk.requests_of(user.id)
    if not requests:
        await message.reply_text(_("You have no help requests. To ask an officer for help, use /request."))
        return
    lines = [render(helpdesk.status_line(r), _) for r in requests[:MAX_STATUS]]
    buttons = [[(_("❌ Cancel {code}").format(code=ref_code(r.id)), cb.make("rs", "cancel", r.id))]
               for r in requests[:MAX_STATUS] if r.is_open]
    text = _("<b>Your help requests</b>") + "\n" + "\n".join(lines)
    await send_html(context.bot, message.chat_id, text, inline(buttons) if buttons else None)


async def on_status_button(update: Update, context: Ctx) -> None:
    """Cancel one of one's own requests from /status (asks once more first)."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    _ = tr(update, context)
    data = cb.parse(query.data)
    if data is None or not data.args[1].isdigit() or data.args[0] not in ("cancel", "cancel-yes", "keep"):
        await query.answer(_("This button is out of date."))
        return
    action, request_id = data.args[0], int(data.args[1])
    code = ref_code(request_id)
    if action == "keep":
        await query.answer(_("Nothing was changed."))
        return
    if action == "cancel":
        await query.answer()
        await send_html(context.bot, user.id, _("Cancel your request <b>{code}</b>?").format(code=code),
                        inline([[(_("Yes, cancel it"), cb.make("rs", "cancel-yes", request_id)),
                                 (_("No, keep it"), cb.make("rs", "keep", request_id))]]))
        return
    request = await svc(context).helpdesk.cancel_own(user.id, request_id)
    if request is None:
        await query.answer(_("This request is no longer open."))
        return
    await query.answer()
    await send_html(context.bot, user.id, _("Your request <b>{code}</b> was cancelled.").format(code=code),
                    main_menu(_))
    await officer.tell_officers_cancelled(context.application, request)


# --- /mydata -----------------------------------------------------------------------------------------


async def show_mydata(update: Update, context: Ctx) -> None:
    """Show everything the bot keeps about the resident, with a button to erase it."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not await in_private(update, context):
        return
    _ = tr(update, context)
    s = svc(context)
    data = await s.helpdesk.personal_data(user.id)
    lines = [_("<b>What the bot keeps about you</b>")]
    language = lang(update)
    if data.resident is not None:
        lines.append(render(msg(N_("• Using the bot since {date}; language: {language}; came from: {source}"),
                                date=fmt_datetime_from(data.resident["first_seen"], language),
                                language=data.resident["language"], source=data.resident["source"] or "—"), _))
    if data.question_count:
        lines.append(render(msg(N_("• Questions you asked: {count} (phone and ID numbers hidden). Latest:"),
                                count=data.question_count), _))
        lines += [f"   – {html.escape(q.text[:120])}" for q in data.questions]
    if data.feedback_count:
        lines.append(render(msg(N_("• Answers you rated: {count}"), count=data.feedback_count), _))
    if data.draft is not None:
        lines.append(render(msg(N_("• A request form you are filling in:\n{answers}"),
                                answers=s.helpdesk.draft_lines(data.draft, _)), _))
    for r in data.requests:
        lines.append(render(msg(N_("• {status}\n   sent {date}: {name}, {phone}, {village}, personal ID {id}, "
                                   "note: {note}"),
                                status=s.helpdesk.status_line(r), date=fmt_datetime_from(r.created_at, language),
                                name=r.full_name, phone=r.phone, village=village_name(context, r.village),
                                id=r.id_number or "—", note=r.note or "—"), _))
    subscription = await s.campaigns.subscriber_data(user.id)
    if subscription is not None:
        lines.append(subscription_line(subscription, _, language, context))
    nothing = len(lines) == 1
    if nothing:
        lines.append(_("The bot keeps nothing about you."))
    else:
        lines.append("\n" + _("Only commune officers see your requests. Closed requests are anonymised after "
                              "{days} days.").format(days=s.settings.retention_days))
    markup = None if nothing else inline([[(_("🗑 Erase my data"), cb.make("md", "erase"))]])
    await send_html(context.bot, message.chat_id, "\n".join(lines), markup)


def subscription_line(data: dict[str, Any], _: Translate, language: str, context: Ctx) -> str:
    """The announcement subscription as /mydata shows it."""
    state = (_("blocked the bot") if data["blocked"] else _("receiving") if data["active"] else _("stopped"))
    topics = ", ".join(_(TOPICS.get(t, t)) for t in data["topics"]) or _("all topics")
    village = village_name(context, data["village"]) if data["village"] else _("all villages")
    return html.escape(_("• Commune announcements: {state}; village: {village}; topics: {topics}; agreed on "
                         "{date}; announcements sent to you: {count}").format(
        state=state, village=village, topics=topics, date=fmt_datetime_from(data["consented_at"], language),
        count=data["deliveries"]))


def fmt_datetime_from(at: float, language: str) -> str:
    return fmt_datetime(datetime.fromtimestamp(at, TZ), language)


def village_name(context: Ctx, village_id: str) -> str:
    village = svc(context).content.commune.village(village_id)
    return village.name if village else (village_id or "—")


async def on_mydata_button(update: Update, context: Ctx) -> None:
    """Erase the resident's data after one confirmation."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    _ = tr(update, context)
    data = cb.parse(query.data)
    action = data.args[0] if data else ""
    if action == "keep":
        await query.answer(_("Nothing was erased."))
        return
    if action == "erase":
        await query.answer()
        await send_html(context.bot, user.id, _(
            "Erase everything the bot keeps about you? Your open requests will be cancelled. This cannot be "
            "undone."), inline([[(_("🗑 Yes, erase"), cb.make("md", "erase-yes")),
                                 (_("No, keep it"), cb.make("md", "keep"))]]))
        return
    if action != "erase-yes":
        await query.answer(_("This button is out of date."))
        return
    await query.answer()
    cancelled = await svc(context).helpdesk.erase(user.id)
    await svc(context).campaigns.forget_subscriber(user.id)
    log.info("erasure done for a resident (%d open request(s) cancelled)", len(cancelled))
    await send_html(context.bot, user.id, _(
        "Your data has been erased. Your open requests were cancelled. If you write to the bot again, it only "
        "keeps what you send from then on."), main_menu(_))
    for request in cancelled:
        await officer.tell_officers_cancelled(context.application, request)

