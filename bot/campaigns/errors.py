"""The one error type of campaign services: a message id for the user, translated by the channel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.i18n import Translate


class CampaignError(ValueError):
    """Input that cannot be used. `msgid` is an English gettext id, `params` fill its {placeholders};
    `str()` is the English text (the command line prints it)."""

    def __init__(self, msgid: str, *, suggestion_at: datetime | None = None, **params: Any) -> None:
        self.msgid = msgid
        self.params = params
        self.suggestion_at = suggestion_at  # a time that would work instead, when there is one
        super().__init__(msgid.format(**params) if params else msgid)

    def translated(self, translate: Translate) -> str:
        """The message in the language of `translate` (a gettext function)."""
        text = translate(self.msgid)
        return text.format(**self.params) if self.params else text
