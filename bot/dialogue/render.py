"""From the core's messages to what a channel can show: markup, text limit, buttons or numbered choices.

Written once for every channel. A channel with buttons gets them as they are; a channel without gets the
options as a numbered list under the text ("1. …", "Gõ 1, 2 hoặc 3") and the core remembers them, so
the person can type the number or the words (with or without diacritics) — see `match_choice`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from bot.dialogue.model import Buttons, Capabilities, Out
from bot.faq.normalize import fold, tokenize
from bot.faq.render import split_message
from bot.i18n import Translate

_TAG = re.compile(r"<(/?)([a-z-]+)((?:\s[^>]*)?)>")
_HREF = re.compile(r'href="([^"]*)"')
_EMOJI_PREFIX = re.compile(r"^[^\w]+", re.UNICODE)


@dataclass(frozen=True)
class Rendered:
    """A message ready for one channel: text parts within its limit, in its markup, and the options it
    can show (buttons only on channels that have them; `choices` is what a typed answer may pick)."""

    parts: tuple[str, ...]
    buttons: Buttons
    keyboard: tuple[tuple[str, ...], ...]
    contact_label: str | None
    choices: tuple[tuple[str, str], ...]  # (label, data) in the order they were numbered


def to_plain(text: str) -> str:
    """The core's HTML subset as plain text: tags dropped, links as "text (url)", entities decoded."""

    def tag(match: re.Match[str]) -> str:
        closing, name, attrs = match.groups()
        if name == "a" and not closing:
            href = _HREF.search(attrs or "")
            return "\x00" + (html.unescape(href.group(1)) if href else "") + "\x01"
        if name == "a":
            return "\x02"
        return ""

    marked = _TAG.sub(tag, text)
    # "<a href=u>label</a>" -> "label (u)", unless the label is the address itself.
    def link(match: re.Match[str]) -> str:
        url, label = match.group(1), match.group(2)
        return label if not url or label.strip() == url else f"{label} ({url})"

    marked = re.sub(r"\x00([^\x01]*)\x01(.*?)\x02", link, marked, flags=re.DOTALL)
    return html.unescape(marked.replace("\x00", "").replace("\x01", "").replace("\x02", ""))


def choice_lines(options: tuple[tuple[str, str], ...], _: Translate, silent: bool) -> str:
    """The numbered list of options, and how to answer it."""
    lines = [f"{i}. {html.escape(label)}" for i, (label, _data) in enumerate(options, 1)]
    if not silent:
        n = len(options)
        hint = (_("Type 1 to choose it.") if n == 1
                else _("Type a number from 1 to {n}, or the words.").format(n=n))
        lines.append(f"<i>{html.escape(hint)}</i>")
    return "\n".join(lines)


def render(out: Out, caps: Capabilities, _: Translate, menu: tuple[tuple[str, ...], ...],
           contact_label: str) -> Rendered:
    """Prepare `out` for a channel with `caps`. `menu` is the main menu's labels (rows)."""
    text = out.text
    buttons: Buttons = ()
    keyboard: tuple[tuple[str, ...], ...] = ()
    options = tuple((b.label, b.data) for row in out.buttons for b in row)
    if caps.buttons:
        buttons = out.buttons
        if out.menu:
            keyboard = menu
    elif options:
        text = (text + "\n\n" if text.strip() else "") + choice_lines(options, _, out.silent_buttons)
    limit = caps.text_limit if out.photo is None else min(caps.text_limit, 1024)
    parts = split_message(text, limit) if text.strip() else []
    if caps.markup == "plain":
        parts = [to_plain(p) for p in parts]
    return Rendered(tuple(parts), buttons, keyboard,
                    contact_label if out.contact and caps.contact_button else None, options)


def _words(text: str) -> str:
    return fold(" ".join(tokenize(_EMOJI_PREFIX.sub("", text)[:200])))


def match_choice(text: str, options: tuple[tuple[str, str], ...]) -> str | None:
    """A typed answer to a numbered list: "2", "2.", "số 2" or the label's words (any diacritics).
    Returns the chosen option's data, or None when the text is not one of them."""
    stripped = text.strip().lower().rstrip(".)")
    for prefix in ("so ", "số ", "#"):
        if stripped.startswith(prefix):
            stripped = stripped[len(prefix):].strip()
    if stripped.isdigit():
        index = int(stripped)
        return options[index - 1][1] if 1 <= index <= len(options) else None
    typed = _words(text)
    if not typed:
        return None
    exact = [data for label, data in options if _words(label) == typed]
    if len(exact) == 1:
        return exact[0]
    # A label's distinctive word(s) typed alone ("nam" for "Thôn Nà Nạm"), when only one label has them.
    partial = [data for label, data in options if len(typed) >= 3 and f" {typed} " in f" {_words(label)} "]
    return partial[0] if len(partial) == 1 else None
