"""The report's timed delivery, channel-free: on `send_day` at `send_time` (commune time) the draft of the
month before goes to every admin and editor — as a document where the channel sends files, else a summary
and where the file is — and on `remind_day` at `remind_time` a reminder, unless someone opened a newer copy
since. What was sent is in `report_log`, so each fires once a month however often the bot restarts; a bot
that was down at the moment catches up when it starts (within the month)."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot.dialogue.core import Blocked, DeliveryError
from bot.dialogue.model import Address, Out
from bot.i18n import TZ, fmt_number
from bot.report.figures import month_name, shift

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

CHECK_SECONDS = 60.0
FIRST_SECONDS = 3.0
Clock = Callable[[], datetime]


def _moment(local: datetime, day: int, at: object) -> datetime:
    return local.replace(day=day, hour=at.hour, minute=at.minute, second=0, microsecond=0)  # type: ignore[attr-defined]


async def tick(svc: Services, now: datetime) -> list[str]:
    """Do what is due at `now`; returns what was done ("sent 2026-11", "reminded 2026-11")."""
    reports = svc.reports
    config = reports.config
    if not config.enabled:
        return []
    local = now.astimezone(svc.content.commune.tzinfo)
    month = month_name(*shift(local.year, local.month, -1))
    store = reports.store
    done: list[str] = []
    send_at = _moment(local, config.send_day, config.send_time)
    remind_at = _moment(local, config.remind_day, config.remind_time)
    if local < send_at:
        return done
    sent_at = await store.logged(month, "sent")
    if sent_at is None:
        path, figures = await reports.write(month, opened=False, today=local.date())
        count, retry = await _deliver(svc, month, path, figures, reminder=False)
        if count == 0 and retry:
            return done
        if await store.log(month, "sent", recipients=count, path=str(path), at=now.timestamp()):
            log.info("monthly report %s sent to %d chat(s)", month, count)
            done.append(f"sent {month}")
        return done
    if local < remind_at or sent_at >= remind_at.timestamp() or await store.logged(month, "reminded"):
        return done
    opened = await store.logged(month, "opened")
    if opened is not None and opened > sent_at:
        return done
    path, figures = await reports.write(month, opened=False, today=local.date())
    count, retry = await _deliver(svc, month, path, figures, reminder=True)
    if count == 0 and retry:
        return done
    if await store.log(month, "reminded", recipients=count, path=str(path), at=now.timestamp()):
        log.info("monthly report %s: reminder sent to %d chat(s)", month, count)
        done.append(f"reminded {month}")
    return done


async def _deliver(svc: Services, month: str, path: object, figures: dict[str, object],
                   reminder: bool) -> tuple[int, bool]:
    """Send to every admin's and editor's chat on a running channel: the number of chats reached, and
    whether a temporary failure is worth another try (when nobody was reached, the next check tries again)."""
    from pathlib import Path

    assert isinstance(path, Path)
    reached, retry = 0, False
    for channel, chat, language in await svc.reports.store.staff_chats(svc.settings.admin_ids):
        if channel not in svc.channels.ports:
            continue
        _ = svc.catalogs.gettext(language)
        text = summary(_, month, figures, language, reminder)
        where = html.escape(_("The file is on the server: {path}").format(path=str(path)))
        out = Out(f"{text}\n\n{where}")
        if svc.channels.caps(channel).files:
            out = Out(text, document=path)
        try:
            try:
                await svc.channels.send(Address(channel, chat), out, language)
            except DeliveryError as exc:  # the file did not go through: the summary and the path still may
                if out.document is None or isinstance(exc, Blocked):
                    raise
                await svc.channels.send(Address(channel, chat), replace(out, document=None,
                                                                         text=f"{text}\n\n{where}"), language)
            reached += 1
        except DeliveryError as exc:
            retry = retry or exc.retry
            log.warning("monthly report %s: a %s chat could not be reached: %s", month, channel,
                        type(exc).__name__)
    return reached, retry


def summary(_: Callable[[str], str], month: str, figures: dict[str, object], language: str,
            reminder: bool) -> str:
    """A short text (fits a document caption): the month's main figures and what to do."""
    q, r, c, s = (figures[k] for k in ("questions", "requests", "campaigns", "subscribers"))
    assert isinstance(q, dict) and isinstance(r, dict) and isinstance(c, dict) and isinstance(s, dict)
    year, mon = month.split("-")
    head = (_("Reminder: the Project 06 report for {month} is due before the 9th.") if reminder
            else _("Draft Project 06 report for {month}.")).format(month=f"{mon}/{year}")
    lines = [f"<b>{html.escape(head)}</b>",
             html.escape(_("Questions: {asked} ({answered} answered)").format(
                 asked=fmt_number(q["asked"], language), answered=fmt_number(q["answered"], language))),
             html.escape(_("Help requests: {received} received, {done} done, {open} open").format(
                 received=fmt_number(r["received"], language), done=fmt_number(r["done"], language),
                 open=fmt_number(r["open_at_month_end"], language))),
             html.escape(_("Announcements: {sent} sent, {delivered}/{recipients} delivered").format(
                 sent=fmt_number(c["sent"], language), delivered=fmt_number(c["delivered"], language),
                 recipients=fmt_number(c["recipients"], language))),
             html.escape(_("Subscribers at the end of the month: {n}").format(
                 n=fmt_number(s["at_month_end"], language))),
             html.escape(_("Check it, fill in the assessment, sign it and send it to the People's Committee."))]
    return "\n".join(lines)


def start_jobs(svc: Services, clock: Clock | None = None) -> None:
    """Check once a minute (the state is in the database, so a restart rebuilds the schedule)."""
    now_of = clock or (lambda: datetime.now(TZ))

    async def check() -> None:
        await tick(svc, now_of())

    svc.jobs.every(CHECK_SECONDS, check, first=FIRST_SECONDS, name="monthly-report")
