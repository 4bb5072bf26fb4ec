"""Zalo updates as the core's events. Parsed defensively: Zalo's JSON is not versioned, fields move
(`photo` or `photo_url`), webhook bodies may or may not be wrapped in `{ok, result}`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.dialogue.model import Command, Event, Other, Photo, Text, Who

CHANNEL = "zalo"


@dataclass(frozen=True)
class Inbound:
    who: Who
    event: Event
    message_id: str  # for de-duplication ("" when Zalo gave none)


def unwrap(body: Any) -> dict[str, Any] | None:
    """An update from a getUpdates result or a webhook body (wrapped in {ok, result} or not)."""
    if isinstance(body, dict) and "event_name" not in body and isinstance(body.get("result"), dict):
        body = body["result"]
    return body if isinstance(body, dict) else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse(update: Any) -> Inbound | None:
    """The event of one update, or None when the bot does not react to it (bots, groups, no sender)."""
    body = unwrap(update)
    if body is None:
        return None
    message = body.get("message")
    if not isinstance(message, dict):
        return None
    sender: dict[str, Any] = message["from"] if isinstance(message.get("from"), dict) else {}
    chat: dict[str, Any] = message["chat"] if isinstance(message.get("chat"), dict) else {}
    user_id, chat_id = str(sender.get("id") or ""), str(chat.get("id") or sender.get("id") or "")
    if not user_id or not chat_id or sender.get("is_bot") is True:
        return None
    if str(chat.get("chat_type") or "PRIVATE").upper() != "PRIVATE":
        return None  # Zalo groups are beta and mention-gated; officers work on Telegram
    # Zalo tells no language: the commune's residents read Vietnamese.
    who = Who(channel=CHANNEL, user=user_id, chat=chat_id, language="vi", private=True,
              name=_text(sender.get("display_name"))[:128])
    name = _text(body.get("event_name"))
    message_id = str(message.get("message_id") or "")
    event: Event
    if name == "message.text.received" or (not name and isinstance(message.get("text"), str)):
        text = _text(message.get("text"))
        event = command_of(text) if text.startswith("/") and len(text) > 1 else Text(text, message_id)
    elif name == "message.image.received":
        photo = _text(message.get("photo")) or _text(message.get("photo_url")) or _text(message.get("url"))
        event = Photo(photo, _text(message.get("caption")))
    elif name == "message.sticker.received":
        event = Other("sticker")
    else:  # message.unsupported.received (also what protected users' messages arrive as), or unknown
        event = Other("unsupported")
    return Inbound(who, event, message_id)


def command_of(text: str) -> Command | Text:
    """'/start poster1' -> Command('start', ('poster1',)); '/ ' or '/?' stays text."""
    head, *args = text.split()
    name = head[1:].lower()
    if not name or not all(c.isalnum() or c == "_" for c in name):
        return Text(text)
    return Command(name, tuple(args))
