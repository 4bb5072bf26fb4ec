"""What the help-request workflow says, as data: a channel renders it with its own gettext and keyboards.

A `Msg` is a message id (English, marked with N_) and its arguments; an argument is literal text
(escaped when rendered), a number, another `Msg` (translated too) or a tuple of them (one per line).
Message ids may contain the small HTML of Telegram's parse mode (<b>, <i>); literal text never does.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Union

from bot.i18n import Translate

Arg = Union[str, int, "Msg", tuple["Arg", ...]]


@dataclass(frozen=True)
class Msg:
    id: str
    args: Mapping[str, Arg] = field(default_factory=dict)


def msg(message_id: str, **args: Arg) -> Msg:
    return Msg(message_id, args)


@dataclass(frozen=True)
class Choice:
    """A button: `label` is a Msg (translated) or literal text; `value` goes back with the press."""

    label: Msg | str
    value: str


@dataclass(frozen=True)
class Say:
    """One message to the resident. `choices` (rows of buttons) answer the form step `step`;
    `contact` offers a "share my phone number" button; `menu` shows the main menu again."""

    text: Msg
    step: str = ""
    choices: tuple[tuple[Choice, ...], ...] = ()
    contact: bool = False
    menu: bool = False


def render(message: Msg, _: Translate) -> str:
    """The message in the reader's language, as Telegram-style HTML (arguments escaped)."""
    args = {name: render_arg(value, _) for name, value in message.args.items()}
    return _(message.id).format(**args) if args else _(message.id)


def render_arg(value: Arg, _: Translate) -> str:
    if isinstance(value, Msg):
        return render(value, _)
    if isinstance(value, tuple):
        return "\n".join(render_arg(v, _) for v in value)
    return html.escape(str(value), quote=False)


def label(choice: Choice, _: Translate) -> str:
    """A button label as plain text (buttons are not HTML)."""
    return _(choice.label.id) if isinstance(choice.label, Msg) else choice.label
