"""Announcements, residents' side, for every channel: /subscribe (consent, village, topics), /unsubscribe,
the "stop" option under every announcement, and blocking / unblocking the bot."""

from __future__ import annotations

import html
import logging

from bot.campaigns.audience import TOPICS
from bot.campaigns.service import Campaigns
from bot.dialogue import callbacks as cb
from bot.dialogue.core import Turn
from bot.dialogue.model import Button, Buttons, Membership, Out, Press
from bot.i18n import Translate

log = logging.getLogger(__name__)

# Resident options: sb…  (verb -> number of arguments)
for _verb, _nargs in {"sbok": 0, "sbno": 0, "sbv": 1, "sbvx": 0, "sbt": 1, "sbd": 0, "sbvm": 0, "sbtm": 0,
                      "sbu": 0}.items():
    cb.register_shape(_verb, _nargs)


def campaigns_of(turn: Turn) -> Campaigns:
    return turn.svc.campaigns


def stop_button(_: Translate) -> Buttons:
    """The option under every announcement: stop receiving them."""
    return ((Button(_("🔕 Stop receiving these"), cb.make("sbu")),),)


def topics_line(_: Translate, topics: tuple[str, ...]) -> str:
    if not topics:
        return _("all topics")
    return ", ".join(_(TOPICS[t]) for t in topics if t in TOPICS)


def village_buttons(turn: Turn, verb: str, skip: tuple[str, str] | None,
                    counts: dict[str, int] | None = None) -> Buttons:
    villages = campaigns_of(turn).content.commune.villages
    buttons = [Button(v.name + (f" ({counts.get(v.id, 0)})" if counts is not None else ""), cb.make(verb, v.id))
               for v in villages]
    rows = [tuple(buttons[i:i + 2]) for i in range(0, len(buttons), 2)]
    if skip is not None:
        rows.append((Button(*skip),))
    return tuple(rows)


def topics_question(_: Translate) -> str:
    return _("Which topics interest you? Tap to choose; choose none to receive all.")


def topic_buttons(_: Translate, chosen: tuple[str, ...]) -> Buttons:
    rows = [(Button(("✅ " if t in chosen else "▫️ ") + _(label), cb.make("sbt", t)),) for t, label in TOPICS.items()]
    rows.append((Button(_("Done"), cb.make("sbd")),))
    return tuple(rows)


async def subscribe(turn: Turn) -> None:
    """Say truthfully what is kept and ask for consent, or show the settings of a subscriber."""
    _ = turn._
    if not turn.private:
        await turn.reply(html.escape(_("Please write to me in a private chat to receive announcements.")))
        return
    service = campaigns_of(turn)
    sub = await service.subscriptions.get(turn.person)
    if sub is not None and sub.active:
        village = service.content.commune.village(sub.village or "")
        text = _("You receive the commune's announcements.\nVillage: {village}\nTopics: {topics}").format(
            village=village.name if village else _("not chosen"), topics=topics_line(_, sub.topics))
        buttons = ((Button(_("🏘 Change village"), cb.make("sbvm")), Button(_("🗂 Change topics"), cb.make("sbtm"))),
                   (Button(_("🔕 Stop receiving these"), cb.make("sbu")),))
        await turn.reply(Out(html.escape(text), buttons))
        return
    quiet = service.quiet
    text = _("I can send you the commune's announcements: electronic ID (VNeID), online public services, scam "
             "warnings. Never between {start} and {end}.\n\nFor this I keep your {channel} account ID, your "
             "language, the village and topics you choose, and which announcements were sent to you. (The "
             "questions you ask the bot are kept too, with phone and ID numbers hidden, to improve the answers.) "
             "Stop at any time with /unsubscribe; see or erase everything with /mydata.").format(
        start=f"{quiet.start:%H:%M}", end=f"{quiet.end:%H:%M}", channel=turn.who.channel.capitalize())
    await turn.reply(Out(html.escape(text), ((Button(_("✅ Yes, send me announcements"), cb.make("sbok")),
                                              Button(_("❌ No, thank you"), cb.make("sbno"))),)))


