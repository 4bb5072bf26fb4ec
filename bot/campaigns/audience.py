"""Who receives a campaign: every subscriber, one village (thôn) or one topic. Channel-free."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.campaigns.errors import CampaignError
from bot.content import Commune
from bot.i18n import N_, Translate

# Topics residents may choose when subscribing; the ids are those of the templates in content/campaigns/.
TOPICS: dict[str, str] = {
    "dinh-danh": N_("Electronic ID (VNeID, căn cước)"),
    "dich-vu-cong": N_("Online public services"),
    "lua-dao": N_("Scam warnings"),
}

Kind = Literal["all", "village", "topic"]


@dataclass(frozen=True)
class Audience:
    kind: Kind = "all"
    value: str | None = None

    def __str__(self) -> str:
        return "all" if self.kind == "all" else f"{self.kind}:{self.value}"

    @classmethod
    def parse(cls, text: str | None, commune: Commune) -> Audience:
        """ "all", "village:<id>" or "topic:<id>" (ids checked against the commune and TOPICS)."""
        text = (text or "all").strip()
        if text == "all":
            return cls()
        kind, _, value = text.partition(":")
        if kind == "village" and commune.village(value) is not None:
            return cls("village", value)
        if kind == "topic" and value in TOPICS:
            return cls("topic", value)
        if kind == "village":
            raise CampaignError(N_("No village has the id {value}."), value=value)
        if kind == "topic":
            raise CampaignError(N_("No topic has the id {value}."), value=value)
        raise CampaignError(N_("The audience must be all, village:<id> or topic:<id>."))

    def describe(self, _: Translate, commune: Commune) -> str:
        """ "all subscribers", "Thôn 3", "topic: Scam warnings" in the language of `_`."""
        if self.kind == "village" and self.value:
            village = commune.village(self.value)
            return village.name if village else self.value
        if self.kind == "topic" and self.value:
            return _("topic: {topic}").format(topic=_(TOPICS.get(self.value, self.value)))
        return _("all subscribers")
