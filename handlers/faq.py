"""FAQ: browsing topic groups, answering free text, suggestions, 👍/👎 feedback."""

from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.dialogue import callbacks as cb
from bot.faq.normalize import fold
from bot.faq.render import render_html
from bot.i18n import Translate
from bot.privacy import mask_text
from handlers.common import NO_PREVIEW, inline, send_html, svc, tr
from handlers.start import contacts_html, remember
from handlers.telegram.app import Ctx

log = logging.getLogger(__name__)

MAX_QUESTION = 1000  # characters of a question that are matched and stored


def answer_html(update: Update, context: Ctx, faq_id: str) -> str:
    """An FAQ as HTML: title, body with the commune's values filled in, and the as-of date."""
    _ = tr(update, context)
    s = svc(context)
    faq = s.faq.faq(faq_id)
    body = render_html(faq, s.content.commune, _("(not updated yet — please ask at the commune office)"))
    as_of = _("Information checked on {date}.").format(date=faq.as_of.strftime("%d/%m/%Y"))
    return f"<b>{html.escape(faq.title)}</b>\n\n{body}\n\n<i>{html.escape(as_of)}</i>"


def groups_keyboard(update: Update, context: Ctx) -> InlineKeyboardMarkup:
    return inline([[(g.title, cb.make("g", g.id))] for g in svc(context).faq.groups()])


async def browse(update: Update, context: Ctx) -> None:
    """Show the topic groups as inline buttons."""
    message = update.effective_message
    if message is None:
        return
    await remember(update, context)
    _ = tr(update, context)
    await message.reply_text(_("Choose a topic:"), reply_markup=groups_keyboard(update, context))


