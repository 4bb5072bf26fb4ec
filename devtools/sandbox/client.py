"""The driver API: run a sandbox, act as residents and officers, and watch what the bot does.

In-process (tests, `python -m bot run` without a token)::

    async with Sandbox() as sb:                      # serves http://127.0.0.1:<port>
        lan = sb.user(1001, "Lan", language_code="vi")
        # ... point the bot at sb.url + "/bot" (token: any "<digits>:<chars>", e.g. SANDBOX_TOKEN)
        reply = await lan.ask("/start")              # send, then wait for the bot's next message
        await lan.press(reply, "subscribe")
        edited = await sb.cursor(lan).next_edit(reply.message_id)

From another process (the terminal chat, a bot under test in a subprocess): `RemoteSandbox(url)`
speaks the HTTP control API (see `devtools.sandbox.server.ControlApi`).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncGenerator, Callable
from typing import Any

from devtools.sandbox.server import Handler, Request, Response, SandboxServer
from devtools.sandbox.world import (
    BOT_ID,
    JSON,
    CallbackAnswer,
    CallbackQuery,
    CallRecord,
    ChatAction,
    FaultRule,
    SandboxError,
    SentMessage,
    Subscription,
    UserRecord,
    World,
    iter_log,
)
from devtools.sandbox.zalo import ZaloStandIn

#: A token the sandbox accepts; its digits are the sandbox bot's id.
SANDBOX_TOKEN = f"{BOT_ID}:SANDBOX-local"

Predicate = Callable[[SentMessage], bool]


class Cursor:
    """A read position in one chat's history: wait for the bot's next message, edit or deletion.

    New messages and edits are read independently: `next()` does not skip edits and vice versa.
    Each call returns the message as it was at that moment (an immutable snapshot).
    """

    def __init__(self, world: World, chat_id: int, position: int) -> None:
        self._world = world
        self.chat_id = chat_id
        self._message_pos = position
        self._edit_pos = position
        self._delete_pos = position

    def _scan(self, start: int, kinds: tuple[str, ...], match: Predicate) -> tuple[int, SentMessage] | None:
        chat = self._world.chats.get(self.chat_id)
        if chat is None:
            return None
        for index, kind, msg in iter_log(chat, start):
            if kind in kinds and msg.from_bot and match(msg):
                return index, msg
        return None

    async def next(self, predicate: Predicate | None = None, timeout: float = 5.0) -> SentMessage:  # noqa: ASYNC109
        """The bot's next new message (matching `predicate`) after this cursor's position."""
        match = predicate or _always
        index, msg = await self._world.wait_until(
            lambda: self._scan(self._message_pos, ("message",), match), timeout
        )
        self._message_pos = index + 1
        return msg

    async def next_edit(
        self,
        message_id: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
        predicate: Predicate | None = None,
    ) -> SentMessage:
        """The bot's next edit (of `message_id`, if given): the message right after that edit."""
        match = predicate or _always

        def check() -> tuple[int, SentMessage] | None:
            return self._scan(
                self._edit_pos, ("edit",), lambda m: (message_id in (None, m.message_id)) and match(m)
            )

        index, msg = await self._world.wait_until(check, timeout)
        self._edit_pos = index + 1
        return msg

    async def next_delete(self, message_id: int | None = None, timeout: float = 5.0) -> SentMessage:  # noqa: ASYNC109
        """The next deletion (of `message_id`, if given) of a bot message."""
        index, msg = await self._world.wait_until(
            lambda: self._scan(self._delete_pos, ("delete",), lambda m: message_id in (None, m.message_id)),
            timeout,
        )
        self._delete_pos = index + 1
        return msg

    def new_messages(self) -> list[SentMessage]:
        """The bot's new messages since the cursor's position, without waiting (advances the cursor)."""
        chat = self._world.chats.get(self.chat_id)
        if chat is None:
            return []
        found = [
            (i, m) for i, kind, m in iter_log(chat, self._message_pos) if kind == "message" and m.from_bot
        ]
        if found:
            self._message_pos = found[-1][0] + 1
        return [m for _, m in found]


