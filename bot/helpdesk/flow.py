"""Help requests, resident side, for every channel: /request and its form, /status, /mydata, /cancel."""

from __future__ import annotations

import html
import logging
from datetime import datetime
from typing import Any

from bot.campaigns.audience import TOPICS
from bot.dialogue import callbacks as cb
from bot.dialogue.core import Turn
from bot.dialogue.model import Button, Buttons, Contact, Out, Press
from bot.helpdesk import officer_flow
from bot.helpdesk.form import Contact as FormContact
from bot.helpdesk.form import Input, Pick, Text
from bot.helpdesk.messages import Msg, Say, label, msg, render
from bot.helpdesk.model import ref_code
from bot.helpdesk.service import Reply, Who
from bot.i18n import N_, TZ, Translate, fmt_datetime

log = logging.getLogger(__name__)

cb.register_shape("rq", 2)  # a choice of the form: step, value
cb.register_shape("rs", 2)  # /status: cancel | cancel-yes | keep, request id
cb.register_shape("md", 1)  # /mydata: erase | erase-yes | keep
cb.register_shape("rqa", 1)  # a question typed into the form: "field" (it is the answer) | "ask" (answer it)

MAX_STATUS = 20


def who(turn: Turn) -> Who:
    """The resident as the help desk knows them: the person, their private chat, the channel."""
    return Who(turn.person, turn.who.chat, turn.who.language, turn.who.channel, turn.caps.contact_button)


def say_out(say: Say, _: Translate) -> Out:
    buttons: Buttons = tuple(tuple(Button(label(c, _), cb.make("rq", say.step, c.value)) for c in row)
                             for row in say.choices)
    return Out(render(say.text, _), buttons, menu=say.menu and not buttons and not say.contact,
               contact=say.contact)


async def send_says(turn: Turn, says: list[Say]) -> None:
    for say in says:
        await turn.reply(say_out(say, turn._))


def plain(message: Msg, _: Translate) -> str:
    """A message as plain text (toasts are not HTML)."""
    return html.unescape(render(message, _))


async def in_private(turn: Turn) -> bool:
    """The form runs in private chats only; elsewhere say how to get there."""
    if turn.private:
        return True
    text = turn._("To ask an officer for help, please write to me in a private chat: press my name, then "
                  "“Start”.")
    if isinstance(turn.event, Press):
        turn.toast(text, alert=True)
    else:
        await turn.reply(text)
    return False


async def after(turn: Turn, reply: Reply) -> None:
    """Deliver a form reply; a new request is posted to the officers' group in the background."""
    await send_says(turn, reply.says)
    if reply.created is not None:
        officer_flow.post_soon(turn.svc)


async def start_request(turn: Turn) -> None:
    """Open the help-request form, or continue the one in progress."""
    if not await in_private(turn):
        return
    await send_says(turn, await turn.svc.helpdesk.begin(who(turn), turn._))


async def answer_form(turn: Turn, given: Input) -> Reply:
    return await turn.svc.helpdesk.answer(who(turn), given, turn._)


async def on_form_press(turn: Turn) -> None:
    """A choice of the form (rq:<step>:<value>)."""
    data = cb.parse(turn.event.data) if isinstance(turn.event, Press) else None
    if data is None:
        turn.toast(turn._("This button is out of date."))
        return
    if not await in_private(turn):
        return
    reply = await answer_form(turn, Pick(*data.args))
    turn.toast(plain(reply.toast, turn._) if reply.toast else None)
    await after(turn, reply)


async def on_contact(turn: Turn) -> None:
    """A shared contact: the form's phone number, accepted only if it is the sender's own."""
    if not isinstance(turn.event, Contact) or not turn.private:
        return
    reply = await answer_form(turn, FormContact(turn.event.phone, turn.event.own))
    await after(turn, reply)


STRONG_MATCH = 0.8


async def consume_text(turn: Turn, text: str) -> bool:
    """Free text that answers the open form; False when no form is open (the text is then a question).
    Text that reads like a question (or matches an FAQ strongly) is not saved: the resident is asked."""
    if not turn.private:
        return False
    # "Strongly": well above the answer threshold — a name such as "Đỗ Khoa" may brush an FAQ ("khóa").
    asked = turn.svc.faq.ask(text[:200])
    strong = asked.status == "answer" and asked.score >= STRONG_MATCH
    if await turn.svc.helpdesk.question_at_step(who(turn), text, turn._, strong):
        await ask_which(turn, text)
        return True
    reply = await answer_form(turn, Text(text))
    if not reply.handled:
        return False
    await after(turn, reply)
    return True


