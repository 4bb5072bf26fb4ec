"""People and their identities on the channels; the numbered choices offered where there are no buttons."""

from __future__ import annotations

from bot.dialogue.model import Address, Who
from storage.db import Database


class Identities:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._choices: dict[Address, tuple[tuple[str, str], ...]] = {}

    async def resolve(self, who: Who) -> Who:
        """The person behind (channel, user id). Until people are stored, a Telegram user is their id."""
        from dataclasses import replace

        return replace(who, person=int(who.user)) if who.user.lstrip("-").isdigit() else who

    async def remember(self, address: Address, options: tuple[tuple[str, str], ...]) -> None:
        self._choices[address] = options

    async def recall(self, address: Address) -> tuple[tuple[str, str], ...]:
        return self._choices.get(address, ())