def _always(_: SentMessage) -> bool:
    return True


class SandboxUser:
    """A resident or officer. Actions are async (they may wait for the bot in the future)."""

    def __init__(self, sandbox: Sandbox, record: UserRecord) -> None:
        self.sandbox = sandbox
        self.record = record

    def __repr__(self) -> str:
        return f"SandboxUser({self.id}, {self.first_name!r})"

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def chat_id(self) -> int:
        """The private chat with the bot has the user's id."""
        return self.record.id

    @property
    def first_name(self) -> str:
        return self.record.first_name

    @property
    def username(self) -> str | None:
        return self.record.username

    @property
    def language_code(self) -> str | None:
        return self.record.language_code

    @property
    def blocked(self) -> bool:
        return self.record.blocked

    @property
    def reply_keyboard(self) -> JSON | None:
        """The reply keyboard the bot currently shows this user in the private chat."""
        return self.sandbox.world.chats[self.id].reply_keyboard

    def _world(self) -> World:
        return self.sandbox.world

    async def send(
        self, text: str, chat: ChatRef | None = None, *, reply_to: int | None = None
    ) -> SentMessage:
        """Send a text (entities for /commands, @mentions, ... are added as a Telegram client would)."""
        return self._world().user_message(self.id, _chat_id(chat), text=text, reply_to=reply_to)

    async def start(self, payload: str | None = None) -> SentMessage:
        """Press Start, or open a deep link t.me/<bot>?start=<payload>."""
        return await self.send(f"/start {payload}" if payload else "/start")

    async def reply_to(self, message: SentMessage, text: str) -> SentMessage:
        return self._world().user_message(self.id, message.chat_id, text=text, reply_to=message.message_id)

    async def edit(self, message: SentMessage, text: str) -> SentMessage:
        """Edit one of this user's messages (an `edited_message` update)."""
        return self._world().user_edit(self.id, message.chat_id, message.message_id, text)

    async def send_contact(
        self,
        phone_number: str | None = None,
        user_id: int | None = None,
        *,
        first_name: str | None = None,
        chat: ChatRef | None = None,
    ) -> SentMessage:
        """Share a contact: one's own (default), another user's (`user_id`), or `user_id=0` for a
        phone book entry without a Telegram account."""
        return self._world().user_contact(
            self.id, phone_number, contact_user_id=user_id, first_name=first_name, chat_id=_chat_id(chat)
        )

    async def send_photo(
        self, caption: str = "", chat: ChatRef | None = None, *, data: bytes | None = None
    ) -> SentMessage:
        return self._world().user_photo(self.id, _chat_id(chat), caption=caption, data=data)

    async def send_sticker(self, chat: ChatRef | None = None, *, emoji: str = "👍") -> SentMessage:
        return self._world().user_sticker(self.id, _chat_id(chat), emoji=emoji)

    async def send_voice(self, chat: ChatRef | None = None, *, duration: int = 3) -> SentMessage:
        return self._world().user_voice(self.id, _chat_id(chat), duration=duration)

    async def press(
        self,
        message: SentMessage | int,
        callback_data: str | None = None,
        *,
        text: str | None = None,
        forge: bool = False,
    ) -> CallbackQuery:
        """Press an inline button of a bot message, by `callback_data` or by button `text`.

        The button must exist on the message as it is now, unless `forge=True` (a malicious client
        sending arbitrary data). An int `message` means a message in this user's private chat.
        """
        chat_id, message_id = (
            (message.chat_id, message.message_id) if isinstance(message, SentMessage) else (self.id, message)
        )
        if callback_data is None:
            if text is None:
                raise SandboxError("press() needs callback_data or text")
            current = self._world().message(chat_id, message_id)
            buttons = current.buttons if current else []
            matches = [b for b in buttons if b.get("text") == text and "callback_data" in b]
            if not matches:
                raise SandboxError(f"message {message_id} has no callback button labelled {text!r}")
            callback_data = str(matches[0]["callback_data"])
        return self._world().press(self.id, chat_id, message_id, callback_data, forge=forge)

    async def block(self) -> None:
        """Block the bot: a my_chat_member update (member → kicked); sends to this user now get 403."""
        self._world().set_blocked(self.id, True)

    async def unblock(self) -> None:
        self._world().set_blocked(self.id, False)

    async def deactivate(self) -> None:
        """The account is deleted: sends get 403 "user is deactivated"."""
        self.record.deactivated = True

    async def ask(self, text: str, timeout: float = 5.0, chat: ChatRef | None = None) -> SentMessage:  # noqa: ASYNC109
        """Send `text` and return the bot's first message after it in that chat."""
        sent = await self.send(text, chat)
        return await self.sandbox.wait_for(sent.chat_id, timeout=timeout, after_message_id=sent.message_id)

    def messages(self) -> list[SentMessage]:
        """The bot's messages in the private chat, as they are now."""
        return self.sandbox.messages(self.id)

    def cursor(self) -> Cursor:
        return self.sandbox.cursor(self.id)


