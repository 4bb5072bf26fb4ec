"""FAQ dialogue: browsing topic groups, answering free text, suggestions, 👍/👎 feedback (every channel)."""

from __future__ import annotations

import html
import logging

from bot.content import render_placeholders
from bot.dialogue import callbacks as cb
from bot.dialogue.basics import contacts_html, remember
from bot.dialogue.core import Turn
from bot.dialogue.model import Button, Buttons, Out, Press, Text
from bot.faq.normalize import fold
from bot.faq.render import render_html
from bot.privacy import mask_text

log = logging.getLogger(__name__)

MAX_QUESTION = 1000  # characters of a question that are matched and stored


def answer_html(turn: Turn, faq_id: str) -> str:
    """An FAQ as HTML: title, body with the commune's values filled in, and the as-of date."""
    _ = turn._
    s = turn.svc
    faq = s.faq.faq(faq_id)
    body = render_html(faq, s.content.commune, _("(not updated yet — please ask at the commune office)"))
    as_of = _("Information checked on {date}.").format(date=faq.as_of.strftime("%d/%m/%Y"))
    return f"<b>{html.escape(faq.title)}</b>\n\n{body}\n\n<i>{html.escape(as_of)}</i>"


def groups_buttons(turn: Turn) -> Buttons:
    return tuple((Button(g.title, cb.make("g", g.id)),) for g in turn.svc.faq.groups())


async def browse(turn: Turn) -> None:
    """Show the topic groups as options."""
    await remember(turn)
    await turn.reply(turn._("Choose a topic:"), groups_buttons(turn))


def _pressed(turn: Turn) -> cb.Callback | None:
    return cb.parse(turn.event.data) if isinstance(turn.event, Press) else None


async def on_browse_press(turn: Turn) -> None:
    """Group / question / back options of the browse menu (edited in place where the channel can)."""
    data = _pressed(turn)
    _ = turn._
    s = turn.svc
    if data is None:
        return
    if data.verb == "grp":
        await turn.edit_or_reply(Out(_("Choose a topic:"), groups_buttons(turn)))
        return
    if data.verb == "g":
        group_id = data.args[0]
        faqs = s.faq.faqs_in_group(group_id)
        if not faqs:
            await turn.edit_or_reply(Out(_("This topic no longer exists. Choose a topic:"), groups_buttons(turn)))
            return
        title = next((g.title for g in s.faq.groups() if g.id == group_id), "")
        rows = [(Button(f.title, cb.make("f", f.id)),) for f in faqs]
        rows.append((Button(_("⬅️ Back"), cb.make("grp")),))
        await turn.edit_or_reply(Out(f"<b>{html.escape(title)}</b>", tuple(rows)))
        return
    if data.verb == "f":
        # An answer is a new message with 👍/👎 (like a typed question's): the list stays to go on browsing.
        if data.args[0] not in s.content.faqs:
            await turn.edit_or_reply(Out(_("This answer no longer exists. Choose a topic:"), groups_buttons(turn)))
            return
        await send_answer(turn, data.args[0])


def answer_buttons(turn: Turn, question_id: int, related: tuple[str, ...]) -> Buttons:
    s = turn.svc
    rows: list[tuple[Button, ...]] = [(Button("👍", cb.make("fb", question_id, 1)),
                                       Button("👎", cb.make("fb", question_id, 0)))]
    rows += [(Button("➡️ " + s.faq.faq(r).title, cb.make("a", r)),) for r in related[:3] if r in s.content.faqs]
    return tuple(rows)


