"""The culture officer's /campaign dialogue, for every channel: write a text (or start from a template,
with an optional photo), choose who receives it and when, see it exactly as residents will, confirm; list,
report and cancel. The draft is a row in SQLite (campaign_drafts): a restart mid-dialogue loses nothing.
The editor role is checked on every command and option (option data can be forged)."""

from __future__ import annotations

import html
import logging
import re
from datetime import UTC, datetime, time

from bot.campaigns.audience import TOPICS, Audience
from bot.campaigns.errors import CampaignError
from bot.campaigns.flow import stop_button, village_buttons
from bot.campaigns.report import progress_text
from bot.campaigns.schedule import parse_when, tomorrow_morning, tonight
from bot.campaigns.service import Campaigns
from bot.content import missing_values
from bot.dialogue import callbacks as cb
from bot.dialogue.basics import not_text
from bot.dialogue.core import Turn
from bot.dialogue.model import Button, Buttons, Out, Photo, Press
from bot.i18n import N_, Translate, fmt_datetime, fmt_number
from bot.when import parse_clock_text
from storage.campaigns import CampaignRow, Counts, Draft

log = logging.getLogger(__name__)

for _verb, _nargs in {"cpn": 0, "cpt": 0, "cpu": 1, "cpl": 0, "cpx": 1, "cpr": 1, "cpa": 1, "cpv": 1, "cpo": 1,
                      "cpw": 1, "cpd": 1, "cph": 1, "cps": 1, "cpk": 0, "cpq": 0, "cpe": 0, "cpg": 0,
                      "cpy": 1}.items():
    cb.register_shape(_verb, _nargs)

WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
            N_("Sunday"))


def campaigns_of(turn: Turn) -> Campaigns:
    return turn.svc.campaigns


async def is_editor(turn: Turn) -> bool:
    return turn.private and bool(turn.person) and await turn.svc.staff.has_role(turn.person, "editor")


def draft_text(_: Translate) -> str:
    return _("Send the text of the announcement (at most 4096 characters). You can also send one photo with "
             "a short text under it. Write **words** to make them bold. To stop: /cancel")


async def campaign_menu(turn: Turn) -> None:
    """/campaign: the culture officer's menu (write, use a template, list)."""
    _ = turn._
    if not await is_editor(turn):
        await turn.svc.staff.audit(f"person:{turn.person}", "access.refused", None, "/campaign")
        await turn.reply(html.escape(_("This command is for the commune's culture officer.")))
        return
    await turn.reply(Out(html.escape(_("Announcements to residents:")), (
        (Button(_("✍️ Write a new one"), cb.make("cpn")), Button(_("📄 From a template"), cb.make("cpt"))),
        (Button(_("📋 Scheduled and past"), cb.make("cpl")),),
    )))


async def audience_menu(turn: Turn, draft: Draft) -> None:
    _ = turn._
    service = campaigns_of(turn)
    rows: list[tuple[Button, ...]] = []
    template = service.template(draft.template_id or "")
    if template is not None and template.topic in TOPICS:
        n = await service.audience_size(f"topic:{template.topic}")
        rows.append((Button(_("Topic: {topic} ({n})").format(topic=_(TOPICS[template.topic]), n=n),
                            cb.make("cpo", template.topic)),))
    everyone = await service.audience_size("all")
    rows += [(Button(_("Everyone ({n})").format(n=everyone), cb.make("cpa", "all")),),
             (Button(_("One village"), cb.make("cpa", "village")), Button(_("One topic"), cb.make("cpa", "topic")))]
    await turn.edit_or_reply(Out(html.escape(_("Who should receive it?")), tuple(rows)))


async def when_menu(turn: Turn, draft: Draft, note: str = "") -> None:
    _ = turn._
    service = campaigns_of(turn)
    who = Audience.parse(draft.audience, service.content.commune)
    n = await service.audience_size(str(who))
    code = turn.who.language
    text = _("It goes to {n} people ({who}). When should it be sent?").format(
        n=fmt_number(n, code), who=who.describe(_, service.content.commune))
    if n == 0:
        text += "\n" + _("Nobody matches yet: only people who subscribe before it is sent will get it.")
    text += "\n" + _("Tap a button, or type a date and time, for example 07:30 15/12.")
    now = service.now()
    buttons = [Button(_("Now"), cb.make("cpw", "now"))]
    if tonight(now) is not None:
        buttons.append(Button(_("Tonight 19:00"), cb.make("cpw", "tonight")))
    buttons.append(Button(_("Tomorrow 07:00"), cb.make("cpw", "tomorrow")))
    await turn.edit_or_reply(Out(html.escape((note + "\n\n" if note else "") + text),
                                 (tuple(buttons), (Button(_("Every week…"), cb.make("cpw", "weekly")),))))