class SandboxGroup:
    """A group chat containing the bot."""

    def __init__(self, sandbox: Sandbox, chat_id: int) -> None:
        self.sandbox = sandbox
        self.id = chat_id

    def __repr__(self) -> str:
        return f"SandboxGroup({self.id}, {self.title!r})"

    @property
    def chat_id(self) -> int:
        return self.id

    @property
    def title(self) -> str:
        return self.sandbox.world.chats[self.id].title or ""

    @property
    def members(self) -> list[int]:
        return sorted(self.sandbox.world.chats[self.id].members)

    def add_member(self, user: SandboxUser, *, admin: bool = False) -> None:
        chat = self.sandbox.world.chats[self.id]
        chat.members[user.id] = user.record
        if admin:
            chat.admins.add(user.id)

    async def remove_bot(self, by: SandboxUser, *, ban: bool = True) -> None:
        """A member removes the bot (my_chat_member update; later sends get 403)."""
        self.sandbox.world.set_bot_status(self.id, "kicked" if ban else "left", by.id)

    async def add_bot(self, by: SandboxUser, *, admin: bool = False) -> None:
        self.sandbox.world.set_bot_status(self.id, "administrator" if admin else "member", by.id)

    def messages(self) -> list[SentMessage]:
        return self.sandbox.messages(self.id)

    def cursor(self) -> Cursor:
        return self.sandbox.cursor(self.id)


ChatRef = int | SandboxUser | SandboxGroup


def _chat_id(chat: ChatRef | None) -> int | None:
    if chat is None or isinstance(chat, int):
        return chat
    return chat.chat_id


