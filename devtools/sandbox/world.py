"""The sandbox's world: users, chats, messages, the update queue, files, faults and event listeners.

Everything here is plain in-memory state and synchronous mutation, shared by the Bot API (server.py),
the HTTP control API and the in-process driver (client.py). The only asynchronous pieces are waits:
`wait_updates` (a long poll) and `wait_until` (a driver waiting for something to happen).
No I/O, no Telegram imports.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import struct
import time
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from devtools.sandbox.html import Entity, entities_to_html, find_entities

JSON = dict[str, Any]
T = TypeVar("T")

BOT_ID = 7_000_000_001
BOT_USERNAME = "CommuneSandboxBot"
BOT_FIRST_NAME = "CommuneSandboxBot"

#: Update types Telegram sends when `allowed_updates` was never given (or given as []).
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
SUPERGROUP_LIMIT = -1_000_000_000_000  # chat ids at or below this are supergroups ("-100…")


class SandboxError(RuntimeError):
    """The driver asked for something impossible (unknown user, a button that does not exist, ...)."""


# --- records -------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class UserRecord:
    """A Telegram user of the sandbox. `started`: the user has opened a private chat with the bot."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "vi"
    started: bool = True
    blocked: bool = False
    deactivated: bool = False

    def to_api(self) -> JSON:
        out: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            out["last_name"] = self.last_name
        if self.username:
            out["username"] = self.username
        if self.language_code:
            out["language_code"] = self.language_code
        return out

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


BOT_USER_API: JSON = {"id": BOT_ID, "is_bot": True, "first_name": BOT_FIRST_NAME, "username": BOT_USERNAME}


@dataclass(frozen=True, slots=True, repr=False)
class SentMessage:
    """One message in a chat as it is now (or was, for a snapshot from an event): by the bot or a user.

    Snapshots are immutable: an edit stores a new `SentMessage` with `version + 1`.
    `text` is the message text or the media caption ("" when none). `html` is the HTML source the bot
    sent with parse_mode=HTML (None otherwise); `reply_markup` is the markup as sent, parsed to dicts.
    With `record_text=False` the world keeps "" / () / None instead of text, html and entities.
    """

    chat_id: int
    message_id: int
    from_bot: bool
    sender_id: int
    date: int
    text: str = ""
    entities: tuple[Entity, ...] = ()
    html: str | None = None
    parse_mode: str | None = None
    reply_markup: JSON | None = None
    reply_to_message_id: int | None = None
    media: str | None = None  # "photo" | "contact" | "sticker" | "voice" | None for plain text
    photo: tuple[JSON, ...] = ()
    attachment: JSON | None = None  # the contact / sticker / voice object
    edit_date: int | None = None
    deleted: bool = False
    version: int = 0
    disable_notification: bool = False
    link_preview_options: JSON | None = None
    content_key: tuple[int, int] = (0, 0)  # hashes of (text + entities, inline markup): "not modified"

    def __repr__(self) -> str:
        who = "bot" if self.from_bot else f"user {self.sender_id}"
        flags = "".join(f" {name}" for name, on in (("edited", self.edited), ("deleted", self.deleted)) if on)
        media = f" {self.media}" if self.media else ""
        buttons = f" buttons={self.button_texts}" if self.buttons else ""
        return (
            f"<SentMessage {self.chat_id}/{self.message_id} by {who}{media}{flags}: {self.text!r}{buttons}>"
        )

    @property
    def edited(self) -> bool:
        return self.edit_date is not None

    @property
    def caption(self) -> str | None:
        return self.text if self.media is not None and self.text else None

    @property
    def inline_keyboard(self) -> list[list[JSON]]:
        if self.reply_markup and isinstance(self.reply_markup.get("inline_keyboard"), list):
            return self.reply_markup["inline_keyboard"]
        return []

    @property
    def buttons(self) -> list[JSON]:
        """Inline keyboard buttons, row by row."""
        return [b for row in self.inline_keyboard for b in row if isinstance(b, dict)]

    @property
    def button_texts(self) -> list[str]:
        return [str(b.get("text", "")) for b in self.buttons]

    @property
    def callback_data(self) -> list[str]:
        return [str(b["callback_data"]) for b in self.buttons if "callback_data" in b]

    @property
    def canonical_html(self) -> str:
        """The text re-rendered as Telegram HTML from text + entities (escaped; safe to display)."""
        return entities_to_html(self.text, self.entities)

    def to_json(self) -> JSON:
        """The sandbox's own view (events, control API): self-describing and JSON-able."""
        out: JSON = {
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "from_bot": self.from_bot,
            "sender_id": self.sender_id,
            "date": self.date,
            "text": self.text,
            "entities": [e.to_api() for e in self.entities],
            "html": self.canonical_html,
            "source_html": self.html,
            "reply_markup": self.reply_markup,
            "reply_to_message_id": self.reply_to_message_id,
            "media": self.media,
            "edit_date": self.edit_date,
            "edited": self.edited,
            "deleted": self.deleted,
            "version": self.version,
        }
        if self.photo:
            out["photo"] = list(self.photo)
        if self.attachment is not None:
            out["attachment"] = self.attachment
        return out