async def ask_which(turn: Turn, text: str) -> None:
    """"Is this your name, or do you want to ask…?" — the FAQ answer one tap away, the form kept."""
    _ = turn._
    draft = await turn.svc.helpdesk.store.draft(turn.person)
    field_name = _(FIELD_NAMES.get(draft.step if draft else "", N_("your answer")))
    quoted = html.escape(text[:80] + ("…" if len(text) > 80 else ""))
    await turn.reply(Out(_("Is “{text}” {field}, or do you want to ask a question?").format(
        text=quoted, field=html.escape(field_name)),
        ((Button(_("❓ I want to ask"), cb.make("rqa", "ask")),),
         (Button(_("✍️ It is {field}").format(field=field_name), cb.make("rqa", "field")),))))


# What the form asks for, as "Is … {field}" reads it.
FIELD_NAMES = {"name": N_("your full name"), "note": N_("your note"), "topic": N_("what you need help with"),
               "village": N_("your village"), "slot": N_("your preferred time"), "consent": N_("your answer")}


async def on_question_press(turn: Turn) -> None:
    """The answer to "is it your name, or a question?": save it as the answer, or answer it and go on."""
    data = cb.parse(turn.event.data) if isinstance(turn.event, Press) else None
    if data is None or not await in_private(turn):
        return
    pending = await turn.svc.helpdesk.take_pending(who(turn))
    if pending is None:
        turn.toast(turn._("This button is out of date."))
        return
    text, _step = pending
    if data.args[0] == "field":
        await after(turn, await answer_form(turn, Text(text)))
        return
    from bot.faq.flow import ask

    await ask(turn, text)
    await turn.reply(html.escape(turn._("Now let us go on with your request form.")))
    await send_says(turn, await turn.svc.helpdesk.current_question(who(turn), turn._))


async def repeat_question(turn: Turn) -> bool:
    """A sticker, a photo, a voice message while the form is open: ask the current question again."""
    if not turn.private or "form" not in turn.who.open:
        return False
    says = await turn.svc.helpdesk.current_question(who(turn), turn._)
    if not says:
        return False
    await turn.reply(html.escape(turn._("I can only read text here.")))
    await send_says(turn, says)
    return True


async def cancel_form(turn: Turn) -> bool:
    """/cancel: drop the half-filled form (True when there was one)."""
    if not turn.private or not await turn.svc.helpdesk.cancel_form(turn.person):
        return False
    await turn.reply(Out(html.escape(turn._("Your request form was cancelled. Nothing was sent.")), menu=True))
    return True


# --- /status -----------------------------------------------------------------------------------------


async def show_status(turn: Turn) -> None:
    """List the resident's requests with their state; open ones can be cancelled."""
    if not await in_private(turn):
        return
    _ = turn._
    helpdesk = turn.svc.helpdesk
    requests = await helpdesk.requests_of(turn.person)
    if not requests:
        await turn.reply(html.escape(_("You have no help requests. To ask an officer for help, use /request.")))
        return
    lines = [render(helpdesk.status_line(r), _) for r in requests[:MAX_STATUS]]
    buttons = tuple((Button(_("❌ Cancel {code}").format(code=ref_code(r.id)), cb.make("rs", "cancel", r.id)),)
                    for r in requests[:MAX_STATUS] if r.is_open)
    buttons += tuple((Button(_("🔄 Reopen {code}").format(code=ref_code(r.id)), cb.make("rs", "reopen", r.id)),)
                     for r in requests[:MAX_STATUS] if r.status == "unreachable" and r.anonymised_at is None)
    await turn.reply(Out(_("<b>Your help requests</b>") + "\n" + "\n".join(lines), buttons))


async def on_status_press(turn: Turn) -> None:
    """Cancel one of one's own requests from /status (asks once more first)."""
    _ = turn._
    data = cb.parse(turn.event.data) if isinstance(turn.event, Press) else None
    if data is None or not data.args[1].isdigit() or data.args[0] not in ("cancel", "cancel-yes", "keep",
                                                                                     "reopen"):
        turn.toast(_("This button is out of date."))
        return
    action, request_id = data.args[0], int(data.args[1])
    code = ref_code(request_id)
    if action == "keep":
        turn.toast(_("Nothing was changed."))
        return
    if action == "reopen":
        reopened = await turn.svc.helpdesk.reopen_own(turn.person, request_id)
        if reopened is None:
            turn.toast(_("This request cannot be reopened."))
            return
        await turn.reply(Out(_("Your request <b>{code}</b> is open again. A commune officer will contact you.")
                             .format(code=code), menu=True))
        await officer_flow.tell_officers_reopened(turn.svc, reopened)
        return
    if action == "cancel":
        await turn.reply(Out(_("Cancel your request <b>{code}</b>?").format(code=code),
                             ((Button(_("Yes, cancel it"), cb.make("rs", "cancel-yes", request_id)),
                               Button(_("No, keep it"), cb.make("rs", "keep", request_id))),)))
        return
    request = await turn.svc.helpdesk.cancel_own(turn.person, request_id)
    if request is None:
        turn.toast(_("This request is no longer open."))
        return
    await turn.reply(Out(_("Your request <b>{code}</b> was cancelled.").format(code=code), menu=True))
    await officer_flow.tell_officers_cancelled(turn.svc, request)


