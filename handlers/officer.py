"""Help requests, officer side: notices in the officers' group with a claim button, /queue, a request's
detail and actions (appointment, note, message, done, could not reach, cancel), and the timed jobs.

Every officer command and button checks the role on the server (button data can be forged); refusals
are audited by the service. The group only ever sees masked phone and ID numbers; full detail is shown
in private chats to staff, and each view is audited.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from datetime import datetime, time
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application

from bot.dialogue import callbacks as cb
from bot.helpdesk.messages import render, render_arg
from bot.helpdesk.model import EVENT_LABELS, OFFICER_STATUS_LABELS, OUTCOMES, STATUS_LABELS, TOPICS, ref_code
from bot.helpdesk.provinces import MERGED_INTO, PROVINCES
from bot.helpdesk.service import Change, Notice
from bot.helpdesk.slots import from_stamp, stamp
from bot.i18n import DEFAULT_LANGUAGE, TZ, Translate, fmt_date, fmt_datetime, fmt_time
from bot.privacy import mask_id, mask_phone
from handlers.common import inline, main_menu, send_html, svc, tr
from handlers.telegram.app import BotData, Ctx, Services
from storage.helpdesk import HelpEvent, HelpRequest

log = logging.getLogger(__name__)

# The running application as handlers and jobs see it (`context.application`).
AnyApp = Application[Any, Any, Any, Any, BotData, Any]

cb.register_shape("hq", 2)  # officer action, request id
cb.register_shape("hs", 2)  # book an appointment: request id, yyyymmddHHMM (local)
cb.register_shape("hz", 2)  # mark done: request id, outcome

GROUP_BATCH = 10        # requests per group notice (Telegram allows ~20 messages a minute in a group)
QUEUE_LIMIT = 30        # requests listed by /queue
SWEEP_SECONDS = 60      # how often the jobs look at the database
ACTIONS = ("claim", "view", "appt", "note", "msg", "done", "unre", "cancel", "cancel-yes")


def group_tr(s: Services) -> Translate:
    """The officers' group reads the default language."""
    return s.catalogs.gettext(DEFAULT_LANGUAGE)


def local(at: float) -> datetime:
    return datetime.fromtimestamp(at, TZ)


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


def notice_keyboard(requests: Sequence[HelpRequest], _: Translate) -> InlineKeyboardMarkup | None:
    waiting = [r for r in requests if r.status == "new"]
    if not waiting:
        return None
    if len(requests) == 1:
        return inline([[(_("🙋 Take this request"), cb.make("hq", "claim", waiting[0].id))]])
    buttons = [(_("🙋 Take {code}").format(code=ref_code(r.id)), cb.make("hq", "claim", r.id)) for r in waiting]
    return inline([buttons[i:i + 2] for i in range(0, len(buttons), 2)])


def post_soon(app: AnyApp) -> None:
    """Post new requests to the officers' group in the background (the resident does not wait for it)."""
    app.create_task(post_pending(app), name="helpdesk-post")


async def post_pending(app: AnyApp) -> None:
    """Post requests not yet in the officers' group, up to GROUP_BATCH per message.

    One poster runs at a time; a request confirmed meanwhile sets `pending` and the running poster takes
    it too. Stops when the application stops: what is left is posted by the next start-up's sweep."""
    s = app.bot_data.svc
    chat_id = s.settings.officer_chat_id
    board = s.helpdesk.board
    board.pending = True
    if chat_id is None or board.lock.locked():
        return
    _ = group_tr(s)
    async with board.lock:
        while board.pending and app.running:
            board.pending = False
            while app.running:
                batch = await s.helpdesk.unposted(GROUP_BATCH)
                if not batch:
                    break
                try:
                    sent = await send_html(app.bot, chat_id, notice_html(s, batch, _), notice_keyboard(batch, _))
                except TelegramError as exc:
                    log.warning("could not post %d request(s) to the officers' group: %s", len(batch), exc)
                    return
                await s.helpdesk.mark_posted([r.id for r in batch], chat_id, sent.message_id)


