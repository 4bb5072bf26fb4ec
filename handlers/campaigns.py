"""Announcements: residents subscribe (/subscribe, /unsubscribe, the "stop" button under every broadcast,
blocking the bot); the culture officer writes and schedules campaigns (/campaign). The editor's draft lives
in SQLite (storage.campaigns), so a restart in the middle of writing loses nothing.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime, time

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest

from bot.campaigns.audience import TOPICS, Audience
from bot.campaigns.engine import Broadcast
from bot.campaigns.errors import CampaignError
from bot.campaigns.report import progress_text
from bot.campaigns.schedule import parse_when, tomorrow_morning, tonight
from bot.campaigns.service import Campaigns
from bot.dialogue import callbacks as cb
from bot.i18n import LANGUAGES, N_, Catalogs, Translate, fmt_datetime, fmt_number, language_of
from bot.when import parse_clock_text
from handlers.common import NO_PREVIEW, inline, lang, svc, tr
from handlers.start import not_text, remember
from handlers.telegram.app import App, Ctx
from handlers.telegram.broadcast import TelegramPort
from storage.campaigns import CampaignRow, Counts, Draft

log = logging.getLogger(__name__)

TICK_SECONDS = 2.0  # how often the database is polled for due work (command-line campaigns: ≤ 10 s)

# Resident buttons: sb…; editor buttons: cp…  (verb -> number of arguments)
for _verb, _nargs in {
    "sbok": 0, "sbv": 1, "sbvx": 0, "sbt": 1, "sbd": 0, "sbvm": 0, "sbtm": 0, "sbu": 0,
    "cpn": 0, "cpt": 0, "cpu": 1, "cpl": 0, "cpx": 1, "cpr": 1, "cpa": 1, "cpv": 1, "cpo": 1, "cpw": 1,
    "cpd": 1, "cph": 1, "cps": 1, "cpk": 0, "cpq": 0,
}.items():  # fmt: skip
    cb.register_shape(_verb, _nargs)
SUBSCRIBER_BUTTONS = r"^sb[a-z]*(:|$)"
EDITOR_BUTTONS = r"^cp[a-z](:|$)"

WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
            N_("Sunday"))


def campaigns_of(context: Ctx) -> Campaigns:
    return svc(context).campaigns


def broadcast_markup(catalogs: Catalogs) -> dict[str, InlineKeyboardMarkup]:
    """The button under every announcement, per language: stop receiving them."""
    return {code: inline([[(catalogs.gettext(code)("🔕 Stop receiving these"), cb.make("sbu"))]])
            for code in LANGUAGES}


def port_of(app: App) -> TelegramPort:
    markups = broadcast_markup(app.bot_data.svc.catalogs)
    return TelegramPort(app.bot, lambda code: markups.get(language_of(code)))


async def on_startup(app: App) -> None:
    """Connect the engine to Telegram; poll the database for due work (and resume unfinished runs)."""
    engine = app.bot_data.svc.campaigns.engine
    await engine.attach(port_of(app), spawn=app.create_task, alive=lambda: app.running)
    assert app.job_queue is not None
    app.job_queue.run_repeating(tick, interval=TICK_SECONDS, first=0.2, name="campaigns")


async def tick(context: Ctx) -> None:
    """JobQueue: start due runs, resume paused ones (the schedule lives in SQLite)."""
    await campaigns_of(context).engine.tick()


async def edit_or_reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Edit the message of the pressed button, or answer the command with a new message."""
    query = update.callback_query
    if query is not None and query.message is not None:
        try:
            await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup,
                                          link_preview_options=NO_PREVIEW)
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return
    message = update.effective_message
    if message is not None:
        await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup,
                                 link_preview_options=NO_PREVIEW)


# --- residents -----------------------------------------------------------------------------------------


def topics_line(_: Translate, topics: tuple[str, ...]) -> str:
    if not topics:
        return _("all topics")
    return ", ".join(_(TOPICS[t]) for t in topics if t in TOPICS)