# --- /mydata -----------------------------------------------------------------------------------------


async def show_mydata(turn: Turn) -> None:
    """Show everything the bot keeps about the person (on every channel), with a way to erase it."""
    if not await in_private(turn):
        return
    _ = turn._
    s = turn.svc
    data = await s.helpdesk.personal_data(turn.person)
    lines = [_("<b>What the bot keeps about you</b>")]
    language = turn.who.language
    if data.resident is not None:
        lines.append(render(msg(N_("• Using the bot since {date}; language: {language}; came from: {source}"),
                                date=fmt_datetime_from(data.resident["first_seen"], language),
                                language=data.resident["language"], source=data.resident["source"] or "—"), _))
    identities = await s.identities.of_person(turn.person)
    if len(identities) > 1:
        channels = ", ".join(sorted({i.channel.capitalize() for i in identities}))
        lines.append(html.escape(_("• You write to the bot on: {channels}").format(channels=channels)))
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
                                name=r.full_name, phone=r.phone, village=village_name(turn, r.village),
                                id=r.id_number or "—", note=r.note or "—"), _))
    subscription = await s.campaigns.subscriber_data(turn.person)
    if subscription is not None:
        lines.append(subscription_line(subscription, _, language, turn))
    nothing = len(lines) == 1
    if nothing:
        lines.append(html.escape(_("The bot keeps nothing about you.")))
    else:
        lines.append("\n" + html.escape(_("Only commune officers see your requests. Closed requests are "
                                          "anonymised after {days} days.").format(days=s.settings.retention_days)))
    buttons = () if nothing else ((Button(_("🗑 Erase my data"), cb.make("md", "erase")),),)
    await turn.reply(Out("\n".join(lines), buttons))


def subscription_line(data: dict[str, Any], _: Translate, language: str, turn: Turn) -> str:
    """The announcement subscription as /mydata shows it."""
    state = (_("blocked the bot") if data["blocked"] else _("receiving") if data["active"] else _("stopped"))
    topics = ", ".join(_(TOPICS.get(t, t)) for t in data["topics"]) or _("all topics")
    village = village_name(turn, data["village"]) if data["village"] else _("all villages")
    return html.escape(_("• Commune announcements: {state}; village: {village}; topics: {topics}; agreed on "
                         "{date}; announcements sent to you: {count}").format(
        state=state, village=village, topics=topics, date=fmt_datetime_from(data["consented_at"], language),
        count=data["deliveries"]))


def fmt_datetime_from(at: float, language: str) -> str:
    return fmt_datetime(datetime.fromtimestamp(at, TZ), language)


def village_name(turn: Turn, village_id: str) -> str:
    village = turn.svc.content.commune.village(village_id)
    return village.name if village else (village_id or "—")


async def on_mydata_press(turn: Turn) -> None:
    """Erase the person's data after one confirmation — on every channel."""
    _ = turn._
    data = cb.parse(turn.event.data) if isinstance(turn.event, Press) else None
    action = data.args[0] if data else ""
    if action == "keep":
        turn.toast(_("Nothing was erased."))
        return
    if action == "erase":
        await turn.reply(Out(html.escape(_(
            "Erase everything the bot keeps about you? Your open requests will be cancelled. This cannot be "
            "undone.")), ((Button(_("🗑 Yes, erase"), cb.make("md", f"y{turn.person}")),
                           Button(_("No, keep it"), cb.make("md", "keep"))),)))
        return
    # The confirmation names the person it was asked for: after an erasure the same chat is a new person,
    # and an old "yes, erase" button must not act again.
    if action != f"y{turn.person}":
        turn.toast(_("This button is out of date."))
        return
    s = turn.svc
    cancelled = await erase_person(turn.svc, turn.person)
    log.info("erasure done for a resident (%d open request(s) cancelled)", len(cancelled))
    await turn.reply(Out(html.escape(_(
        "Your data has been erased. Your open requests were cancelled. If you write to the bot again, it only "
        "keeps what you send from then on.")), menu=True))
    for request in cancelled:
        await officer_flow.tell_officers_cancelled(s, request)


async def erase_person(svc: Any, person: int) -> list[Any]:
    """Everything of the person, on every channel: requests, form, questions, subscription, identities."""
    cancelled = await svc.helpdesk.erase(person)
    await svc.campaigns.forget_subscriber(person)
    await svc.outbox.store.forget_person(person)
    await svc.identities.erase(person)
    return list(cancelled)