async def unsubscribe(turn: Turn) -> None:
    """Stop the announcements at once."""
    _ = turn._
    if await campaigns_of(turn).subscriptions.unsubscribe(turn.person):
        log.info("a resident unsubscribed")
        await turn.reply(html.escape(_("Done: you will not receive the commune's announcements any more. "
                                       "To receive them again: /subscribe")))
    else:
        await turn.reply(html.escape(_("You are not receiving announcements. To receive them: /subscribe")))


async def on_subscriber_press(turn: Turn) -> None:
    """Consent, village, topics and "stop" options of residents."""
    _ = turn._
    data = cb.parse(turn.event.data) if isinstance(turn.event, Press) else None
    service = campaigns_of(turn)
    subs = service.subscriptions
    commune = service.content.commune
    if data is None:
        turn.toast(_("This button is out of date."))
        return
    if data.verb == "sbu":
        stopped = await subs.unsubscribe(turn.person)
        turn.toast(_("Stopped.") if stopped else None)
        if stopped:
            await turn.reply(html.escape(_("Done: you will not receive the commune's announcements any more. "
                                           "To receive them again: /subscribe")))
        return
    if data.verb == "sbno":
        await turn.edit_or_reply(Out(html.escape(_("All right: you will not receive announcements. You can change "
                                                   "your mind at any time with /subscribe.")), menu=True))
        return
    if data.verb == "sbok":
        if not turn.private:
            turn.toast(_("This button is out of date."))
            return
        await subs.subscribe(turn.person, turn.who.chat, turn.who.language, turn.who.channel)
        turn.toast(_("Subscribed."))
        log.info("a resident subscribed")
        question = html.escape(_("Thank you! Which village (thôn) do you live in? You can skip this."))
        await turn.edit_or_reply(Out(question, village_buttons(turn, "sbv", (_("Skip"), cb.make("sbvx")))))
        return
    sub = await subs.get(turn.person)
    if sub is None or not sub.active:
        turn.toast(_("This button is out of date."))
        return
    if data.verb == "sbvm":
        await turn.edit_or_reply(Out(html.escape(_("Which village (thôn) do you live in?")),
                                     village_buttons(turn, "sbv", (_("No village"), cb.make("sbvx")))))
        return
    if data.verb in ("sbv", "sbvx"):
        village = data.args[0] if data.args else None
        if village is not None and commune.village(village) is None:
            turn.toast(_("This button is out of date."))
            return
        await subs.set_village(turn.person, village)
        await turn.edit_or_reply(Out(html.escape(topics_question(_)), topic_buttons(_, sub.topics)))
        return
    if data.verb == "sbtm":
        await turn.edit_or_reply(Out(html.escape(topics_question(_)), topic_buttons(_, sub.topics)))
        return
    if data.verb == "sbt":
        if data.args[0] not in TOPICS:
            turn.toast(_("This button is out of date."))
            return
        chosen = await subs.toggle_topic(turn.person, data.args[0])
        await turn.edit_or_reply(Out(html.escape(topics_question(_)), topic_buttons(_, chosen or ())))
        return
    if data.verb == "sbd":
        home = commune.village(sub.village or "")
        await turn.edit_or_reply(Out(html.escape(
            _("Done! You will receive announcements about: {topics}. Village: {village}. To stop: /unsubscribe")
            .format(topics=topics_line(_, sub.topics), village=home.name if home else _("not chosen")))))


async def on_membership(turn: Turn) -> None:
    """A resident blocked or unblocked the bot: keep the subscription's status true."""
    if isinstance(turn.event, Membership) and turn.private:
        await campaigns_of(turn).subscriptions.set_blocked(turn.person, turn.event.blocked)