def village_keyboard(update: Update, context: Ctx, verb: str, skip: tuple[str, str] | None,
                     counts: dict[str, int] | None = None) -> InlineKeyboardMarkup:
    villages = campaigns_of(context).content.commune.villages
    buttons = [(v.name + (f" ({counts.get(v.id, 0)})" if counts is not None else ""), cb.make(verb, v.id))
               for v in villages]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    if skip is not None:
        rows.append([skip])
    return inline(rows)


def topics_question(_: Translate) -> str:
    return _("Which topics interest you? Tap to choose; choose none to receive all.")


def topic_keyboard(_: Translate, chosen: tuple[str, ...]) -> InlineKeyboardMarkup:
    rows = [[(("✅ " if t in chosen else "▫️ ") + _(label), cb.make("sbt", t))] for t, label in TOPICS.items()]
    rows.append([(_("Done"), cb.make("sbd"))])
    return inline(rows)


async def subscribe(update: Update, context: Ctx) -> None:
    """Explain what is kept and ask for consent, or show the settings of a subscriber."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    _ = tr(update, context)
    if update.effective_chat is not None and update.effective_chat.type != "private":
        await message.reply_text(_("Please write to me in a private chat to receive announcements."))
        return
    await remember(update, context)
    sub = await campaigns_of(context).subscriptions.get(user.id)
    if sub is not None and sub.active:
        village = campaigns_of(context).content.commune.village(sub.village or "")
        text = _("You receive the commune's announcements.\nVillage: {village}\nTopics: {topics}").format(
            village=village.name if village else _("not chosen"), topics=topics_line(_, sub.topics))
        markup = inline([[(_("🏘 Change village"), cb.make("sbvm")), (_("🗂 Change topics"), cb.make("sbtm"))],
                         [(_("🔕 Stop receiving these"), cb.make("sbu"))]])
        await message.reply_text(text, reply_markup=markup)
        return
    quiet = campaigns_of(context).quiet
    text = _("I can send you the commune's announcements: electronic ID (VNeID), online public services, scam "
             "warnings. Never between {start} and {end}.\n\nI keep only your Telegram ID, your language and "
             "the village and topics you choose. Stop at any time with /unsubscribe; see or erase your data "
             "with /mydata.").format(start=f"{quiet.start:%H:%M}", end=f"{quiet.end:%H:%M}")
    await message.reply_text(text, reply_markup=inline([[(_("✅ Yes, send me announcements"), cb.make("sbok"))]]))


async def unsubscribe(update: Update, context: Ctx) -> None:
    """Stop the announcements at once."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    _ = tr(update, context)
    stopped = await campaigns_of(context).subscriptions.unsubscribe(user.id)
    if stopped:
        log.info("a resident unsubscribed")
        await message.reply_text(_("Done: you will not receive the commune's announcements any more. "
                                   "To receive them again: /subscribe"))
    else:
        await message.reply_text(_("You are not receiving announcements. To receive them: /subscribe"))


