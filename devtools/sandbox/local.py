"""`make run` with no token: the sandbox, the real bot against it, personas with roles, a terminal chat.

Everything stays on 127.0.0.1. The sandbox refuses to start when BOT_TOKEN is set, so a real
deployment can never expose it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import logging
import re
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TextIO

from bot.config import Settings
from devtools.sandbox.client import SANDBOX_TOKEN, Sandbox
from devtools.sandbox.world import SentMessage
from devtools.sandbox.zalo import ZALO_TOKEN
from handlers.telegram.app import App, build_application, start_app, stop_app
from handlers.zalo_bot.app import ZaloBot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Persona:
    key: str
    user_id: int
    name: str
    role: str | None  # staff role granted in the sandbox database
    label: str  # shown in the persona picker


RESIDENT_1 = Persona("lan", 1001, "Bà Lan", None, "Người dân: Bà Lan")
RESIDENT_2 = Persona("binh", 1002, "Ông Bình", None, "Người dân: Ông Bình")
OFFICER = Persona("officer", 2001, "Cán bộ Minh", "officer", "Công an xã: Cán bộ Minh")
EDITOR = Persona("editor", 3001, "Chị Hoa", "editor", "Văn hóa - Xã hội: Chị Hoa")
PERSONAS = (RESIDENT_1, RESIDENT_2, OFFICER, EDITOR)
OFFICERS_GROUP_ID = -1001000
OFFICERS_GROUP_TITLE = "Tổ Công an xã (nhóm cán bộ)"


class SandboxRefused(RuntimeError):
    """The sandbox must never run next to a real token."""


def sandbox_settings(settings: Settings, url: str) -> Settings:
    """Settings for the bot in the sandbox: fake tokens for both channels (Telegram and Zalo stand-ins on
    the same local server), its own database, the personas' group."""
    return dataclasses.replace(
        settings,
        token=SANDBOX_TOKEN,
        api_url=url,
        zalo_token=ZALO_TOKEN,
        zalo_api_url=url + "/zalo",
        zalo_webhook_url=None,
        data_dir=settings.data_dir / "sandbox",
        officer_chat_id=OFFICERS_GROUP_ID,
        admin_ids=settings.admin_ids,
    )


def populate(sandbox: Sandbox) -> None:
    """Create the personas and the officers' group in the sandbox world."""
    for p in PERSONAS:
        sandbox.user(p.user_id, p.name, language_code="vi")
    staff = [sandbox.get_user(p.user_id) for p in PERSONAS if p.role == "officer"]
    sandbox.group(OFFICERS_GROUP_ID, OFFICERS_GROUP_TITLE, members=staff)


async def grant_roles(app: App) -> None:
    """Give the officer and culture-officer personas their roles in the sandbox database."""
    svc = app.bot_data.svc
    for p in PERSONAS:
        if not p.role:
            continue
        person = await svc.identities.ensure("telegram", str(p.user_id))
        if await svc.staff.role(person) != p.role:
            await svc.staff.add(person, p.role, "sandbox", p.name)


@dataclass
class LocalBot:
    """A running sandbox + bot pair (used by `run`, `chat`, the web chat and its tests)."""

    sandbox: Sandbox
    app: App
    settings: Settings
    zalo: ZaloBot | None = None

    async def start_bot(self, app: App | None = None) -> None:
        """Start the bot (Telegram app, then the Zalo channel on the same services) and give roles."""
        app = app or build_application(self.settings)
        await start_app(app, poll_timeout=2)
        self.app = app
        await self.sandbox.wait_until_polling()
        if self.settings.zalo_token:
            self.zalo = ZaloBot(self.settings, app.bot_data.svc, poll_timeout=2)
            await self.zalo.start()
        await grant_roles(app)

    async def stop_bot(self) -> None:
        if self.zalo is not None:
            await self.zalo.stop()
            self.zalo = None
        await stop_app(self.app)

    async def restart_bot(self) -> None:
        """Stop the bot and start a fresh one on the same database (as after a crash)."""
        await self.stop_bot()
        await self.start_bot()


@contextlib.asynccontextmanager
async def local_bot(settings: Settings, port: int = 0) -> AsyncIterator[LocalBot]:
    """Start the sandbox on 127.0.0.1:`port` and the real bot against it; stop both on exit."""
    if not settings.sandbox:
        raise SandboxRefused("BOT_TOKEN or ZALO_BOT_TOKEN is set: the local sandbox refuses to start next to a "
                             "real token")
    sandbox = Sandbox()
    await sandbox.start("127.0.0.1", port)
    try:
        populate(sandbox)
        bot_settings = sandbox_settings(settings, sandbox.url)
        local = LocalBot(sandbox, build_application(bot_settings), bot_settings)
        await local.start_bot(local.app)
        try:
            yield local
        finally:
            await local.stop_bot()
    finally:
        await sandbox.stop()


# --- the terminal chat ---------------------------------------------------------------------------

HELP = """Terminal chat with the bot (local sandbox). Type a message and press Enter.
  #N            press inline button N of the last message that has buttons
  :as KEY       speak as another persona: lan, binh, officer, editor
  :group TEXT   write TEXT in the officers' group (as the officer persona)
  :contact      share your own phone number (resident personas)
  :help         this help          :quit (or Ctrl+D)  leave"""


