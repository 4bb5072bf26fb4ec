"""The core's messages as Zalo Bot API calls: the channel's port for conversations (`send`, no edits) and
the campaign engine's port (`deliver`, `notify`). No buttons (the core numbers the choices), no edits (a
new message instead), 2,000 characters per message (the core splits), plain text."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.campaigns.engine import Blocked as BroadcastBlocked
from bot.campaigns.engine import Broadcast, MaybeSent, RetryLater, SendFailed, Unavailable
from bot.dialogue.core import Blocked, DeliveryError, Refused, TryLater
from bot.dialogue.model import Capabilities, Out, Sent
from bot.dialogue.render import Rendered, to_plain
from bot.faq.render import split_message
from handlers.zalo_bot.client import ZaloClient, ZaloError, ZaloRetry
from storage.campaigns import Recipient

log = logging.getLogger(__name__)

TEXT_LIMIT = 2000
CAPS = Capabilities(channel="zalo", buttons=False, edits=False, text_limit=TEXT_LIMIT, markup="plain",
                    contact_button=False, files=False, command_menu=False, group_per_minute=20)
# What Zalo asks for when a 429 says nothing about how long to wait.
DEFAULT_RETRY_AFTER = 5.0


def delivery_error(exc: ZaloError) -> DeliveryError:
    if isinstance(exc, ZaloRetry):
        return TryLater(str(exc), exc.retry_after, maybe_sent=exc.code == 0 and "timed out" in exc.description)
    if exc.code == 403:
        return Blocked(str(exc))
    return Refused(str(exc))


def is_url(value: str) -> bool:
    return value.startswith(("https://", "http://"))


class ZaloChannel:
    """The conversation port of the Zalo channel (see bot.dialogue.core.ChannelPort)."""

    caps = CAPS

    def __init__(self, client: ZaloClient) -> None:
        self.client = client

    # the conversation port

    async def send(self, chat: str, message: Rendered, out: Out) -> Sent:
        parts = list(message.parts)
        last = ""
        try:
            if out.photo is not None and is_url(out.photo):
                caption = parts.pop(0) if parts and len(parts[0]) <= TEXT_LIMIT else ""
                last = _id(await self.client.send_photo(chat, out.photo, caption))
            for part in parts:
                last = _id(await self.client.send_message(chat, part))
        except ZaloError as exc:
            raise delivery_error(exc) from exc
        return Sent(last)

    async def edit(self, chat: str, message_id: str, message: Rendered, out: Out) -> bool:
        return False  # Zalo cannot edit a message: the core sends a new one


class ZaloBroadcast:
    """The campaign engine's port on Zalo (see bot.campaigns.engine.SendPort). `stop_hint(language)` is
    the line under every announcement that says how to stop them (Zalo has no button for it)."""

    def __init__(self, client: ZaloClient, stop_hint: Callable[[str], str]) -> None:
        self.client = client
        self.stop_hint = stop_hint

    def broadcast_parts(self, message: Broadcast, language: str) -> list[str]:
        """An announcement as Zalo residents read it: plain text, the stop hint last, within 2,000."""
        text = to_plain(message.html).strip()
        hint = self.stop_hint(language)
        return split_message(f"{text}\n\n{hint}" if text else hint, TEXT_LIMIT)

    async def deliver(self, recipient: Recipient, message: Broadcast) -> None:
        # The engine retries and paces; the client does not retry here (a retried send may arrive twice).
        try:
            for part in self.broadcast_parts(message, recipient.language):
                await self.client.call("sendMessage", {"chat_id": recipient.chat_id, "text": part}, retries=0)
        except ZaloRetry as exc:
            if exc.code == 429:
                raise RetryLater(exc.retry_after or DEFAULT_RETRY_AFTER) from exc
            if exc.code == 0 and "timed out" in exc.description:
                raise MaybeSent(str(exc)) from exc
            raise Unavailable(str(exc)) from exc
        except ZaloError as exc:
            if exc.code == 403:
                raise BroadcastBlocked(str(exc)) from exc
            raise SendFailed(str(exc)) from exc

    async def notify(self, chat_id: str, html: str) -> str | None:
        try:
            last = ""
            for part in split_message(to_plain(html), TEXT_LIMIT):
                last = _id(await self.client.send_message(chat_id, part))
            return last or None
        except ZaloError as exc:
            log.warning("could not send a campaign report on Zalo: %s", exc)
            return None

    async def edit(self, chat_id: str, message_id: str, html: str) -> None:
        return None  # no edits on Zalo: an editor there gets the first report and the summary


def _id(result: dict[str, object]) -> str:
    return str(result.get("message_id") or "")
