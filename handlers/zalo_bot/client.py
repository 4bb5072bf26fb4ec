"""A thin async client for the Zalo Bot API over httpx: `{api_url}/bot{token}/{method}`, JSON bodies.

Zalo answers like Telegram (`{ok, result, description, error_code}`) but often with HTTP 200 on errors,
so `ok` is read on every answer. An idle `getUpdates` answers "Request timeout" (HTTP 200 or 408): that
is "no update", not an error. Temporary trouble — 429, 5xx, network errors, timeouts — is retried with
backoff a few times and then raised as `ZaloRetry`; 400/401/403/404 (and other refusals) are raised at
once as `ZaloRefused`. The token is part of every URL: it is redacted from every message this module
produces, and httpx's own request log stays at WARNING (bot/logs.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx

log = logging.getLogger(__name__)

LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=32)


class ZaloError(Exception):
    """An API call failed. `code` is Zalo's error_code (or the HTTP status), 0 for network errors."""

    retry = False

    def __init__(self, code: int, description: str, retry_after: float = 0.0) -> None:
        super().__init__(f"{code}: {description}" if code else description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


class ZaloRetry(ZaloError):
    """Temporary: quota (429), server error (5xx), network trouble or a timeout. Worth trying later."""

    retry = True


class ZaloRefused(ZaloError):
    """The request itself was refused (bad request, bad token, forbidden, unknown method or chat)."""


def is_idle(code: int, description: str) -> bool:
    """The idle answer of a long poll with nothing to deliver."""
    return code in (0, 200, 408) and "timeout" in description.lower()


class ZaloClient:
    """One bot's API. `retries` temporary failures are retried (backoff `backoff`·2^n seconds, or what a
    429 asks); `send_retries` for sends, fewer: a timed-out send may have reached the resident."""

    def __init__(self, token: str, api_url: str, *, retries: int = 3, send_retries: int = 1,
                 backoff: float = 0.5, transport: httpx.AsyncBaseTransport | None = None,
                 send_timeout: float = 20.0) -> None:
        if not token:
            raise ValueError("a Zalo bot token is needed")
        self._token = token
        self._base = f"{api_url.rstrip('/')}/bot{token}/"
        self.retries = retries
        self.send_retries = send_retries
        self.backoff = backoff
        self._timeout = httpx.Timeout(10.0, read=send_timeout, pool=2.0)
        self._http = httpx.AsyncClient(timeout=self._timeout, limits=LIMITS, transport=transport)

    def redact(self, text: str) -> str:
        return text.replace(self._token, "<token>")

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(self, method: str, params: dict[str, Any] | None = None, *, retries: int | None = None,
                   read_timeout: float | None = None) -> Any:
        """Call `method`; its `result`. Raises ZaloRetry / ZaloRefused (messages never hold the token)."""
        attempts = (self.retries if retries is None else retries) + 1
        for attempt in range(attempts):
            try:
                return await self._once(method, params or {}, read_timeout)
            except ZaloRetry as exc:
                if attempt + 1 >= attempts or (method.startswith("send") and "timed out" in exc.description):
                    raise  # a send that timed out may have arrived: never sent again blindly
                wait = exc.retry_after or self.backoff * 2 ** attempt
                log.info("zalo %s: %s; trying again in %.1f s", method, exc, wait)
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def _once(self, method: str, params: dict[str, Any], read_timeout: float | None) -> Any:
        timeout = httpx.Timeout(10.0, read=read_timeout, pool=2.0) if read_timeout else self._timeout
        try:
            answer = await self._http.post(self._base + method, json=params, timeout=timeout)
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:  # never went out
            raise ZaloRetry(0, self.redact(f"could not connect ({type(exc).__name__})")) from None
        except httpx.TimeoutException as exc:
            if method == "getUpdates":
                return None  # a long poll that outlived our own timeout: nothing came
            raise ZaloRetry(0, self.redact(f"timed out ({type(exc).__name__})")) from None
        except httpx.HTTPError as exc:
            raise ZaloRetry(0, self.redact(f"{type(exc).__name__}: {exc}")) from None
        try:
            body = json.loads(answer.content)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            if answer.status_code == 408 and method == "getUpdates":
                return None
            error = ZaloRetry if answer.status_code >= 500 or answer.status_code == 429 else ZaloRefused
            raise error(answer.status_code, f"unreadable answer (HTTP {answer.status_code})")
        if body.get("ok") is True:
            return body.get("result")
        code = _int(body.get("error_code")) or answer.status_code
        description = self.redact(str(body.get("description") or body.get("message") or f"HTTP {code}"))
        if method == "getUpdates" and is_idle(code, description):
            return None
        if code == 429 or code >= 500:
            parameters = body.get("parameters")
            retry_after = _int(parameters.get("retry_after")) if isinstance(parameters, dict) else 0
            raise ZaloRetry(code, description, float(retry_after or 0))
        raise ZaloRefused(code, description)

    # the methods the bot uses

    async def get_me(self) -> dict[str, Any]:
        result = await self.call("getMe")
        return result if isinstance(result, dict) else {}

    async def get_update(self, wait: int = 30) -> dict[str, Any] | None:
        """The next update (Zalo hands out one per call), or None when none came within `wait` s."""
        result = await self.call("getUpdates", {"timeout": str(wait)}, retries=0, read_timeout=wait + 10)
        if isinstance(result, list):  # defensive: a list-shaped answer
            return result[0] if result and isinstance(result[0], dict) else None
        return result if isinstance(result, dict) and result else None

    async def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        result = await self.call("sendMessage", {"chat_id": chat_id, "text": text}, retries=self.send_retries)
        return result if isinstance(result, dict) else {}

    async def send_photo(self, chat_id: str, photo: str, caption: str = "") -> dict[str, Any]:
        params = {"chat_id": chat_id, "photo": photo}
        if caption:
            params["caption"] = caption
        result = await self.call("sendPhoto", params, retries=self.send_retries)
        return result if isinstance(result, dict) else {}

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        await self.call("sendChatAction", {"chat_id": chat_id, "action": action}, retries=0)

    async def set_webhook(self, url: str, secret: str) -> None:
        await self.call("setWebhook", {"url": url, "secret_token": secret})

    async def delete_webhook(self) -> None:
        await self.call("deleteWebhook")


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
