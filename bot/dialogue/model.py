"""What a channel hands the conversation core, and what the core hands back — no platform types.

A channel (handlers/telegram, handlers/zalo_bot, …) turns a platform update into a `Who` (the channel,
the external user and chat ids as text, the language) and one `Event`; it renders the core's `Out`
messages with its own `Capabilities` (buttons or numbered choices, edits or new messages, text limit,
markup). Dialogue is written once, against these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Markup = Literal["html", "plain"]


@dataclass(frozen=True)
class Capabilities:
    """What a channel can do; the core honours it (see bot/dialogue/render.py)."""

    channel: str                 # "telegram", "zalo"
    buttons: bool                # inline buttons; False -> numbered choices the person types
    edits: bool                  # edit an earlier message; False -> send a new one
    text_limit: int              # characters per text message (split on paragraph boundaries)
    markup: Markup               # "html": Telegram's HTML subset; "plain": tags stripped
    contact_button: bool         # a "share my phone number" button
    files: bool                  # documents can be sent
    command_menu: bool = False   # the platform shows a command list
    reply_window_hours: float | None = None  # proactive messages only within this window (None: always)
    group_per_minute: int = 20   # messages a minute the channel allows in a group chat


@dataclass(frozen=True)
class Address:
    """Where a message goes: a chat on a channel (ids as text)."""

    channel: str
    chat: str


@dataclass(frozen=True)
class Who:
    """The person acting and where to answer them. `person` is filled by the core (identities table)."""

    channel: str
    user: str
    chat: str
    language: str
    private: bool = True
    name: str = ""
    person: int = 0
    open: frozenset[str] = frozenset()  # dialogues the person has open ("form", "officer_input", "draft")

    @property
    def address(self) -> Address:
        return Address(self.channel, self.chat)


# --- events a channel hands in ------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """Typed text. `reply_to` is the id of the bot's message it replies to (platform reply), if any."""

    text: str
    message: str = ""
    reply_to: str | None = None


@dataclass(frozen=True)
class Press:
    """A chosen option: a button press (`message` is the message the button was on), or a typed number
    or label of a numbered choice on channels without buttons."""

    data: str
    message: str | None = None
    typed: bool = False


@dataclass(frozen=True)
class Contact:
    """A shared contact; `own` when it is the sender's own number."""

    phone: str
    own: bool


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Photo:
    """A picture; `file` is the channel's reference to it (a file id or a URL)."""

    file: str
    caption: str = ""


@dataclass(frozen=True)
class Other:
    """Anything else the person sent (sticker, voice, a file, an unsupported message)."""

    kind: str


@dataclass(frozen=True)
class Edited:
    """The person edited an earlier message. Never an answer to a step nor a message to anyone."""

    text: str


@dataclass(frozen=True)
class Membership:
    """The person blocked (`blocked=True`) or unblocked the bot."""

    blocked: bool


Event = Text | Press | Contact | Command | Photo | Other | Edited | Membership


# --- what the core hands back -------------------------------------------------------------------------


@dataclass(frozen=True)
class Button:
    """An option: its label (translated plain text) and the data that comes back when it is chosen."""

    label: str
    data: str


Buttons = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Out:
    """One message. `text` is in the core's markup (Telegram's HTML subset: b, i, u, s, a, code, pre,
    blockquote; everything else escaped); a plain-text channel strips the tags.

    `menu` shows the main menu under it; `contact` offers a "share my phone number" button (channels
    without one ask for the number as text); `edit` replaces that earlier message where the channel can
    edit (otherwise a new message is sent); `photo` / `document` attach a picture or a file."""

    text: str
    buttons: Buttons = ()
    menu: bool = False
    contact: bool = False
    edit: str | None = None
    photo: str | None = None
    document: Path | None = None
    reply_to: str | None = None
    silent_buttons: bool = field(default=False, compare=False)  # no "type 1, 2…" hint (the text says it)


@dataclass(frozen=True)
class Sent:
    """What a channel reports back for a sent message: its id (the last part's, when split)."""

    message: str