async def on_subscriber_button(update: Update, context: Ctx) -> None:
    """Consent, village, topics and "stop" buttons of residents."""
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    if query is None or user is None or chat is None:
        return
    _ = tr(update, context)
    data = cb.parse(query.data)
    subs = campaigns_of(context).subscriptions
    commune = campaigns_of(context).content.commune
    if data is None:
        await query.answer(_("This button is out of date."))
        return
    if data.verb == "sbu":
        stopped = await subs.unsubscribe(user.id)
        await query.answer(_("Stopped.") if stopped else None)
        if stopped and query.message is not None:
            await context.bot.send_message(chat.id, _("Done: you will not receive the commune's announcements any "
                                                      "more. To receive them again: /subscribe"))
        return
    if data.verb == "sbok":
        if chat.type != "private":
            await query.answer(_("This button is out of date."))
            return
        await subs.subscribe(user.id, chat.id, lang(update))
        await query.answer(_("Subscribed."))
        log.info("a resident subscribed")
        await edit_or_reply(update, html.escape(_("Thank you! Which village (thôn) do you live in? You can skip "
                                                  "this.")),
                            village_keyboard(update, context, "sbv", (_("Skip"), cb.make("sbvx"))))
        return
    sub = await subs.get(user.id)
    if sub is None or not sub.active:
        await query.answer(_("This button is out of date."))
        return
    if data.verb == "sbvm":
        await query.answer()
        await edit_or_reply(update, html.escape(_("Which village (thôn) do you live in?")),
                            village_keyboard(update, context, "sbv", (_("No village"), cb.make("sbvx"))))
        return
    if data.verb in ("sbv", "sbvx"):
        village = data.args[0] if data.args else None
        if village is not None and commune.village(village) is None:
            await query.answer(_("This button is out of date."))
            return
        await subs.set_village(user.id, village)
        await query.answer()
        await edit_or_reply(update, html.escape(topics_question(_)),
                            topic_keyboard(_, sub.topics))
        return
    if data.verb == "sbtm":
        await query.answer()
        await edit_or_reply(update, html.escape(topics_question(_)),
                            topic_keyboard(_, sub.topics))
        return
    if data.verb == "sbt":
        if data.args[0] not in TOPICS:
            await query.answer(_("This button is out of date."))
            return
        chosen = await subs.toggle_topic(user.id, data.args[0])
        await query.answer()
        await edit_or_reply(update, html.escape(topics_question(_)),
                            topic_keyboard(_, chosen or ()))
        return
    if data.verb == "sbd":
        await query.answer()
        home = commune.village(sub.village or "")
        await edit_or_reply(update, html.escape(
            _("Done! You will receive announcements about: {topics}. Village: {village}. To stop: /unsubscribe")
            .format(topics=topics_line(_, sub.topics), village=home.name if home else _("not chosen"))))


async def on_my_chat_member(update: Update, context: Ctx) -> None:
    """A resident blocked or unblocked the bot: keep the subscription's status true."""
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    blocked = change.new_chat_member.status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT)
    await campaigns_of(context).subscriptions.set_blocked(change.chat.id, blocked)


# --- the culture officer -------------------------------------------------------------------------------


async def is_editor(update: Update, context: Ctx) -> bool:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != "private":
        return False
    return await svc(context).staff.has_role(user.id, "editor")


def draft_text(_: Translate) -> str:
    return _("Send the text of the announcement (at most 4096 characters). You can also send one photo with "
             "a short text under it. Write **words** to make them bold. To stop: /cancel")


async def campaign_menu(update: Update, context: Ctx) -> None:
    """/campaign: the culture officer's menu (write, use a template, list)."""
    message = update.effective_message
    if message is None:
        return
    _ = tr(update, context)
    if not await is_editor(update, context):
        await message.reply_text(_("This command is for the commune's culture officer."))
        return
    await message.reply_text(_("Announcements to residents:"), reply_markup=inline([
        [(_("✍️ Write a new one"), cb.make("cpn")), (_("📄 From a template"), cb.make("cpt"))],
        [(_("📋 Scheduled and past"), cb.make("cpl"))],
    ]))


async def audience_menu(update: Update, context: Ctx, draft: Draft) -> None:
    _ = tr(update, context)
    service = campaigns_of(context)
    rows = []
    template = service.template(draft.template_id or "")
    if template is not None and template.topic in TOPICS:
        n = await service.audience_size(f"topic:{template.topic}")
        rows.append([(_("Topic: {topic} ({n})").format(topic=_(TOPICS[template.topic]), n=n),
                      cb.make("cpo", template.topic))])
    everyone = await service.audience_size("all")
    rows += [[(_("Everyone ({n})").format(n=everyone), cb.make("cpa", "all"))],
             [(_("One village"), cb.make("cpa", "village")), (_("One topic"), cb.make("cpa", "topic"))]]
    await edit_or_reply(update, _("Who should receive it?"), inline(rows))