async def ask(turn: Turn, text: str) -> None:
    """Answer a free-text question: the best answer, a 'did you mean', or a polite decline."""
    s = turn.svc
    _ = turn._
    text = text[:MAX_QUESTION]
    result = s.faq.ask(text)
    masked = mask_text(text)
    question_id = await s.questions.record(turn.person or None, masked, fold(masked), result.topic, result.score,
                                           result.status)
    reply_to = None
    if not turn.private and isinstance(turn.event, Text) and turn.event.message:
        reply_to = turn.event.message
    if result.status == "empty":
        await turn.reply(Out(_("Please type your question in words, for example: “quên mật khẩu VNeID”."),
                             reply_to=reply_to))
        return
    if result.status == "answer" and result.topic:
        await turn.reply(Out(answer_html(turn, result.topic), answer_buttons(turn, question_id, result.related),
                             reply_to=reply_to))
        return
    officer = (Button(_("🙋 Ask an officer"), cb.make("ask")),)
    if result.status == "small_talk":
        await turn.reply(Out(html.escape(_("Hello! I answer questions about VNeID, the căn cước card and online "
                                           "public services. Type your question, or choose from the menu.")),
                             menu=True, reply_to=reply_to))
        return
    if result.status == "need_help":
        await turn.reply(Out(html.escape(_("An officer of the commune can help you. Press the button below, or "
                                           "type your question.")), (officer,), reply_to=reply_to))
        return
    if result.status == "redirect" and result.redirect in s.content.redirects:
        redirect = s.content.redirects[result.redirect]
        text = render_placeholders(redirect.text, s.content.commune, _("not updated yet"))
        lead = _("Sorry, the bot does not answer this.")
        await turn.reply(Out(html.escape(f"{lead} {text}"), (officer,), reply_to=reply_to))
        return
    if result.status == "unsure" and result.candidates:
        log.info("unsure question %d (score %.2f): %s", question_id, result.score, masked[:200])
        rows = [(Button(s.faq.faq(c).title, cb.make("a", c)),) for c in result.candidates[:3] if c in s.content.faqs]
        rows.append(officer)
        await turn.reply(Out(html.escape(_("I am not sure I understood. Did you mean:")), tuple(rows),
                             reply_to=reply_to))
        return
    log.info("out-of-scope question %d: %s", question_id, masked[:200])
    decline = _("Sorry, I can only answer questions about electronic identification (VNeID), the căn cước "
                "card and online public services. For other matters, please contact the commune:")
    await turn.reply(Out(html.escape(decline) + "\n\n" + contacts_html(turn), (officer,), reply_to=reply_to))


async def on_text(turn: Turn) -> None:
    """Free text nobody else consumed: a question."""
    if not isinstance(turn.event, Text):
        return
    await remember(turn)
    await ask(turn, turn.event.text)


async def on_suggestion(turn: Turn) -> None:
    """A suggestion / 'did you mean' option: that answer as a new message."""
    data = _pressed(turn)
    if data is None or data.args[0] not in turn.svc.content.faqs:
        turn.toast(turn._("This button is out of date."))
        return
    await send_answer(turn, data.args[0])


async def send_answer(turn: Turn, faq_id: str) -> None:
    """An answer chosen from a list (browsing, a suggestion): recorded like a question, so it can be rated."""
    s = turn.svc
    title = s.faq.faq(faq_id).title
    question_id = await s.questions.record(turn.person or None, title, fold(title), faq_id, 1.0, "answer")
    await turn.reply(Out(answer_html(turn, faq_id), answer_buttons(turn, question_id, s.faq.faq(faq_id).related)))


async def on_feedback(turn: Turn) -> None:
    """👍 / 👎 under an answer: recorded once per question; only the asker's choice counts."""
    _ = turn._
    data = _pressed(turn)
    s = turn.svc
    if data is None or not data.args[0].isdigit() or data.args[1] not in ("0", "1"):
        turn.toast(_("This button is out of date."))
        return
    question_id, helpful = int(data.args[0]), data.args[1] == "1"
    owner = await s.questions.owner(question_id)
    if owner is None or owner[1] is None or (owner[0] is not None and owner[0] != turn.person):
        turn.toast(_("This button is out of date."))
        return
    await s.questions.feedback(question_id, turn.person, owner[1], helpful)
    if helpful:
        turn.toast(_("Thank you!"))
    else:
        log.info("thumbs down on %s (question %d)", owner[1], question_id)
        turn.toast(_("Thank you. We will improve this answer. You can also ask an officer: /request"))
