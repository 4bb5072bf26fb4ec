"""The command lists: what residents see, and what each staff role sees besides (channel-free).

A channel with a command menu shows these (Telegram: the default list for everyone, and a chat-scoped list
for each staff member's private chat); /help shows the same lists as text on every channel.
"""

from __future__ import annotations

from bot.i18n import N_

RESIDENT = (
    ("start", N_("Main menu")),
    ("help", N_("How to use the bot")),
    ("subscribe", N_("Receive the commune's announcements")),
    ("unsubscribe", N_("Stop the announcements")),
    ("request", N_("Ask an officer for help with VNeID")),
    ("status", N_("My help requests")),
    ("cancel", N_("Stop what I am filling in")),
    ("mydata", N_("See or erase my data")),
)

# Staff roles and their own commands (admins hold every role).
BY_ROLE = {
    "officer": (("queue", N_("Officers: the help-request queue")),),
    "editor": (("campaign", N_("Culture officer: write and schedule announcements")),),
}


def for_role(role: str | None) -> tuple[tuple[str, str], ...]:
    """The whole list for someone holding `role` (None: a resident)."""
    if role is None:
        return RESIDENT
    extra: tuple[tuple[str, str], ...] = ()
    for name, commands in BY_ROLE.items():
        if role in (name, "admin"):
            extra += commands
    return RESIDENT + extra