async def repost_unclaimed(app: AnyApp, now: float | None = None) -> int:
    """Post again the requests nobody took within 4 working hours."""
    s = app.bot_data.svc
    chat_id = s.settings.officer_chat_id
    if chat_id is None:
        return 0
    due = await s.helpdesk.due_reposts(now)
    _ = group_tr(s)
    for i in range(0, len(due), GROUP_BATCH):
        batch = due[i:i + GROUP_BATCH]
        try:
            sent = await send_html(app.bot, chat_id, notice_html(s, batch, _, repost=True),
                                   notice_keyboard(batch, _))
        except TelegramError as exc:
            log.warning("could not post unclaimed requests again: %s", exc)
            return i
        await s.helpdesk.mark_posted([r.id for r in batch], chat_id, sent.message_id, repost=True, now=now)
    return len(due)


async def refresh_notice(app: AnyApp, request: HelpRequest) -> None:
    """Edit the group notice that lists `request` (who took it, or that it was cancelled)."""
    if request.notice_chat_id is None or not request.notice_message_id:
        return
    s = app.bot_data.svc
    _ = group_tr(s)
    requests = await s.helpdesk.on_notice(request.notice_chat_id, request.notice_message_id)
    if not requests:
        return
    try:
        await app.bot.edit_message_text(notice_html(s, requests, _), request.notice_chat_id,
                                        request.notice_message_id, parse_mode=ParseMode.HTML,
                                        reply_markup=notice_keyboard(requests, _))
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.warning("could not update the group notice of %s: %s", ref_code(request.id), exc)
    except TelegramError as exc:
        log.warning("could not update the group notice of %s: %s", ref_code(request.id), exc)


async def tell_officers_cancelled(app: AnyApp, request: HelpRequest) -> None:
    """A resident cancelled (or erased their data): update the notice and tell the officer who had it."""
    await refresh_notice(app, request)
    if request.officer_id is not None:
        _ = group_tr(app.bot_data.svc)
        try:
            await send_html(app.bot, request.officer_id, _("The resident cancelled request <b>{code}</b>.")
                            .format(code=ref_code(request.id)))
        except TelegramError:
            log.info("could not tell officer %d about a cancellation", request.officer_id)


async def deliver(app: AnyApp, notice: Notice) -> bool:
    """Send a resident a notice in their language. False only when it is worth trying again later."""
    s = app.bot_data.svc
    _ = s.catalogs.gettext(notice.language)
    try:
        await send_html(app.bot, notice.chat_id, render(notice.say.text, _),
                        main_menu(_) if notice.say.menu else None)
    except Forbidden:
        log.info("a resident has blocked the bot; notice not delivered")
    except BadRequest as exc:
        log.warning("notice refused by Telegram: %s", exc)
    except TelegramError as exc:
        log.warning("notice not delivered yet: %s", exc)
        return False
    return True


# --- timed jobs (rebuilt from the database: nothing lives only in memory) ---------------------------


async def run_sweep(app: AnyApp, now: float | None = None) -> None:
    """Post new requests, post unclaimed ones again, remind residents, drop idle forms."""
    s = app.bot_data.svc
    await post_pending(app)
    await repost_unclaimed(app, now)
    for request, notice in await s.helpdesk.due_reminders(now):
        if await deliver(app, notice):
            await s.helpdesk.mark_reminded(request.id)
    for notice in await s.helpdesk.expire_drafts(now):
        await deliver(app, notice)


async def sweep_job(context: Ctx) -> None:
    """JobQueue: the periodic sweep."""
    await run_sweep(context.application)


async def retention_job(context: Ctx) -> None:
    """JobQueue: anonymise requests closed more than retention_days ago."""
    await context.application.bot_data.svc.helpdesk.apply_retention()


def schedule_jobs(app: AnyApp) -> None:
    """At start-up: a first sweep at once (catches what fell due while the bot was down), then every
    minute; retention at start-up and daily at 03:00."""
    jobs = app.job_queue
    if jobs is None:
        log.warning("no JobQueue: reminders and re-posts will not run")
        return
    jobs.run_repeating(sweep_job, interval=SWEEP_SECONDS, first=0.5, name="helpdesk-sweep")
    jobs.run_once(retention_job, when=1.0, name="helpdesk-retention-startup")
    jobs.run_daily(retention_job, time=time(3, 0, tzinfo=TZ), name="helpdesk-retention")


# --- /queue and a request's detail ----------------------------------------------------------------