def render(message: SentMessage | dict[str, object], numbered_from: int = 1) -> str:
    """A bot message as plain terminal text, inline buttons numbered, reply keyboard listed."""
    data = message.to_json() if isinstance(message, SentMessage) else message
    text = str(data.get("text") or "")
    lines = [text]
    markup = data.get("reply_markup") or {}
    assert isinstance(markup, dict)
    n = numbered_from
    for row in markup.get("inline_keyboard") or []:
        labels = []
        for button in row:
            labels.append(f"[#{n} {button.get('text')}]")
            n += 1
        lines.append("  " + " ".join(labels))
    if markup.get("keyboard"):
        labels = [str(b.get("text") if isinstance(b, dict) else b) for row in markup["keyboard"] for b in row]
        lines.append("  (menu: " + " | ".join(labels) + ")")
    return "\n".join(lines)


async def terminal_chat(local: LocalBot, stdin: TextIO | None = None, out: TextIO | None = None) -> None:
    """Read lines from stdin, act as a persona, print what the bot says in that persona's chats."""
    reader = stdin or sys.stdin
    writer = out or sys.stdout

    def write(text: str) -> None:
        writer.write(text)
        writer.flush()

    persona = RESIDENT_1
    sandbox = local.sandbox
    last_with_buttons: dict[int, SentMessage] = {}
    write(HELP + "\n\n")
    subscription = sandbox.subscribe()

    async def printer() -> None:
        async for event in subscription:
            if event.get("type") not in ("message", "edit") or "message" not in event:
                continue
            msg = event["message"]
            if not msg.get("from_bot"):
                continue
            chat_id = int(msg["chat_id"])
            if chat_id not in (persona.user_id, OFFICERS_GROUP_ID):
                continue
            where = "nhóm cán bộ" if chat_id == OFFICERS_GROUP_ID else persona.name
            tag = "bot (sửa)" if event["type"] == "edit" else "bot"
            write(f"\n[{tag} → {where}]\n{render(msg)}\n> ")
            if (msg.get("reply_markup") or {}).get("inline_keyboard"):
                last_with_buttons[chat_id] = sandbox.message(chat_id, int(msg["message_id"]))

    task = asyncio.create_task(printer())
    try:
        await sandbox.get_user(persona.user_id).start()
        while True:
            line = await asyncio.to_thread(reader.readline)
            if not line:
                break
            line = line.strip()
            if not line:
                continue
            if line in (":quit", ":q"):
                break
            if line == ":help":
                write(HELP + "\n> ")
                continue
            if line.startswith(":as "):
                chosen = next((p for p in PERSONAS if p.key == line[4:].strip()), None)
                if chosen is None:
                    write("personas: " + ", ".join(p.key for p in PERSONAS) + "\n> ")
                else:
                    persona = chosen
                    write(f"now speaking as {persona.label}\n> ")
                continue
            user = sandbox.get_user(persona.user_id)
            if line.startswith(":group "):
                officer = sandbox.get_user(OFFICER.user_id)
                await officer.send(line[7:], chat=OFFICERS_GROUP_ID)
                continue
            if line == ":contact":
                await user.send_contact()
                continue
            button = re.fullmatch(r"#(\d+)", line)
            if button:
                await press_numbered(local, persona, last_with_buttons, int(button.group(1)), write)
                continue
            await user.send(line)
    finally:
        subscription.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def press_numbered(local: LocalBot, persona: Persona, last: dict[int, SentMessage], n: int,
                         write: Callable[[str], object]) -> None:
    """Press button number n of the newest message with buttons (the persona's chat first)."""
    candidates = [m for m in (last.get(persona.user_id), last.get(OFFICERS_GROUP_ID)) if m is not None]
    candidates.sort(key=lambda m: m.date, reverse=True)
    for message in candidates:
        current = local.sandbox.message(message.chat_id, message.message_id)
        buttons = current.buttons
        if 1 <= n <= len(buttons) and "callback_data" in buttons[n - 1]:
            user_id = persona.user_id if message.chat_id == persona.user_id else OFFICER.user_id
            await local.sandbox.get_user(user_id).press(current, str(buttons[n - 1]["callback_data"]))
            return
    write(f"no button #{n}\n> ")


def web_banner(url: str) -> str:
    """What `make run` prints: the web chat's address, in Vietnamese and English."""
    line = "─" * 72
    return "\n".join([
        line,
        f"  Trang chat thử / Web chat:   {url}",
        "  Mở địa chỉ này bằng trình duyệt.  Open this address in a web browser.",
        "  Chỉ máy này mở được (127.0.0.1), không cần Telegram hay Internet.",
        "  Only this computer can open it; no Telegram account, no internet needed.",
        "  Dừng / Stop: Ctrl+C.   Chat trong cửa sổ lệnh / Terminal chat: make chat",
        line,
    ])


async def run_local(settings: Settings, terminal: bool, web: bool) -> None:
    """`python -m bot run` without a token: the web chat on 127.0.0.1:settings.web_port (the page is the
    chat, so no terminal chat runs next to it); `run --no-web` from a terminal and `python -m bot chat`:
    the terminal chat."""
    from bot.cli.run import wait_for_signal

    port = settings.web_port if web else 0
    try:
        async with local_bot(settings, port=port) as local:
            if web:
                from devtools.sandbox.web import WebChat

                page = WebChat(local)
                page.mount()
                print(web_banner(page.url), flush=True)
                await wait_for_signal()
                return
            print(f"Local sandbox on {local.sandbox.url} (127.0.0.1 only; no Telegram, no internet).", flush=True)
            if terminal:
                await terminal_chat(local)
            else:
                print("Stop with Ctrl+C.", flush=True)
                await wait_for_signal()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(f"Port {port} is busy (cổng {port} đang bận): set another one, e.g. BOT_WEB_PORT={port + 1} make run",
              file=sys.stderr)
        raise SystemExit(1) from None
