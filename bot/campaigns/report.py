"""Texts of delivery reports for editors (Telegram HTML, numbers and dates in the editor's language)."""

from __future__ import annotations

import html
from datetime import datetime

from bot.i18n import Translate, fmt_datetime, fmt_number
from storage.campaigns import Counts


def figures(_: Translate, counts: Counts, total: int, lang: str) -> str:
    """ "Sent 1,234/5,000 — 12 blocked the bot — 0 errors" in the editor's language."""
    done = counts.sent
    return _("Sent {sent}/{total} — {blocked} blocked the bot — {failed} errors").format(
        sent=fmt_number(done, lang), total=fmt_number(total, lang), blocked=fmt_number(counts.blocked, lang),
        failed=fmt_number(counts.failed, lang))


def progress_text(_: Translate, campaign_id: int, counts: Counts, total: int, lang: str, state: str,
                  resume_at: datetime | None = None) -> str:
    """The report message of a run; `state` is sending | paused | done | cancelled | stopped."""
    title = _("Announcement #{id}").format(id=campaign_id)
    lines = [f"<b>{html.escape(title)}</b>", html.escape(figures(_, counts, total, lang))]
    if state == "sending":
        lines.append(html.escape(_("Sending…")))
    elif state == "paused" and resume_at is not None:
        lines.append(html.escape(_("Paused for the quiet hours; sending resumes at {time}.").format(
            time=fmt_datetime(resume_at, lang))))
    elif state == "done":
        lines.append(html.escape(_("Finished.")))
    elif state == "cancelled":
        lines.append(html.escape(_("Cancelled: the rest will not be sent.")))
    elif state == "stopped":
        lines.append(html.escape(_("The bot is stopping; sending resumes when it starts again.")))
    return "\n".join(lines)


def summary_text(_: Translate, campaign_id: int, counts: Counts, total: int, lang: str, cancelled: bool,
                 errors: list[str]) -> str:
    """The final summary, sent as a new message (an edit does not notify the editor). The figures are in the
    report message just above (edited to its final state): the summary does not repeat them."""
    head = (_("Announcement #{id} was cancelled.") if cancelled else _("Announcement #{id} has been sent."))
    lines = [f"<b>{html.escape(head.format(id=campaign_id))}</b>"]
    if errors:
        lines.append(html.escape(_("Errors (first ones): {errors}").format(errors="; ".join(errors))))
    return "\n".join(lines)


def missed_text(_: Translate, campaign_id: int, due: datetime, lang: str) -> str:
    """A run that was due while the bot was stopped, more than an hour ago: not sent."""
    text = _("Announcement #{id} was due on {time} while the bot was stopped. It was more than an hour "
             "late, so it was not sent. Schedule it again if it is still useful.")
    return html.escape(text.format(id=campaign_id, time=fmt_datetime(due, lang)))
