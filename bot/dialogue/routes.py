"""Every flow's entry points, in one ordered place. The channels only translate; this decides.

Order matters for free text: the main menu's labels first, then open dialogues (an officer who pressed
"note" is expected to type it; then a half-filled form; then a campaign draft), then the FAQ.
"""

from __future__ import annotations

from bot.dialogue import basics
from bot.dialogue.core import Router, Turn
from bot.faq import flow as faq
from bot.menu import menu_action

# Commands, Latin names first; Vietnamese aliases are accepted too.
ALIASES = {
    "start": ("start", "batdau"),
    "help": ("help", "trogiup", "huongdan"),
    "contacts": ("contacts", "lienhe"),
    "faq": ("faq", "hoidap"),
}


def build_router() -> Router:
    r = Router()
    handlers = {"start": basics.start, "help": basics.show_help, "contacts": basics.show_contacts,
                "faq": faq.browse}
    for name, aliases in ALIASES.items():
        for alias in aliases:
            r.commands[alias] = handlers[name]
    # Options (button data verbs; typed numbers on channels without buttons).
    for verb in ("grp", "g", "f"):
        r.presses[verb] = faq.on_browse_press
    r.presses["a"] = faq.on_suggestion
    r.presses["fb"] = faq.on_feedback
    # Main menu.
    r.menu = {"faq": faq.browse, "contacts": basics.show_contacts}
    r.menu_action = _menu_action
    # Free text nobody consumed, and everything else.
    r.on_text = faq.on_text
    r.on_other = basics.not_text
    r.on_stale_press = basics.stale_press
    return r


def _menu_action(turn: Turn, text: str) -> str | None:
    return menu_action(text, turn.svc.catalogs, turn.who.language)