async def allowed(update: Update, context: Ctx, action: str, request_id: int | None = None) -> bool:
    """True for officers (and admins); anyone else is refused, and the refusal audited."""
    user = update.effective_user
    if user is None:
        return False
    s = svc(context)
    if await s.helpdesk.is_officer(user.id):
        return True
    await s.helpdesk.refuse(user.id, action, request_id)
    _ = tr(update, context)
    refusal = _("Only commune officers can do this.")
    if update.callback_query is not None:
        await update.callback_query.answer(refusal, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(refusal)
    return False


async def show_queue(update: Update, context: Ctx) -> None:
    """Officers: open requests, oldest first, each with a button to its detail (private chat only)."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None:
        return
    _ = tr(update, context)
    if not await allowed(update, context, "/queue"):
        return
    if chat.type != "private":
        await message.reply_text(_("Please use /queue in a private chat with me: requests are not shown here."))
        return
    s = svc(context)
    requests = await s.helpdesk.queue(user.id)
    if not requests:
        await message.reply_text(_("No open requests. 🎉"))
        return
    lines = [_("<b>Open requests</b> (oldest first): {count}").format(count=len(requests))]
    for r in requests[:QUEUE_LIMIT]:
        state = _(OFFICER_STATUS_LABELS[r.status])
        if r.status == "scheduled" and r.appointment_at:
            state = fmt_datetime(local(r.appointment_at))
        taken = f" · {html.escape(r.officer_name)}" if r.officer_name and r.status != "new" else ""
        lines.append(f"<b>{ref_code(r.id)}</b> · {html.escape(_(TOPICS.get(r.topic, TOPICS['other'])))} · "
                     f"{html.escape(village_name(context, r.village))} · {mask_phone(r.phone)} · "
                     f"{html.escape(state)}{taken} · {fmt_date(local(r.created_at).date())}")
    if len(requests) > QUEUE_LIMIT:
        lines.append(_("…and {count} more.").format(count=len(requests) - QUEUE_LIMIT))
    buttons = [(ref_code(r.id), cb.make("hq", "view", r.id)) for r in requests[:QUEUE_LIMIT]]
    await send_html(context.bot, chat.id, "\n".join(lines),
                    inline([buttons[i:i + 3] for i in range(0, len(buttons), 3)]))


def village_name(context: Ctx, village_id: str) -> str:
    village = svc(context).content.commune.village(village_id)
    return village.name if village else (village_id or "—")


def detail_html(context: Ctx, request: HelpRequest, events: list[HelpEvent], _: Translate) -> str:
    """Everything about a request, for staff only."""
    s = svc(context)
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
        _("Village: {value}").format(value=html.escape(village_name(context, r.village))),
        _("Personal ID: {value}").format(value=html.escape((r.id_number or "—") + province)),
        _("Preferred time: {value}").format(value=render_arg(s.helpdesk.preferred(r), _)),
    ]
    if r.appointment_at:
        rows.append(_("Appointment: {value}").format(value=html.escape(fmt_datetime(local(r.appointment_at)))))
    if r.outcome:
        rows.append(_("Outcome: {value}").format(value=html.escape(_(OUTCOMES.get(r.outcome, r.outcome)))))
    rows.append(_("Note from the resident: {value}").format(value=html.escape(r.note or "—")))
    rows.append(_("Sent: {value}").format(value=html.escape(fmt_datetime(local(r.created_at)))))
    history = []
    for e in events[-15:]:
        when = f"{fmt_date(local(e.at).date())} {fmt_time(local(e.at).time())}"
        what = _(EVENT_LABELS[e.kind]) if e.kind in EVENT_LABELS else e.kind
        text = f"• {html.escape(when)} — {html.escape(what)} ({html.escape(actor_name(r, e.actor, _))})"
        if e.detail and e.kind in ("note", "message"):
            text += ": " + html.escape(e.detail)
        history.append(text)
    return "\n".join(rows) + "\n\n" + _("<b>History</b>") + "\n" + "\n".join(history)


def actor_name(request: HelpRequest, actor: str, _: Translate) -> str:
    """'tg:9001' -> the officer's name when it is the one who took the request."""
    if actor == "resident":
        return _("resident")
    if actor == "system":
        return _("the bot")
    if actor == f"tg:{request.officer_id}" and request.officer_name:
        return request.officer_name
    return actor.replace("tg:", "#")


def detail_keyboard(request: HelpRequest, _: Translate) -> InlineKeyboardMarkup | None:
    i = request.id
    if request.status == "new":
        return inline([[(_("🙋 Take this request"), cb.make("hq", "claim", i))],
                       [(_("❌ Cancel the request"), cb.make("hq", "cancel", i))]])
    if request.status in ("claimed", "scheduled"):
        return inline([
            [(_("📅 Appointment"), cb.make("hq", "appt", i)), (_("📝 Note"), cb.make("hq", "note", i))],
            [(_("💬 Message the resident"), cb.make("hq", "msg", i))],
            [(_("✅ Done"), cb.make("hq", "done", i)), (_("📵 Could not reach"), cb.make("hq", "unre", i))],
            [(_("❌ Cancel the request"), cb.make("hq", "cancel", i))],
        ])
    if request.anonymised_at is None:
        return inline([[(_("📝 Note"), cb.make("hq", "note", i))]])
    return None


async def send_detail(update: Update, context: Ctx, request_id: int, chat_id: int) -> bool:
    """Send a request's detail to an officer's private chat (an audited view)."""
    user = update.effective_user
    assert user is not None
    _ = tr(update, context)
    found = await svc(context).helpdesk.view(request_id, user.id)
    if found is None:
        await context.bot.send_message(chat_id, _("This request no longer exists."))
        return False
    request, events = found
    await send_html(context.bot, chat_id, detail_html(context, request, events, _), detail_keyboard(request, _))
    return True


# --- officer buttons ---------------------------------------------------------------------------------


async def on_button(update: Update, context: Ctx) -> None:
    """An officer's button: hq:<action>:<id>, hs:<id>:<time>, hz:<id>:<outcome>."""
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    if query is None or user is None or chat is None:
        return
    _ = tr(update, context)
    data = cb.parse(query.data)
    if data is None:
        await query.answer(_("This button is out of date."))
        return
    # hq:<action>:<id>, or hs:<id>:<time> / hz:<id>:<outcome> where the verb is the action.
    action, id_text, arg = (*data.args, "") if data.verb == "hq" else (data.verb, *data.args)
    request_id = int(id_text) if id_text.isdigit() else None
    if not await allowed(update, context, str(query.data), request_id):
        return
    if request_id is None or (data.verb == "hq" and action not in ACTIONS):
        await query.answer(_("This button is out of date."))
        return
    if action == "claim":
        await claim(update, context, request_id)
        return
    if chat.type != "private":  # details and actions never in a group
        await query.answer(_("Please open the request in a private chat with me (/queue)."), show_alert=True)
        return
    helpdesk = svc(context).helpdesk
    if action == "view":
        await query.answer()
        await send_detail(update, context, request_id, chat.id)
    elif action in ("note", "msg", "appt"):
        await query.answer()
        kind = {"note": "note", "msg": "message", "appt": "appointment"}[action]
        await helpdesk.expect_input(user.id, request_id, kind)
        await ask_input(update, context, request_id, kind)
    elif action == "done":
        await query.answer()
        buttons = [[(_(label), cb.make("hz", request_id, value))] for value, label in OUTCOMES.items()]
        await send_html(context.bot, chat.id, _("How did request <b>{code}</b> end?").format(
            code=ref_code(request_id)), inline(buttons))
    elif action == "cancel":
        await query.answer()
        await send_html(context.bot, chat.id, _("Cancel request <b>{code}</b>? The resident will be told.").format(
            code=ref_code(request_id)), inline([[(_("Yes, cancel it"), cb.make("hq", "cancel-yes", request_id))]]))
    elif action == "cancel-yes":
        await finish_action(update, context, await helpdesk.cancel_by_officer(request_id, user.id))
    elif action == "unre":
        await finish_action(update, context, await helpdesk.unreachable(request_id, user.id))
    elif action == "hs":
        moment = from_stamp(svc(context).content.commune, arg)
        if moment is None:
            await query.answer(_("This button is out of date."))
            return
        await helpdesk.clear_input(user.id)
        await finish_action(update, context, await helpdesk.schedule(request_id, user.id, moment))
    elif action == "hz":
        await finish_action(update, context, await helpdesk.finish(request_id, user.id, arg))


async def claim(update: Update, context: Ctx, request_id: int) -> None:
    """Take a request: the first press wins; the group notice shows who took it."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    _ = tr(update, context)
    won, change = await svc(context).helpdesk.claim(request_id, user.id, user.full_name)
    request = change.request
    if not won:
        if request is None or request.anonymised_at is not None:
            await query.answer(_("This request no longer exists."), show_alert=True)
        elif request.officer_name and request.status in ("claimed", "scheduled"):
            await query.answer(_("{name} has already taken {code}.").format(name=request.officer_name,
                                                                           code=ref_code(request_id)),
                               show_alert=True)
        else:
            await query.answer(_("This request is no longer waiting."), show_alert=True)
        return
    assert request is not None
    detail_sent = True
    try:
        await send_detail(update, context, request_id, user.id)
    except TelegramError:  # the officer never opened a private chat with the bot
        detail_sent = False
    if detail_sent:
        await query.answer(_("You have taken {code}. The details are in our private chat.").format(
            code=ref_code(request_id)))
    else:
        await query.answer(_("You have taken {code}. To see the details, open a private chat with me and send "
                             "/queue.").format(code=ref_code(request_id)), show_alert=True)
    if change.notice is not None:
        await deliver(context.application, change.notice)
    await refresh_notice(context.application, request)


async def ask_input(update: Update, context: Ctx, request_id: int, kind: str) -> None:
    """Ask the officer to type a note, a message or an appointment time (buttons for the usual times)."""
    chat = update.effective_chat
    assert chat is not None
    _ = tr(update, context)
    code = ref_code(request_id)
    if kind == "note":
        await send_html(context.bot, chat.id, _("Type the note for <b>{code}</b>. The resident does not see it. "
                                                "(/cancel to stop)").format(code=code))
        return
    if kind == "message":
        await send_html(context.bot, chat.id, _("Type the message for the resident of <b>{code}</b>. "
                                                "(/cancel to stop)").format(code=code))
        return
    s = svc(context)
    request = await s.helpdesk.store.get(request_id)
    times = s.helpdesk.appointment_choices(request) if request else []
    buttons = [[(f"{fmt_date(t.date())} {fmt_time(t.time())}", cb.make("hs", request_id, stamp(t)))]
               for t in times[:6]]
    await send_html(context.bot, chat.id, _("Appointment for <b>{code}</b>: choose a time, or type one like "
                                            "“02/12 8:30”. (/cancel to stop)").format(code=code),
                    inline(buttons) if buttons else None)


async def finish_action(update: Update, context: Ctx, change: Change) -> None:
    """After an action: answer the press, tell the resident, show the officer the request as it is now."""
    query, chat = update.callback_query, update.effective_chat
    assert chat is not None
    _ = tr(update, context)
    if change.problem is not None:
        text = html.unescape(render(change.problem, _))
        if query is not None:
            await query.answer(text, show_alert=True)
        else:
            await context.bot.send_message(chat.id, text)
        return
    if query is not None:
        await query.answer(_("Saved."))
    told = change.notice is not None and await deliver(context.application, change.notice)
    assert change.request is not None
    await send_html(context.bot, chat.id, _("✅ Saved. The resident has been told.") if told else _("✅ Saved."))
    await send_detail(update, context, change.request.id, chat.id)
    if change.request.status == "cancelled":  # the only change the group notice shows after the claim
        await refresh_notice(context.application, change.request)


# --- typed input and /cancel -------------------------------------------------------------------------


async def consume_text(update: Update, context: Ctx) -> bool:
    """The note, message or appointment time an officer was asked to type (False when none is pending)."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or message.text is None or user is None or chat is None or chat.type != "private":
        return False
    helpdesk = svc(context).helpdesk
    pending = await helpdesk.pending_input(user.id)
    if pending is None:
        return False
    if not await allowed(update, context, f"typed {pending.kind}", pending.request_id):
        await helpdesk.clear_input(user.id)
        return True
    _ = tr(update, context)
    if pending.kind == "appointment":
        moment = helpdesk.parse_when(message.text)
        if moment is None:
            await message.reply_text(_("I could not read that time. Type it like “02/12 8:30”, or /cancel."))
            return True
        change = await helpdesk.schedule(pending.request_id, user.id, moment)
    else:
        change = await helpdesk.add_note(pending.request_id, user.id, message.text, pending.kind == "message")
    if change.problem is None or change.request is None:
        await helpdesk.clear_input(user.id)
    await finish_action(update, context, change)
    return True


async def cancel_input(update: Update, context: Ctx) -> bool:
    """/cancel: stop typing a note, message or appointment (True when one was pending)."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or not await svc(context).helpdesk.clear_input(user.id):
        return False
    _ = tr(update, context)
    await message.reply_text(_("Stopped. Nothing was saved."))
    return True
