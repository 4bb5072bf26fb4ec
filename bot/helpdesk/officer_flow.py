"""Help requests, officer side, for every channel: notices in the officers' group with a claim option,
/queue, a request's detail and actions (appointment, note, message, done, could not reach, cancel), and the
timed sweeps.

Every officer command and option checks the role on the server (option data can be forged); refusals are
audited by the service. The group only ever sees masked phone and ID numbers; full detail is shown in
private chats to staff, and each view is audited. What an officer does reaches the resident on whatever
channel the request came from, through the outbox (stored, retried, never dropped).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from datetime import datetime, time
from typing import TYPE_CHECKING

from bot.dialogue import callbacks as cb
from bot.dialogue.core import DeliveryError, Turn, patiently
from bot.dialogue.model import Address, Button, Buttons, Command, Out, Press, Text
from bot.dialogue.outbox import Delivery
from bot.helpdesk.messages import render, render_arg
from bot.helpdesk.model import EVENT_LABELS, OFFICER_STATUS_LABELS, OUTCOMES, STATUS_LABELS, TOPICS, parse_ref, ref_code
from bot.helpdesk.provinces import MERGED_INTO, PROVINCES
from bot.helpdesk.service import Change, Notice
from bot.helpdesk.slots import from_stamp, stamp
from bot.i18n import DEFAULT_LANGUAGE, TZ, Translate, fmt_date, fmt_datetime, fmt_time
from bot.privacy import mask_id, mask_phone
from storage.helpdesk import HelpEvent, HelpRequest

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

cb.register_shape("hq", 2)  # officer action, request id
cb.register_shape("hs", 2)  # book an appointment: request id, yyyymmddHHMM (local)
cb.register_shape("hz", 2)  # mark done: request id, outcome

GROUP_BATCH = 10        # requests per group notice (Telegram allows ~20 messages a minute in a group)
QUEUE_LIMIT = 30        # requests listed by /queue
SWEEP_SECONDS = 60      # how often the jobs look at the database
ACTIONS = ("claim", "view", "appt", "note", "msg", "done", "unre", "unre-yes", "cancel", "cancel-yes")
DETAIL_NOTE_CHARS = 100   # a long note or message is shortened in the detail (the history keeps it whole)
DETAIL_EVENTS = 8         # the detail shows the latest events of the history


def group_tr(s: Services) -> Translate:
    """The officers' group reads the default language."""
    return s.catalogs.gettext(DEFAULT_LANGUAGE)


def local(at: float) -> datetime:
    return datetime.fromtimestamp(at, TZ)


def officers_group(s: Services) -> Address | None:
    """Where new requests are posted (BOT_OFFICER_CHAT_ID, a Telegram group)."""
    chat = s.settings.officer_chat_id
    return None if chat is None else Address("telegram", str(chat))


def resident_address(request: HelpRequest) -> Address | None:
    """The resident's private chat, on the channel the request came from."""
    return None if request.chat_id is None else Address(request.channel, request.chat_id)


# --- the officers' group ------------------------------------------------------------------------------


def notice_html(s: Services, requests: Sequence[HelpRequest], _: Translate, repost: bool | None = None) -> str:
    """A group notice: one line per request, phone and ID masked, who took it. A re-post (posted long
    after the request was made) says that the requests are still waiting."""
    first = requests[0]
    if repost is None:
        repost = first.posted_at is not None and first.posted_at - first.created_at > 3600
    head = _("⏰ <b>Still waiting for an officer</b>") if repost else _("🆕 <b>New help requests</b>")
    lines = [head]
    for r in requests:
        village = s.content.commune.village(r.village)
        parts = [f"<b>{ref_code(r.id)}</b>", html.escape(_(TOPICS.get(r.topic, TOPICS["other"]))),
                 html.escape(village.name if village else r.village or "—")]
        if r.phone:
            parts.append(mask_phone(r.phone))
        if r.id_number:
            parts.append(_("ID {id}").format(id=mask_id(r.id_number)))
        if r.slot_date:
            parts.append(_("prefers {slot}").format(slot=render_arg(s.helpdesk.preferred(r), _)))
        line = " · ".join(parts)
        if r.status == "new":
            lines.append("🙋 " + line)
        elif r.officer_name and r.status in ("claimed", "scheduled", "done", "unreachable"):
            lines.append("✅ " + line + "\n    " + _("taken by {name}").format(name=html.escape(r.officer_name)))
        else:
            lines.append("❌ " + line + "\n    " + html.escape(_(STATUS_LABELS[r.status])))
    return "\n".join(lines)


