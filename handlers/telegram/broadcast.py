"""Telegram side of the campaign engine: the `SendPort`, and the rate limiter that lets the engine see flood
control itself.

Text announcements — nearly all of a broadcast — skip PTB's objects: `deliver` POSTs a JSON body built once
per (text, language) but for the chat id to `<base_url><token>/sendMessage` over dedicated keep-alive
httpx connections, and reads only ok / error_code / description / parameters.retry_after from the answer (PTB's
request + Message building cost most of the ~1 ms of CPU per message; this path about a third of it). The
request is exactly what PTB sends: HTML parse mode, the "Dừng nhận tin" button, link previews off. Each
send still takes a slot of the application's `AIORateLimiter` (and waits while PTB waits out a 429), so
broadcasts and replies stay within the same overall budget. Photo announcements, the preview, and editors'
reports go through PTB.

Errors map to the engine's as PTB's would: 429 → RetryLater(retry_after), 403 (blocked, deactivated,
kicked) → Blocked, anything else (other API errors, network errors, timeouts) → SendFailed, retried by the
engine. The URL contains the token: it is never logged (httpx's own logger stays at WARNING, bot/logs.py).
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable
from typing import Any, cast

import httpx
from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.campaigns.engine import Blocked, Broadcast, MaybeSent, RetryLater, SendFailed, Unavailable
from handlers.telegram.ratelimit import RateLimiter, retry_seconds
from storage.campaigns import Recipient

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# Broadcast sends ask the rate limiter for no retry: the engine waits out a 429 itself, for every campaign.
NO_RETRY = {"max_retries": 0, "bulk": True}


def chat_of(chat: str | int) -> int | str:
    """A chat id as the Bot API takes it: digits as a number, anything else as given."""
    text = str(chat)
    return int(text) if text.lstrip("-").isdigit() else text


Markup = Callable[[str], InlineKeyboardMarkup | None]

# 5 s to connect and write, 1 s to get a connection from the pool; the read timeout is the settings'
# send_timeout (a send with no answer may have arrived: better wait for a slow answer than send twice).
# Sends in flight are bounded by the engine (≤ its window, 100); keep that many connections alive.
LIMITS = httpx.Limits(max_connections=128, max_keepalive_connections=128)
JSON_HEADERS = {"content-type": "application/json"}


def api_message(description: str) -> str:
    """An API error's description as PTB's TelegramError words it ("Bad Request: chat not found" → "Chat
    not found"), so reasons kept for failed deliveries read the same as before."""
    msg = description.removeprefix("Error: ").removeprefix("[Error]: ").removeprefix("Bad Request: ")
    return msg.capitalize() if msg != description else msg


class TelegramPort:
    """Sends announcements and editors' reports through the app's bot (and its rate limiter)."""

    def __init__(self, bot: ExtBot[Any], markup: Markup, send_timeout: float = 20.0) -> None:
        self.bot = bot
        self._timeout = httpx.Timeout(5.0, read=send_timeout, pool=1.0)
        self._extensions = {"timeout": self._timeout.as_dict()}
        self.markup = markup  # the buttons under an announcement, per language ("Dừng nhận tin")
        self._pool: httpx.AsyncHTTPTransport | httpx.AsyncClient | None = None  # broadcast texts; lazily
        self._url = httpx.URL(f"{bot.base_url}/sendMessage")  # contains the token: never log it
        self._bodies: dict[tuple[str, str], bytes] = {}  # (html, language) → the JSON after "chat_id"

    async def send(self, chat_id: int | str, message: Broadcast, language: str, **extra: Any) -> Message:
        """Send an announcement exactly as residents get it (also used for the editor's preview)."""
        bot = cast(Any, self.bot)  # ExtBot[None] is typed without rate_limit_args
        markup = self.markup(language)
        if message.photo:
            sent: Message = await bot.send_photo(chat_id, message.photo, caption=message.html or None,
                                                 parse_mode=ParseMode.HTML, reply_markup=markup, **extra)
            return sent
        sent = await bot.send_message(chat_id, message.html, parse_mode=ParseMode.HTML, reply_markup=markup,
                                      link_preview_options=NO_PREVIEW, **extra)
        return sent

    def _body_tail(self, html: str, language: str) -> bytes:
        """Everything of a sendMessage body but the chat id — built once per run and language."""
        key = (html, language)
        tail = self._bodies.get(key)
        if tail is None:
            markup = self.markup(language)
            fields: dict[str, Any] = {"text": html, "parse_mode": ParseMode.HTML.value}
            if markup is not None:
                fields["reply_markup"] = markup.to_dict()
            fields["link_preview_options"] = NO_PREVIEW.to_dict()
            encoded = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
            tail = ("," + encoded[1:]).encode("utf-8")
            if len(self._bodies) >= 16:
                self._bodies.clear()
            self._bodies[key] = tail
        return tail

    async def deliver(self, recipient: Recipient, message: Broadcast) -> None:
        if not message.photo:
            await self._deliver_text(recipient, message.html)
            return
        extra = {"rate_limit_args": NO_RETRY} if self.bot.rate_limiter is not None else {}
        try:
            await self.send(chat_of(recipient.chat_id), message, recipient.language, **extra)
        except RetryAfter as exc:
            raise RetryLater(retry_seconds(exc)) from exc
        except Forbidden as exc:
            raise Blocked(exc.message) from exc
        except TelegramError as exc:
            raise SendFailed(exc.message) from exc

    def _open(self) -> httpx.AsyncHTTPTransport | httpx.AsyncClient:
        """The broadcast connection pool: a bare httpx transport (a quarter less CPU per request than a
        client's auth/redirect/cookie layers), or a full client when the environment sets a proxy for the
        API's scheme (PTB's client honours such proxies; so does this)."""
        proxies = urllib.request.getproxies()
        if (self._url.scheme in proxies or "all" in proxies) and not urllib.request.proxy_bypass(self._url.host):
            return httpx.AsyncClient(timeout=self._timeout, limits=LIMITS)
        return httpx.AsyncHTTPTransport(limits=LIMITS)

    async def _post(self, body: bytes) -> tuple[int, bytes]:
        pool = self._pool
        if pool is None:
            pool = self._pool = self._open()
        if isinstance(pool, httpx.AsyncClient):
            answer = await pool.post(self._url, content=body, headers=JSON_HEADERS)
            return answer.status_code, answer.content
        request = httpx.Request("POST", self._url, headers=JSON_HEADERS, content=body,
                                extensions=self._extensions)
        response = await pool.handle_async_request(request)
        try:
            return response.status_code, await response.aread()
        finally:
            await response.aclose()

    async def _deliver_text(self, recipient: Recipient, html: str) -> None:
        chat = recipient.chat_id
        head = chat.encode() if chat.lstrip("-").isdigit() else json.dumps(chat).encode()
        body = b'{"chat_id":%s%s' % (head, self._body_tail(html, recipient.language))
        limiter = self.bot.rate_limiter
        if isinstance(limiter, RateLimiter):
            await limiter.admit()
        try:
            status, content = await self._post(body)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:  # never went out
            raise Unavailable(f"{type(exc).__name__}: {exc}".replace(self.bot.token, "<token>")) from exc
        except httpx.HTTPError as exc:  # went out, no answer: it may have arrived
            raise MaybeSent(f"{type(exc).__name__}: {exc}".replace(self.bot.token, "<token>")) from exc
        try:
            answer = json.loads(content)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise (Unavailable if status >= 500 else SendFailed)(f"unreadable answer (HTTP {status})")
        if answer.get("ok") is True:
            return
        code = answer.get("error_code") or status
        description = api_message(str(answer.get("description") or f"HTTP {code}"))
        parameters = answer.get("parameters")
        retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
        if retry_after or code == 429:
            if isinstance(limiter, RateLimiter):
                limiter.pause_bulk(float(retry_after or 1))
            raise RetryLater(float(retry_after or 1))
        if code == 403:
            raise Blocked(description)
        if isinstance(code, int) and code >= 500:
            raise Unavailable(description)
        raise SendFailed(description)

    async def release(self) -> None:
        """Close the broadcast connections (the engine calls this when no run is being delivered)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.aclose()

    async def notify(self, chat_id: str, html: str) -> str | None:
        try:
            sent = await self.bot.send_message(chat_of(chat_id), html, parse_mode=ParseMode.HTML,
                                               link_preview_options=NO_PREVIEW)
        except TelegramError as exc:
            log.warning("could not send a campaign report to chat %s: %s", chat_id, exc)
            return None
        return str(sent.message_id)

    async def edit(self, chat_id: str, message_id: str, html: str) -> None:
        try:
            await self.bot.edit_message_text(html, chat_id=chat_of(chat_id), message_id=int(message_id),
                                             parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW)
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                log.warning("could not update a campaign report: %s", exc)
        except TelegramError as exc:
            log.warning("could not update a campaign report: %s", exc)