async def when_menu(update: Update, context: Ctx, draft: Draft, note: str = "") -> None:
    _ = tr(update, context)
    service = campaigns_of(context)
    who = Audience.parse(draft.audience, service.content.commune)
    n = await service.audience_size(str(who))
    code = lang(update)
    text = _("It goes to {n} people ({who}). When should it be sent?").format(
        n=fmt_number(n, code), who=who.describe(_, service.content.commune))
    if n == 0:
        text += "\n" + _("Nobody matches yet: only people who subscribe before it is sent will get it.")
    text += "\n" + _("Tap a button, or type a date and time, for example 07:30 15/12.")
    now = service.now()
    buttons = [(_("Now"), cb.make("cpw", "now"))]
    evening = tonight(now)
    if evening is not None:
        buttons.append((_("Tonight 19:00"), cb.make("cpw", "tonight")))
    buttons.append((_("Tomorrow 07:00"), cb.make("cpw", "tomorrow")))
    markup = inline([buttons, [(_("Every week…"), cb.make("cpw", "weekly"))]])
    await edit_or_reply(update, html.escape((note + "\n\n" if note else "") + text), markup)


async def show_preview(update: Update, context: Ctx, draft: Draft) -> None:
    """The announcement exactly as residents get it, then what / who / when and the confirm buttons."""
    chat = update.effective_chat
    if chat is None:
        return
    _ = tr(update, context)
    service = campaigns_of(context)
    code = lang(update)
    await port_of_context(context).send(chat.id, Broadcast(0, draft.html or "", draft.photo), code)
    who = Audience.parse(draft.audience, service.content.commune)
    n = await service.audience_size(str(who))
    if draft.repeat:
        first = service.first_run(None, draft.repeat)
        when = _("{repeat}; first on {time}").format(repeat=service.describe_repeat(draft.repeat, _),
                                                    time=fmt_datetime(first, code))
    elif draft.at is None:
        when = _("now")
    else:
        when = fmt_datetime(service.local(draft.at), code)
    text = _("⬆️ This is exactly what residents will receive.\nTo: {n} people ({who})\nWhen: {when}").format(
        n=fmt_number(n, code), who=who.describe(_, service.content.commune), when=when)
    markup = inline([[(_("✅ Confirm"), cb.make("cpk"))],
                     [(_("✏️ Start again"), cb.make("cpn")), (_("❌ Cancel"), cb.make("cpq"))]])
    await context.bot.send_message(chat.id, html.escape(text), parse_mode=ParseMode.HTML, reply_markup=markup)


def port_of_context(context: Ctx) -> TelegramPort:
    port = campaigns_of(context).engine.port
    assert isinstance(port, TelegramPort)
    return port


async def set_time(update: Update, context: Ctx, draft: Draft, at: datetime | None, repeat: str | None = None
                   ) -> None:
    """Check a chosen time (None = now) or weekly rule; refuse quiet hours with a suggestion; else preview."""
    _ = tr(update, context)
    service = campaigns_of(context)
    try:
        first = service.first_run(at, repeat)
        service.check_time(first)
    except CampaignError as exc:
        suggestion = exc.suggestion_at
        markup = None
        if suggestion is not None and not repeat:
            markup = inline([[(_("Use {time}").format(time=fmt_datetime(suggestion, lang(update))),
                               cb.make("cps", int(suggestion.timestamp())))]])
        message = update.effective_message
        if message is not None:
            await message.reply_text(exc.translated(_), reply_markup=markup)
        return
    draft.at = None if at is None and not repeat else first.astimezone(UTC).timestamp()
    draft.repeat = repeat
    draft.step = "confirm"
    await campaigns_of(context).store.save_draft(draft)
    await show_preview(update, context, draft)


