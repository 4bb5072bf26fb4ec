"""/start (with where the resident came from), /help, contacts, /cancel, and what is not understood."""

from __future__ import annotations

import html
import re

from bot.dialogue import commands
from bot.dialogue.core import Turn
from bot.dialogue.model import Command, Edited, Other, Out
from bot.i18n import Translate

# Deep-link payloads Telegram allows (and a safe shape for any channel): A-Z a-z 0-9 _ -, up to 64.
_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


async def remember(turn: Turn, source: str | None = None) -> None:
    """Record where a resident came from (a deep link's payload; the first one is kept). Being seen is
    recorded when the person is identified, once per event."""
    if turn.private and source:
        await turn.svc.identities.set_source(turn.who.channel, turn.who.user, source)


def contacts_html(turn: Turn, _: Translate | None = None) -> str:
    """The commune's contacts, from content/commune.toml; unknown values say so."""
    _ = _ or turn._
    values = turn.svc.content.commune.values
    unknown = _("not updated yet")

    def v(key: str) -> str:
        return html.escape(values.get(key) or unknown)

    return _(
        "<b>Contacts</b>\n"
        "👮 {police_name}: {police_address}, phone {police_phone}\n"
        "🏛 {one_stop_name}: {one_stop_address}, phone {one_stop_phone}\n"
        "🕗 Office hours: {office_hours}\n"
        "☎️ Ministry of Public Security hotline for VNeID: {hotline} (press 4 for an operator)"
    ).format(police_name=v("police_name"), police_address=v("police_address"), police_phone=v("police_phone"),
             one_stop_name=v("one_stop_name"), one_stop_address=v("one_stop_address"),
             one_stop_phone=v("one_stop_phone"), office_hours=v("office_hours"), hotline=v("hotline_vneid"))


async def start(turn: Turn) -> None:
    """Welcome the resident, record where they came from, show the main menu."""
    args = turn.event.args if isinstance(turn.event, Command) else ()
    payload = args[0] if args else None
    await remember(turn, payload if payload and _PAYLOAD.match(payload) else None)
    _ = turn._
    commune = html.escape(turn.svc.content.commune.display_name)
    text = _(
        "Hello! This is the information bot of <b>{commune}</b>.\n"
        "I answer questions about electronic identification (VNeID, level 1 and level 2), the căn cước card "
        "and online public services; I send the commune's announcements; and I can pass your request for "
        "help to the commune police.\n\n"
        "Type your question in your own words (diacritics are not needed), or use the buttons below."
    ).format(commune=commune)
    await turn.reply(Out(text, menu=True))
    if turn.person:
        await offer_commands(turn, await turn.svc.staff.role(turn.person))


async def show_help(turn: Turn) -> None:
    """Explain what the bot does and list the commands (staff see theirs too)."""
    _ = turn._
    text = _(
        "<b>How to use this bot</b>\n"
        "• Type a question, for example: <i>kich hoat vneid the nao</i>, <i>quên mật khẩu VNeID</i>.\n"
        "• /start — the main menu\n"
        "• /subscribe — receive the commune's announcements; /unsubscribe — stop them\n"
        "• /request — ask a commune officer to help you register; /status — your requests\n"
        "• /mydata — see or erase what the bot keeps about you\n"
        "• /cancel — stop what you are filling in\n\n"
        "The bot never asks for your OTP code, password or passcode. Never give them to anyone."
    )
    role = await turn.svc.staff.role(turn.person) if turn.person else None
    staff = commands.for_role(role)[len(commands.RESIDENT):]
    if staff:
        lines = "\n".join(f"• /{name} — {html.escape(_(desc))}" for name, desc in staff)
        text += "\n\n" + _("<b>For staff</b>") + "\n" + lines
    await turn.reply(Out(text, menu=True))
    await offer_commands(turn, role)


async def offer_commands(turn: Turn, role: str | None) -> None:
    """Staff get their own command list where the channel shows one (a chat-scoped menu on Telegram)."""
    if role is not None and turn.private and turn.caps.command_menu:
        await turn.channels.set_commands(turn.who.address, turn.who.language, commands.for_role(role))


async def show_contacts(turn: Turn) -> None:
    await turn.reply(contacts_html(turn))


async def not_text(turn: Turn) -> None:
    """Stickers, photos, voice…: in the middle of a form, its current question again; else say that only
    text is understood for now."""
    from bot.helpdesk.flow import repeat_question

    if await repeat_question(turn):
        return
    if not turn.private:
        return
    if isinstance(turn.event, Other) and turn.event.kind == "unsupported":
        # Zalo sends this instead of content it will not show the bot (e.g. from protected users): no guessing.
        await turn.reply(turn._("I could not see this message. Please type your question in words."))
        return
    await turn.reply(turn._("Sorry, I can only read text messages for now. Please type your question."))


async def stale_press(turn: Turn) -> None:
    """A button whose data no flow accepted (old, or forged): answer calmly, change nothing."""
    turn.toast(turn._("This button is out of date."))


async def on_edited(turn: Turn) -> None:
    """An edited message is never an answer to a step nor a message to anyone (an officer editing a note
    must not send it to a resident; a name edited at the ID step is not an ID number). With nothing open,
    it is the question asked again; with a dialogue open, the person is told to send it anew."""
    if not turn.private or not isinstance(turn.event, Edited) or not turn.event.text.strip():
        return
    if turn.who.open:
        await turn.reply(html.escape(turn._("I do not read edited messages while something is being filled in. "
                                            "Please send your answer again as a new message.")))
        return
    from bot.faq.flow import ask

    await ask(turn, turn.event.text)


async def unknown_command(turn: Turn) -> None:
    """A /command the bot does not know: say so, and show what it does know."""
    if not turn.private:
        return
    await turn.reply(html.escape(turn._("I do not know that command.")))
    await show_help(turn)