def content_key(text: str, entities: Iterable[Entity], inline_markup: JSON | None) -> tuple[int, int]:
    """What Telegram compares for "message is not modified"."""
    markup = json.dumps(inline_markup, sort_keys=True, ensure_ascii=False) if inline_markup else ""
    return hash((text, tuple(entities))), hash(markup)


@dataclass(slots=True, eq=False)
class ChatRecord:
    """A private chat (id == the user's id) or a group the bot belongs to."""

    id: int
    type: str  # "private" | "group" | "supergroup"
    title: str | None = None
    user: UserRecord | None = None
    members: dict[int, UserRecord] = field(default_factory=dict)
    admins: set[int] = field(default_factory=set)
    bot_status: str = "member"  # "member" | "administrator" | "left" | "kicked"
    messages: dict[int, SentMessage] = field(default_factory=dict)
    first_kept_id: int = 1
    last_message_id: int = 0
    log: list[tuple[str, SentMessage]] = field(default_factory=list)
    log_base: int = 0  # absolute index of log[0]
    reply_keyboard: JSON | None = None  # the reply keyboard the user currently sees
    menu_button: JSON | None = None

    def to_api(self) -> JSON:
        if self.type == "private" and self.user is not None:
            out: JSON = {"id": self.id, "type": "private", "first_name": self.user.first_name}
            if self.user.last_name:
                out["last_name"] = self.user.last_name
            if self.user.username:
                out["username"] = self.user.username
            return out
        return {"id": self.id, "type": self.type, "title": self.title or ""}

    @property
    def log_end(self) -> int:
        return self.log_base + len(self.log)


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A file the sandbox knows: uploaded by the bot, sent by a user, or a URL (then `data` is None)."""

    file_id: str
    file_unique_id: str
    kind: str  # "photo" | "sticker" | "voice" | "document"
    file_path: str
    data: bytes | None
    mime_type: str
    width: int = 0
    height: int = 0
    url: str | None = None

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else 0


@dataclass(slots=True, eq=False)
class CallbackQuery:
    """A button press; `answer` is set once the bot called answerCallbackQuery."""

    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    forged: bool = False
    answer: CallbackAnswer | None = None
    pressed_at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    callback_query_id: str
    user_id: int
    chat_id: int
    message_id: int
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int
    time: float

    def to_json(self) -> JSON:
        return {
            "callback_query_id": self.callback_query_id,
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "text": self.text,
            "show_alert": self.show_alert,
            "url": self.url,
        }


@dataclass(frozen=True, slots=True)
class ChatAction:
    chat_id: int
    action: str
    time: float


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One Bot API call: canonical method name, target chat (if any), HTTP status, times."""

    method: str
    chat_id: int | None
    status: int
    description: str | None
    time: float  # time.monotonic()
    wall_time: float  # time.time()


@dataclass(slots=True, eq=False)
class FaultRule:
    """The next `remaining` calls matching (method, chat_id) fail with `status` / `description`.

    `method=None` matches any method that targets a chat (has a chat_id), never getUpdates. With status
    200 and a `delay`, the call goes through but its answer comes `delay` seconds late (a slow API: a
    client that gives up first cannot know whether its message arrived).
    """

    status: int
    description: str
    remaining: int
    chat_id: int | None = None
    method: str | None = None
    retry_after: int | None = None
    delay: float = 0.0

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.remaining <= 0:
            return False
        if self.method is not None:
            if self.method.lower() != method.lower():
                return False
        elif chat_id is None or method == "getUpdates":
            return False
        return self.chat_id is None or self.chat_id == chat_id


@dataclass(slots=True, eq=False)
class Event:
    """A visible change. `to_json()` is what subscribers, SSE clients and the web chat receive."""

    seq: int
    type: str
    chat_id: int | None
    message: SentMessage | None = None
    data: JSON | None = None
    _json: JSON | None = None

    def to_json(self) -> JSON:
        if self._json is None:
            out: JSON = {"type": self.type, "seq": self.seq}
            if self.chat_id is not None:
                out["chat_id"] = self.chat_id
            if self.message is not None:
                out["message_id"] = self.message.message_id
                out["message"] = self.message.to_json()
            if self.data:
                out.update(self.data)
            self._json = out
        return self._json