async def editor_draft(update: Update, context: Ctx) -> Draft | None:
    user = update.effective_user
    if user is None or not await is_editor(update, context):
        return None
    return await campaigns_of(context).store.draft(user.id)


async def take_text(update: Update, context: Ctx, draft: Draft, body: str, photo: str | None) -> None:
    """The draft's text (and photo) arrived: check it, then ask for the audience."""
    message = update.effective_message
    if message is None:
        return
    _ = tr(update, context)
    try:
        markup = campaigns_of(context).check_text(body, photo)
    except CampaignError as exc:
        await message.reply_text(exc.translated(_))
        return
    draft.body, draft.html, draft.photo, draft.step = body, markup, photo, "audience"
    await campaigns_of(context).store.save_draft(draft)
    await audience_menu(update, context, draft)


async def consume_draft_text(update: Update, context: Ctx) -> bool:
    """Free text of an editor with an open draft: its text, a typed date/time, or a weekly time."""
    message = update.effective_message
    if message is None or message.text is None or update.effective_chat is None:
        return False
    if update.effective_chat.type != "private":
        return False
    draft = await editor_draft(update, context)
    if draft is None or not (draft.step in ("text", "when") or draft.step.startswith("weekly:")):
        return False
    _ = tr(update, context)
    service = campaigns_of(context)
    if draft.step == "text":
        await take_text(update, context, draft, message.text, None)
        return True
    if draft.step == "when":
        try:
            at = parse_when(message.text, service.now())
        except CampaignError as exc:
            await message.reply_text(exc.translated(_))
            return True
        if at is None:
            await message.reply_text(_("I could not read that time. Type for example 07:30 15/12, or tap a "
                                       "button above."))
            return True
        await set_time(update, context, draft, at)
        return True
    clock = parse_clock_text(message.text)
    if clock is None:
        await message.reply_text(_("I could not read that time. Type for example 07:30."))
        return True
    await set_time(update, context, draft, None, service.weekly_rule(int(draft.step.split(":")[1]), clock))
    return True


async def on_photo(update: Update, context: Ctx) -> None:
    """A photo: the picture of an editor's draft; from anyone else, 'only text is understood'."""
    message = update.effective_message
    draft = await editor_draft(update, context) if message is not None and message.photo else None
    if message is None or draft is None or draft.step != "text":
        await not_text(update, context)
        return
    await take_text(update, context, draft, message.caption or "", message.photo[-1].file_id)