def notice_buttons(requests: Sequence[HelpRequest], _: Translate) -> Buttons:
    waiting = [r for r in requests if r.status == "new"]
    if not waiting:
        return ()
    if len(requests) == 1:
        return ((Button(_("🙋 Take this request"), cb.make("hq", "claim", waiting[0].id)),),)
    buttons = [Button(_("🙋 Take {code}").format(code=ref_code(r.id)), cb.make("hq", "claim", r.id))
               for r in waiting]
    return tuple(tuple(buttons[i:i + 2]) for i in range(0, len(buttons), 2))


def post_soon(s: Services) -> None:
    """Post new requests to the officers' group in the background (the resident does not wait for it)."""
    s.jobs.spawn(post_pending(s), name="helpdesk-post")


async def post_pending(s: Services) -> None:
    """Post requests not yet in the officers' group, up to GROUP_BATCH per message.

    One poster runs at a time; a request confirmed meanwhile sets `pending` and the running poster takes
    it too. What is left when the bot stops is posted by the next start-up's sweep."""
    group = officers_group(s)
    board = s.helpdesk.board
    board.pending = True
    if group is None or board.lock.locked():
        return
    _ = group_tr(s)
    async with board.lock:
        while board.pending and s.jobs.running:
            board.pending = False
            while s.jobs.running:
                batch = await s.helpdesk.unposted(GROUP_BATCH)
                if not batch:
                    break
                try:
                    sent = await s.channels.send(group, Out(notice_html(s, batch, _), notice_buttons(batch, _)),
                                                 DEFAULT_LANGUAGE)
                except DeliveryError as exc:
                    log.warning("could not post %d request(s) to the officers' group: %s", len(batch), exc)
                    return
                await s.helpdesk.mark_posted([r.id for r in batch], group.chat, sent.message)


async def repost_unclaimed(s: Services, now: float | None = None) -> int:
    """Post again the requests nobody took within 4 working hours."""
    group = officers_group(s)
    if group is None:
        return 0
    due = await s.helpdesk.due_reposts(now)
    _ = group_tr(s)
    for i in range(0, len(due), GROUP_BATCH):
        batch = due[i:i + GROUP_BATCH]
        try:
            sent = await s.channels.send(group, Out(notice_html(s, batch, _, repost=True), notice_buttons(batch, _)),
                                         DEFAULT_LANGUAGE)
        except DeliveryError as exc:
            log.warning("could not post unclaimed requests again: %s", exc)
            return i
        await s.helpdesk.mark_posted([r.id for r in batch], group.chat, sent.message, repost=True, now=now)
    return len(due)


async def refresh_notice(s: Services, request: HelpRequest) -> None:
    """Update the group notice that lists `request` (who took it, or that it was cancelled), where the
    channel can edit; elsewhere the claim was already told to whoever pressed."""
    if request.notice_chat_id is None or not request.notice_message_id:
        return
    _ = group_tr(s)
    requests = await s.helpdesk.on_notice(request.notice_chat_id, request.notice_message_id)
    if not requests:
        return
    group = Address("telegram", request.notice_chat_id)
    out = Out(notice_html(s, requests, _), notice_buttons(requests, _))
    message = request.notice_message_id
    try:
        await patiently(lambda: s.channels.edit(group, message, out, DEFAULT_LANGUAGE),
                        repeatable=True)
    except DeliveryError as exc:
        log.warning("could not update the group notice of %s: %s", ref_code(request.id), exc)


async def officer_address(s: Services, officer: int) -> Address | None:
    """An officer's private chat (their first identity on Telegram, where officers work)."""
    identities = await s.identities.of_person(officer)
    chosen = next((i for i in identities if i.channel == "telegram"), identities[0] if identities else None)
    return None if chosen is None else Address(chosen.channel, chosen.chat_id)


