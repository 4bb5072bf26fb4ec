"""A local stand-in for the Telegram Bot API: the bot polls it over HTTP; tests and chats drive it.

- `Sandbox` (client.py): world + HTTP server; users, groups, cursors, fault injection, events.
- `World` (world.py): the state, no I/O. `SandboxServer` (server.py): Bot API + control API (stdlib).
- `parse_html` (html.py): Telegram's HTML parse mode, with its error messages.
"""

from devtools.sandbox.client import (
    SANDBOX_TOKEN,
    Cursor,
    RemoteSandbox,
    Sandbox,
    SandboxGroup,
    SandboxUser,
)
from devtools.sandbox.html import Entity, HtmlError, entities_to_html, parse_html
from devtools.sandbox.server import ApiError, Request, Response, SandboxServer, StreamResponse
from devtools.sandbox.world import (
    BOT_ID,
    BOT_USERNAME,
    CallbackAnswer,
    CallbackQuery,
    CallRecord,
    ChatAction,
    FaultRule,
    SandboxError,
    SentMessage,
    Subscription,
    World,
)

__all__ = [
    "BOT_ID",
    "BOT_USERNAME",
    "SANDBOX_TOKEN",
    "ApiError",
    "CallRecord",
    "CallbackAnswer",
    "CallbackQuery",
    "ChatAction",
    "Cursor",
    "Entity",
    "FaultRule",
    "HtmlError",
    "RemoteSandbox",
    "Request",
    "Response",
    "Sandbox",
    "SandboxError",
    "SandboxGroup",
    "SandboxServer",
    "SandboxUser",
    "SentMessage",
    "StreamResponse",
    "Subscription",
    "World",
    "entities_to_html",
    "parse_html",
]