async def show_preview(turn: Turn, draft: Draft) -> None:
    """The announcement exactly as residents of this channel get it, then what / who / when and confirm."""
    _ = turn._
    service = campaigns_of(turn)
    code = turn.who.language
    await turn.reply(Out(draft.html or "", stop_button(_), photo=draft.photo))
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
    await turn.reply(Out(html.escape(text), ((Button(_("✅ Confirm"), cb.make("cpk")),),
                                             (Button(_("✏️ Edit the text"), cb.make("cpe")),
                                              Button(_("✏️ Start again"), cb.make("cpn"))),
                                             (Button(_("❌ Cancel"), cb.make("cpq")),))))


async def set_time(turn: Turn, draft: Draft, at: datetime | None, repeat: str | None = None) -> None:
    """Check a chosen time (None = now) or weekly rule; refuse quiet hours with a suggestion; else preview."""
    _ = turn._
    service = campaigns_of(turn)
    try:
        first = service.first_run(at, repeat)
        service.check_time(first)
    except CampaignError as exc:
        suggestion = exc.suggestion_at
        buttons: Buttons = ()
        if suggestion is not None and not repeat:
            buttons = ((Button(_("Use {time}").format(time=fmt_datetime(suggestion, turn.who.language)),
                               cb.make("cps", int(suggestion.timestamp()))),),)
        await turn.reply(Out(html.escape(exc.translated(_)), buttons))
        return
    draft.at = None if at is None and not repeat else first.astimezone(UTC).timestamp()
    draft.repeat = repeat
    draft.step = "confirm"
    await service.store.save_draft(draft)
    await show_preview(turn, draft)


async def editor_draft(turn: Turn) -> Draft | None:
    if not await is_editor(turn):
        return None
    return await campaigns_of(turn).store.draft(turn.person)


def new_draft(turn: Turn, step: str, template_id: str | None = None) -> Draft:
    return Draft(turn.person, turn.who.chat, step, template_id=template_id, channel=turn.who.channel)


async def take_text(turn: Turn, draft: Draft, body: str, photo: str | None) -> None:
    """The draft's text (and photo) arrived: check it, then ask for the audience."""
    _ = turn._
    service = campaigns_of(turn)
    try:
        markup = service.check_text(body, photo)
    except CampaignError as exc:
        await turn.reply(html.escape(exc.translated(_)))
        return
    draft.body, draft.html, draft.photo, draft.step = body, markup, photo, "audience"
    await service.store.save_draft(draft)
    await audience_menu(turn, draft)


async def offer_template(turn: Turn, draft: Draft, body: str) -> None:
    """A chosen template: shown as residents will read it, to use as it is or to edit first."""
    _ = turn._
    service = campaigns_of(turn)
    try:
        markup = service.check_text(body, None)
    except CampaignError as exc:
        await turn.reply(html.escape(exc.translated(_)))
        return
    draft.body, draft.html, draft.photo, draft.step = body, markup, None, "template"
    await service.store.save_draft(draft)
    await turn.reply(Out(markup))
    await turn.reply(Out(html.escape(_("⬆️ The template. Use it as it is, or edit it first?")),
                         ((Button(_("➡️ Use it"), cb.make("cpg")), Button(_("✏️ Edit the text"), cb.make("cpe"))),
                          (Button(_("❌ Cancel"), cb.make("cpq")),))))


async def edit_text(turn: Turn, draft: Draft) -> None:
    """Edit the draft's text: it is sent back as typed (to copy, change and send again)."""
    _ = turn._
    draft.step = "text"
    await campaigns_of(turn).store.save_draft(draft)
    await turn.reply(Out(html.escape(_("Copy the text below, change it and send it back. To stop: /cancel"))))
    await turn.reply(Out(html.escape(draft.body or "")))


