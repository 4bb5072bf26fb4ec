"""Every flow's entry points, in one ordered place. The channels only translate; this decides.

Order matters for free text: the main menu's labels first, then open dialogues — an officer who pressed
"note" is expected to type it; then a half-filled help form; then a campaign draft — then the FAQ. Each
open dialogue is named, so the core asks only those the person has open (known from the one query that
identifies them, see storage.identities.OPEN_PROBES).
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable

from bot.campaigns import editor_flow
from bot.campaigns import flow as subscribers
from bot.dialogue import basics
from bot.dialogue import callbacks as cb
from bot.dialogue.core import Router, Turn
from bot.dialogue.model import Out, Press
from bot.faq import flow as faq
from bot.helpdesk import flow as helpdesk
from bot.helpdesk import officer_flow as officer
from bot.menu import menu_action
from bot.report import schedule as report_schedule

# Commands: the Latin name first (Telegram's menu shows it), then Vietnamese aliases.
COMMANDS = {
    "start": (("start", "batdau"), basics.start),
    "help": (("help", "trogiup", "huongdan"), basics.show_help),
    "contacts": (("contacts", "lienhe"), basics.show_contacts),
    "faq": (("faq", "hoidap"), faq.browse),
    "request": (("request", "hotro"), helpdesk.start_request),
    "status": (("status", "tinhtrang"), helpdesk.show_status),
    "mydata": (("mydata", "dulieu"), helpdesk.show_mydata),
    "queue": (("queue", "hangdoi"), officer.show_queue),
    "subscribe": (("subscribe", "nhanthongbao"), subscribers.subscribe),
    "unsubscribe": (("unsubscribe", "dungthongbao"), subscribers.unsubscribe),
    "campaign": (("campaign", "thongbao"), editor_flow.campaign_menu),
}


# /cancel asks each open dialogue to close; each replies itself and returns True when it closed one.
CANCELLERS: list[Callable[[Turn], Awaitable[bool]]] = [officer.cancel_input, helpdesk.cancel_form,
                                                       editor_flow.cancel_draft]


def build_router() -> Router:
    r = Router()
    for aliases, handler in COMMANDS.values():
        for alias in aliases:
            r.commands[alias] = handler
    for alias in ("cancel", "huy"):
        r.commands[alias] = cancel
    # Options (button data verbs; the typed number or words on channels without buttons).
    for verb in ("grp", "g", "f"):
        r.presses[verb] = faq.on_browse_press
    r.presses["a"] = faq.on_suggestion
    r.presses["fb"] = faq.on_feedback
    r.presses["ask"] = helpdesk.start_request
    r.presses["rq"] = helpdesk.on_form_press
    r.presses["rqa"] = helpdesk.on_question_press
    r.presses["rs"] = helpdesk.on_status_press
    r.presses["md"] = helpdesk.on_mydata_press
    for verb in ("hq", "hs", "hz"):
        r.presses[verb] = officer.on_officer_press
    for verb in ("sbok", "sbno", "sbv", "sbvx", "sbt", "sbd", "sbvm", "sbtm", "sbu"):
        r.presses[verb] = subscribers.on_subscriber_press
    for verb in ("cpn", "cpt", "cpu", "cpl", "cpx", "cpr", "cpa", "cpv", "cpo", "cpw", "cpd", "cph", "cps",
                 "cpk", "cpq", "cpe", "cpg", "cpy"):
        r.presses[verb] = editor_flow.on_editor_press
    # The main menu.
    r.menu = {"faq": faq.browse, "contacts": basics.show_contacts, "request": helpdesk.start_request,
              "subscribe": subscribers.subscribe}
    r.menu_action = _menu_action

    async def on_menu_press(turn: Turn) -> None:
        """A main-menu entry chosen by its number (channels without a keyboard)."""
        parsed = cb.parse(turn.event.data) if isinstance(turn.event, Press) else None
        handler = r.menu.get(parsed.args[0]) if parsed is not None else None
        await (handler or basics.stale_press)(turn)

    r.presses["mn"] = on_menu_press
    # Open dialogues that read free text, in order (the name is the one storage.identities reports).
    # A resident's answer to an officer's message comes before the form: it is not a field of a new form.
    r.consumers = [("officer_input", officer.consume_text), (None, officer.consume_resident_reply),
                   ("form", helpdesk.consume_text),
                   ("draft", editor_flow.consume_draft_text)]
    r.cancellers = CANCELLERS
    # Free text nobody consumed is a question; everything else.
    r.on_text = faq.on_text
    r.on_contact = helpdesk.on_contact
    r.on_photo = editor_flow.on_photo
    r.on_other = basics.not_text
    r.on_edited = basics.on_edited
    r.on_membership = subscribers.on_membership
    r.on_unknown_command = basics.unknown_command
    r.on_stale_press = basics.stale_press
    return r


async def cancel(turn: Turn) -> None:
    """/cancel: every open dialogue is asked to close (each replies itself). Only in private chats: in a
    group it would close someone's private form and announce it to the group."""
    if not turn.private:
        return
    if not any([await close(turn) for close in CANCELLERS]):
        await turn.reply(Out(html.escape(turn._("There is nothing to cancel.")), menu=True))


def _menu_action(turn: Turn, text: str) -> str | None:
    return menu_action(text, turn.svc.catalogs, turn.who.language)


def start_jobs(svc: object) -> None:
    """The core's timed work, once per process whatever channels run: help-desk sweeps, the campaign
    engine's tick, the outbox, the monthly report."""
    from bot.services import Services

    assert isinstance(svc, Services)
    officer.start_jobs(svc)
    editor_flow.start_jobs(svc)
    svc.jobs.spawn(_outbox_start(svc), name="outbox-recover")
    svc.jobs.every(5.0, svc.outbox.deliver_due, first=1.0, name="outbox")
    report_schedule.start_jobs(svc)  # the monthly report to admins and editors (bot/report/schedule.py)


async def _outbox_start(svc: object) -> None:
    from bot.services import Services

    assert isinstance(svc, Services)
    await svc.outbox.recover()