class Subscription:
    """A stream of event dicts (optionally for one chat). Async-iterate it, or `await get()`.

    When the consumer falls more than `maxsize` events behind, further events are dropped and the next
    delivered event is preceded by `{"type": "gap", "dropped": N}`. `close()` ends the iteration.
    """

    def __init__(self, world: World, chat_id: int | None, maxsize: int) -> None:
        self._world = world
        self.chat_id = chat_id
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize)
        self.dropped = 0
        self.closed = False

    def _feed(self, event: Event) -> None:
        if self.closed or (self.chat_id is not None and event.chat_id not in (None, self.chat_id)):
            return
        if self._queue.full() or (self.dropped and self._queue.qsize() >= self._queue.maxsize - 1):
            self.dropped += 1
            return
        if self.dropped:
            gap = Event(seq=event.seq, type="gap", chat_id=None, data={"dropped": self.dropped})
            self._queue.put_nowait(gap)
            self.dropped = 0
        self._queue.put_nowait(event)

    async def get(self) -> JSON:
        """The next event; raises `StopAsyncIteration` once closed and drained."""
        event = await self._queue.get()
        if event is None:
            self._queue.put_nowait(None)  # keep later get() calls ending too
            raise StopAsyncIteration
        return event.to_json()

    def get_nowait(self) -> JSON | None:
        """The next event if one is waiting, else None."""
        try:
            event = self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None
        if event is None:
            self._queue.put_nowait(None)
            return None
        return event.to_json()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._world._subscriptions.discard(self)
            while self._queue.full():
                self._queue.get_nowait()
            self._queue.put_nowait(None)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> JSON:
        return await self.get()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- small file helpers --------------------------------------------------------------------------


def tiny_png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    """A valid solid-colour PNG (what a user "photographs" in the sandbox)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def image_size(data: bytes) -> tuple[str, int, int] | None:
    """(mime type, width, height) of a PNG, JPEG, GIF or WebP image; None if not recognised."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return "image/png", w, h
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return "image/gif", w, h
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP" and len(data) >= 30:
        kind = data[12:16]
        if kind == b"VP8X":
            w = 1 + int.from_bytes(data[24:27], "little")
            h = 1 + int.from_bytes(data[27:30], "little")
            return "image/webp", w, h
        if kind == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return "image/webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if kind == b"VP8 ":
            w, h = struct.unpack("<HH", data[26:30])
            return "image/webp", w & 0x3FFF, h & 0x3FFF
        return None
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            (length,) = struct.unpack(">H", data[i + 2 : i + 4])
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return "image/jpeg", w, h
            i += 2 + length
    return None


# --- the world -----------------------------------------------------------------------------------


