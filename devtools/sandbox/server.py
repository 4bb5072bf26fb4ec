"""A local stand-in for the Telegram Bot API server, over HTTP on 127.0.0.1 (stdlib only).

One sandbox serves one bot. Routes:

- ``/bot<token>/<method>`` (GET or POST; JSON, urlencoded or multipart bodies): the Bot API.
  Any token shaped ``<digits>:<chars>`` is accepted (else 401 "Unauthorized"); method names are
  case-insensitive; an unknown method is 404 "Not Found". Answers are shaped exactly like Telegram's:
  ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description": "..."}`` with HTTP
  status N, plus ``"parameters": {"retry_after": S}`` on 429.
- ``/file/bot<token>/<file_path>``: downloads of files the sandbox holds (uploads and user media).
- ``/sandbox/...``: the JSON control API (act as users, inspect chats, faults, Server-Sent Events)
  for a bot in another process and for the web chat; see `ControlApi`.
- extra routes mounted with `SandboxServer.add_route` (the web chat page).

Implemented Bot API methods: getMe, getUpdates (offset confirms; negative offset; limit; long-poll
timeout woken at once by a new update; allowed_updates remembered; a second concurrent poll ends the
first with 409 Conflict, as Telegram does), deleteWebhook (drop_pending_updates), getWebhookInfo,
setMyCommands / getMyCommands / deleteMyCommands (per scope and language_code), setChatMenuButton /
getChatMenuButton, setMyName / getMyName, setMyDescription / getMyDescription,
setMyShortDescription / getMyShortDescription, sendMessage, sendPhoto (multipart upload, attach://,
file_id or URL), forwardMessage, copyMessage, editMessageText, editMessageCaption,
editMessageReplyMarkup, deleteMessage, answerCallbackQuery, sendChatAction, getChat, getChatMember,
getChatAdministrators, getChatMemberCount, getFile, leaveChat, close, logOut.

Fidelity (what Telegram refuses, the sandbox refuses with Telegram's wording):
- HTML parse mode per TDLib: only b strong i em u ins s strike del a code pre blockquote
  (expandable) tg-spoiler span.tg-spoiler tg-emoji; properly nested; only &lt; &gt; &amp; &quot; and
  numeric entities → 400 "Bad Request: can't parse entities: ..."; a bare "&" is refused too (Telegram's
  documented rule; its server tolerates it — pass ``strict_html=False`` for the lenient behaviour);
- empty text (also whitespace or tags only) → 400 "Bad Request: message text is empty"; text over 4096
  UTF-16 units after parsing → "message is too long"; caption over 1024 → "message caption is too long";
- callback_data empty or over 64 bytes → 400 "Bad Request: BUTTON_DATA_INVALID"; inline buttons
  without an action, bad button URLs, unparsable markup JSON → 400;
- edits: "message is not modified: ..." (text, entities and inline markup compared; editMessageText
  without reply_markup removes the inline keyboard, as on Telegram), "message to edit not found",
  "message can't be edited", "there is no text in the message to edit";
- 403 "bot was blocked by the user", "bot can't initiate conversation with a user" (unknown user id,
  or a user created with ``started=False`` who never wrote), "user is deactivated",
  "bot was kicked from the group chat" / "bot is not a member of the group chat";
- 400 "chat not found", "message to be replied not found", "message to delete not found",
  "query is too old and response timeout expired or query ID is invalid" (unknown or already answered),
  command names outside ``[a-z0-9_]{1,32}`` → "BOT_COMMAND_INVALID", descriptions outside 1–256
  characters → "BOT_COMMAND_DESCRIPTION_INVALID", more than 100 commands → "BOT_COMMANDS_TOO_MUCH";
- photos: bytes that are not PNG/JPEG/GIF/WebP → "IMAGE_PROCESS_FAILED"; over 10 MB → "file is too big";
- 429 "Too Many Requests: retry after S" with parameters.retry_after, and any other error, when
  injected with `World.add_fault` (``Sandbox.simulate_flood`` / ``simulate_error`` /
  ``simulate_slow``).

Not implemented (404 "Not Found", or documented approximation): webhooks (setWebhook), inline mode,
payments, games, polls, media groups, documents/audio/video/animation/location/venue/contact sending,
message reactions, forum topics, business connections, chat administration (ban, restrict, promote,
invite links, pinning), Markdown/MarkdownV2 parse modes (refused with an explicit 400),
custom emoji ownership checks, automatic flood control (floods are only simulated on request),
automatic URL detection is approximate (http/https/tg URLs and bare domains of common TLDs), photos
sent by URL are not downloaded (their files have no content), thumbnails share the original's bytes.

The server never logs request paths (they contain the bot token) or bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote

from devtools.sandbox.html import (
    Entity,
    HtmlError,
    add_found_entities,
    checked_link,
    normalize,
    parse_html,
    utf16_len,
)
from devtools.sandbox.world import (
    BOT_ID,
    BOT_USER_API,
    JSON,
    ChatAction,
    ChatRecord,
    FaultRule,
    FileRecord,
    SandboxError,
    SentMessage,
    World,
    admin_rights,
    content_key,
    image_size,
)

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 50 * 1024 * 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
TOKEN_RE = re.compile(r"\d+:[A-Za-z0-9_-]+")
COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
    }
)  # fmt: skip
INLINE_BUTTON_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query", "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay",
)  # fmt: skip
SCOPES_WITH_CHAT = frozenset({"chat", "chat_administrators", "chat_member"})
SCOPES = SCOPES_WITH_CHAT | {"default", "all_private_chats", "all_group_chats", "all_chat_administrators"}


# --- HTTP ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class UploadedFile:
    name: str
    filename: str
    content_type: str
    data: bytes


@dataclass(slots=True)
class Request:
    """An HTTP request. `path` is percent-decoded and has no query; header names are lower case."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body) if self.body.strip() else {}

    def form(self) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
        """Body parameters (JSON, urlencoded or multipart) over the query string's, and uploaded files.

        JSON bodies keep their types; form values are strings. Raises ValueError on a malformed body.
        """
        params: dict[str, Any] = dict(self.query)
        files: dict[str, UploadedFile] = {}
        ctype = self.headers.get("content-type", "")
        mime = ctype.split(";", 1)[0].strip().lower()
        if not self.body:
            return params, files
        if mime == "application/json":
            data = json.loads(self.body)
            if not isinstance(data, dict):
                raise ValueError("the JSON body must be an object")
            params.update(data)
        elif mime == "multipart/form-data":
            fields, files = parse_multipart(self.body, ctype)
            params.update(fields)
        else:  # application/x-www-form-urlencoded, or no content type
            params.update(parse_qsl(self.body.decode("utf-8", errors="replace"), keep_blank_values=True))
        return params, files


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Response:
        return cls(status, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8") -> Response:
        return cls(status, text.encode("utf-8"), content_type)


@dataclass(slots=True)
class StreamResponse:
    """A response whose body is produced over time (Server-Sent Events); the connection then closes."""

    chunks: AsyncIterator[bytes]
    status: int = 200
    content_type: str = "text/event-stream; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = (("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no"))


Handler = Callable[[Request], Awaitable[Response | StreamResponse]]


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """A small multipart/form-data parser: (text fields, files by field name)."""
    m = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', content_type)
    if not m:
        raise ValueError("multipart body without a boundary")
    delimiter = b"--" + (m.group(1) or m.group(2)).encode("latin-1")
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    parts = body.split(delimiter)
    if len(parts) < 2:
        raise ValueError("malformed multipart body")
    for part in parts[1:]:
        if part.startswith(b"--"):
            break
        part = part.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("malformed multipart part")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", errors="replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        params = dict(
            (k.lower(), v[1:-1].replace('\\"', '"') if v.startswith('"') else v)
            for k, v in re.findall(r';\s*([\w*-]+)=("(?:[^"\\]|\\.)*"|[^;]*)', disposition)
        )
        field_name = params.get("name")
        if field_name is None:
            continue
        if "filename" in params or "filename*" in params:
            filename = str(params.get("filename") or unquote(params.get("filename*", "").split("''", 1)[-1]))
            ctype = headers.get("content-type", "application/octet-stream")
            files[field_name] = UploadedFile(field_name, filename, ctype, data)
        else:
            fields[field_name] = data.decode("utf-8", errors="replace")
    return fields, files


@dataclass(slots=True, eq=False)
class _Connection:
    writer: asyncio.StreamWriter
    idle: bool = True


class HttpServer:
    """A small asyncio HTTP/1.1 server with keep-alive, prefix routes and streaming responses."""

    def __init__(self) -> None:
        self._routes: list[tuple[str | None, str, Handler]] = []
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[Any], _Connection] = {}
        self.closing = False
        self.host = ""
        self.port = 0

    def add_route(self, method: str | None, prefix: str, handler: Handler) -> None:
        """Route requests whose path starts with `prefix` (longest prefix wins; method None = any)."""
        self._routes.append((method.upper() if method else None, prefix, handler))
        self._routes.sort(key=lambda r: len(r[1]), reverse=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.closing = False
        self._server = await asyncio.start_server(self._serve, host, port, limit=MAX_HEADER_BYTES)
        sock = self._server.sockets[0].getsockname()
        self.host, self.port = host, int(sock[1])

    async def stop(self, grace: float = 2.0) -> None:
        """Stop accepting, close idle keep-alive connections, let busy ones finish (then cancel them)."""
        self.closing = True
        if self._server is not None:
            self._server.close()
        for conn in self._connections.values():
            if conn.idle:
                conn.writer.close()
        tasks = list(self._connections)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=grace)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        conn = _Connection(writer)
        self._connections[task] = conn
        try:
            await self._serve_requests(conn, reader, writer)
        except (ConnectionError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a client gone or sending garbage: just close
        except asyncio.CancelledError:
            # A cancelled connection task must still end normally: Python 3.11's stream callback
            # would otherwise log the CancelledError as an unhandled exception.
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()
            del self._connections[task]

    async def _serve_requests(
        self, conn: _Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while not self.closing:
            conn.idle = True
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.LimitOverrunError:
                writer.write(_serialize(Response.text("headers too large", 431), keep_alive=False))
                await writer.drain()
                return
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            conn.idle = False
            request, keep_alive = _parse_head(head)
            if request is None:
                writer.write(_serialize(Response.text("bad request", 400), keep_alive=False))
                await writer.drain()
                return
            body_or_error = await _read_body(request, reader, writer)
            if isinstance(body_or_error, Response):
                writer.write(_serialize(body_or_error, keep_alive=False))
                await writer.drain()
                return
            request.body = body_or_error
            response = await self._dispatch(request)
            if isinstance(response, StreamResponse):
                await self._stream(response, reader, writer)
                return
            keep_alive = keep_alive and not self.closing
            writer.write(_serialize(response, keep_alive))
            await writer.drain()
            if not keep_alive:
                return

    async def _dispatch(self, request: Request) -> Response | StreamResponse:
        for method, prefix, handler in self._routes:
            if request.path.startswith(prefix) and (method is None or method == request.method):
                try:
                    return await handler(request)
                except Exception:
                    log.exception("sandbox: a %s handler failed", prefix if prefix != "/bot" else "Bot API")
                    body = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
                    return Response.json(body, 500)
        return Response.json({"ok": False, "error_code": 404, "description": "Not Found"}, 404)

    async def _stream(
        self, response: StreamResponse, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        lines = [
            f"HTTP/1.1 {response.status} {HTTPStatus(response.status).phrase}",
            f"Content-Type: {response.content_type}",
            "Connection: close",
            *(f"{k}: {v}" for k, v in response.headers),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        eof = asyncio.ensure_future(reader.read(65536))  # the client sends nothing more: b"" = gone
        chunks = response.chunks
        try:
            while True:
                nxt = asyncio.ensure_future(anext(chunks))
                done, _ = await asyncio.wait({nxt, eof}, return_when=asyncio.FIRST_COMPLETED)
                if nxt not in done:
                    nxt.cancel()
                    with contextlib.suppress(BaseException):
                        await nxt
                    return
                try:
                    chunk = nxt.result()
                except StopAsyncIteration:
                    return
                writer.write(chunk)
                await writer.drain()
        finally:
            eof.cancel()
            with contextlib.suppress(BaseException):
                await eof
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()


def _parse_head(head: bytes) -> tuple[Request | None, bool]:
    try:
        text = head[:-4].decode("latin-1")
        request_line, *header_lines = text.split("\r\n")
        method, target, version = request_line.split(" ", 2)
    except ValueError:
        return None, False
    headers: dict[str, str] = {}
    for line in header_lines:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    raw_path, _, query = target.partition("?")
    connection = headers.get("connection", "").lower()
    keep_alive = ("close" not in connection) if version == "HTTP/1.1" else ("keep-alive" in connection)
    request = Request(
        method=method.upper(),
        path=unquote(raw_path),
        query=dict(parse_qsl(query, keep_blank_values=True)),
        headers=headers,
    )
    return request, keep_alive


async def _read_body(
    request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> bytes | Response:
    headers = request.headers
    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                return _too_large()
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    try:
        length = int(headers.get("content-length", "0") or 0)
    except ValueError:
        return Response.text("bad content-length", 400)
    if length > MAX_BODY_BYTES:
        return _too_large()
    return await reader.readexactly(length) if length > 0 else b""


def _too_large() -> Response:
    return Response.json({"ok": False, "error_code": 413, "description": "Request Entity Too Large"}, 413)


def _serialize(response: Response, keep_alive: bool) -> bytes:
    lines = [
        f"HTTP/1.1 {response.status} {HTTPStatus(response.status).phrase}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
        "Connection: keep-alive" if keep_alive else "Connection: close",
        *(f"{k}: {v}" for k, v in response.headers),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + response.body


# --- Bot API -------------------------------------------------------------------------------------


class ApiError(Exception):
    """A Bot API error answer."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSON:
        out: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            out["parameters"] = {"retry_after": self.retry_after}
        return out


def bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def forbidden(description: str) -> ApiError:
    return ApiError(403, f"Forbidden: {description}")


@dataclass(slots=True)
class Params:
    """Method parameters: typed when they came as JSON, strings when they came as a form."""

    values: dict[str, Any]
    files: dict[str, UploadedFile] = field(default_factory=dict)

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def string(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return json.dumps(value, ensure_ascii=False)

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad(f"invalid {name} specified") from None

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1", "yes")
        return bool(value)

    def parsed(self, name: str, error: str) -> Any:
        """A JSON-valued parameter (an object or array), parsed; 400 `error` if it is not valid JSON."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad(error) from None
        return value

    def chat_id_hint(self) -> int | None:
        value = self.values.get("chat_id")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return int(value.strip())
        return None


MethodImpl = Callable[[Params], Awaitable[Any]]


class BotApi:
    """The Bot API methods over a `World`."""

    def __init__(self, world: World, *, strict_html: bool = True) -> None:
        self.world = world
        self.strict_html = strict_html
        self._poll: asyncio.Future[str] | None = None
        self._stopping = False
        self.polls_received = 0  # getUpdates requests so far (see `polling`)
        self.methods: dict[str, tuple[str, MethodImpl]] = {}
        for name in dir(self):
            if name.startswith("api_"):
                camel = name[4:]
                self.methods[camel.lower()] = (camel, getattr(self, name))

    @property
    def polling(self) -> bool:
        """A getUpdates long poll is waiting right now."""
        return self._poll is not None and not self._poll.done()

    def stop(self) -> None:
        """End pending long polls now (they answer with no updates)."""
        self._stopping = True
        self.world.wake_pollers("stop")

    # --- dispatch ----------------------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        rest = request.path[len("/bot") :]
        token, sep, method = rest.partition("/")
        if not token or not sep or not method or "/" in method:
            return Response.json({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        if not TOKEN_RE.fullmatch(token):
            return Response.json({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
        entry = self.methods.get(method.lower())
        if entry is None:
            return Response.json({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        name, impl = entry
        try:
            values, files = request.form()
        except (ValueError, UnicodeDecodeError) as exc:
            error = bad(f"can't parse request body: {exc}")
            self.world.record_call(name, None, error.code, error.description)
            return Response.json(error.body(), error.code)
        params = Params(values, files)
        chat_hint = params.chat_id_hint()
        try:
            fault = self.world.take_fault(name, chat_hint)
            if fault is not None and fault.status != 200:
                raise ApiError(fault.status, fault.description, fault.retry_after)
            result = await impl(params)
            if fault is not None and fault.delay > 0:
                await asyncio.sleep(fault.delay)  # done, but the answer is late
        except ApiError as error:
            self.world.record_call(name, chat_hint, error.code, error.description)
            log.debug("sandbox: %s -> %s %s", name, error.code, error.description)
            return Response.json(error.body(), error.code)
        self.world.record_call(name, chat_hint, 200, None)
        return Response.json({"ok": True, "result": result})

    async def handle_file(self, request: Request) -> Response:
        rest = request.path[len("/file/bot") :]
        token, _, path = rest.partition("/")
        if not TOKEN_RE.fullmatch(token):
            return Response.json({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
        record = self.world.files_by_path.get(path)
        if record is None or record.data is None:
            return Response.json({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        return Response(200, record.data, record.mime_type)

    # --- shared checks -----------------------------------------------------------------------------

    def _chat(self, p: Params, *, name: str = "chat_id", for_sending: bool = True) -> ChatRecord:
        """Resolve a chat_id. An unknown positive id is a user the bot cannot reach (403 when sending)."""
        value = p.raw(name)
        if value is None or value == "":
            raise bad(f"{name} is empty")
        try:
            chat_id = int(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            chat_id = None  # "@username": only channels and public groups have those
        chat = self.world.chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            if chat_id is not None and chat_id > 0 and for_sending:
                raise forbidden("bot can't initiate conversation with a user")
            raise bad("chat not found")
        return chat

    @staticmethod
    def _check_can_write(chat: ChatRecord) -> None:
        if chat.type == "private":
            user = chat.user
            assert user is not None
            if user.deactivated:
                raise forbidden("user is deactivated")
            if user.blocked:
                raise forbidden("bot was blocked by the user")
            if not user.started:
                raise forbidden("bot can't initiate conversation with a user")
            return
        kind = "supergroup" if chat.type == "supergroup" else "group"
        if chat.bot_status == "kicked":
            raise forbidden(f"bot was kicked from the {kind} chat")
        if chat.bot_status == "left":
            raise forbidden(f"bot is not a member of the {kind} chat")

    def _format(
        self, text: str | None, parse_mode: str | None, entities: Any, *, caption: bool = False
    ) -> tuple[str, tuple[Entity, ...], str | None]:
        """(plain text, entities, html source) as Telegram would store them; 400 where it refuses."""
        if not text:
            if caption:
                return "", (), None
            raise bad("message text is empty")
        mode = (parse_mode or "").strip()
        html: str | None = None
        if mode.lower() == "html":
            try:
                plain, ents = parse_html(text, strict=self.strict_html)
            except HtmlError as exc:
                raise bad(f"can't parse entities: {exc}") from None
            html = text
        elif mode == "":
            plain = text
            ents = self._explicit_entities(entities)
        elif mode.lower() in ("markdown", "markdownv2"):
            raise bad(f"the sandbox does not implement parse_mode {mode}; use HTML")
        else:
            raise bad("unsupported parse_mode")
        plain, ents = normalize(plain, ents)
        if not plain:
            if caption:
                return "", (), html
            raise bad("message text is empty")
        if utf16_len(plain) > (1024 if caption else 4096):
            raise bad("message caption is too long" if caption else "message is too long")
        return plain, tuple(add_found_entities(plain, ents)), html

    @staticmethod
    def _explicit_entities(raw: Any) -> list[Entity]:
        if raw is None or raw == "":
            return []
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise bad("can't parse entities JSON object") from None
        if not isinstance(raw, list):
            raise bad("can't parse entities JSON object")
        try:
            return [Entity.from_api(e) for e in raw]
        except (KeyError, TypeError, ValueError):
            raise bad("can't parse MessageEntity JSON object") from None

    def _markup(self, p: Params, *, inline_only: bool = False) -> JSON | None:
        markup = p.parsed("reply_markup", "can't parse reply keyboard markup JSON object")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            self._check_inline_keyboard(markup["inline_keyboard"])
            return {"inline_keyboard": markup["inline_keyboard"]}
        if inline_only:
            raise bad("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
            keyboard = []
            for row in rows:
                buttons = []
                for b in row:
                    if isinstance(b, str):
                        b = {"text": b}
                    if not isinstance(b, dict) or not isinstance(b.get("text"), str):
                        raise bad('can\'t parse keyboard button: Field "text" must be of type String')
                    buttons.append(b)
                keyboard.append(buttons)
            return {**markup, "keyboard": keyboard}
        if markup.get("remove_keyboard") or markup.get("force_reply"):
            return markup
        raise bad("can't parse reply keyboard markup JSON object")

    @staticmethod
    def _check_inline_keyboard(rows: Any) -> None:
        if not isinstance(rows, list):
            raise bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
        for row in rows:
            if not isinstance(row, list):
                raise bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
            for button in row:
                if not isinstance(button, dict):
                    raise bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
                if not isinstance(button.get("text"), str):
                    raise bad('can\'t parse inline keyboard button: Field "text" must be of type String')
                if not any(k in button for k in INLINE_BUTTON_ACTIONS):
                    raise bad(
                        "can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard"
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                        raise bad("BUTTON_DATA_INVALID")
                if "url" in button:
                    url = button["url"]
                    if not isinstance(url, str) or checked_link(url) is None:
                        raise bad("BUTTON_URL_INVALID")

    def _reply_to(self, p: Params, chat: ChatRecord) -> int | None:
        message_id = p.integer("reply_to_message_id")
        allow = p.flag("allow_sending_without_reply")
        params = p.parsed("reply_parameters", "can't parse ReplyParameters JSON object")
        if isinstance(params, dict):
            message_id = params.get("message_id")
            allow = bool(params.get("allow_sending_without_reply", allow))
            other_chat = params.get("chat_id")
            if other_chat is not None and str(other_chat) != str(chat.id):
                raise bad("the sandbox does not support replies to messages in other chats")
        if message_id is None:
            return None
        try:
            message_id = int(message_id)
        except (TypeError, ValueError):
            raise bad("invalid reply_to_message_id specified") from None
        target = chat.messages.get(message_id)
        if target is None or target.deleted:
            if allow:
                return None
            raise bad("message to be replied not found")
        return message_id

    @staticmethod
    def _message_id(p: Params) -> int:
        if p.raw("inline_message_id"):
            raise bad("the sandbox does not support inline messages")
        message_id = p.integer("message_id")
        if message_id is None:
            raise bad("message identifier is not specified")
        return message_id

    def _new_message(self, chat: ChatRecord, p: Params, **fields: Any) -> JSON:
        markup = fields.get("reply_markup")
        inline = markup if markup and "inline_keyboard" in markup else None
        msg = SentMessage(
            chat_id=chat.id,
            message_id=self.world.next_message_id(chat),
            from_bot=True,
            sender_id=BOT_ID,
            date=int(self.world.clock()),
            disable_notification=p.flag("disable_notification"),
            content_key=content_key(fields.get("text", ""), fields.get("entities", ()), inline),
            **fields,
        )
        api = self.world.message_api(msg)
        self.world.add_bot_message(msg)
        return api

    # --- methods: the bot and updates --------------------------------------------------------------

    async def api_getMe(self, p: Params) -> JSON:
        return {
            **BOT_USER_API,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.world.group_privacy,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def api_getUpdates(self, p: Params) -> list[JSON]:
        self.polls_received += 1
        offset = p.integer("offset")
        limit = max(1, min(100, p.integer("limit") or 100))
        timeout = max(0.0, min(50.0, p.number("timeout") or 0.0))
        allowed = p.parsed("allowed_updates", "can't parse allowed_updates JSON array")
        if isinstance(allowed, list):
            self.world.set_allowed_updates([str(a) for a in allowed])
        if self._poll is not None and not self._poll.done():
            self._poll.set_result("conflict")  # Telegram ends the older long poll
        self.world.confirm_updates(offset)
        updates = self.world.pending_updates(limit)
        if updates or timeout <= 0 or self._stopping:
            return updates
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._poll = fut
        try:
            reason = await self.world.wait_updates(timeout, fut)
        finally:
            if self._poll is fut:
                self._poll = None
        if reason == "conflict":
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
                "is running",
            )
        return self.world.pending_updates(limit)

    async def api_deleteWebhook(self, p: Params) -> bool:
        if p.flag("drop_pending_updates"):
            self.world.updates.clear()
        return True

    async def api_getWebhookInfo(self, p: Params) -> JSON:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": len(self.world.updates)}

    async def api_close(self, p: Params) -> bool:
        return True

    async def api_logOut(self, p: Params) -> bool:
        return True

    # --- methods: commands, menu, profile ----------------------------------------------------------

    def _scope(self, p: Params) -> JSON:
        scope = p.parsed("scope", "can't parse BotCommandScope JSON object")
        if scope is None:
            return {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in SCOPES:
            raise bad("can't parse BotCommandScope JSON object")
        if scope["type"] in SCOPES_WITH_CHAT:
            chat_id = scope.get("chat_id")
            if chat_id is None:
                raise bad("chat_id is empty")
            if not isinstance(chat_id, int) or chat_id not in self.world.chats:
                raise bad("chat not found")
            if scope["type"] == "chat_member" and scope.get("user_id") not in self.world.users:
                raise bad("user not found")
        return scope

    async def api_setMyCommands(self, p: Params) -> bool:
        commands = p.parsed("commands", "can't parse commands JSON array")
        if not isinstance(commands, list):
            raise bad("can't parse commands JSON array")
        if len(commands) > 100:
            raise bad("BOT_COMMANDS_TOO_MUCH")
        clean: list[JSON] = []
        for c in commands:
            if not isinstance(c, dict):
                raise bad("can't parse BotCommand JSON object")
            command, description = c.get("command"), c.get("description")
            if not isinstance(command, str) or not COMMAND_RE.fullmatch(command):
                raise bad("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": command, "description": description})
        self.world.set_commands(self._scope(p), p.string("language_code") or "", clean)
        return True

    async def api_getMyCommands(self, p: Params) -> list[JSON]:
        return self.world.get_commands(self._scope(p), p.string("language_code") or "")

    async def api_deleteMyCommands(self, p: Params) -> bool:
        self.world.set_commands(self._scope(p), p.string("language_code") or "", [])
        return True

    async def api_setChatMenuButton(self, p: Params) -> bool:
        button = p.parsed("menu_button", "can't parse MenuButton JSON object")
        if button is None:
            button = {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("default", "commands", "web_app"):
            raise bad("can't parse MenuButton JSON object")
        if p.raw("chat_id") is None:
            self.world.default_menu_button = button if button["type"] != "default" else {"type": "commands"}
        else:
            chat = self._chat(p, for_sending=False)
            if chat.type != "private":
                raise bad("menu button can be set only in private chats")
            chat.menu_button = button
        self.world.emit("menu_button", p.chat_id_hint(), data={"menu_button": button})
        return True

    async def api_getChatMenuButton(self, p: Params) -> JSON:
        if p.raw("chat_id") is not None:
            chat = self._chat(p, for_sending=False)
            if chat.menu_button is not None and chat.menu_button.get("type") != "default":
                return chat.menu_button
        return self.world.default_menu_button

    def _bot_text(self, p: Params, kind: str, name: str, limit: int) -> bool:
        value = p.string(name) or ""
        if len(value) > limit:
            raise bad(f"bot {kind} is too long")
        language = p.string("language_code") or ""
        if value:
            self.world.bot_texts[(kind, language)] = value
        else:
            self.world.bot_texts.pop((kind, language), None)
        return True

    def _get_bot_text(self, p: Params, kind: str, name: str) -> JSON:
        language = p.string("language_code") or ""
        value = self.world.bot_texts.get((kind, language)) or self.world.bot_texts.get((kind, ""))
        if kind == "name" and not value:
            value = BOT_USER_API["first_name"]
        return {name: value or ""}

    async def api_setMyName(self, p: Params) -> bool:
        return self._bot_text(p, "name", "name", 64)

    async def api_getMyName(self, p: Params) -> JSON:
        return self._get_bot_text(p, "name", "name")

    async def api_setMyDescription(self, p: Params) -> bool:
        return self._bot_text(p, "description", "description", 512)

    async def api_getMyDescription(self, p: Params) -> JSON:
        return self._get_bot_text(p, "description", "description")

    async def api_setMyShortDescription(self, p: Params) -> bool:
        return self._bot_text(p, "short_description", "short_description", 120)

    async def api_getMyShortDescription(self, p: Params) -> JSON:
        return self._get_bot_text(p, "short_description", "short_description")

    # --- methods: sending --------------------------------------------------------------------------

    async def api_sendMessage(self, p: Params) -> JSON:
        chat = self._chat(p)
        text, entities, html = self._format(p.string("text"), p.string("parse_mode"), p.raw("entities"))
        markup = self._markup(p)
        reply_to = self._reply_to(p, chat)
        preview = p.parsed("link_preview_options", "can't parse LinkPreviewOptions JSON object")
        if preview is None and p.flag("disable_web_page_preview"):
            preview = {"is_disabled": True}
        self._check_can_write(chat)
        return self._new_message(
            chat,
            p,
            text=text,
            entities=entities,
            html=html,
            parse_mode=p.string("parse_mode") or None,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            link_preview_options=preview if isinstance(preview, dict) else None,
        )

    def _photo(self, p: Params) -> FileRecord:
        upload = p.files.get("photo")
        value = p.string("photo")
        if upload is None and value and value.startswith("attach://"):
            upload = p.files.get(value[len("attach://") :])
            if upload is None:
                raise bad("wrong file identifier/HTTP URL specified")
        if upload is not None:
            if len(upload.data) > MAX_PHOTO_BYTES:
                raise bad("file is too big")
            info = image_size(upload.data)
            if info is None:
                raise bad("IMAGE_PROCESS_FAILED")
            mime, width, height = info
            too_thin = max(width, height) > 20 * min(width, height)
            if not width or not height or width + height > 10_000 or too_thin:
                raise bad("PHOTO_INVALID_DIMENSIONS")
            return self.world.add_file(
                "photo", upload.data, mime, width=width, height=height, extension=mime.rsplit("/", 1)[-1]
            )
        if not value:
            raise bad("there is no photo in the request")
        known = self.world.files.get(value)
        if known is not None:
            if known.kind != "photo":
                raise bad(f"can't use file of type {known.kind.capitalize()} as Photo")
            return known
        if re.match(r"https?://\S+$", value):
            return self.world.add_file("photo", None, "image/jpeg", width=800, height=600, url=value)
        raise bad("wrong file identifier/HTTP URL specified")

    async def api_sendPhoto(self, p: Params) -> JSON:
        chat = self._chat(p)
        record = self._photo(p)
        caption, entities, html = self._format(
            p.string("caption"), p.string("parse_mode"), p.raw("caption_entities"), caption=True
        )
        markup = self._markup(p)
        reply_to = self._reply_to(p, chat)
        self._check_can_write(chat)
        return self._new_message(
            chat,
            p,
            text=caption,
            entities=entities,
            html=html,
            parse_mode=p.string("parse_mode") or None,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            media="photo",
            photo=self.world.photo_sizes(record),
        )

    def _source(self, p: Params, what: str) -> SentMessage:
        source_chat = self._chat(p, name="from_chat_id", for_sending=False)
        message_id = p.integer("message_id")
        if message_id is None:
            raise bad("message identifier is not specified")
        source = source_chat.messages.get(message_id)
        if source is None or source.deleted:
            raise bad(f"message to {what} not found")
        return source

    async def api_forwardMessage(self, p: Params) -> JSON:
        chat = self._chat(p)
        source = self._source(p, "forward")
        self._check_can_write(chat)
        api = self._new_message(
            chat, p, text=source.text, entities=source.entities, media=source.media, photo=source.photo,
            attachment=source.attachment,
        )  # fmt: skip
        origin = {"type": "user", "date": source.date, "sender_user": self.world.user_api(source.sender_id)}
        api["forward_origin"] = origin
        return api

    async def api_copyMessage(self, p: Params) -> JSON:
        chat = self._chat(p)
        source = self._source(p, "copy")
        text, entities, html = source.text, source.entities, source.html
        if p.raw("caption") is not None:
            text, entities, html = self._format(
                p.string("caption"), p.string("parse_mode"), p.raw("caption_entities"), caption=True
            )
        markup = self._markup(p)
        reply_to = self._reply_to(p, chat)
        self._check_can_write(chat)
        api = self._new_message(
            chat, p, text=text, entities=entities, html=html, media=source.media, photo=source.photo,
            attachment=source.attachment, reply_markup=markup, reply_to_message_id=reply_to,
        )  # fmt: skip
        return {"message_id": api["message_id"]}

    async def api_sendChatAction(self, p: Params) -> bool:
        chat = self._chat(p)
        action = p.string("action")
        if action not in CHAT_ACTIONS:
            raise bad("wrong parameter action in request")
        self._check_can_write(chat)
        self.world.chat_actions.append(ChatAction(chat.id, action, self.world.clock()))
        self.world.emit("chat_action", chat.id, data={"action": action})
        return True

    # --- methods: editing --------------------------------------------------------------------------

    def _editable(self, chat: ChatRecord, message_id: int) -> SentMessage:
        old = chat.messages.get(message_id)
        if old is None or old.deleted:
            raise bad("message to edit not found")
        if not old.from_bot:
            raise bad("message can't be edited")
        return old

    def _store_edit(self, old: SentMessage, **changes: Any) -> JSON:
        new = replace(old, edit_date=int(self.world.clock()), version=old.version + 1, **changes)
        api = self.world.message_api(new)
        self.world.replace_message(new)
        return api

    @staticmethod
    def _kept_markup(old: SentMessage, inline: JSON | None) -> JSON | None:
        if inline is not None:
            return inline
        if old.reply_markup is not None and "inline_keyboard" not in old.reply_markup:
            return old.reply_markup  # a reply keyboard is not part of the message; keep the record
        return None

    async def api_editMessageText(self, p: Params) -> JSON:
        chat = self._chat(p, for_sending=False)
        message_id = self._message_id(p)
        text, entities, html = self._format(p.string("text"), p.string("parse_mode"), p.raw("entities"))
        markup = self._markup(p, inline_only=True)
        self._check_can_write(chat)
        old = self._editable(chat, message_id)
        if old.media is not None:
            raise bad("there is no text in the message to edit")
        key = content_key(text, entities, markup)
        if key == old.content_key:
            raise bad(NOT_MODIFIED[len("Bad Request: ") :])
        preview = p.parsed("link_preview_options", "can't parse LinkPreviewOptions JSON object")
        return self._store_edit(
            old,
            text=text,
            entities=entities,
            html=html,
            parse_mode=p.string("parse_mode") or None,
            reply_markup=self._kept_markup(old, markup),
            content_key=key,
            link_preview_options=preview if isinstance(preview, dict) else old.link_preview_options,
        )

    async def api_editMessageCaption(self, p: Params) -> JSON:
        chat = self._chat(p, for_sending=False)
        message_id = self._message_id(p)
        caption, entities, html = self._format(
            p.string("caption"), p.string("parse_mode"), p.raw("caption_entities"), caption=True
        )
        markup = self._markup(p, inline_only=True)
        self._check_can_write(chat)
        old = self._editable(chat, message_id)
        if old.media != "photo":
            raise bad("there is no caption in the message to edit")
        key = content_key(caption, entities, markup)
        if key == old.content_key:
            raise bad(NOT_MODIFIED[len("Bad Request: ") :])
        return self._store_edit(
            old,
            text=caption,
            entities=entities,
            html=html,
            parse_mode=p.string("parse_mode") or None,
            reply_markup=self._kept_markup(old, markup),
            content_key=key,
        )

    async def api_editMessageReplyMarkup(self, p: Params) -> JSON:
        chat = self._chat(p, for_sending=False)
        message_id = self._message_id(p)
        markup = self._markup(p, inline_only=True)
        self._check_can_write(chat)
        old = self._editable(chat, message_id)
        key = (old.content_key[0], content_key("", (), markup)[1])
        if key == old.content_key:
            raise bad(NOT_MODIFIED[len("Bad Request: ") :])
        return self._store_edit(old, reply_markup=self._kept_markup(old, markup), content_key=key)

    async def api_deleteMessage(self, p: Params) -> bool:
        chat = self._chat(p, for_sending=False)
        message_id = self._message_id(p)
        old = chat.messages.get(message_id)
        if old is None or old.deleted:
            raise bad("message to delete not found")
        if chat.type != "private" and not old.from_bot and chat.bot_status != "administrator":
            raise bad("message can't be deleted")
        self.world.delete_message(chat.id, message_id)
        return True

    # --- methods: callback queries -----------------------------------------------------------------

    async def api_answerCallbackQuery(self, p: Params) -> bool:
        query = self.world.callback_queries.get(p.string("callback_query_id") or "")
        late = self.world.answer_deadline
        if query is None or query.answer is not None or \
                (late is not None and time.monotonic() - query.pressed_at > late):
            raise bad("query is too old and response timeout expired or query ID is invalid")
        text = p.string("text")
        if text is not None and len(text) > 200:
            raise bad("MESSAGE_TOO_LONG")
        self.world.answer_callback(
            query, text or None, p.flag("show_alert"), p.string("url") or None, p.integer("cache_time") or 0
        )
        return True

    # --- methods: chats and files ------------------------------------------------------------------

    async def api_getChat(self, p: Params) -> JSON:
        chat = self._chat(p, for_sending=False)
        info = {
            **chat.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
        if chat.type != "private":
            info["permissions"] = {"can_send_messages": True}
        return info

    def _member(self, chat: ChatRecord, user_id: int) -> JSON:
        if user_id == BOT_ID:
            status = chat.bot_status if chat.type != "private" else "member"
            out: JSON = {"user": dict(BOT_USER_API), "status": status}
        else:
            user = self.world.users.get(user_id)
            if user is None:
                raise bad("user not found")
            if chat.type == "private":
                status = "member" if user_id == chat.id else "left"
            elif user_id in chat.members:
                status = "administrator" if user_id in chat.admins else "member"
            else:
                status = "left"
            out = {"user": user.to_api(), "status": status}
        if out["status"] == "administrator":
            out.update(admin_rights())
        if out["status"] == "kicked":
            out["until_date"] = 0
        return out

    async def api_getChatMember(self, p: Params) -> JSON:
        chat = self._chat(p, for_sending=False)
        user_id = p.integer("user_id")
        if user_id is None:
            raise bad("user_id is empty")
        return self._member(chat, user_id)

    async def api_getChatAdministrators(self, p: Params) -> list[JSON]:
        chat = self._chat(p, for_sending=False)
        if chat.type == "private":
            raise bad("there are no administrators in the private chat")
        admins = [self._member(chat, uid) for uid in sorted(chat.admins) if uid in chat.members]
        if chat.bot_status == "administrator":
            admins.append(self._member(chat, BOT_ID))
        return admins

    async def api_getChatMemberCount(self, p: Params) -> int:
        chat = self._chat(p, for_sending=False)
        if chat.type == "private":
            return 2
        return len(chat.members) + (1 if chat.bot_status in ("member", "administrator") else 0)

    async def api_leaveChat(self, p: Params) -> bool:
        chat = self._chat(p, for_sending=False)
        if chat.type == "private":
            raise bad("chat member status can't be changed in private chats")
        if chat.bot_status not in ("member", "administrator"):
            raise forbidden(f"bot is not a member of the {chat.type} chat")
        self.world.set_bot_status(chat.id, "left", BOT_ID)
        return True

    async def api_getFile(self, p: Params) -> JSON:
        record = self.world.files.get(p.string("file_id") or "")
        if record is None:
            raise bad("wrong file_id or the file is temporarily unavailable")
        if record.size > MAX_DOWNLOAD_BYTES:
            raise bad("file is too big")
        out: JSON = {"file_id": record.file_id, "file_unique_id": record.file_unique_id}
        if record.data is not None:
            out["file_size"] = record.size
        out["file_path"] = record.file_path
        return out


# --- the control API -----------------------------------------------------------------------------


class ControlApi:
    """JSON endpoints under /sandbox/ to drive and inspect the world over HTTP (answers
    ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "..."}``):

    GET  /sandbox/state                       bot, users, chats, command lists, pending update count
    GET  /sandbox/users                       users;  POST {id, first_name, last_name?, username?,
                                              language_code?, started?} creates or updates one
    POST /sandbox/groups                      {chat_id, title, members?, admins?, bot_is_admin?}
    POST /sandbox/send                        {user_id, chat_id?, text, reply_to_message_id?} → message
    POST /sandbox/edit                        {user_id, chat_id, message_id, text}
    POST /sandbox/press                       {user_id, chat_id?, message_id, data, forge?}
                                              → {callback_query_id}
    POST /sandbox/contact                     {user_id, phone_number?, contact_user_id?, first_name?}
    POST /sandbox/photo | sticker | voice     {user_id, chat_id?, caption?}
    POST /sandbox/block | unblock             {user_id}   (block also takes {"blocked": false})
    POST /sandbox/flood                       {retry_after?, count?, chat_id?, method?}
    POST /sandbox/error                       {status, description, count?, chat_id?, method?}
    POST /sandbox/slow                        {seconds?, count?, chat_id?, method?}: done, answered late
    POST /sandbox/reset
    GET  /sandbox/messages?chat_id=&after=&include_user=1
    GET  /sandbox/answers                     callback answers
    GET  /sandbox/calls?method=               counts per method, total sent, recent calls
    GET  /sandbox/files/<file_id>             the file's bytes (for the web chat)
    GET  /sandbox/events?chat_id=&since=      Server-Sent Events, one JSON object per `data:` line;
                                              resumes after `Last-Event-ID`; ": keep-alive" comments

    Only requests whose Host is a loopback name (or the bound host) and whose Origin, if any,
    matches are served, so a web page elsewhere cannot drive the sandbox (DNS rebinding, CSRF).
    """

    def __init__(self, world: World, http: HttpServer, *, keepalive_interval: float = 15.0) -> None:
        self.world = world
        self.http = http
        self.keepalive_interval = keepalive_interval
        self._get: dict[str, Callable[[Request], Awaitable[Response | StreamResponse]]] = {
            "state": self._state,
            "users": self._users,
            "messages": self._messages,
            "answers": self._answers,
            "calls": self._calls,
            "events": self._events,
        }
        self._post: dict[str, Callable[[JSON], Any]] = {
            "users": self._create_user,
            "groups": self._create_group,
            "send": self._send,
            "edit": self._edit,
            "press": self._press,
            "contact": self._contact,
            "photo": self._photo,
            "sticker": self._sticker,
            "voice": self._voice,
            "block": self._block,
            "unblock": self._unblock,
            "flood": self._flood,
            "error": self._error,
            "slow": self._slow,
            "reset": self._reset,
        }

    def allowed_host(self, request: Request) -> bool:
        host = request.headers.get("host", "")
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]", 1)[0] + "]"
        names = {"127.0.0.1", "localhost", "[::1]", self.http.host, f"[{self.http.host}]"}
        if self.http.host in ("0.0.0.0", "::"):
            return True
        if name not in names:
            return False
        origin = request.headers.get("origin")
        if origin and origin != "null":
            origin_host = origin.split("://", 1)[-1].rstrip("/")
            return origin_host == host
        return True

    async def handle(self, request: Request) -> Response | StreamResponse:
        if not self.allowed_host(request):
            return Response.json({"ok": False, "error": "forbidden host or origin"}, 403)
        name = request.path[len("/sandbox/") :].strip("/")
        try:
            if request.method == "GET" and name.startswith("files/"):
                return self._file(name[len("files/") :])
            if request.method == "GET" and name in self._get:
                return await self._get[name](request)
            if request.method == "POST" and name in self._post:
                values, _ = request.form()
                return Response.json({"ok": True, "result": self._post[name](values)})
        except (SandboxError, ValueError, KeyError, TypeError) as exc:
            message = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            return Response.json({"ok": False, "error": message}, 400)
        return Response.json({"ok": False, "error": "no such sandbox endpoint"}, 404)

    # GET

    def state(self) -> JSON:
        w = self.world
        return {
            "bot": dict(BOT_USER_API),
            "users": [self._user_json(u.id) for u in w.users.values()],
            "chats": [
                {**c.to_api(), "members": sorted(c.members), "bot_status": c.bot_status}
                for c in w.chats.values()
                if c.type != "private"
            ],
            "commands": [
                {"scope": json.loads(scope), "language_code": lang, "commands": cmds}
                for (scope, lang), cmds in w.commands.items()
            ],
            "menu_button": w.default_menu_button,
            "pending_updates": len(w.updates),
            "sent_count": w.sent_count,
        }

    def _user_json(self, user_id: int) -> JSON:
        user = self.world.get_user(user_id)
        chat = self.world.chats.get(user_id)
        return {
            **user.to_api(),
            "blocked": user.blocked,
            "started": user.started,
            "reply_keyboard": chat.reply_keyboard if chat else None,
        }

    async def _state(self, request: Request) -> Response:
        return Response.json({"ok": True, "result": self.state()})

    async def _users(self, request: Request) -> Response:
        return Response.json({"ok": True, "result": [self._user_json(uid) for uid in self.world.users]})

    async def _messages(self, request: Request) -> Response:
        chat_id = int(request.query["chat_id"])
        after = int(request.query.get("after", "0") or 0)
        include_user = request.query.get("include_user", "0").lower() in ("1", "true", "yes")
        messages = [
            m.to_json()
            for m in self.world.messages(chat_id, include_user=include_user)
            if m.message_id > after
        ]
        return Response.json({"ok": True, "result": messages})

    async def _answers(self, request: Request) -> Response:
        return Response.json({"ok": True, "result": [a.to_json() for a in self.world.callback_answers]})

    async def _calls(self, request: Request) -> Response:
        method = request.query.get("method")
        recent = [
            {"method": c.method, "chat_id": c.chat_id, "status": c.status, "description": c.description,
             "time": c.wall_time}
            for c in self.world.calls(method)[-200:]
        ]  # fmt: skip
        counts = dict(self.world.call_counts)
        result = {"counts": counts, "sent_count": self.world.sent_count, "recent": recent}
        return Response.json({"ok": True, "result": result})

    def _file(self, file_id: str) -> Response:
        record = self.world.files.get(file_id)
        if record is None or record.data is None:
            return Response.json({"ok": False, "error": "no such file"}, 404)
        return Response(200, record.data, record.mime_type)

    async def _events(self, request: Request) -> StreamResponse:
        chat = request.query.get("chat_id")
        chat_id = int(chat) if chat else None
        since = request.headers.get("last-event-id") or request.query.get("since")
        subscription = self.world.subscribe(chat_id)
        backlog = self.world.history(int(since), chat_id) if since else []
        interval = self.keepalive_interval

        async def stream() -> AsyncIterator[bytes]:
            try:
                yield b": sandbox events\nretry: 1000\n\n"
                for event in backlog:
                    yield _sse(event.seq, event.to_json())
                while not self.http.closing:
                    try:
                        data = await asyncio.wait_for(subscription.get(), interval)
                    except TimeoutError:
                        yield b": keep-alive\n\n"
                        continue
                    except StopAsyncIteration:
                        return
                    yield _sse(int(data.get("seq", 0)), data)
            finally:
                subscription.close()

        return StreamResponse(stream())

    # POST

    def _create_user(self, v: JSON) -> JSON:
        user = self.world.add_user(
            int(v["id"]),
            str(v.get("first_name") or f"User {v['id']}"),
            v.get("last_name"),
            v.get("username"),
            v.get("language_code", "vi"),
            started=_truthy(v.get("started", True)),
        )
        return self._user_json(user.id)

    def _create_group(self, v: JSON) -> JSON:
        members = _int_list(v.get("members", []))
        chat = self.world.add_group(
            int(v["chat_id"]),
            str(v.get("title") or "Group"),
            members,
            admins=_int_list(v.get("admins", [])),
            bot_is_admin=_truthy(v.get("bot_is_admin", False)),
        )
        return {**chat.to_api(), "members": sorted(chat.members)}

    @staticmethod
    def _chat_of(v: JSON) -> int | None:
        return int(v["chat_id"]) if v.get("chat_id") not in (None, "") else None

    def _send(self, v: JSON) -> JSON:
        reply = v.get("reply_to_message_id")
        msg = self.world.user_message(
            int(v["user_id"]),
            self._chat_of(v),
            text=str(v["text"]),
            reply_to=int(reply) if reply not in (None, "") else None,
        )
        return msg.to_json()

    def _edit(self, v: JSON) -> JSON:
        user_id = int(v["user_id"])
        chat_id = self._chat_of(v) or user_id
        return self.world.user_edit(user_id, chat_id, int(v["message_id"]), str(v["text"])).to_json()

    def _press(self, v: JSON) -> JSON:
        user_id = int(v["user_id"])
        query = self.world.press(
            user_id,
            self._chat_of(v) or user_id,
            int(v["message_id"]),
            str(v["data"]),
            forge=_truthy(v.get("forge", False)),
        )
        return {"callback_query_id": query.id}

    def _contact(self, v: JSON) -> JSON:
        contact_user = v.get("contact_user_id")
        return self.world.user_contact(
            int(v["user_id"]),
            v.get("phone_number"),
            contact_user_id=int(contact_user) if contact_user not in (None, "") else None,
            first_name=v.get("first_name"),
            chat_id=self._chat_of(v),
        ).to_json()

    def _photo(self, v: JSON) -> JSON:
        return self.world.user_photo(
            int(v["user_id"]), self._chat_of(v), caption=str(v.get("caption") or "")
        ).to_json()

    def _sticker(self, v: JSON) -> JSON:
        return self.world.user_sticker(int(v["user_id"]), self._chat_of(v)).to_json()

    def _voice(self, v: JSON) -> JSON:
        return self.world.user_voice(int(v["user_id"]), self._chat_of(v)).to_json()

    def _block(self, v: JSON) -> JSON:
        blocked = _truthy(v.get("blocked", True))
        self.world.set_blocked(int(v["user_id"]), blocked)
        return self._user_json(int(v["user_id"]))

    def _unblock(self, v: JSON) -> JSON:
        return self._block({**v, "blocked": False})

    def _flood(self, v: JSON) -> JSON:
        retry_after = int(v.get("retry_after", 1))
        rule = self.world.add_fault(
            FaultRule(
                429,
                f"Too Many Requests: retry after {retry_after}",
                int(v.get("count", 1)),
                self._chat_of(v),
                v.get("method") or None,
                retry_after,
            )
        )
        return {"remaining": rule.remaining}

    def _error(self, v: JSON) -> JSON:
        rule = self.world.add_fault(
            FaultRule(
                int(v["status"]),
                str(v["description"]),
                int(v.get("count", 1)),
                self._chat_of(v),
                v.get("method") or None,
            )
        )
        return {"remaining": rule.remaining}

    def _slow(self, v: JSON) -> JSON:
        rule = self.world.add_fault(
            FaultRule(200, "slow", int(v.get("count", 1)), self._chat_of(v), v.get("method") or None,
                      delay=float(v.get("seconds", 6)))
        )
        return {"remaining": rule.remaining}

    def _reset(self, v: JSON) -> JSON:
        self.world.reset()
        return {}


def _sse(seq: int, data: JSON) -> bytes:
    return f"id: {seq}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _int_list(value: Any) -> list[int]:
    if isinstance(value, str):
        value = json.loads(value) if value.strip().startswith("[") else value.split(",")
    return [int(x) for x in value if str(x).strip()]


# --- composition ---------------------------------------------------------------------------------


class SandboxServer:
    """The HTTP server with the Bot API, file downloads and the control API mounted on a `World`."""

    def __init__(self, world: World, *, strict_html: bool = True, keepalive_interval: float = 15.0) -> None:
        self.world = world
        self.http = HttpServer()
        self.bot_api = BotApi(world, strict_html=strict_html)
        self.control = ControlApi(world, self.http, keepalive_interval=keepalive_interval)
        self.http.add_route(None, "/bot", self.bot_api.handle)
        self.http.add_route("GET", "/file/bot", self.bot_api.handle_file)
        self.http.add_route(None, "/sandbox/", self.control.handle)
        self.started_at = 0.0

    def add_route(self, method: str | None, path_prefix: str, handler: Handler) -> None:
        """Mount an extra handler (the web chat page); the longest matching prefix wins."""
        self.http.add_route(method, path_prefix, handler)

    @property
    def url(self) -> str:
        return self.http.url

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.bot_api._stopping = False
        await self.http.start(host, port)
        self.started_at = time.monotonic()
        log.info("sandbox Bot API listening on %s", self.http.url)

    async def stop(self) -> None:
        self.http.closing = True
        self.bot_api.stop()
        self.world.close_subscriptions()
        await self.http.stop()
