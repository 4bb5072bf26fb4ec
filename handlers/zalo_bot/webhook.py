"""Webhook mode: a small HTTP server (stdlib asyncio) that takes Zalo's POSTs at the webhook URL's path.

It runs behind an HTTPS reverse proxy (nginx, Caddy) that forwards to 127.0.0.1:ZALO_WEBHOOK_PORT. Every
request must carry the secret in `X-Bot-Api-Secret-Token` (compared in constant time) or is refused
with 401 and never read further; a good one is answered 200 at once and processed in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024
HEADER = "x-bot-api-secret-token"


class WebhookServer:
    def __init__(self, path: str, secret: str, feed: Callable[[Any], object], host: str = "127.0.0.1",
                 port: int = 8443) -> None:
        if len(secret) < 8:
            raise ValueError("ZALO_WEBHOOK_SECRET must have at least 8 characters")
        self.path = path or "/"
        self.secret = secret.encode()
        self.feed = feed
        self.host, self.port = host, port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        sockets = self._server.sockets or ()
        if sockets:
            self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status = await asyncio.wait_for(self._one(reader), 10.0)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, ValueError):
            status = 400
        reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
                  413: "Payload Too Large"}.get(status, "Error")
        body = json.dumps({"ok": status == 200}).encode()
        with contextlib.suppress(ConnectionError):
            writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
            await writer.drain()
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()

    async def _one(self, reader: asyncio.StreamReader) -> int:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > 16384:
            return 400
        lines = head.decode("latin-1").split("\r\n")
        method, target, *_ = [*lines[0].split(" "), "", ""][:3]
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if target.split("?", 1)[0] != self.path:
            return 404
        if method != "POST":
            return 405
        if not hmac.compare_digest(headers.get(HEADER, "").encode(), self.secret):
            log.warning("a webhook request without the right secret was refused")
            return 401
        length = int(headers.get("content-length") or 0)
        if length > MAX_BODY:
            return 413
        raw = await reader.readexactly(length) if length else b""
        try:
            update = json.loads(raw)
        except ValueError:
            return 400
        self.feed(update)
        return 200