async def cancel_draft(update: Update, context: Ctx) -> bool:
    """/cancel: drop the editor's draft, if one is open."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return False
    if not await campaigns_of(context).store.delete_draft(user.id):
        return False
    _ = tr(update, context)
    await message.reply_text(_("The announcement draft is cancelled. Nothing was sent."))
    return True


def campaign_line(_: Translate, service: Campaigns, c: CampaignRow, code: str) -> str:
    statuses = {"scheduled": _("scheduled"), "sending": _("sending"), "paused": _("paused (quiet hours)"),
                "done": _("sent"), "cancelled": _("cancelled"), "missed": _("missed")}
    at = c.next_at if c.next_at is not None else c.first_at
    when = service.describe_repeat(c.repeat, _) if c.repeat else fmt_datetime(service.local(at), code)
    who = Audience.parse(c.audience, service.content.commune).describe(_, service.content.commune) \
        if c.audience else ""
    first_line = " ".join(c.body.split())[:60] or _("(photo)")
    return (f"<b>#{c.id}</b> — {html.escape(statuses.get(c.status, c.status))} — {html.escape(when)} — "
            f"{html.escape(who)}\n<i>{html.escape(first_line)}</i>")


async def list_campaigns(update: Update, context: Ctx) -> None:
    _ = tr(update, context)
    service = campaigns_of(context)
    campaigns = await service.list(10)
    if not campaigns:
        await edit_or_reply(update, html.escape(_("No announcements yet.")))
        return
    code = lang(update)
    text = "\n\n".join(campaign_line(_, service, c, code) for c in campaigns)
    rows = []
    for c in campaigns:
        row = [(_("📊 #{id}").format(id=c.id), cb.make("cpr", c.id))]
        if c.status in ("scheduled", "sending", "paused"):
            row.append((_("❌ Cancel #{id}").format(id=c.id), cb.make("cpx", c.id)))
        rows.append(row)
    await edit_or_reply(update, text, inline(rows))


async def on_editor_button(update: Update, context: Ctx) -> None:
    """Every button of the /campaign dialogue (the editor role is checked again on each press)."""
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    if query is None or user is None or chat is None:
        return
    _ = tr(update, context)
    data = cb.parse(query.data)
    if data is None or not await is_editor(update, context):
        await query.answer(_("This button is out of date."))
        return
    service = campaigns_of(context)
    store = service.store
    verb, args = data.verb, data.args
    if verb == "cpn":
        await query.answer()
        await store.save_draft(Draft(user.id, chat.id, "text"))
        await edit_or_reply(update, html.escape(draft_text(_)))
        return
    if verb == "cpt":
        await query.answer()
        rows = [[(t.title[:60], cb.make("cpu", t.id))] for t in service.content.templates.values()]
        await edit_or_reply(update, html.escape(_("Choose a template:")), inline(rows))
        return
    if verb == "cpu":
        template = service.template(args[0])
        if template is None:
            await query.answer(_("This button is out of date."))
            return
        await query.answer()
        await take_text(update, context, Draft(user.id, chat.id, "text", template_id=template.id), template.body,
                        None)
        return
    if verb == "cpl":
        await query.answer()
        await list_campaigns(update, context)
        return
    if verb in ("cpx", "cpr"):
        campaign = await service.get(int(args[0])) if args[0].isdigit() else None
        if campaign is None:
            await query.answer(_("This button is out of date."))
            return
        if verb == "cpx":
            cancelled = await service.cancel(campaign.id, f"tg:{user.id}")
            await query.answer(_("Cancelled.") if cancelled else _("It cannot be cancelled any more."))
            if cancelled:
                await context.bot.send_message(chat.id, _("Announcement #{id} is cancelled.").format(id=campaign.id))
            return
        await query.answer()
        report = await service.report(campaign.id)
        assert report is not None
        counts = Counts(sent=report.sent, blocked=report.blocked, failed=report.failed, pending=report.pending)
        state = {"scheduled": "", "sending": "sending", "paused": "paused", "done": "done",
                 "cancelled": "cancelled"}.get(report.status, "")
        text = progress_text(_, campaign.id, counts, report.recipients, lang(update), state,
                             service.quiet.next_allowed(service.now()) if state == "paused" else None)
        await context.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML)
        return
    draft = await store.draft(user.id)
    if draft is None:
        await query.answer(_("This button is out of date."))
        return
    if verb == "cpq":
        await store.delete_draft(user.id)
        await query.answer()
        await edit_or_reply(update, html.escape(_("The announcement draft is cancelled. Nothing was sent.")))
        return
    if verb in ("cpa", "cpv", "cpo") and draft.step in ("audience", "when"):
        audience = {"cpa": args[0], "cpv": f"village:{args[0]}", "cpo": f"topic:{args[0]}"}[verb]
        if verb != "cpa" or args[0] == "all":
            try:
                Audience.parse(audience, service.content.commune)
            except CampaignError:
                await query.answer(_("This button is out of date."))
                return
        elif args[0] not in ("village", "topic"):
            await query.answer(_("This button is out of date."))
            return
        await query.answer()
        if verb == "cpa" and args[0] == "village":
            counts_by_village = await service.subscriptions.count_by_village()
            await edit_or_reply(update, html.escape(_("Which village?")),
                                village_keyboard(update, context, "cpv", None, counts_by_village))
            return
        if verb == "cpa" and args[0] == "topic":
            rows = [[(f"{_(label)} ({await service.audience_size('topic:' + t)})", cb.make("cpo", t))]
                    for t, label in TOPICS.items()]
            await edit_or_reply(update, html.escape(_("Which topic?")), inline(rows))
            return
        draft.audience, draft.step = audience, "when"
        await store.save_draft(draft)
        await when_menu(update, context, draft)
        return
    if verb == "cpw" and draft.step in ("when", "confirm"):
        await query.answer()
        now = service.now()
        if args[0] == "weekly":
            draft.step = "weekly"
            await store.save_draft(draft)
            rows = [[(_(WEEKDAYS[i]), cb.make("cpd", i + 1)) for i in range(j, min(j + 4, 7))] for j in (0, 4)]
            await edit_or_reply(update, html.escape(_("Which day of the week?")), inline(rows))
            return
        picks = {"now": None, "tonight": tonight(now), "tomorrow": tomorrow_morning(now)}
        if args[0] not in picks or (args[0] == "tonight" and picks["tonight"] is None):
            await edit_or_reply(update, html.escape(_("That time has passed. Please choose again.")))
            await when_menu(update, context, draft)
            return
        await set_time(update, context, draft, picks[args[0]])
        return
    if verb == "cpd" and draft.step == "weekly" and args[0] in "1234567" and len(args[0]) == 1:
        await query.answer()
        draft.step = f"weekly:{args[0]}"
        await store.save_draft(draft)
        await edit_or_reply(update, html.escape(_("Every {day}: at what time? Type it, for example 07:30.").format(
            day=_(WEEKDAYS[int(args[0]) - 1]))), inline([[("07:00", cb.make("cph", "0700")),
                                                         ("19:00", cb.make("cph", "1900"))]]))
        return
    if verb == "cph" and draft.step.startswith("weekly:") and args[0] in ("0700", "1900"):
        await query.answer()
        rule = service.weekly_rule(int(draft.step.split(":")[1]), time(int(args[0][:2]), int(args[0][2:])))
        await set_time(update, context, draft, None, rule)
        return
    if verb == "cps" and draft.step in ("when", "confirm") and args[0].isdigit() \
            and abs(int(args[0]) - service.clock().timestamp()) < 2 * 86400:  # a suggestion is for the next day
        await query.answer()
        await set_time(update, context, draft, datetime.fromtimestamp(int(args[0]), UTC))
        return
    if verb == "cpk" and draft.step == "confirm":
        await query.answer()
        await confirm(update, context, draft)
        return
    await query.answer(_("This button is out of date."))


async def confirm(update: Update, context: Ctx, draft: Draft) -> None:
    """Store the campaign; the engine picks it up (a report follows in this chat while it is sent)."""
    _ = tr(update, context)
    service = campaigns_of(context)
    at = None if draft.at is None else datetime.fromtimestamp(draft.at, UTC)
    try:
        campaign_id = await service.create(
            draft.body or "", at=at, repeat=draft.repeat, audience=draft.audience or "all", photo=draft.photo,
            template_id=draft.template_id, created_by=f"tg:{draft.user_id}", notify_chat_id=draft.chat_id,
            language=lang(update))
    except CampaignError as exc:
        draft.step = "when"
        await service.store.save_draft(draft)
        await when_menu(update, context, draft, exc.translated(_))
        return
    await service.store.delete_draft(draft.user_id)
    campaign = await service.get(campaign_id)
    assert campaign is not None
    code = lang(update)
    when = fmt_datetime(service.local(campaign.first_at), code)
    if campaign.repeat:
        when = service.describe_repeat(campaign.repeat, _) + " — " + when
    await edit_or_reply(update, html.escape(
        _("Scheduled: announcement #{id}, {when}. I will report here while it is being sent.").format(
            id=campaign_id, when=when)))
