"""The conversation core: one `Turn` per inbound event, routed to flows written once for every channel.

A channel calls `Conversation.handle(who, event)`; the flow answers through the turn (`reply`,
`edit_or_reply`, `toast`, `send_to` another person or chat), which renders for the channel's
capabilities and sends through the channel's port. Ports live in `Channels`, so a flow serving an
officer on Telegram can tell a resident on Zalo.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from bot.dialogue import callbacks as cb
from bot.dialogue.model import (
    Address,
    Button,
    Capabilities,
    Command,
    Contact,
    Edited,
    Event,
    Membership,
    Other,
    Out,
    Photo,
    Press,
    Sent,
    Text,
    Who,
)
from bot.dialogue.render import Rendered, match_choice, render
from bot.i18n import Translate

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A message could not be delivered. `retry`: worth trying again later (network, 429, 5xx)."""

    retry = False


class Blocked(DeliveryError):
    """The person blocked the bot (or the chat is gone): never retry."""


class Refused(DeliveryError):
    """The platform refused the message itself (bad request): retrying will not help."""


class TryLater(DeliveryError):
    """A temporary failure (flood control, a server error, a timeout). `maybe_sent`: the request went out
    and no answer came (a timeout): it may have arrived, so it is not sent again blindly."""

    retry = True

    def __init__(self, message: str = "", retry_after: float = 0.0, *, maybe_sent: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.maybe_sent = maybe_sent


# A reply to the person acting is tried again this many seconds later when the platform fails for a moment
# (a 502, flood control of that chat): an outage of a few seconds delays the answer instead of losing it.
REPLY_RETRY_WAITS = (2.0, 4.0, 8.0)
T = TypeVar("T")


async def patiently(attempt: Callable[[], Awaitable[T]], *, repeatable: bool = False) -> T:
    """`attempt()`, tried again REPLY_RETRY_WAITS later on a temporary failure; not when the platform asks
    for a longer pause, nor after a timeout unless the call is `repeatable` (an edit: a repeat makes no
    second copy). The last failure is raised."""
    for wait in (*REPLY_RETRY_WAITS, None):
        try:
            return await attempt()
        except TryLater as exc:
            if wait is None or (exc.maybe_sent and not repeatable) or exc.retry_after > 2 * wait:
                raise
            log.info("could not send yet (%s); again in %.0f s", exc, max(wait, exc.retry_after))
            await asyncio.sleep(max(wait, exc.retry_after))
    raise AssertionError("unreachable")


class ChannelPort(Protocol):
    """What a channel package provides to the core."""

    caps: Capabilities

    async def send(self, chat: str, message: Rendered, out: Out) -> Sent: ...

    async def edit(self, chat: str, message_id: str, message: Rendered, out: Out) -> bool: ...


class ChoiceMemory(Protocol):
    """Where numbered choices offered on channels without buttons are remembered (storage.identities)."""

    async def remember(self, channel: str, chat_id: str, options: tuple[tuple[str, str], ...]) -> None: ...

    async def recall(self, channel: str, chat_id: str) -> tuple[tuple[str, str], ...]: ...


class Channels:
    """The ports of every running channel; renders and sends for any of them."""

    def __init__(self, translate: Callable[[str], Translate], menu: Callable[[Translate], Any],
                 choices: ChoiceMemory | None = None,
                 menu_options: Callable[[Translate], tuple[tuple[Button, ...], ...]] | None = None) -> None:
        self.ports: dict[str, ChannelPort] = {}
        self._translate = translate
        self._menu = menu
        self._menu_options = menu_options
        self.choices = choices

    def add(self, port: ChannelPort) -> None:
        self.ports[port.caps.channel] = port

    def caps(self, channel: str) -> Capabilities:
        return self.ports[channel].caps

    def prepare(self, channel: str, out: Out, language: str) -> Rendered:
        _ = self._translate(language)
        caps = self.ports[channel].caps
        if out.menu and not out.buttons and not caps.buttons and self._menu_options is not None:
            # No reply keyboard: the main menu is offered as numbered options under the message.
            out = replace(out, buttons=self._menu_options(_))
        labels = tuple(tuple(row) for row in self._menu(_))
        return render(out, caps, _, labels, _("📱 Send my phone number"))

    async def send(self, address: Address, out: Out, language: str) -> Sent:
        port = self.ports.get(address.channel)
        if port is None:
            raise Refused(f"channel {address.channel} is not running")
        message = self.prepare(address.channel, out, language)
        sent = await port.send(address.chat, message, out)
        await self._remember(address, port.caps, message)
        return sent

    async def edit(self, address: Address, message_id: str, out: Out, language: str) -> bool:
        """Edit an earlier message where the channel can; False when it could not (send a new one)."""
        port = self.ports.get(address.channel)
        if port is None or not port.caps.edits:
            return False
        message = self.prepare(address.channel, out, language)
        return await port.edit(address.chat, message_id, message, out)

    async def set_commands(self, address: Address, language: str, commands: tuple[tuple[str, str], ...]) -> None:
        """Show this command list in one chat, where the channel has a command menu (best-effort)."""
        port = self.ports.get(address.channel)
        setter = getattr(port, "set_commands", None)
        if port is None or setter is None or not port.caps.command_menu:
            return
        _ = self._translate(language)
        try:
            await setter(address.chat, [(name, _(desc)) for name, desc in commands])
        except DeliveryError as exc:
            log.info("could not set the command list of a chat: %s", exc)

    async def _remember(self, address: Address, caps: Capabilities, message: Rendered) -> None:
        if not caps.buttons and message.choices and self.choices is not None:
            await self.choices.remember(address.channel, address.chat, message.choices)


Handler = Callable[["Turn"], Coroutine[Any, Any, None]]
TextConsumer = Callable[["Turn", str], Awaitable[bool]]


@dataclass
class Turn:
    """One inbound event being answered."""

    who: Who
    event: Event
    svc: Services
    channels: Channels
    _: Translate
    toast_text: str | None = None
    toast_alert: bool = False
    replied: int = 0
    spawned: list[asyncio.Task[Any]] = field(default_factory=list)

    @property
    def caps(self) -> Capabilities:
        return self.channels.caps(self.who.channel)

    @property
    def private(self) -> bool:
        return self.who.private

    @property
    def person(self) -> int:
        return self.who.person

    async def reply(self, text: str | Out, buttons: tuple[tuple[Button, ...], ...] = (), *,
                    menu: bool = False) -> Sent:
        """Send a message to the chat this event came from."""
        out = text if isinstance(text, Out) else Out(text, buttons=buttons, menu=menu)
        if self.toast_text and self.toast_as_message:
            # No pop-up here: the short notice comes first, as a message, then what follows from it.
            notice, self.toast_text = self.toast_text, None
            await self._patient_send(Out(notice))
        self.replied += 1
        return await self._patient_send(out)

    async def _patient_send(self, out: Out, address: Address | None = None, language: str | None = None) -> Sent:
        return await patiently(
            lambda: self.channels.send(address or self.who.address, out, language or self.who.language))

    @property
    def toast_as_message(self) -> bool:
        """The channel has no pop-ups for a chosen option (or the person typed their choice)."""
        return not self.caps.buttons or _typed(self.event)

    async def edit_or_reply(self, out: Out) -> Sent | None:
        """Replace the message whose button was pressed where the channel can edit; else a new message."""
        if isinstance(self.event, Press) and self.event.message and self.caps.edits and not self.event.typed:
            if await self.channels.edit(self.who.address, self.event.message, out, self.who.language):
                return None
        return await self.reply(replace(out, edit=None))

    def toast(self, text: str | None, alert: bool = False) -> None:
        """A short notice about a chosen option (a pop-up where the channel has one, else a message)."""
        self.toast_text = text
        self.toast_alert = alert

    async def send_to(self, address: Address, out: Out, language: str) -> Sent:
        """A message the person acting is waiting for in another chat (an officer's private chat after a
        press in the group): tried again like a reply when the platform fails for a moment."""
        return await self._patient_send(out, address, language)

    def tr(self, language: str) -> Translate:
        return self.svc.catalogs.gettext(language)


@dataclass
class Router:
    """Every flow's entry points, in one ordered place (bot/dialogue/routes.py fills it)."""

    commands: dict[str, Handler] = field(default_factory=dict)
    presses: dict[str, Handler] = field(default_factory=dict)       # callback verb -> handler
    menu: dict[str, Handler] = field(default_factory=dict)          # main-menu action -> handler
    # Open dialogues, in order: (the dialogue's name in Who.open, or None to always ask, consumer).
    consumers: list[tuple[str | None, TextConsumer]] = field(default_factory=list)
    cancellers: list[Callable[[Turn], Awaitable[bool]]] = field(default_factory=list)
    on_text: Handler | None = None          # free text nobody consumed (the FAQ)
    on_contact: Handler | None = None
    on_photo: Handler | None = None
    on_other: Handler | None = None
    on_edited: Handler | None = None
    on_membership: Handler | None = None
    on_unknown_command: Handler | None = None
    on_stale_press: Handler | None = None
    menu_action: Callable[[Turn, str], str | None] | None = None  # typed text -> a menu action, or None


class Conversation:
    """The entry point every channel calls."""

    def __init__(self, svc: Services, channels: Channels, router: Router,
                 identify: Callable[[Who], Awaitable[Who]] | None = None) -> None:
        self.svc = svc
        self.channels = channels
        self.router = router
        self._identify = identify

    async def handle(self, who: Who, event: Event) -> Turn:
        """Answer one event; errors are logged and the person is told calmly (never a traceback)."""
        if self._identify is not None:
            who = await self._identify(who)
        return await self.handle_as(who, event)

    async def handle_as(self, who: Who, event: Event) -> Turn:
        """Answer an event of a person already identified."""
        turn = Turn(who, event, self.svc, self.channels, self.svc.catalogs.gettext(who.language))
        try:
            await self.dispatch(turn)
            if turn.toast_text and turn.toast_as_message:
                # No pop-ups here: a short notice becomes a message (the person typed their choice).
                await turn.reply(turn.toast_text)
                turn.toast_text = None
        except DeliveryError as exc:
            log.warning("could not answer on %s: %s", who.channel, exc)
        except Exception:
            log.exception("error while handling an event from %s", who.channel)
            if who.private:
                try:
                    await turn.reply(turn._("Sorry, something went wrong. Please try again in a moment."))
                except Exception:
                    log.debug("could not apologise", exc_info=True)
        return turn

    async def dispatch(self, turn: Turn) -> None:
        r = self.router
        event = turn.event
        if isinstance(event, Text) and not turn.caps.buttons and self.channels.choices is not None:
            options = await self.channels.choices.recall(turn.who.channel, turn.who.chat)
            data = match_choice(event.text, options) if options else None
            if data is not None:
                turn.event = event = Press(data, None, typed=True)
        if isinstance(event, Command):
            handler = r.commands.get(event.name.lower())
            await (handler or r.on_unknown_command or _nothing)(turn)
        elif isinstance(event, Press):
            parsed = cb.parse(event.data)
            handler = r.presses.get(parsed.verb) if parsed is not None else None
            await (handler or r.on_stale_press or _nothing)(turn)
        elif isinstance(event, Text):
            await self.on_text(turn, event)
        elif isinstance(event, Contact):
            await (r.on_contact or _nothing)(turn)
        elif isinstance(event, Photo):
            await (r.on_photo or r.on_other or _nothing)(turn)
        elif isinstance(event, Other):
            await (r.on_other or _nothing)(turn)
        elif isinstance(event, Edited):
            await (r.on_edited or _nothing)(turn)
        elif isinstance(event, Membership):
            await (r.on_membership or _nothing)(turn)

    async def on_text(self, turn: Turn, event: Text) -> None:
        r = self.router
        if turn.private and r.menu_action is not None:
            action = r.menu_action(turn, event.text)
            if action is not None and action in r.menu:
                await r.menu[action](turn)
                return
        for key, consume in r.consumers:
            if (key is None or key in turn.who.open) and await consume(turn, event.text):
                return
        await (r.on_text or _nothing)(turn)

    async def cancel(self, turn: Turn) -> bool:
        """/cancel: every open dialogue is asked to close (each replies itself); True if any was open."""
        return any([await cancel(turn) for cancel in self.router.cancellers])


def _typed(event: Event) -> bool:
    return isinstance(event, Press) and event.typed


async def _nothing(turn: Turn) -> None:
    return None