class Sandbox:
    """A world plus its HTTP server. Use `async with Sandbox() as sb:` or `start()` / `stop()`.

    Options: `record_text=False` and `max_messages_per_chat` bound memory for benchmarks;
    `group_privacy=True` mimics Telegram's privacy mode in groups; `strict_html=False` lets a bare
    "&" through as Telegram's server does; `keepalive_interval` for SSE comments.
    """

    def __init__(
        self,
        *,
        record_text: bool = True,
        max_messages_per_chat: int | None = None,
        group_privacy: bool = False,
        strict_html: bool = True,
        call_log_size: int = 100_000,
        keepalive_interval: float = 15.0,
    ) -> None:
        self.world = World(
            record_text=record_text,
            max_messages_per_chat=max_messages_per_chat,
            group_privacy=group_privacy,
            call_log_size=call_log_size,
        )
        self.server = SandboxServer(
            self.world, strict_html=strict_html, keepalive_interval=keepalive_interval
        )
        # The Zalo Bot Platform stand-in on the same server: /zalo/bot<token>/<method>, /sandbox/zalo/...
        self.zalo = ZaloStandIn()
        self.server.add_route(None, "/zalo/", self.zalo.handle)
        self.server.add_route(None, "/sandbox/zalo/", self._zalo_control)
        self._running = False

    async def _zalo_control(self, request: Request) -> Response:
        """The Zalo stand-in's control API, with the same host/origin check as the Telegram one; POSTs must
        be JSON (a cross-site form cannot send that without a preflight, never granted)."""
        if not self.server.control.allowed_host(request):
            return Response.json({"ok": False, "description": "forbidden host or origin"}, 403)
        if request.method == "POST" and \
                request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return Response.json({"ok": False, "description": "send Content-Type: application/json"}, 415)
        return await self.zalo.handle_control(request)

    @property
    def zalo_url(self) -> str:
        """ZALO_API_URL for a bot using the stand-in."""
        return self.url + "/zalo"

    # --- lifecycle ---------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Sandbox:
        """Listen on host:port (port 0 picks a free one); see `url`."""
        if not self._running:
            await self.server.start(host, port)
            self._running = True
        return self

    async def stop(self) -> None:
        """End long polls and event streams, close connections, stop listening."""
        if self._running:
            self._running = False
            await self.zalo.close()
            await self.server.stop()

    async def __aenter__(self) -> Sandbox:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def wait_until_polling(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Return once the bot is polling: a getUpdates is waiting now, or the next one has arrived.

        Call it after starting a bot: the bot's polling connection is then established, so stopping
        the bot right away cannot catch its first request half-connected.
        """
        api = self.server.bot_api
        seen = api.polls_received
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not api.polling and api.polls_received == seen:
            if loop.time() > deadline:
                raise TimeoutError(f"the bot did not poll within {timeout:g} s")
            await asyncio.sleep(0.005)

    @property
    def url(self) -> str:
        """The server root, e.g. http://127.0.0.1:41234 (the bot's BOT_API_URL)."""
        return self.server.url

    @property
    def base_url(self) -> str:
        """For PTB's `ApplicationBuilder().base_url(...)`."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For PTB's `ApplicationBuilder().base_file_url(...)`."""
        return f"{self.url}/file/bot"

    def add_route(self, method: str | None, path_prefix: str, handler: Handler) -> None:
        """Serve more paths from the same server (the web chat); the longest matching prefix wins."""
        self.server.add_route(method, path_prefix, handler)

    # --- people ------------------------------------------------------------------------------------

    def user(
        self,
        id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
        *,
        started: bool = True,
    ) -> SandboxUser:
        """Create (or update) a user. `started=False`: the user never opened the bot, so the bot cannot
        write to them (403) until they send something."""
        record = self.world.add_user(id, first_name, last_name, username, language_code, started=started)
        return SandboxUser(self, record)

    def get_user(self, user_id: int) -> SandboxUser:
        return SandboxUser(self, self.world.get_user(user_id))

    def group(
        self,
        chat_id: int,
        title: str,
        members: list[SandboxUser] | tuple[SandboxUser, ...] = (),
        *,
        admins: list[SandboxUser] | tuple[SandboxUser, ...] = (),
        bot_is_admin: bool = False,
    ) -> SandboxGroup:
        """Create a group (negative id; <= -10**12 makes a supergroup) with the bot as a member."""
        ids = [u.id for u in (*members, *admins)]
        self.world.add_group(chat_id, title, ids, admins=[u.id for u in admins], bot_is_admin=bot_is_admin)
        return SandboxGroup(self, chat_id)

    # --- what the bot did --------------------------------------------------------------------------

    def messages(
        self, chat: ChatRef, *, include_user: bool = False, include_deleted: bool = True
    ) -> list[SentMessage]:
        """A chat's messages as they are now (bot messages only unless `include_user`)."""
        return self.world.messages(
            _required(chat), include_user=include_user, include_deleted=include_deleted
        )

    def message(self, chat: ChatRef, message_id: int) -> SentMessage:
        msg = self.world.message(_required(chat), message_id)
        if msg is None:
            raise SandboxError(f"no message {message_id} in chat {_required(chat)}")
        return msg

    def last_message(self, chat: ChatRef) -> SentMessage | None:
        """The bot's latest message in the chat (None if it sent none)."""
        chat_record = self.world.chats.get(_required(chat))
        if chat_record is None:
            return None
        for msg in reversed(chat_record.messages.values()):
            if msg.from_bot:
                return msg
        return None

    def cursor(self, chat: ChatRef, *, after_message_id: int | None = None) -> Cursor:
        """A cursor at the chat's present (or just after message `after_message_id` was sent)."""
        chat_id = _required(chat)
        record = self.world.get_chat(chat_id)
        position = record.log_end
        if after_message_id is not None:
            position = record.log_base
            for index in range(len(record.log) - 1, -1, -1):
                kind, msg = record.log[index]
                if msg.message_id == after_message_id and kind in ("message", "user_message"):
                    position = record.log_base + index + 1
                    break
        return Cursor(self.world, chat_id, position)

    async def wait_for(
        self,
        chat: ChatRef,
        predicate: Predicate | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        after_message_id: int | None = None,
    ) -> SentMessage:
        """The bot's next new message in the chat from now (or after message `after_message_id`).

        Raises TimeoutError when none arrives in time.
        """
        return await self.cursor(chat, after_message_id=after_message_id).next(predicate, timeout)

    async def wait_for_answer(self, query: CallbackQuery | str, timeout: float = 5.0) -> CallbackAnswer:  # noqa: ASYNC109
        """The bot's answerCallbackQuery for a press."""
        query_id = query.id if isinstance(query, CallbackQuery) else query
        record = self.world.callback_queries.get(query_id)
        if record is None:
            raise SandboxError(f"no callback query {query_id}")
        return await self.world.wait_until(lambda: record.answer, timeout)

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        return self.world.callback_answers

    @property
    def chat_actions(self) -> list[ChatAction]:
        return list(self.world.chat_actions)

    def commands(self, scope: JSON | None = None, language: str = "") -> list[JSON]:
        """The command list set for exactly this scope (default scope if None) and language_code."""
        return self.world.get_commands(scope, language)

    # --- faults and counters -----------------------------------------------------------------------

    def simulate_flood(
        self, retry_after: int = 1, count: int = 3, chat_id: int | None = None, method: str | None = None
    ) -> FaultRule:
        """The next `count` matching calls answer 429 "Too Many Requests: retry after N".

        `method=None` matches any call that targets a chat (sendMessage, editMessageText, ...).
        """
        return self.world.add_fault(
            FaultRule(
                429, f"Too Many Requests: retry after {retry_after}", count, chat_id, method, retry_after
            )
        )

    def simulate_error(
        self,
        status: int,
        description: str,
        count: int = 1,
        chat_id: int | None = None,
        method: str | None = None,
    ) -> FaultRule:
        """The next `count` matching calls answer `status` with `description` (e.g. 502 "Bad Gateway")."""
        return self.world.add_fault(FaultRule(status, description, count, chat_id, method))

    def simulate_slow(
        self, seconds: float = 6.0, count: int = 1, chat_id: int | None = None, method: str | None = None
    ) -> FaultRule:
        """The next `count` matching calls are carried out but answered `seconds` late (a slow Bot API)."""
        return self.world.add_fault(FaultRule(200, "slow", count, chat_id, method, delay=seconds))

    def clear_faults(self) -> None:
        self.world.faults.clear()

    def calls(self, method: str | None = None) -> list[CallRecord]:
        """Recent Bot API calls (all, or of one method), oldest first, with times and statuses."""
        return self.world.calls(method)

    def call_count(self, method: str) -> int:
        return self.world.call_counts[method]

    @property
    def sent_count(self) -> int:
        """Messages the bot sent successfully (sendMessage, sendPhoto, copy/forward)."""
        return self.world.sent_count

    def max_rate(self, method: str = "sendMessage", window: float = 1.0, chat_id: int | None = None) -> int:
        """The most successful `method` calls seen within any `window` seconds (rate-limit checks)."""
        times = [
            c.time
            for c in self.world.calls(method)
            if c.status == 200 and (chat_id is None or c.chat_id == chat_id)
        ]
        best = 0
        recent: deque[float] = deque()
        for t in times:
            recent.append(t)
            while recent[0] <= t - window:
                recent.popleft()
            best = max(best, len(recent))
        return best

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by the bot."""
        return len(self.world.updates)

    # --- events ------------------------------------------------------------------------------------

    def subscribe(self, chat: ChatRef | None = None, *, maxsize: int = 10_000) -> Subscription:
        """Events from now on (`async for event in sb.subscribe(): ...`); close() when done."""
        return self.world.subscribe(_chat_id(chat), maxsize=maxsize)

    def reset(self) -> None:
        """Forget everything (users, chats, updates, faults, logs); the server keeps running."""
        self.world.reset()


def _required(chat: ChatRef) -> int:
    chat_id = _chat_id(chat)
    assert chat_id is not None
    return chat_id


class RemoteSandbox:
    """The control API of a sandbox running in another process (uses httpx, which PTB brings)."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        self._client = httpx.AsyncClient(base_url=self.url, timeout=timeout)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> RemoteSandbox:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _post(self, endpoint: str, **body: Any) -> Any:
        data = {k: v for k, v in body.items() if v is not None}
        response = await self._client.post(f"/sandbox/{endpoint}", json=data)
        return self._result(response.json())

    async def _get(self, endpoint: str, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        response = await self._client.get(f"/sandbox/{endpoint}", params=query)
        return self._result(response.json())

    @staticmethod
    def _result(payload: JSON) -> Any:
        if not payload.get("ok"):
            raise SandboxError(str(payload.get("error") or payload))
        return payload["result"]

    async def state(self) -> JSON:
        return dict(await self._get("state"))

    async def user(
        self,
        id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
    ) -> JSON:
        body = {"id": id, "first_name": first_name, "last_name": last_name, "username": username}
        return dict(await self._post("users", language_code=language_code, **body))

    async def send(self, user_id: int, text: str, chat_id: int | None = None) -> JSON:
        return dict(await self._post("send", user_id=user_id, text=text, chat_id=chat_id))

    async def press(self, user_id: int, message_id: int, data: str, chat_id: int | None = None) -> str:
        result = await self._post("press", user_id=user_id, chat_id=chat_id, message_id=message_id, data=data)
        return str(result["callback_query_id"])

    async def send_contact(self, user_id: int, phone_number: str | None = None) -> JSON:
        return dict(await self._post("contact", user_id=user_id, phone_number=phone_number))

    async def send_photo(self, user_id: int, caption: str = "") -> JSON:
        return dict(await self._post("photo", user_id=user_id, caption=caption))

    async def block(self, user_id: int, blocked: bool = True) -> None:
        await self._post("block", user_id=user_id, blocked=blocked)

    async def flood(self, retry_after: int = 1, count: int = 1, chat_id: int | None = None) -> None:
        await self._post("flood", retry_after=retry_after, count=count, chat_id=chat_id)

    async def messages(self, chat_id: int, *, after: int = 0, include_user: bool = False) -> list[JSON]:
        return list(await self._get("messages", chat_id=chat_id, after=after, include_user=int(include_user)))

    async def reset(self) -> None:
        await self._post("reset")

    async def events(
        self, chat_id: int | None = None, *, since: int | None = None
    ) -> AsyncGenerator[JSON, None]:
        """Server-Sent Events as dicts, until the server goes away.

        `since`: first replay the recent events with a larger `seq` (0: all the server still holds).
        """
        params: dict[str, int] = {}
        if chat_id is not None:
            params["chat_id"] = chat_id
        if since is not None:
            params["since"] = since
        async with self._client.stream("GET", "/sandbox/events", params=params, timeout=None) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    yield json.loads(line[len("data: ") :])