class World:
    """All sandbox state. Create users and groups, act as users, inspect what the bot did.

    `record_text=False` keeps only ids, flags and markup of stored messages (benchmarks);
    `max_messages_per_chat` drops the oldest stored messages of a chat beyond that many;
    `group_privacy=True` delivers to the bot only what Telegram's privacy mode lets through
    (commands, replies to the bot, service updates) instead of every group message.
    """

    def __init__(
        self,
        *,
        record_text: bool = True,
        max_messages_per_chat: int | None = None,
        group_privacy: bool = False,
        call_log_size: int = 100_000,
        event_history: int = 1000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.record_text = record_text
        self.max_messages_per_chat = max_messages_per_chat
        self.group_privacy = group_privacy
        self.clock = clock
        self._call_log_size = call_log_size
        self._update_ids = itertools.count(1)  # never reset: a polling bot keeps its offset
        self._seq = itertools.count(1)
        self._ids = itertools.count(1)
        self._history: deque[Event] = deque(maxlen=event_history)
        self._subscriptions: set[Subscription] = set()
        self._update_waiters: set[asyncio.Future[str]] = set()
        self._change_waiters: set[asyncio.Future[None]] = set()
        self._init_state()

    def _init_state(self) -> None:
        self.users: dict[int, UserRecord] = {}
        self.chats: dict[int, ChatRecord] = {}
        self.updates: deque[JSON] = deque()
        self.allowed_updates: frozenset[str] | None = None
        self.callback_queries: dict[str, CallbackQuery] = {}
        self.callback_answers: list[CallbackAnswer] = []
        self.chat_actions: deque[ChatAction] = deque(maxlen=10_000)
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.default_menu_button: JSON = {"type": "commands"}
        self.bot_texts: dict[tuple[str, str], str] = {}  # (kind, language) -> name / description
        self.files: dict[str, FileRecord] = {}
        self.files_by_path: dict[str, FileRecord] = {}
        self.faults: list[FaultRule] = []
        # Seconds after a press within which answerCallbackQuery is accepted (Telegram: about 15); None: always.
        self.answer_deadline: float | None = None
        self.call_log: deque[CallRecord] = deque(maxlen=self._call_log_size)
        self.call_counts: Counter[str] = Counter()
        self.sent_count = 0

    # --- events and waiting ----------------------------------------------------------------------

    def emit(
        self, kind: str, chat_id: int | None, message: SentMessage | None = None, data: JSON | None = None
    ) -> Event:
        """Record a visible change and hand it to subscribers and waiters."""
        event = Event(seq=next(self._seq), type=kind, chat_id=chat_id, message=message, data=data)
        self._history.append(event)
        for sub in tuple(self._subscriptions):
            sub._feed(event)
        self._wake_changes()
        return event

    def _wake_changes(self) -> None:
        if self._change_waiters:
            for fut in self._change_waiters:
                if not fut.done():
                    fut.set_result(None)
            self._change_waiters.clear()

    def subscribe(self, chat_id: int | None = None, *, maxsize: int = 10_000) -> Subscription:
        """A new event stream (events from now on)."""
        sub = Subscription(self, chat_id, maxsize)
        self._subscriptions.add(sub)
        return sub

    def history(self, after_seq: int = 0, chat_id: int | None = None) -> list[Event]:
        """Recent events (a bounded ring) with seq > after_seq: lets an SSE client resume."""
        return [
            e
            for e in self._history
            if e.seq > after_seq and (chat_id is None or e.chat_id in (None, chat_id))
        ]

    def close_subscriptions(self) -> None:
        for sub in tuple(self._subscriptions):
            sub.close()

    async def wait_until(self, check: Callable[[], T | None], timeout: float) -> T:  # noqa: ASYNC109
        """Re-run `check` after every change until it returns something other than None.

        Raises `TimeoutError` after `timeout` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = check()
            if value is not None:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"nothing matching after {timeout:g} s")
            fut: asyncio.Future[None] = loop.create_future()
            self._change_waiters.add(fut)
            try:
                await asyncio.wait({fut}, timeout=remaining)
            finally:
                self._change_waiters.discard(fut)

    # --- users and chats ---------------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
        *,
        started: bool = True,
    ) -> UserRecord:
        """Create (or update) a user and their private chat with the bot."""
        if user_id <= 0:
            raise SandboxError("user ids are positive")
        if user_id == BOT_ID:
            raise SandboxError("that id belongs to the bot")
        user = self.users.get(user_id)
        if user is None:
            user = UserRecord(user_id, first_name, last_name, username, language_code, started=started)
            self.users[user_id] = user
        else:
            user.first_name, user.last_name, user.username = first_name, last_name, username
            user.language_code = language_code
            user.started = user.started or started
        chat = self.chats.get(user_id)
        if chat is None:
            self.chats[user_id] = ChatRecord(id=user_id, type="private", user=user)
        data = {"user": user.to_api(), "blocked": user.blocked, "started": user.started}
        self.emit("user", user_id, data=data)
        return user

    def get_user(self, user_id: int) -> UserRecord:
        user = self.users.get(user_id)
        if user is None:
            raise SandboxError(f"no sandbox user {user_id}; create it with sandbox.user(...)")
        return user

    def add_group(
        self,
        chat_id: int,
        title: str,
        members: Iterable[int] = (),
        *,
        admins: Iterable[int] = (),
        bot_is_admin: bool = False,
    ) -> ChatRecord:
        """Create (or update) a group with the bot and the given users as members."""
        if chat_id >= 0:
            raise SandboxError("group chat ids are negative")
        kind = "supergroup" if chat_id <= SUPERGROUP_LIMIT else "group"
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = ChatRecord(id=chat_id, type=kind, title=title)
            self.chats[chat_id] = chat
        chat.title = title
        for uid in members:
            chat.members[uid] = self.get_user(uid)
        chat.admins.update(admins)
        chat.bot_status = "administrator" if bot_is_admin else "member"
        self.emit("chat", chat_id, data={"chat": chat.to_api(), "members": sorted(chat.members)})
        return chat

    def get_chat(self, chat_id: int) -> ChatRecord:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise SandboxError(f"no sandbox chat {chat_id}")
        return chat

    def user_api(self, user_id: int) -> JSON:
        if user_id == BOT_ID:
            return dict(BOT_USER_API)
        user = self.users.get(user_id)
        return user.to_api() if user else {"id": user_id, "is_bot": False, "first_name": ""}

    # --- messages ----------------------------------------------------------------------------------

    def next_message_id(self, chat: ChatRecord) -> int:
        chat.last_message_id += 1
        return chat.last_message_id

    def message(self, chat_id: int, message_id: int) -> SentMessage | None:
        chat = self.chats.get(chat_id)
        return chat.messages.get(message_id) if chat else None

    def messages(
        self, chat_id: int, *, include_user: bool = False, include_deleted: bool = True
    ) -> list[SentMessage]:
        chat = self.chats.get(chat_id)
        if chat is None:
            return []
        return [
            m
            for m in chat.messages.values()
            if (include_user or m.from_bot) and (include_deleted or not m.deleted)
        ]

    def _store(self, chat: ChatRecord, msg: SentMessage, kind: str) -> SentMessage:
        if not self.record_text and msg.from_bot:
            msg = replace(msg, text="", entities=(), html=None)
        chat.messages[msg.message_id] = msg
        limit = self.max_messages_per_chat
        if limit is not None and kind == "message":
            while len(chat.messages) > limit and chat.first_kept_id <= chat.last_message_id:
                chat.messages.pop(chat.first_kept_id, None)
                chat.first_kept_id += 1
        chat.log.append((kind, msg))
        # the log keeps snapshots alive: bound it like the messages (cursors skip what fell off)
        log_limit = max(20, 2 * limit) if limit is not None else 5000
        if len(chat.log) > 2 * log_limit:
            drop = len(chat.log) - log_limit
            del chat.log[:drop]
            chat.log_base += drop
        return msg

    def message_api(self, msg: SentMessage, *, with_reply: bool = True) -> JSON:
        """The Bot API `Message` object for `msg`."""
        chat = self.chats[msg.chat_id]
        out: JSON = {
            "message_id": msg.message_id,
            "from": self.user_api(msg.sender_id),
            "chat": chat.to_api(),
            "date": msg.date,
        }
        if msg.edit_date is not None:
            out["edit_date"] = msg.edit_date
        if msg.media == "photo":
            out["photo"] = list(msg.photo)
            if msg.text:
                out["caption"] = msg.text
                if msg.entities:
                    out["caption_entities"] = [self._entity_api(e) for e in msg.entities]
        elif msg.media is not None and msg.attachment is not None:
            out[msg.media] = msg.attachment
        else:
            out["text"] = msg.text
            if msg.entities:
                out["entities"] = [self._entity_api(e) for e in msg.entities]
            if msg.link_preview_options:
                out["link_preview_options"] = msg.link_preview_options
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            out["reply_markup"] = msg.reply_markup
        if with_reply and msg.reply_to_message_id is not None:
            replied = chat.messages.get(msg.reply_to_message_id)
            if replied is not None and not replied.deleted:
                out["reply_to_message"] = self.message_api(replied, with_reply=False)
        return out

    def _entity_api(self, e: Entity) -> JSON:
        out = e.to_api()
        if e.user_id is not None:
            out["user"] = self.user_api(e.user_id)
        return out

    def add_bot_message(self, msg: SentMessage) -> SentMessage:
        """Store a message the bot sent (already validated by the Bot API)."""
        chat = self.chats[msg.chat_id]
        markup = msg.reply_markup
        if markup is not None:
            if "keyboard" in markup:
                chat.reply_keyboard = markup
            elif markup.get("remove_keyboard"):
                chat.reply_keyboard = None
        stored = self._store(chat, msg, "message")
        self.sent_count += 1
        self.emit("message", msg.chat_id, stored)
        return stored

    def replace_message(self, msg: SentMessage) -> SentMessage:
        """Store an edited version of a message."""
        chat = self.chats[msg.chat_id]
        stored = self._store(chat, msg, "edit")
        self.emit("edit", msg.chat_id, stored)
        return stored

    def delete_message(self, chat_id: int, message_id: int) -> SentMessage:
        chat = self.chats[chat_id]
        deleted = replace(chat.messages[message_id], deleted=True)
        self._store(chat, deleted, "delete")
        self.emit("delete", chat_id, deleted)
        return deleted

    # --- updates -----------------------------------------------------------------------------------

    def _allowed(self, kind: str) -> bool:
        if self.allowed_updates is None:
            return kind not in DEFAULT_EXCLUDED_UPDATES
        return kind in self.allowed_updates

    def push_update(self, kind: str, payload: JSON) -> int | None:
        """Queue an update for the bot; returns its update_id (None if `allowed_updates` filters it)."""
        if not self._allowed(kind):
            return None
        update_id = next(self._update_ids)
        self.updates.append({"update_id": update_id, kind: payload})
        for fut in self._update_waiters:
            if not fut.done():
                fut.set_result("update")
        self._update_waiters.clear()
        return update_id

    def set_allowed_updates(self, kinds: list[str] | None) -> None:
        """Like getUpdates' allowed_updates: remembered; [] means the default set."""
        self.allowed_updates = frozenset(kinds) if kinds else None
        self.updates = deque(u for u in self.updates if self._allowed(_update_kind(u)))

    def confirm_updates(self, offset: int | None) -> None:
        """getUpdates' offset: forget updates with a smaller id (negative: keep the last -offset)."""
        if offset is None or offset == 0:
            return
        if offset < 0:
            while len(self.updates) > -offset:
                self.updates.popleft()
            return
        while self.updates and self.updates[0]["update_id"] < offset:
            self.updates.popleft()

    def pending_updates(self, limit: int = 100) -> list[JSON]:
        return list(itertools.islice(self.updates, limit))

    async def wait_updates(
        self,
        timeout: float,  # noqa: ASYNC109 - a long poll's timeout is part of the Bot API
        fut: asyncio.Future[str] | None = None,
    ) -> str:
        """Wait until an update is queued: "update", "timeout" or whatever else resolved `fut`."""
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
        self._update_waiters.add(fut)
        try:
            done, _ = await asyncio.wait({fut}, timeout=timeout)
        finally:
            self._update_waiters.discard(fut)
        return fut.result() if done else "timeout"

    def wake_pollers(self, reason: str) -> None:
        for fut in self._update_waiters:
            if not fut.done():
                fut.set_result(reason)
        self._update_waiters.clear()

    # --- acting as a user --------------------------------------------------------------------------

    def _user_chat(self, user: UserRecord, chat_id: int | None) -> ChatRecord:
        if chat_id is None or chat_id == user.id:
            chat = self.chats[user.id]
            if user.blocked:
                raise SandboxError(f"user {user.id} blocked the bot; unblock() first")
            return chat
        chat = self.get_chat(chat_id)
        if chat.type == "private":
            raise SandboxError("users can only write to their own private chat with the bot")
        if user.id not in chat.members:
            raise SandboxError(f"user {user.id} is not a member of chat {chat_id}")
        return chat

    def user_message(
        self,
        user_id: int,
        chat_id: int | None = None,
        *,
        text: str = "",
        entities: list[Entity] | None = None,
        media: str | None = None,
        photo: tuple[JSON, ...] = (),
        attachment: JSON | None = None,
        reply_to: int | None = None,
    ) -> SentMessage:
        """A user sends a message: stored, shown as a `user_message` event, delivered as an update."""
        user = self.get_user(user_id)
        chat = self._user_chat(user, chat_id)
        if reply_to is not None and reply_to not in chat.messages:
            raise SandboxError(f"no message {reply_to} in chat {chat.id}")
        if chat.type == "private":
            user.started = True
        if entities is None:
            entities = find_entities(text)
        msg = SentMessage(
            chat_id=chat.id,
            message_id=self.next_message_id(chat),
            from_bot=False,
            sender_id=user.id,
            date=int(self.clock()),
            text=text,
            entities=tuple(entities),
            reply_to_message_id=reply_to,
            media=media,
            photo=photo,
            attachment=attachment,
        )
        if chat.reply_keyboard and chat.reply_keyboard.get("one_time_keyboard"):
            chat.reply_keyboard = None
        stored = self._store(chat, msg, "user_message")
        self.emit("user_message", chat.id, stored)
        if self._delivered_in_group(chat, msg):
            self.push_update("message", self.message_api(msg))
        return stored

    def _delivered_in_group(self, chat: ChatRecord, msg: SentMessage) -> bool:
        if chat.type == "private":
            return True
        if chat.bot_status not in ("member", "administrator"):
            return False
        if not self.group_privacy or chat.bot_status == "administrator":
            return True
        if msg.reply_to_message_id is not None:
            replied = chat.messages.get(msg.reply_to_message_id)
            if replied is not None and replied.from_bot:
                return True
        for e in msg.entities:
            if e.type == "bot_command" and e.offset == 0:
                command = msg.text[: e.length]
                return "@" not in command or command.split("@", 1)[1].lower() == BOT_USERNAME.lower()
        return False

    def user_contact(
        self,
        user_id: int,
        phone_number: str | None = None,
        *,
        contact_user_id: int | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        chat_id: int | None = None,
    ) -> SentMessage:
        """A user shares a contact: their own by default; `contact_user_id=0` for one without an account."""
        user = self.get_user(user_id)
        cid = user.id if contact_user_id is None else contact_user_id
        known = self.users.get(cid) if cid else None
        contact: JSON = {
            "phone_number": phone_number or f"+8491{user.id % 10_000_000:07d}",
            "first_name": first_name or (known.first_name if known else "Contact"),
        }
        last = last_name if last_name is not None else (known.last_name if known else None)
        if last:
            contact["last_name"] = last
        if cid:
            contact["user_id"] = cid
        return self.user_message(user_id, chat_id, media="contact", attachment=contact)

    def user_photo(
        self, user_id: int, chat_id: int | None = None, *, caption: str = "", data: bytes | None = None
    ) -> SentMessage:
        """A user sends a photo (a small generated PNG unless `data` is given)."""
        data = data if data is not None else tiny_png(64, 48)
        info = image_size(data)
        mime, width, height = info if info else ("image/jpeg", 64, 48)
        record = self.add_file(
            "photo", data, mime, width=width, height=height, extension=mime.rsplit("/", 1)[-1]
        )
        return self.user_message(
            user_id, chat_id, text=caption, media="photo", photo=self.photo_sizes(record)
        )

    def user_sticker(self, user_id: int, chat_id: int | None = None, *, emoji: str = "👍") -> SentMessage:
        data = b"RIFF\x1a\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00\xff\x01\x00\xff\x01\x00"
        record = self.add_file("sticker", data, "image/webp", width=512, height=512, extension="webp")
        sticker: JSON = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": record.size,
        }
        return self.user_message(user_id, chat_id, media="sticker", attachment=sticker)

    def user_voice(self, user_id: int, chat_id: int | None = None, *, duration: int = 3) -> SentMessage:
        data = b"OggS\x00\x02" + bytes(250)
        record = self.add_file("voice", data, "audio/ogg", extension="oga")
        voice: JSON = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": record.size,
        }
        return self.user_message(user_id, chat_id, media="voice", attachment=voice)

    def user_edit(self, user_id: int, chat_id: int, message_id: int, text: str) -> SentMessage:
        """A user edits one of their messages: an `edited_message` update."""
        chat = self.get_chat(chat_id)
        old = chat.messages.get(message_id)
        if old is None or old.from_bot or old.sender_id != user_id or old.deleted:
            raise SandboxError(f"user {user_id} has no message {message_id} in chat {chat_id}")
        new = replace(
            old,
            text=text,
            entities=tuple(find_entities(text)),
            edit_date=int(self.clock()),
            version=old.version + 1,
        )
        stored = self._store(chat, new, "edit")
        self.emit("edit", chat_id, stored)
        if self._delivered_in_group(chat, new):
            self.push_update("edited_message", self.message_api(new))
        return stored

    def press(
        self, user_id: int, chat_id: int, message_id: int, data: str, *, forge: bool = False
    ) -> CallbackQuery:
        """A user presses an inline button with `data` (checked to exist unless `forge`)."""
        user = self.get_user(user_id)
        chat = self._user_chat(user, chat_id)
        msg = chat.messages.get(message_id)
        if not forge:
            if msg is None or msg.deleted:
                raise SandboxError(f"no message {message_id} in chat {chat.id}")
            if not msg.from_bot:
                raise SandboxError("only the bot's messages carry inline buttons")
            if data not in msg.callback_data:
                raise SandboxError(f"message {message_id} has no button with callback_data {data!r}")
        query = CallbackQuery(
            id=str(next(self._ids) * 1_000_003 + 4_000_000_000_000),
            user_id=user.id,
            chat_id=chat.id,
            message_id=message_id,
            data=data,
            forged=forge,
        )
        self.callback_queries[query.id] = query
        payload: JSON = {
            "id": query.id,
            "from": user.to_api(),
            "chat_instance": str(-abs(chat.id) * 7 - 11),
            "data": data,
        }
        if msg is not None:
            payload["message"] = self.message_api(msg)
        self.emit(
            "callback_query",
            chat.id,
            data={"callback_query_id": query.id, "user_id": user.id, "message_id": message_id, "data": data},
        )
        self.push_update("callback_query", payload)
        return query

    def answer_callback(
        self, query: CallbackQuery, text: str | None, show_alert: bool, url: str | None, cache_time: int
    ) -> CallbackAnswer:
        answer = CallbackAnswer(
            callback_query_id=query.id,
            user_id=query.user_id,
            chat_id=query.chat_id,
            message_id=query.message_id,
            text=text,
            show_alert=show_alert,
            url=url,
            cache_time=cache_time,
            time=self.clock(),
        )
        query.answer = answer
        self.callback_answers.append(answer)
        self.emit("callback_answer", query.chat_id, data=answer.to_json())
        return answer

    def set_blocked(self, user_id: int, blocked: bool) -> None:
        """The user blocks (or unblocks) the bot: a `my_chat_member` update, kicked <-> member."""
        user = self.get_user(user_id)
        if user.blocked == blocked:
            return
        user.blocked = blocked
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        self._my_chat_member(self.chats[user_id], user.to_api(), old, new)

    def set_bot_status(self, chat_id: int, status: str, by_user: int) -> None:
        """Someone adds, removes or bans the bot in a group (a `my_chat_member` update)."""
        chat = self.get_chat(chat_id)
        if chat.type == "private":
            raise SandboxError("use block()/unblock() for private chats")
        old = chat.bot_status
        if old == status:
            return
        chat.bot_status = status
        by = dict(BOT_USER_API) if by_user == BOT_ID else self.get_user(by_user).to_api()
        self._my_chat_member(chat, by, old, status)

    def _my_chat_member(self, chat: ChatRecord, by: JSON, old: str, new: str) -> None:
        def member(status: str) -> JSON:
            out: JSON = {"user": dict(BOT_USER_API), "status": status}
            if status == "kicked":
                out["until_date"] = 0
            if status == "administrator":
                out.update(_ADMIN_RIGHTS)
            return out

        payload = {
            "chat": chat.to_api(),
            "from": by,
            "date": int(self.clock()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        self.emit("member", chat.id, data={"user_id": by["id"], "old_status": old, "status": new})
        self.push_update("my_chat_member", payload)

    # --- files -------------------------------------------------------------------------------------

    def add_file(
        self,
        kind: str,
        data: bytes | None,
        mime_type: str,
        *,
        width: int = 0,
        height: int = 0,
        url: str | None = None,
        extension: str = "bin",
    ) -> FileRecord:
        n = next(self._ids)
        prefix = {"photo": "AgAC", "sticker": "CAAC", "voice": "AwAC"}.get(kind, "BQAC")
        folder = {"photo": "photos", "sticker": "stickers", "voice": "voice"}.get(kind, "documents")
        record = FileRecord(
            file_id=f"{prefix}AgIAAxkBAAI{n:06d}SandboxFile",
            file_unique_id=f"AQAD{n:06d}",
            kind=kind,
            file_path=f"{folder}/file_{n}.{extension}",
            data=data,
            mime_type=mime_type,
            width=width,
            height=height,
            url=url,
        )
        self.files[record.file_id] = record
        self.files_by_path[record.file_path] = record
        return record

    def photo_sizes(self, record: FileRecord) -> tuple[JSON, ...]:
        """A PhotoSize array like Telegram's: thumbnails (same bytes, other file ids) and the original."""
        sizes: list[JSON] = []
        longest = max(record.width, record.height, 1)
        for side in (90, 320, 800):
            if side < longest:
                scale = side / longest
                thumb = self.add_file(
                    "photo", record.data, record.mime_type,
                    width=max(1, round(record.width * scale)), height=max(1, round(record.height * scale)),
                    url=record.url, extension=record.file_path.rsplit(".", 1)[-1],
                )  # fmt: skip
                sizes.append(_photo_size(thumb))
        sizes.append(_photo_size(record))
        return tuple(sizes)

    # --- faults and the call log -------------------------------------------------------------------

    def add_fault(self, rule: FaultRule) -> FaultRule:
        self.faults.append(rule)
        return rule

    def take_fault(self, method: str, chat_id: int | None) -> FaultRule | None:
        for rule in self.faults:
            if rule.matches(method, chat_id):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self.faults.remove(rule)
                return rule
        return None

    def record_call(self, method: str, chat_id: int | None, status: int, description: str | None) -> None:
        self.call_counts[method] += 1
        self.call_log.append(CallRecord(method, chat_id, status, description, time.monotonic(), self.clock()))

    def calls(self, method: str | None = None) -> list[CallRecord]:
        if method is None:
            return list(self.call_log)
        low = method.lower()
        return [c for c in self.call_log if c.method.lower() == low]

    # --- commands ----------------------------------------------------------------------------------

    def set_commands(self, scope: JSON, language: str, commands: list[JSON]) -> None:
        key = (scope_key(scope), language)
        if commands:
            self.commands[key] = commands
        else:
            self.commands.pop(key, None)
        self.emit("commands", None, data={"scope": scope, "language_code": language, "commands": commands})

    def get_commands(self, scope: JSON | None = None, language: str = "") -> list[JSON]:
        return list(self.commands.get((scope_key(scope or {"type": "default"}), language), []))

    # --- reset -------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget users, chats, messages, queued updates, faults and logs (ids keep counting up)."""
        self._init_state()
        self._history.clear()
        self.emit("reset", None)


def scope_key(scope: JSON) -> str:
    return json.dumps(scope, sort_keys=True)


def _update_kind(update: JSON) -> str:
    return next(k for k in update if k != "update_id")


def _photo_size(record: FileRecord) -> JSON:
    out: JSON = {
        "file_id": record.file_id,
        "file_unique_id": record.file_unique_id,
        "width": record.width,
        "height": record.height,
    }
    if record.data is not None:
        out["file_size"] = record.size
    return out


_ADMIN_RIGHTS: JSON = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": False,
    "can_restrict_members": False,
    "can_promote_members": False,
    "can_change_info": False,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
}


def admin_rights() -> JSON:
    """The rights a ChatMemberAdministrator object carries in the sandbox."""
    return dict(_ADMIN_RIGHTS)


def iter_log(chat: ChatRecord, start: int) -> Iterator[tuple[int, str, SentMessage]]:
    """(absolute index, kind, message) of a chat's log from `start` on."""
    first = max(start, chat.log_base)
    for k in range(first - chat.log_base, len(chat.log)):
        kind, msg = chat.log[k]
        yield chat.log_base + k, kind, msg