async def tell_officers_cancelled(s: Services, request: HelpRequest) -> None:
    """A resident cancelled (or erased their data): update the notice and tell the officer who had it."""
    await refresh_notice(s, request)
    if request.officer_id is not None:
        address = await officer_address(s, request.officer_id)
        if address is not None:
            _ = group_tr(s)
            await s.outbox.send(address, Out(_("The resident cancelled request <b>{code}</b>.").format(
                code=ref_code(request.id))), DEFAULT_LANGUAGE, person=request.officer_id,
                purpose=f"request:{request.id}:officer")


async def tell_officers_reopened(s: Services, request: HelpRequest) -> None:
    """A resident reopened a request closed as "could not reach": the officer who had it is told, or the
    group notice shows it waiting again."""
    await refresh_notice(s, request)
    address = await officer_address(s, request.officer_id) if request.officer_id is not None else None
    if address is None:
        return
    _ = group_tr(s)
    await s.outbox.send(address, Out(_("The resident reopened request <b>{code}</b> (it was closed as “could not "
                                       "reach”).").format(code=ref_code(request.id)),
                                     ((Button(_("📄 Full detail"), cb.make("hq", "view", request.id)),),)),
                        DEFAULT_LANGUAGE, person=request.officer_id, purpose=f"request:{request.id}:officer")


async def consume_resident_reply(turn: Turn, text: str) -> bool:
    """A resident's answer to an officer's message (a platform reply, or text soon after it, with the request
    open) goes to that officer through the outbox and into the request's history."""
    if not turn.private or not turn.person or "officer_input" in turn.who.open:
        return False
    s = turn.svc
    platform_reply = isinstance(turn.event, Text) and bool(turn.event.reply_to)
    request = await s.helpdesk.reply_target(turn.person, platform_reply)
    if request is None or request.officer_id is None:
        return False
    kept = await s.helpdesk.add_reply(request, text)
    if kept is None:
        return False
    address = await officer_address(s, request.officer_id)
    if address is not None:
        _ = group_tr(s)
        await s.outbox.send(address, Out(_("💬 The resident of <b>{code}</b> answered:\n{text}").format(
            code=ref_code(request.id), text=html.escape(kept)),
            ((Button(_("💬 Message the resident"), cb.make("hq", "msg", request.id)),),)),
            DEFAULT_LANGUAGE, person=request.officer_id, purpose=f"request:{request.id}:officer")
    await turn.reply(html.escape(turn._("✅ Passed on to the commune officer of your request {code}.").format(
        code=ref_code(request.id))))
    return True


async def deliver(s: Services, notice: Notice) -> Delivery:
    """Send a resident a notice in their language, through the outbox (retried until delivered)."""
    _ = s.catalogs.gettext(notice.language)
    return await s.outbox.send(Address(notice.channel, notice.chat_id),
                               Out(render(notice.say.text, _), menu=notice.say.menu), notice.language)


# --- timed jobs (rebuilt from the database: nothing lives only in memory) ---------------------------


async def run_sweep(s: Services, now: float | None = None) -> None:
    """Post new requests, post unclaimed ones again, remind residents, drop idle forms, send what the
    outbox still holds."""
    await post_pending(s)
    await repost_unclaimed(s, now)
    for request, notice in await s.helpdesk.due_reminders(now):
        await s.helpdesk.mark_reminded(request.id)  # the outbox keeps it until it is delivered
        await deliver_for(s, request, notice)
    for notice in await s.helpdesk.expire_drafts(now):
        await deliver(s, notice)


async def deliver_for(s: Services, request: HelpRequest, notice: Notice) -> Delivery:
    """A notice about a request (kept under the request, so the officer sees whether it arrived)."""
    _ = s.catalogs.gettext(notice.language)
    return await s.outbox.send(Address(notice.channel, notice.chat_id),
                               Out(render(notice.say.text, _), menu=notice.say.menu), notice.language,
                               person=request.person_id, purpose=f"request:{request.id}")


def start_jobs(s: Services) -> None:
    """At start-up: a first sweep at once (catches what fell due while the bot was down), then every
    minute; retention at start-up and daily at 03:00."""
    s.jobs.every(SWEEP_SECONDS, lambda: run_sweep(s), first=0.5, name="helpdesk-sweep")
    s.jobs.spawn(s.helpdesk.apply_retention(), name="helpdesk-retention-startup")
    s.jobs.daily(time(3, 0, tzinfo=TZ), s.helpdesk.apply_retention, name="helpdesk-retention")


