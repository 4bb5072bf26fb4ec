"""A local stand-in for the Zalo Bot Platform API, mounted on the sandbox's HTTP server under /zalo.

Faithful to what ../shared/zalo.md says of the real one (nothing here was compared with a live server):
- calls `/zalo/bot<token>/<method>`, JSON, form or query parameters; a token not shaped
  `<digits>:<chars>` answers HTTP 200 with `ok: false, error_code: 401` (errors often come as HTTP 200);
- `getUpdates` hands out ONE update per call as `result` (no update_id, no offset); when nothing comes
  within `timeout` seconds (a string) it answers `ok: false`, "Request timeout" (HTTP 200, or 408 when
  `idle_status` says so); it refuses while a webhook is set;
- `sendMessage` takes 1–2,000 characters of text (more: `ok: false, 400`), `sendPhoto` an image URL and a
  caption, `sendChatAction`, `sendSticker`, `getMe`, `setWebhook` (`secret_token` 8–256 characters,
  required), `deleteWebhook`, `getWebhookInfo`; anything else (editMessageText, answerCallbackQuery,
  sendDocument, setMyCommands…) is HTTP 404 — Zalo has no buttons, edits, files or command menus;
- ids are hex strings; dates are milliseconds; a user who blocked the bot makes sends fail with 403;
- with a webhook set, updates are POSTed to it with the `X-Bot-Api-Secret-Token` header;
- faults (429 with or without retry_after, 5xx, slow answers) are injected with `add_fault`.

Tests and the web chat act as Zalo users through `ZaloUser` (in-process) or `/sandbox/zalo/...` (HTTP).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from devtools.sandbox.server import Request, Response

log = logging.getLogger(__name__)

ZALO_TOKEN = "1234567890:sandbox-zalo-token-not-secret"
TOKEN = re.compile(r"^\d+:[\w-]+$")
BOT_ID = "5a1b0c2d3e4f5061"
TEXT_LIMIT = 2000
METHODS = {"getme", "getupdates", "sendmessage", "sendphoto", "sendsticker", "sendchataction", "setwebhook",
           "deletewebhook", "getwebhookinfo"}


@dataclass
class ZaloMessage:
    chat_id: str
    message_id: str
    from_bot: bool
    text: str = ""
    photo: str = ""
    kind: str = "text"  # text | image | sticker | unsupported
    date: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"chat_id": self.chat_id, "message_id": self.message_id, "from_bot": self.from_bot,
                "text": self.text, "photo": self.photo, "kind": self.kind, "date": self.date}


@dataclass
class Fault:
    method: str
    code: int
    description: str
    times: int
    http_status: int = 200
    retry_after: int | None = None
    delay: float = 0.0
    chat: str | None = None


@dataclass
class ZaloCall:
    method: str
    params: dict[str, Any]
    at: float


@dataclass
class ZaloUser:
    stand_in: ZaloStandIn
    id: str
    name: str
    blocked: bool = False
    sent: list[ZaloMessage] = field(default_factory=list)

    async def send(self, text: str) -> ZaloMessage:
        return self.stand_in.user_says(self, "message.text.received", text=text)

    async def send_image(self, url: str = "https://example.invalid/a.jpg", caption: str = "") -> ZaloMessage:
        return self.stand_in.user_says(self, "message.image.received", photo=url, text=caption)

    async def send_sticker(self) -> ZaloMessage:
        return self.stand_in.user_says(self, "message.sticker.received")

    async def send_unsupported(self) -> ZaloMessage:
        return self.stand_in.user_says(self, "message.unsupported.received")

    def messages(self) -> list[ZaloMessage]:
        """What the bot sent this user, oldest first."""
        return [m for m in self.stand_in.chats.get(self.id, []) if m.from_bot]

    def texts(self) -> list[str]:
        return [m.text for m in self.messages()]

    def block(self) -> None:
        self.blocked = True


class ZaloStandIn:
    def __init__(self, idle_status: int = 200) -> None:
        self.idle_status = idle_status
        self.users: dict[str, ZaloUser] = {}
        self.chats: dict[str, list[ZaloMessage]] = {}
        self.updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.calls: list[ZaloCall] = []
        self.faults: list[Fault] = []
        self.webhook_url = ""
        self.webhook_secret = ""
        self.polls = 0
        self.listeners: list[Callable[[ZaloMessage], None]] = []
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._http: httpx.AsyncClient | None = None

    # --- users -------------------------------------------------------------------------------------

    def user(self, user_id: str | None = None, name: str = "Người dân") -> ZaloUser:
        """A Zalo user (created when new). Ids are hex strings, as Zalo's."""
        uid = user_id or secrets.token_hex(8)
        if uid not in self.users:
            self.users[uid] = ZaloUser(self, uid, name)
        return self.users[uid]

    def _new_id(self) -> str:
        return f"{next(self._ids):06x}{secrets.token_hex(5)}"

    def user_says(self, user: ZaloUser, event_name: str, text: str = "", photo: str = "") -> ZaloMessage:
        kind = event_name.split(".")[1] if event_name.count(".") >= 2 else "unsupported"
        message = ZaloMessage(user.id, self._new_id(), False, text, photo, kind, int(time.time() * 1000))
        self._record(message)
        body: dict[str, Any] = {
            "from": {"id": user.id, "display_name": user.name, "is_bot": False},
            "chat": {"id": user.id, "chat_type": "PRIVATE"},
            "message_id": message.message_id, "date": message.date}
        if kind == "text":
            body["text"] = text
        if kind == "image":
            body["photo"] = photo
            if text:
                body["caption"] = text
        self.push({"event_name": event_name, "message": body})
        return message

    def push(self, update: dict[str, Any]) -> None:
        """Queue an update for the next getUpdates, or POST it to the webhook when one is set."""
        if self.webhook_url:
            task = asyncio.get_running_loop().create_task(self._post_webhook(update))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            self.updates.put_nowait(update)

    async def _post_webhook(self, update: dict[str, Any]) -> None:
        self._http = self._http or httpx.AsyncClient(timeout=5.0)
        try:
            await self._http.post(self.webhook_url, json=update,
                                  headers={"X-Bot-Api-Secret-Token": self.webhook_secret})
        except httpx.HTTPError as exc:
            log.info("zalo stand-in: webhook POST failed: %s", exc)

    def _record(self, message: ZaloMessage) -> None:
        self.chats.setdefault(message.chat_id, []).append(message)
        for listener in list(self.listeners):
            listener(message)

    # --- faults ------------------------------------------------------------------------------------

    def add_fault(self, method: str, code: int, description: str = "", times: int = 1, *, http_status: int = 200,
                  retry_after: int | None = None, delay: float = 0.0, chat: str | None = None) -> None:
        """The next `times` calls of `method` (or "*") fail with `code` (or answer after `delay` s)."""
        self.faults.append(Fault(method.lower(), code, description or _reason(code), times, http_status,
                                 retry_after, delay, chat))

    def _fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        for fault in self.faults:
            if fault.method in (method, "*") and fault.times > 0 and \
                    (fault.chat is None or str(params.get("chat_id")) == fault.chat):
                fault.times -= 1
                return fault
        return None

    # --- the API -----------------------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        path = request.path.removeprefix("/zalo")
        match = re.fullmatch(r"/bot([^/]+)/(\w+)", path)
        if match is None:
            return Response.json({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        token, method = match.group(1), match.group(2).lower()
        if method not in METHODS:
            return Response.json({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        if not TOKEN.match(token):
            return Response.json({"ok": False, "error_code": 401, "description": "Unauthorized"})
        try:
            params, _files = request.form()
        except ValueError:
            return _error(400, "Bad Request: invalid body")
        self.calls.append(ZaloCall(method, params, time.monotonic()))
        fault = self._fault(method, params) if method != "getupdates" or self.faults else None
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.code:
                body: dict[str, Any] = {"ok": False, "error_code": fault.code, "description": fault.description}
                if fault.retry_after is not None:
                    body["parameters"] = {"retry_after": fault.retry_after}
                return Response.json(body, fault.http_status)
        handler = getattr(self, f"api_{method}")
        try:
            result = await handler(params)
        except ZaloApiError as exc:
            return _error(exc.code, exc.description, exc.http_status)
        return Response.json({"ok": True, "result": result})

    async def api_getme(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"id": BOT_ID, "account_name": "bot.xa.sandbox", "account_type": "BASIC", "can_join_groups": False,
                "display_name": "Bot thông tin của xã"}

    async def api_getupdates(self, p: dict[str, Any]) -> dict[str, Any]:
        if self.webhook_url:
            raise ZaloApiError(400, "Bad Request: getUpdates is not available while a webhook is set")
        try:
            wait = max(0.0, min(float(str(p.get("timeout") or "30")), 60.0))
        except ValueError:
            wait = 30.0
        self.polls += 1
        try:
            return await asyncio.wait_for(self.updates.get(), wait)
        except TimeoutError:
            raise ZaloApiError(408, "Request timeout", self.idle_status) from None

    def _chat(self, p: dict[str, Any]) -> str:
        chat = str(p.get("chat_id") or "")
        if not chat:
            raise ZaloApiError(400, "Bad Request: chat_id is required")
        user = self.users.get(chat)
        if user is None:
            raise ZaloApiError(400, "Bad Request: chat not found")
        if user.blocked:
            raise ZaloApiError(403, "Forbidden: the user blocked the bot")
        return chat

    def _bot_says(self, chat: str, text: str = "", photo: str = "", kind: str = "text") -> dict[str, Any]:
        message = ZaloMessage(chat, self._new_id(), True, text, photo, kind, int(time.time() * 1000))
        self._record(message)
        return {"message_id": message.message_id, "date": message.date}

    async def api_sendmessage(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(p)
        text = p.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ZaloApiError(400, "Bad Request: text is empty")
        if len(text) > TEXT_LIMIT:
            raise ZaloApiError(400, f"Bad Request: text is too long (max {TEXT_LIMIT} characters)")
        if p.get("parse_mode") not in (None, "", "markdown", "html"):
            raise ZaloApiError(400, "Bad Request: unsupported parse_mode")
        return self._bot_says(chat, text)

    async def api_sendphoto(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(p)
        photo = str(p.get("photo") or "")
        if not photo.startswith(("http://", "https://")):
            raise ZaloApiError(400, "Bad Request: photo must be an image URL")
        caption = str(p.get("caption") or "")
        if len(caption) > TEXT_LIMIT:
            raise ZaloApiError(400, "Bad Request: caption is too long")
        return self._bot_says(chat, caption, photo, "image")

    async def api_sendsticker(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._bot_says(self._chat(p), "", "", "sticker")

    async def api_sendchataction(self, p: dict[str, Any]) -> bool:
        self._chat(p)
        return True

    async def api_setwebhook(self, p: dict[str, Any]) -> dict[str, Any]:
        url, secret = str(p.get("url") or ""), str(p.get("secret_token") or "")
        if not url.startswith(("https://", "http://")):
            raise ZaloApiError(400, "Bad Request: url is invalid")
        if not 8 <= len(secret) <= 256:
            raise ZaloApiError(400, "Bad Request: secret_token must have 8-256 characters")
        self.webhook_url, self.webhook_secret = url, secret
        return {"url": url, "updated_at": int(time.time() * 1000)}

    async def api_deletewebhook(self, p: dict[str, Any]) -> dict[str, Any]:
        self.webhook_url = self.webhook_secret = ""
        return {"url": ""}

    async def api_getwebhookinfo(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.webhook_url, "updated_at": 0}

    # --- control (the web chat, a bot in another process) -------------------------------------------

    async def handle_control(self, request: Request) -> Response:
        """`POST /sandbox/zalo/send {user, name, text}` · `GET /sandbox/zalo/messages?user=&after=`."""
        action = request.path.removeprefix("/sandbox/zalo/")
        try:
            data = request.json() if request.method == "POST" else dict(request.query)
        except ValueError:
            return _error(400, "invalid JSON", 400)
        uid = str(data.get("user") or "")
        if not uid:
            return _error(400, "user is required", 400)
        user = self.user(uid, str(data.get("name") or "Người dân"))
        if action == "send":
            kind = str(data.get("kind") or "text")
            if kind == "sticker":
                message = await user.send_sticker()
            elif kind == "image":
                message = await user.send_image()
            else:
                message = await user.send(str(data.get("text") or "")[:4000])
            return Response.json({"ok": True, "result": message.to_json()})
        if action == "messages":
            after = int(str(data.get("after") or "0") or 0)
            rows = self.chats.get(uid, [])[after:]
            return Response.json({"ok": True, "result": {"messages": [m.to_json() for m in rows],
                                                         "next": after + len(rows)}})
        return _error(404, "Not Found", 404)

    def reset(self) -> None:
        self.users.clear()
        self.chats.clear()
        self.calls.clear()
        self.faults.clear()
        while not self.updates.empty():
            self.updates.get_nowait()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._http is not None:
            with contextlib.suppress(Exception):
                await self._http.aclose()
            self._http = None


class ZaloApiError(Exception):
    def __init__(self, code: int, description: str, http_status: int = 200) -> None:
        super().__init__(description)
        self.code, self.description, self.http_status = code, description, http_status


def _error(code: int, description: str, http_status: int = 200) -> Response:
    return Response.json({"ok": False, "error_code": code, "description": description}, http_status)


def _reason(code: int) -> str:
    return {429: "Too Many Requests: quota exceeded", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 401: "Unauthorized", 403: "Forbidden"}.get(code, f"Error {code}")


__all__ = ["ZALO_TOKEN", "ZaloMessage", "ZaloStandIn", "ZaloUser", "json"]
