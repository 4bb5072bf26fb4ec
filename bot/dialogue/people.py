"""Who is writing: the person behind a channel identity (one database round trip per inbound event)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.dialogue.model import Who
from storage.identities import Identities


def identifier(identities: Identities) -> Callable[[Who], Awaitable[Who]]:
    """The core's `identify`: fills `Who.person` and `Who.open` from the identities table."""

    async def identify(who: Who) -> Who:
        seen = await identities.resolve(who.channel, who.user, who.chat if who.private else None, who.language)
        return replace(who, person=seen.person, open=seen.open)

    return identify