# --- /queue and a request's detail ----------------------------------------------------------------


async def allowed(turn: Turn, action: str, request_id: int | None = None) -> bool:
    """True for officers (and admins); anyone else is refused, and the refusal audited."""
    s = turn.svc
    if turn.person and await s.helpdesk.is_officer(turn.person):
        return True
    await s.helpdesk.refuse(turn.person, action, request_id)
    refusal = turn._("Only commune officers can do this.")
    if isinstance(turn.event, Press) and not turn.event.typed:
        turn.toast(refusal, alert=True)
    else:
        await turn.reply(html.escape(refusal))
    return False


async def show_queue(turn: Turn) -> None:
    """Officers: open requests, oldest first, each with an option to its detail (private chat only);
    "/queue HT-0042" opens one request."""
    _ = turn._
    if not await allowed(turn, "/queue"):
        return
    if not turn.private:
        await turn.reply(html.escape(_("Please use /queue in a private chat with me: requests are not shown here.")))
        return
    s = turn.svc
    asked = parse_ref(" ".join(turn.event.args)) if isinstance(turn.event, Command) and turn.event.args else None
    if asked is not None:  # "/queue HT-0042": that request's detail, with its options
        await send_detail(turn, asked, turn.who.address)
        return
    requests = await s.helpdesk.queue(turn.person)
    if not requests:
        await turn.reply(html.escape(_("No open requests. 🎉")))
        return
    lines = [_("<b>Open requests</b> (oldest first): {count}").format(count=len(requests))]
    for r in requests[:QUEUE_LIMIT]:
        state = _(OFFICER_STATUS_LABELS[r.status])
        if r.status == "scheduled" and r.appointment_at:
            state = fmt_datetime(local(r.appointment_at))
        taken = f" · {html.escape(r.officer_name)}" if r.officer_name and r.status != "new" else ""
        lines.append(f"<b>{ref_code(r.id)}</b> · {html.escape(_(TOPICS.get(r.topic, TOPICS['other'])))} · "
                     f"{html.escape(village_name(s, r.village))} · {mask_phone(r.phone)} · "
                     f"{html.escape(state)}{taken} · {fmt_date(local(r.created_at).date())}")
    if len(requests) > QUEUE_LIMIT:
        lines.append(_("…and {count} more.").format(count=len(requests) - QUEUE_LIMIT))
    buttons = [Button(ref_code(r.id), cb.make("hq", "view", r.id)) for r in requests[:QUEUE_LIMIT]]
    await turn.reply(Out("\n".join(lines), tuple(tuple(buttons[i:i + 3]) for i in range(0, len(buttons), 3))))


def village_name(s: Services, village_id: str) -> str:
    village = s.content.commune.village(village_id)
    return village.name if village else (village_id or "—")


def detail_html(s: Services, request: HelpRequest, events: list[HelpEvent], deliveries: list[Delivery],
                _: Translate) -> str:
    """Everything about a request, for staff only."""
    r = request
    state = _(OFFICER_STATUS_LABELS[r.status])
    if r.officer_name and r.status != "new":
        state += f" — {r.officer_name}"
    province = ""
    if r.id_number:
        code = r.id_number[:3]
        province = f" ({PROVINCES.get(code, '?')} → {MERGED_INTO.get(code, '?')})"
    rows = [
        f"<b>{ref_code(r.id)}</b> — {html.escape(_(TOPICS.get(r.topic, TOPICS['other'])))}",
        _("State: {value}").format(value=html.escape(state)),
        _("Full name: {value}").format(value=html.escape(r.full_name or "—")),
        _("Phone: {value}").format(value=html.escape(r.phone or "—")),
        _("Village: {value}").format(value=html.escape(village_name(s, r.village))),
        _("Personal ID: {value}").format(value=html.escape((r.id_number or "—") + province)),
        _("Preferred time: {value}").format(value=render_arg(s.helpdesk.preferred(r), _)),
    ]
    if r.appointment_at:
        rows.append(_("Appointment: {value}").format(value=html.escape(fmt_datetime(local(r.appointment_at)))))
    if r.outcome:
        rows.append(_("Outcome: {value}").format(value=html.escape(_(OUTCOMES.get(r.outcome, r.outcome)))))
    rows.append(_("Note from the resident: {value}").format(value=html.escape(shorten(r.note or "—", 300))))
    rows.append(_("Sent: {value}").format(value=html.escape(fmt_datetime(local(r.created_at)))))
    if deliveries:
        counts = {status: sum(1 for d in deliveries if d.status == status)
                  for status in ("sent", "pending", "blocked", "failed")}
        rows.append(html.escape(_("Messages to the resident: {sent} delivered, {pending} waiting to be delivered, "
                                  "{failed} not delivered").format(sent=counts["sent"], pending=counts["pending"],
                                                                   failed=counts["blocked"] + counts["failed"])))
    history = [] if len(events) <= DETAIL_EVENTS else [
        html.escape(_("… {count} earlier events").format(count=len(events) - DETAIL_EVENTS))]
    for e in events[-DETAIL_EVENTS:]:
        history.append(event_line(r, e, _))
    return "\n".join(rows) + "\n\n" + _("<b>History</b>") + "\n" + "\n".join(history)