async def edit_or_send(update: Update, context: Ctx, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Edit the browsing message in place; send a new one if it cannot be edited."""
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup,
                                      link_preview_options=NO_PREVIEW)
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return
        chat = update.effective_chat
        if chat is None:
            raise
        await send_html(context.bot, chat.id, text, markup)


async def on_browse_button(update: Update, context: Ctx) -> None:
    """Handle group / question / back buttons of the browse menu (edits the message in place)."""
    query = update.callback_query
    if query is None:
        return
    data = cb.parse(query.data)
    _ = tr(update, context)
    s = svc(context)
    await query.answer()
    if data is None:
        return
    if data.verb == "grp":
        await edit_or_send(update, context, _("Choose a topic:"), groups_keyboard(update, context))
        return
    if data.verb == "g":
        group_id = data.args[0]
        faqs = s.faq.faqs_in_group(group_id)
        if not faqs:
            await edit_or_send(update, context, _("This topic no longer exists. Choose a topic:"),
                               groups_keyboard(update, context))
            return
        title = next((g.title for g in s.faq.groups() if g.id == group_id), "")
        rows = [[(f.title, cb.make("f", f.id))] for f in faqs]
        rows.append([(_("⬅️ Back"), cb.make("grp"))])
        await edit_or_send(update, context, f"<b>{html.escape(title)}</b>", inline(rows))
        return
    if data.verb == "f":
        faq_id = data.args[0]
        if faq_id not in s.content.faqs:
            await edit_or_send(update, context, _("This answer no longer exists. Choose a topic:"),
                               groups_keyboard(update, context))
            return
        group = s.faq.faq(faq_id).group
        markup = inline([[(_("⬅️ Back"), cb.make("g", group)), (_("🏠 All topics"), cb.make("grp"))]])
        await edit_or_send(update, context, answer_html(update, context, faq_id), markup)


def answer_keyboard(_: Translate, context: Ctx, question_id: int, related: tuple[str, ...]) -> InlineKeyboardMarkup:
    s = svc(context)
    rows = [[("👍", cb.make("fb", question_id, 1)), ("👎", cb.make("fb", question_id, 0))]]
    rows += [[("➡️ " + s.faq.faq(r).title, cb.make("a", r))] for r in related[:3] if r in s.content.faqs]
    return inline(rows)


async def ask(update: Update, context: Ctx, text: str) -> None:
    """Answer a free-text question: the best answer, a 'did you mean', or a polite decline."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return
    s = svc(context)
    _ = tr(update, context)
    text = text[:MAX_QUESTION]
    result = s.faq.ask(text)
    user_id = update.effective_user.id if update.effective_user else None
    masked = mask_text(text)
    question_id = await s.questions.record(user_id, masked, fold(masked), result.topic, result.score,
                                           result.status)
    reply_to = message.message_id if chat.type != "private" else None
    if result.status == "empty":
        await message.reply_text(_("Please type your question in words, for example: "
                                   "“quên mật khẩu VNeID”."))
        return
    if result.status == "answer" and result.topic:
        await send_html(context.bot, chat.id, answer_html(update, context, result.topic),
                        answer_keyboard(_, context, question_id, result.related), reply_to=reply_to)
        return
    if result.status == "unsure" and result.candidates:
        log.info("unsure question %d (score %.2f): %s", question_id, result.score, masked[:200])
        rows = [[(s.faq.faq(c).title, cb.make("a", c))] for c in result.candidates[:3] if c in s.content.faqs]
        rows.append([(_("🙋 Ask an officer"), cb.make("ask"))])
        await message.reply_text(_("I am not sure I understood. Did you mean:"), reply_markup=inline(rows),
                                 reply_to_message_id=reply_to)
        return
    log.info("out-of-scope question %d: %s", question_id, masked[:200])
    decline = _("Sorry, I can only answer questions about electronic identification (VNeID), the căn cước "
                "card and online public services. For other matters, please contact the commune:")
    await send_html(context.bot, chat.id, html.escape(decline) + "\n\n" + contacts_html(update, context),
                    reply_to=reply_to)


async def on_text(update: Update, context: Ctx) -> None:
    """Free text in a private chat (or addressed to the bot in a group)."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    text = message.text
    username = context.bot_data.bot_username
    if username:
        text = text.replace("@" + username, " ")
    await remember(update, context)
    await ask(update, context, text)


async def on_suggestion(update: Update, context: Ctx) -> None:
    """A suggestion / 'did you mean' button: send that answer as a new message."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None:
        return
    data = cb.parse(query.data)
    s = svc(context)
    _ = tr(update, context)
    if data is None or data.args[0] not in s.content.faqs:
        await query.answer(_("This button is out of date."))
        return
    await query.answer()
    faq_id = data.args[0]
    user_id = update.effective_user.id if update.effective_user else None
    title = s.faq.faq(faq_id).title
    question_id = await s.questions.record(user_id, title, fold(title), faq_id, 1.0, "answer")
    await send_html(context.bot, chat.id, answer_html(update, context, faq_id),
                    answer_keyboard(_, context, question_id, s.faq.faq(faq_id).related))


async def on_feedback(update: Update, context: Ctx) -> None:
    """👍 / 👎 under an answer: recorded once per question; only the asker's press counts."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    _ = tr(update, context)
    data = cb.parse(query.data)
    s = svc(context)
    if data is None or not data.args[0].isdigit() or data.args[1] not in ("0", "1"):
        await query.answer(_("This button is out of date."))
        return
    question_id, helpful = int(data.args[0]), data.args[1] == "1"
    owner = await s.questions.owner(question_id)
    if owner is None or owner[1] is None or (owner[0] is not None and owner[0] != user.id):
        await query.answer(_("This button is out of date."))
        return
    await s.questions.feedback(question_id, user.id, owner[1], helpful)
    if helpful:
        await query.answer(_("Thank you!"))
    else:
        log.info("thumbs down on %s (question %d)", owner[1], question_id)
        await query.answer(_("Thank you. We will improve this answer. You can also ask an officer: /request"),
                           show_alert=False)
