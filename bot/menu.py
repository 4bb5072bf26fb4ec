"""The main menu: its labels in the reader's language and the action of each (channel-free)."""

from __future__ import annotations

from bot.dialogue import callbacks as cb
from bot.dialogue.model import Button, Buttons
from bot.faq.normalize import fold
from bot.i18n import LANGUAGES, Catalogs, Translate

cb.register_shape("mn", 1)  # a main-menu entry chosen from a numbered list (channels without a keyboard)


def menu_labels(_: Translate) -> dict[str, str]:
    """Main-menu button label -> action."""
    return {
        _("❓ Questions: VNeID, online services"): "faq",
        _("🔔 Commune announcements"): "subscribe",
        _("🙋 Ask an officer for help"): "request",
        _("📞 Contacts"): "contacts",
    }


def menu_rows(_: Translate) -> tuple[tuple[str, ...], ...]:
    """The menu as rows of labels (a reply keyboard where the channel has one)."""
    labels = list(menu_labels(_))
    return ((labels[0],), (labels[1], labels[2]), (labels[3],))


def menu_options(_: Translate) -> Buttons:
    """The menu as options, for channels without a reply keyboard (numbered: "3" opens "ask an officer")."""
    return tuple((Button(label, cb.make("mn", action)),) for label, action in menu_labels(_).items())


def menu_action(text: str, catalogs: Catalogs, language: str) -> str | None:
    """The action of a typed or pressed menu label, in any language (exactly the label, or its words
    without diacritics and emoji on channels where the person types it)."""
    for lang in (language, *LANGUAGES):
        action = menu_labels(catalogs.gettext(lang)).get(text)
        if action is not None:
            return action
    return None


def folded_label(label: str) -> str:
    return fold(label.lstrip("❓🔔🙋📞 ").strip())
