"""Campaigns as the editor and the command line see them: write, check, schedule, list, cancel, report."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from bot.campaigns.audience import Audience
from bot.campaigns.engine import Engine, EngineConfig, utc_now
from bot.campaigns.errors import CampaignError
from bot.campaigns.schedule import Cron, QuietHours, ScheduleError
from bot.content import Content, Template
from bot.faq.render import render_html, telegram_length
from bot.i18n import DEFAULT_LANGUAGE, N_, Catalogs, fmt_datetime
from storage.campaigns import CampaignRow, CampaignStore, Subscriptions, forget_subscriber, subscription_summary
from storage.db import Database
from storage.staff import Staff

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
# Same message id as the FAQ answers use for a commune value that is not known yet.
UNKNOWN_VALUE = N_("(not updated yet — please ask at the commune office)")
_TAG = re.compile(r"<[^>]*>")
_FRONT_MATTER = re.compile(r"\A\s*\+\+\+\s*\n.*?\n\+\+\+\s*\n", re.DOTALL)


def visible_length(markup: str) -> int:
    """Length of Telegram HTML as Telegram counts it once parsed (tags removed, entities decoded)."""
    return telegram_length(html.unescape(_TAG.sub("", markup)).strip())


def strip_front_matter(text: str) -> str:
    """The body of a file written like a template (+++ front matter +++ then text)."""
    return _FRONT_MATTER.sub("", text, count=1)


@dataclass(frozen=True)
class Report:
    id: int
    status: str
    recipients: int
    sent: int
    failed: int
    blocked: int
    pending: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "recipients": self.recipients, "sent": self.sent,
                "failed": self.failed, "blocked": self.blocked, "pending": self.pending}


class Campaigns:
    """The campaign service (typed application data): storage, checks and the delivery engine."""

    def __init__(self, db: Database, content: Content, catalogs: Catalogs, staff: Staff, rate: float,
                 clock: Any = utc_now, keep_days: float = 180.0) -> None:
        self.db = db
        self.content = content
        self.catalogs = catalogs
        self.store = CampaignStore(db)
        self.subscriptions = Subscriptions(db)
        config = EngineConfig(rate=rate, keep_days=keep_days)
        self.engine = Engine(self.store, staff, content.commune, catalogs, config, clock)

    # time

    @property
    def clock(self) -> Any:
        return self.engine.clock

    @clock.setter
    def clock(self, value: Any) -> None:
        self.engine.clock = value

    @property
    def quiet(self) -> QuietHours:
        return self.engine.quiet

    def now(self) -> datetime:
        """The present in the commune's time zone."""
        return self.engine.local(self.clock())

    def local(self, at: float | datetime) -> datetime:
        return self.engine.local(at)

    # text

    def render(self, body: str, language: str = DEFAULT_LANGUAGE) -> str:
        """The mini-format (**bold**, lists, links, {{placeholders}}) → Telegram HTML; the rest escaped."""
        unknown = self.catalogs.gettext(language)(UNKNOWN_VALUE)
        return render_html(body, self.content.commune, unknown)

    def template(self, template_id: str) -> Template | None:
        return self.content.templates.get(template_id)

    def check_text(self, body: str, photo: str | None = None) -> str:
        """Render and check a text; the HTML residents will get. Raises CampaignError when unusable."""
        if not body.strip() and photo is None:
            raise CampaignError(N_("The announcement is empty. Please send its text."))
        markup = self.render(body) if body.strip() else ""
        if body.strip() and not visible_length(markup):
            raise CampaignError(N_("The announcement is empty. Please send its text."))
        limit = CAPTION_LIMIT if photo else TEXT_LIMIT
        length = visible_length(markup)
        if length > limit:
            if photo:
                raise CampaignError(N_("With a photo, the text can have at most {limit} characters; this one "
                                       "has {length}. Please shorten it."), limit=limit, length=length)
            raise CampaignError(N_("The announcement has {length} characters; Telegram allows at most "
                                   "{limit}. Please shorten it."), limit=limit, length=length)
        return markup

    # when

    def check_time(self, at: datetime, *, slack: float = 120.0) -> datetime:
        """A one-off or first time must be ahead (a little slack for "now") and outside quiet hours."""
        local = self.local(at)
        if local.timestamp() < self.clock().timestamp() - slack:
            raise ScheduleError(N_("That time has already passed: {time}."), time=fmt_datetime(local))
        if self.quiet.contains(local):
            suggestion = self.quiet.next_allowed(local)
            raise ScheduleError(
                N_("{time} is in the quiet hours ({quiet}): no announcement is delivered then. "
                   "How about {suggestion}?"), suggestion_at=suggestion,
                time=fmt_datetime(local), quiet=self.quiet.label, suggestion=fmt_datetime(suggestion))
        return local

    def check_repeat(self, rule: str) -> Cron:
        """A repeat rule whose times all fall outside quiet hours."""
        cron = Cron.parse(rule)
        for t in cron.clock_times():
            if self.quiet.contains_clock(t):
                raise ScheduleError(
                    N_("The repeat time {time} is in the quiet hours ({quiet}): no announcement is delivered "
                       "then. Choose a time between {end} and {start}."),
                    time=f"{t:%H:%M}", quiet=self.quiet.label, end=f"{self.quiet.end:%H:%M}",
                    start=f"{self.quiet.start:%H:%M}")
        return cron

    def first_run(self, at: datetime | None, repeat: str | None) -> datetime:
        """When the first run is due: `at` (None = now) for a one-off; the first cron time at or after it."""
        start = self.now() if at is None else self.local(at)
        if not repeat:
            return start
        cron = self.check_repeat(repeat)
        first = cron.next_after(start, inclusive=True)
        if first is None:
            raise ScheduleError(N_("The repeat rule never matches a day in the next five years."))
        return first

    def weekly_rule(self, iso_weekday: int, at: time) -> str:
        return Cron.weekly(iso_weekday, at).text

    # campaigns

    async def create(self, body: str, *, at: datetime | None, repeat: str | None = None,
                     audience: str = "all", photo: str | None = None, template_id: str | None = None,
                     created_by: str = "cli", notify_chat_id: str | None = None,
                     notify_channel: str | None = None, language: str = DEFAULT_LANGUAGE) -> int:
        """Check everything, then store the campaign; `at=None` means now. Returns its id."""
        markup = self.check_text(body, photo)
        who = Audience.parse(audience, self.content.commune)
        first = self.check_time(self.first_run(at, repeat))  # "now" in quiet hours is refused too
        campaign_id = await self.store.create(
            body=body, html=markup, photo=photo, template_id=template_id, audience=str(who),
            first_at=first.astimezone(UTC).timestamp(), repeat=Cron.parse(repeat).text if repeat else None,
            language=language, created_by=created_by, notify_chat_id=notify_chat_id, notify_channel=notify_channel)
        self.engine.poke()
        return campaign_id

    async def list(self, limit: int = 100) -> list[CampaignRow]:
        return await self.store.listing(limit)

    async def get(self, campaign_id: int) -> CampaignRow | None:
        return await self.store.get(campaign_id)

    async def cancel(self, campaign_id: int, actor: str) -> bool:
        """No more runs; a run being sent here stops before its next message (a bot in another process
        notices at its next batch of recipients, within `window` messages)."""
        cancelled = await self.store.cancel(campaign_id, actor)
        if cancelled:
            self.engine.cancelled.add(campaign_id)
        return cancelled

    async def subscriber_data(self, user_id: int) -> dict[str, Any] | None:
        """What is stored about a resident's subscription (for /mydata); None when nothing is."""
        return await subscription_summary(self.db, user_id)

    async def forget_subscriber(self, user_id: int) -> None:
        """/mydata erasure: the subscription, its topics and the resident's delivery rows."""
        await forget_subscriber(self.db, user_id)

    async def audience_size(self, audience: str) -> int:
        return await self.subscriptions.count(audience)

    async def report(self, campaign_id: int) -> Report | None:
        """Figures of the latest run (or of the coming one when none ran yet)."""
        campaign = await self.store.get(campaign_id)
        if campaign is None:
            return None
        runs = await self.store.runs(campaign_id)
        started = [r for r in runs if r.status != "missed"]
        if not started:
            waiting = campaign.status == "scheduled"
            size = await self.audience_size(campaign.audience) if waiting else 0
            return Report(campaign.id, campaign.status, size, 0, 0, 0, size)
        run = started[-1]
        if run.status in ("sending", "paused"):
            c = await self.store.counts(run.id)
            return Report(campaign.id, campaign.status, run.recipients, c.sent, c.failed, c.blocked,
                          c.pending)
        return Report(campaign.id, campaign.status, run.recipients, run.sent or 0, run.failed or 0,
                      run.blocked or 0, 0)

    def describe_repeat(self, rule: str | None, _: Any) -> str:
        """ "every Monday at 07:00" for weekly rules, the cron text otherwise."""
        if not rule:
            return ""
        weekly = Cron.parse(rule).weekly_day()
        if weekly is None:
            return rule
        day, at = weekly
        names = [N_("every Monday"), N_("every Tuesday"), N_("every Wednesday"), N_("every Thursday"),
                 N_("every Friday"), N_("every Saturday"), N_("every Sunday")]
        return _("{day} at {time}").format(day=_(names[day - 1]), time=f"{at:%H:%M}")