async def consume_draft_text(turn: Turn, text: str) -> bool:
    """Free text of an editor with an open draft: its text, a typed date/time, or a weekly time."""
    if not turn.private:
        return False
    draft = await editor_draft(turn)
    if draft is None or not (draft.step in ("text", "when") or draft.step.startswith("weekly:")):
        return False
    _ = turn._
    service = campaigns_of(turn)
    if draft.step == "text":
        await take_text(turn, draft, text, None)
        return True
    if draft.step == "when":
        try:
            at = parse_when(text, service.now())
        except CampaignError as exc:
            await turn.reply(html.escape(exc.translated(_)))
            return True
        if at is None:
            await turn.reply(html.escape(_("I could not read that time. Type for example 07:30 15/12, or tap a "
                                           "button above.")))
            return True
        await set_time(turn, draft, at)
        return True
    clock = parse_clock_text(text)
    if clock is None:
        await turn.reply(html.escape(_("I could not read that time. Type for example 07:30.")))
        return True
    await set_time(turn, draft, None, service.weekly_rule(int(draft.step.split(":")[1]), clock))
    return True


async def on_photo(turn: Turn) -> None:
    """A photo: the picture of an editor's draft; from anyone else, 'only text is understood'."""
    draft = await editor_draft(turn) if isinstance(turn.event, Photo) else None
    if draft is None or draft.step != "text" or not isinstance(turn.event, Photo):
        await not_text(turn)
        return
    await take_text(turn, draft, turn.event.caption, turn.event.file)


async def cancel_draft(turn: Turn) -> bool:
    """/cancel: drop the editor's draft, if one is open."""
    if not turn.private or not await campaigns_of(turn).store.delete_draft(turn.person):
        return False
    await turn.reply(html.escape(turn._("The announcement draft is cancelled. Nothing was sent.")))
    return True


