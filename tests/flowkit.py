"""Flow tables: the conversation core driven through an in-memory channel, with or without buttons.

A table is a list of steps: what the person does (`say`, `press` a label, `command`, …) and what the bot's
answer must contain. Run it once on a channel with buttons and once on one without (numbered choices), so
a second channel is covered by construction.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest_asyncio

from bot.config import Settings
from bot.dialogue.core import Conversation
from bot.dialogue.model import Capabilities, Command, Event, Out, Press, Sent, Text, Who
from bot.dialogue.people import identifier
from bot.dialogue.render import Rendered
from bot.dialogue.routes import build_router
from bot.services import Services, build_services

ROOT = Path(__file__).resolve().parent.parent

BUTTONS = Capabilities(channel="memo", buttons=True, edits=True, text_limit=4096, markup="html",
                       contact_button=True, files=True)
NUMBERED = Capabilities(channel="memo", buttons=False, edits=False, text_limit=2000, markup="plain",
                        contact_button=False, files=False)


@dataclass
class Message:
    chat: str
    id: str
    text: str
    rendered: Rendered
    out: Out
    edits: int = 0

    @property
    def labels(self) -> list[str]:
        return [label for label, _data in self.rendered.choices]


@dataclass
class MemoryChannel:
    """A channel port that keeps what it was asked to send, in order."""

    caps: Capabilities
    sent: list[Message] = field(default_factory=list)
    edited: list[Message] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send(self, chat: str, message: Rendered, out: Out) -> Sent:
        msg = Message(chat, str(next(self._ids)), "\n".join(message.parts), message, out)
        self.sent.append(msg)
        return Sent(msg.id)

    async def edit(self, chat: str, message_id: str, message: Rendered, out: Out) -> bool:
        for msg in self.sent:
            if msg.chat == chat and msg.id == message_id:
                msg.text, msg.rendered, msg.out = "\n".join(message.parts), message, out
                msg.edits += 1
                self.edited.append(msg)
                return True
        return False

    def to(self, chat: str) -> list[Message]:
        return [m for m in self.sent if m.chat == chat]


@dataclass
class Person:
    """Someone writing to the bot through the memory channel."""

    flow: Flow
    user: str
    private: bool = True
    chat: str = ""

    def who(self) -> Who:
        return Who(channel=self.flow.channel.caps.channel, user=self.user, chat=self.chat or self.user,
                   language="vi", private=self.private, name=f"Người {self.user}")

    async def send(self, event: Event) -> list[Message]:
        """What the bot answered: the new messages, or (when it only edited some) the edited ones."""
        before, edited = len(self.flow.channel.sent), len(self.flow.channel.edited)
        turn = await self.flow.conversation.handle(self.who(), event)
        self.flow.last_toast = turn.toast_text
        return self.flow.channel.sent[before:] or self.flow.channel.edited[edited:]

    async def say(self, text: str) -> list[Message]:
        return await self.send(Text(text, message=str(len(self.flow.channel.sent) + 1000)))

    async def command(self, name: str, *args: str) -> list[Message]:
        return await self.send(Command(name, args))

    async def choose(self, label_part: str) -> list[Message]:
        """Choose the option whose label contains `label_part` in the latest message that offers it:
        a button press where there are buttons, the typed number where there are none."""
        for msg in reversed(self.flow.channel.to(self.chat or self.user)):
            for index, (label, data) in enumerate(msg.rendered.choices, 1):
                if label_part.lower() in label.lower():
                    if self.flow.channel.caps.buttons:
                        return await self.send(Press(data, msg.id))
                    return await self.say(str(index))
        raise AssertionError(f"no option {label_part!r} offered to {self.user}")


@dataclass
class Flow:
    services: Services
    channel: MemoryChannel
    conversation: Conversation
    last_toast: str | None = None

    def person(self, user: str, private: bool = True, chat: str = "") -> Person:
        return Person(self, user, private, chat)


@pytest_asyncio.fixture(params=[BUTTONS, NUMBERED], ids=["buttons", "numbered"])
async def flow(request: object, tmp_path: Path) -> AsyncIterator[Flow]:
    caps: Capabilities = request.param  # type: ignore[attr-defined]
    settings = Settings(data_dir=tmp_path / "data", content_dir=ROOT / "content")
    services = await build_services(settings)
    channel = MemoryChannel(caps)
    services.channels.add(channel)
    yield Flow(services, channel, Conversation(services, services.channels, build_router(),
                                               identifier(services.identities)))
    await services.jobs.stop()
    await services.db.close()


def with_caps(caps: Capabilities, **changes: object) -> Capabilities:
    return dataclasses.replace(caps, **changes)  # type: ignore[arg-type]