def shorten(text: str, limit: int = DETAIL_NOTE_CHARS) -> str:
    """A long text cut at a word boundary, with "…" (the detail summarises; it never splits the card)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"


def event_line(r: HelpRequest, e: HelpEvent, _: Translate) -> str:
    """One line of the history: when, what, who, and what it was (a note shortened, an appointment's time)."""
    when = f"{fmt_date(local(e.at).date())} {fmt_time(local(e.at).time())}"
    what = _(EVENT_LABELS[e.kind]) if e.kind in EVENT_LABELS else e.kind
    text = f"• {html.escape(when)} — {html.escape(what)} ({html.escape(actor_name(r, e.actor, _))})"
    if e.detail and e.kind in ("note", "message", "reply"):
        text += ": " + html.escape(shorten(e.detail))
    elif e.detail and e.kind == "scheduled":
        try:
            moment = datetime.fromisoformat(e.detail)
            text += ": " + html.escape(f"{fmt_date(moment.date())} {fmt_time(moment.time())}")
        except ValueError:
            pass
    return text


def actor_name(request: HelpRequest, actor: str, _: Translate) -> str:
    """'person:12' -> the officer's name when it is the one who took the request."""
    if actor == "resident":
        return _("resident")
    if actor == "system":
        return _("the bot")
    if actor == f"person:{request.officer_id}" and request.officer_name:
        return request.officer_name
    return actor.replace("person:", "#")


def detail_buttons(request: HelpRequest, _: Translate) -> Buttons:
    i = request.id
    if request.status == "new":
        return ((Button(_("🙋 Take this request"), cb.make("hq", "claim", i)),),
                (Button(_("❌ Cancel the request"), cb.make("hq", "cancel", i)),))
    if request.status in ("claimed", "scheduled"):
        return (
            (Button(_("📅 Appointment"), cb.make("hq", "appt", i)), Button(_("📝 Note"), cb.make("hq", "note", i))),
            (Button(_("💬 Message the resident"), cb.make("hq", "msg", i)),),
            (Button(_("✅ Done"), cb.make("hq", "done", i)), Button(_("📵 Could not reach"), cb.make("hq", "unre", i))),
            (Button(_("❌ Cancel the request"), cb.make("hq", "cancel", i)),),
        )
    if request.anonymised_at is None:
        return ((Button(_("📝 Note"), cb.make("hq", "note", i)),),)
    return ()


async def send_detail(turn: Turn, request_id: int, address: Address) -> bool:
    """Send a request's detail to an officer's private chat (an audited view)."""
    _ = turn._
    s = turn.svc
    found = await s.helpdesk.view(request_id, turn.person)
    if found is None:
        await turn.send_to(address, Out(html.escape(_("This request no longer exists."))), turn.who.language)
        return False
    request, events = found
    deliveries = await s.outbox.statuses(f"request:{request.id}")
    await turn.send_to(address, Out(detail_html(s, request, events, deliveries, _), detail_buttons(request, _)),
                       turn.who.language)
    return True


# --- officer options ---------------------------------------------------------------------------------


async def on_officer_press(turn: Turn) -> None:
    """An officer's option: hq:<action>:<id>, hs:<id>:<time>, hz:<id>:<outcome>."""
    _ = turn._
    data = cb.parse(turn.event.data) if isinstance(turn.event, Press) else None
    if data is None:
        turn.toast(_("This button is out of date."))
        return
    action, id_text, arg = (*data.args, "") if data.verb == "hq" else (data.verb, *data.args)
    request_id = int(id_text) if id_text.isdigit() else None
    if not await allowed(turn, turn.event.data if isinstance(turn.event, Press) else "", request_id):
        return
    if request_id is None or (data.verb == "hq" and action not in ACTIONS):
        turn.toast(_("This button is out of date."))
        return
    if action == "claim":
        await claim(turn, request_id)
        return
    if not turn.private:  # details and actions never in a group
        turn.toast(_("Please open the request in a private chat with me (/queue)."), alert=True)
        return
    helpdesk = turn.svc.helpdesk
    if action == "view":
        await send_detail(turn, request_id, turn.who.address)
    elif action in ("note", "msg", "appt"):
        kind = {"note": "note", "msg": "message", "appt": "appointment"}[action]
        await helpdesk.expect_input(turn.person, request_id, kind)
        await ask_input(turn, request_id, kind)
    elif action == "done":
        buttons = tuple((Button(_(text), cb.make("hz", request_id, value)),) for value, text in OUTCOMES.items())
        await turn.reply(Out(_("How did request <b>{code}</b> end?").format(code=ref_code(request_id)), buttons))
    elif action == "cancel":
        await turn.reply(Out(_("Cancel request <b>{code}</b>? The resident will be told.").format(
            code=ref_code(request_id)), ((Button(_("Yes, cancel it"), cb.make("hq", "cancel-yes", request_id)),),)))
    elif action == "cancel-yes":
        await finish_action(turn, await helpdesk.cancel_by_officer(request_id, turn.person))
    elif action == "unre":
        await turn.reply(Out(_("Close request <b>{code}</b> as “could not reach the resident”? The resident will "
                               "be told and can reopen it.").format(code=ref_code(request_id)),
                             ((Button(_("Yes, close it"), cb.make("hq", "unre-yes", request_id)),),)))
    elif action == "unre-yes":
        await finish_action(turn, await helpdesk.unreachable(request_id, turn.person))
    elif action == "hs":
        moment = from_stamp(turn.svc.content.commune, arg)
        if moment is None:
            turn.toast(_("This button is out of date."))
            return
        await helpdesk.clear_input(turn.person)
        await finish_action(turn, await helpdesk.schedule(request_id, turn.person, moment))
    elif action == "hz":
        await finish_action(turn, await helpdesk.finish(request_id, turn.person, arg))


async def claim(turn: Turn, request_id: int) -> None:
    """Take a request: the first to choose it wins; the group notice shows who took it."""
    _ = turn._
    s = turn.svc
    won, change = await s.helpdesk.claim(request_id, turn.person, turn.who.name or f"#{turn.person}")
    request = change.request
    if not won:
        if request is None or request.anonymised_at is not None:
            turn.toast(_("This request no longer exists."), alert=True)
        elif request.officer_name and request.status in ("claimed", "scheduled"):
            turn.toast(_("{name} has already taken {code}.").format(name=request.officer_name,
                                                                   code=ref_code(request_id)), alert=True)
        else:
            turn.toast(_("This request is no longer waiting."), alert=True)
        return
    assert request is not None
    private = await officer_address(s, turn.person) if not turn.private else turn.who.address
    detail_sent = private is not None
    if private is not None:
        try:
            await send_detail(turn, request_id, private)
        except DeliveryError:  # the officer never opened a private chat with the bot
            detail_sent = False
    if detail_sent:
        turn.toast(_("You have taken {code}. The details are in our private chat.").format(code=ref_code(request_id)))
    else:
        turn.toast(_("You have taken {code}. To see the details, open a private chat with me and send "
                     "/queue.").format(code=ref_code(request_id)), alert=True)
    if change.notice is not None:
        await deliver_for(s, request, change.notice)
    await refresh_notice(s, request)


async def ask_input(turn: Turn, request_id: int, kind: str) -> None:
    """Ask the officer to type a note, a message or an appointment time (options for the usual times)."""
    _ = turn._
    code = ref_code(request_id)
    if kind == "note":
        await turn.reply(_("Type the note for <b>{code}</b>. The resident does not see it. "
                           "(/cancel to stop)").format(code=code))
        return
    if kind == "message":
        await turn.reply(_("Type the message for the resident of <b>{code}</b>. (/cancel to stop)").format(code=code))
        return
    s = turn.svc
    request = await s.helpdesk.store.get(request_id)
    times = s.helpdesk.appointment_choices(request) if request else []
    buttons = tuple((Button(f"{fmt_date(t.date())} {fmt_time(t.time())}", cb.make("hs", request_id, stamp(t))),)
                    for t in times[:6])
    example = times[0] if times else datetime.fromtimestamp(s.helpdesk.clock(), s.content.commune.tzinfo)
    typed = f"{example:%d/%m} {fmt_time(example.time())}"  # an example that is always ahead, in office hours
    await turn.reply(Out(_("Appointment for <b>{code}</b>: choose a time, or type one like “{example}”. "
                           "(/cancel to stop)").format(code=code, example=typed), buttons))


async def finish_action(turn: Turn, change: Change) -> None:
    """After an action: tell the resident (through the outbox), show the officer the request as it is now."""
    _ = turn._
    if change.problem is not None:
        text = html.unescape(render(change.problem, _))
        if isinstance(turn.event, Press) and not turn.event.typed:
            turn.toast(text, alert=True)
        else:
            await turn.reply(html.escape(text))
        return
    assert change.request is not None
    if isinstance(turn.event, Press):
        turn.toast(_("Saved."))
    delivery = await deliver_for(turn.svc, change.request, change.notice) if change.notice is not None else None
    if delivery is None:
        saved = _("✅ Saved.")
    elif delivery.status == "sent":
        saved = _("✅ Saved. The resident has been told.")
    elif delivery.status == "pending":
        saved = _("✅ Saved. The message to the resident could not be delivered yet; the bot keeps trying.")
    else:
        saved = _("✅ Saved. The message to the resident could not be delivered (the resident may have blocked "
                  "the bot).")
    # What changed, with the next options — not the whole detail card again (it is one tap away).
    r = change.request
    changed = [f"<b>{ref_code(r.id)}</b> — " + html.escape(_("State: {value}").format(
        value=_(OFFICER_STATUS_LABELS[r.status])))]
    if r.status == "scheduled" and r.appointment_at:
        changed.append(html.escape(_("Appointment: {value}").format(value=fmt_datetime(local(r.appointment_at)))))
    buttons = (*detail_buttons(r, _), (Button(_("📄 Full detail"), cb.make("hq", "view", r.id)),))
    await turn.reply(Out(html.escape(saved) + "\n" + "\n".join(changed), buttons))
    if change.request.status == "cancelled":  # the only change the group notice shows after the claim
        await refresh_notice(turn.svc, change.request)


# --- typed input and /cancel -------------------------------------------------------------------------


async def consume_text(turn: Turn, text: str) -> bool:
    """The note, message or appointment time an officer was asked to type (False when none is pending)."""
    if not turn.private:
        return False
    helpdesk = turn.svc.helpdesk
    pending = await helpdesk.pending_input(turn.person)
    if pending is None:
        return False
    if not await allowed(turn, f"typed {pending.kind}", pending.request_id):
        await helpdesk.clear_input(turn.person)
        return True
    _ = turn._
    if pending.kind == "appointment":
        moment = helpdesk.parse_when(text)
        if moment is None:
            await turn.reply(html.escape(_("I could not read that time. Type it like “02/12 8:30”, or /cancel.")))
            return True
        change = await helpdesk.schedule(pending.request_id, turn.person, moment)
    else:
        change = await helpdesk.add_note(pending.request_id, turn.person, text, pending.kind == "message")
    if change.problem is None or change.request is None:
        await helpdesk.clear_input(turn.person)
    await finish_action(turn, change)
    return True


async def cancel_input(turn: Turn) -> bool:
    """/cancel: stop typing a note, message or appointment (True when one was pending)."""
    if not turn.private or not await turn.svc.helpdesk.clear_input(turn.person):
        return False
    await turn.reply(html.escape(turn._("Stopped. Nothing was saved.")))
    return True