def plain_start(markup: str, limit: int = 60) -> str:
    """The start of an announcement as plain text (no markup), cut at a word boundary."""
    text = " ".join(html.unescape(re.sub(r"<[^>]*>", " ", markup)).split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"


def campaign_line(_: Translate, service: Campaigns, c: CampaignRow, code: str) -> str:
    statuses = {"scheduled": _("scheduled"), "sending": _("sending"), "paused": _("paused (quiet hours)"),
                "done": _("sent"), "cancelled": _("cancelled"), "missed": _("missed")}
    at = c.next_at if c.next_at is not None else c.first_at
    when = service.describe_repeat(c.repeat, _) if c.repeat else fmt_datetime(service.local(at), code)
    who = Audience.parse(c.audience, service.content.commune).describe(_, service.content.commune) \
        if c.audience else ""
    first_line = plain_start(service.render(c.body)) if c.body.strip() else _("(photo)")
    return (f"<b>#{c.id}</b> — {html.escape(statuses.get(c.status, c.status))} — {html.escape(when)} — "
            f"{html.escape(who)}\n<i>{html.escape(first_line)}</i>")


async def list_campaigns(turn: Turn) -> None:
    _ = turn._
    service = campaigns_of(turn)
    campaigns = await service.list(10)
    if not campaigns:
        await turn.edit_or_reply(Out(html.escape(_("No announcements yet."))))
        return
    code = turn.who.language
    text = "\n\n".join(campaign_line(_, service, c, code) for c in campaigns)
    rows: list[tuple[Button, ...]] = []
    for c in campaigns:  # the report only: cancelling is offered on the report, and asks first
        rows.append((Button(_("📊 #{id}").format(id=c.id), cb.make("cpr", c.id)),))
    await turn.edit_or_reply(Out(text, tuple(rows)))


async def on_editor_press(turn: Turn) -> None:
    """Every option of the /campaign dialogue (the editor role is checked again on each press)."""
    _ = turn._
    data = cb.parse(turn.event.data) if isinstance(turn.event, Press) else None
    if data is None or not await is_editor(turn):
        if data is not None:
            await turn.svc.staff.audit(f"person:{turn.person}", "access.refused", None, data.verb)
        turn.toast(_("This button is out of date."))
        return
    service = campaigns_of(turn)
    store = service.store
    verb, args = data.verb, data.args
    if verb == "cpn":
        await store.save_draft(new_draft(turn, "text"))
        await turn.edit_or_reply(Out(html.escape(draft_text(_))))
        return
    if verb == "cpt":
        rows = tuple((Button(t.title[:60], cb.make("cpu", t.id)),) for t in service.content.templates.values())
        await turn.edit_or_reply(Out(html.escape(_("Choose a template:")), rows))
        return
    if verb == "cpu":
        template = service.template(args[0])
        if template is None:
            turn.toast(_("This button is out of date."))
            return
        await offer_template(turn, new_draft(turn, "text", template.id), template.body)
        return
    if verb == "cpl":
        await list_campaigns(turn)
        return
    if verb in ("cpx", "cpr"):
        campaign = await service.get(int(args[0])) if args[0].isdigit() else None
        if campaign is None:
            turn.toast(_("This button is out of date."))
            return
        if verb == "cpx":  # asks first; "yes" is cpy
            if campaign.status not in ("scheduled", "sending", "paused"):
                turn.toast(_("It cannot be cancelled any more."))
                return
            await turn.reply(Out(html.escape(_("Cancel announcement #{id}? What was not sent yet will not be sent.")
                                             .format(id=campaign.id)),
                                 ((Button(_("Yes, cancel it"), cb.make("cpy", campaign.id)),),)))
            return
        report = await service.report(campaign.id)
        assert report is not None
        counts = Counts(sent=report.sent, blocked=report.blocked, failed=report.failed, pending=report.pending)
        state = {"scheduled": "", "sending": "sending", "paused": "paused", "done": "done",
                 "cancelled": "cancelled"}.get(report.status, "")
        cancel_row: Buttons = ()
        if campaign.status in ("scheduled", "sending", "paused"):  # on the report, apart from the list
            cancel_row = ((Button(_("❌ Cancel #{id}").format(id=campaign.id), cb.make("cpx", campaign.id)),),)
        await turn.reply(Out(progress_text(_, campaign.id, counts, report.recipients, turn.who.language, state,
                                           service.quiet.next_allowed(service.now()) if state == "paused" else None),
                             cancel_row))
        return
    if verb == "cpy":
        campaign = await service.get(int(args[0])) if args[0].isdigit() else None
        if campaign is None:
            turn.toast(_("This button is out of date."))
            return
        cancelled = await service.cancel(campaign.id, f"person:{turn.person}")
        turn.toast(_("Cancelled.") if cancelled else _("It cannot be cancelled any more."))
        if cancelled:
            await turn.reply(html.escape(_("Announcement #{id} is cancelled.").format(id=campaign.id)))
        return
    draft = await store.draft(turn.person)
    if draft is None:
        turn.toast(_("This button is out of date."))
        return
    if verb == "cpe" and draft.step in ("template", "confirm", "audience", "when"):
        await edit_text(turn, draft)
        return
    if verb == "cpg" and draft.step == "template":
        draft.step = "audience"
        await store.save_draft(draft)
        await audience_menu(turn, draft)
        return
    if verb == "cpq":
        await store.delete_draft(turn.person)
        await turn.edit_or_reply(Out(html.escape(_("The announcement draft is cancelled. Nothing was sent."))))
        return
    if verb in ("cpa", "cpv", "cpo") and draft.step in ("audience", "when"):
        audience = {"cpa": args[0], "cpv": f"village:{args[0]}", "cpo": f"topic:{args[0]}"}[verb]
        if verb != "cpa" or args[0] == "all":
            try:
                Audience.parse(audience, service.content.commune)
            except CampaignError:
                turn.toast(_("This button is out of date."))
                return
        elif args[0] not in ("village", "topic"):
            turn.toast(_("This button is out of date."))
            return
        if verb == "cpa" and args[0] == "village":
            counts_by_village = await service.subscriptions.count_by_village()
            await turn.edit_or_reply(Out(html.escape(_("Which village?")),
                                         village_buttons(turn, "cpv", None, counts_by_village)))
            return
        if verb == "cpa" and args[0] == "topic":
            topic_rows: list[tuple[Button, ...]] = []
            for t, label in TOPICS.items():
                n = await service.audience_size("topic:" + t)
                topic_rows.append((Button(f"{_(label)} ({n})", cb.make("cpo", t)),))
            await turn.edit_or_reply(Out(html.escape(_("Which topic?")), tuple(topic_rows)))
            return
        draft.audience, draft.step = audience, "when"
        await store.save_draft(draft)
        await when_menu(turn, draft)
        return
    if verb == "cpw" and draft.step in ("when", "confirm"):
        now = service.now()
        if args[0] == "weekly":
            draft.step = "weekly"
            await store.save_draft(draft)
            days: Buttons = tuple(tuple(Button(_(WEEKDAYS[i]), cb.make("cpd", i + 1)) for i in range(j, min(j + 4, 7)))
                                  for j in (0, 4))
            await turn.edit_or_reply(Out(html.escape(_("Which day of the week?")), days))
            return
        picks = {"now": None, "tonight": tonight(now), "tomorrow": tomorrow_morning(now)}
        if args[0] not in picks or (args[0] == "tonight" and picks["tonight"] is None):
            await turn.edit_or_reply(Out(html.escape(_("That time has passed. Please choose again."))))
            await when_menu(turn, draft)
            return
        await set_time(turn, draft, picks[args[0]])
        return
    if verb == "cpd" and draft.step == "weekly" and args[0] in "1234567" and len(args[0]) == 1:
        draft.step = f"weekly:{args[0]}"
        await store.save_draft(draft)
        await turn.edit_or_reply(Out(html.escape(_("Every {day}: at what time? Type it, for example 07:30.").format(
            day=_(WEEKDAYS[int(args[0]) - 1]))), ((Button("07:00", cb.make("cph", "0700")),
                                                   Button("19:00", cb.make("cph", "1900"))),)))
        return
    if verb == "cph" and draft.step.startswith("weekly:") and args[0] in ("0700", "1900"):
        rule = service.weekly_rule(int(draft.step.split(":")[1]), time(int(args[0][:2]), int(args[0][2:])))
        await set_time(turn, draft, None, rule)
        return
    if verb == "cps" and draft.step in ("when", "confirm") and args[0].isdigit() \
            and abs(int(args[0]) - service.clock().timestamp()) < 2 * 86400:  # a suggestion is for the next day
        await set_time(turn, draft, datetime.fromtimestamp(int(args[0]), UTC))
        return
    if verb == "cpk" and draft.step == "confirm":
        await confirm(turn, draft)
        return
    turn.toast(_("This button is out of date."))


async def confirm(turn: Turn, draft: Draft) -> None:
    """Store the campaign; the engine picks it up (a report follows in this chat while it is sent)."""
    _ = turn._
    service = campaigns_of(turn)
    at = None if draft.at is None else datetime.fromtimestamp(draft.at, UTC)
    missing = missing_values(draft.body or "", service.content.commune)
    if missing:  # residents would read "(not updated yet…)" in the middle of the announcement
        await turn.reply(Out(html.escape(_(
            "This announcement cannot be sent yet: these commune values are empty in content/commune.toml: "
            "{names}. Ask the administrator to fill them in, or write the text without them.").format(
            names=", ".join(missing))), ((Button(_("✏️ Edit the text"), cb.make("cpe")),),
                                         (Button(_("❌ Cancel"), cb.make("cpq")),))))
        return
    try:
        campaign_id = await service.create(
            draft.body or "", at=at, repeat=draft.repeat, audience=draft.audience or "all", photo=draft.photo,
            template_id=draft.template_id, created_by=f"person:{draft.person_id}", notify_chat_id=draft.chat_id,
            notify_channel=draft.channel, language=turn.who.language)
    except CampaignError as exc:
        draft.step = "when"
        await service.store.save_draft(draft)
        await when_menu(turn, draft, exc.translated(_))
        return
    await service.store.delete_draft(draft.person_id)
    campaign = await service.get(campaign_id)
    assert campaign is not None
    if draft.at is None and not campaign.repeat:  # "Now": no "scheduled for <a time>"
        await turn.edit_or_reply(Out(html.escape(_(
            "Sending now: announcement #{id}. I will report here while it is being sent.").format(id=campaign_id))))
        return
    when = fmt_datetime(service.local(campaign.first_at), turn.who.language)
    if campaign.repeat:
        when = service.describe_repeat(campaign.repeat, _) + " — " + when
    await turn.edit_or_reply(Out(html.escape(
        _("Scheduled: announcement #{id}, {when}. I will report here while it is being sent.").format(
            id=campaign_id, when=when))))


def start_jobs(svc: object) -> None:
    """The delivery engine's tick: due campaigns become runs, paused runs resume (the schedule is in
    SQLite, so start-up rebuilds it); a campaign made on the command line is picked up within 2 s."""
    from bot.services import Services

    assert isinstance(svc, Services)
    svc.jobs.every(TICK_SECONDS, svc.campaigns.engine.tick, first=0.2, name="campaigns")


TICK_SECONDS = 2.0
