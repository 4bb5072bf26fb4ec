"""Shared fixtures: the sandbox (tests/sandbox_fixtures.py) and the real bot polling it over loopback."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from bot.config import Settings
from devtools.sandbox import Sandbox
from devtools.sandbox.client import SANDBOX_TOKEN
from handlers.telegram.app import App, build_application, start_app, stop_app
from tests.sandbox_fixtures import bot_api, ptb_timedelta, sandbox  # noqa: F401  (fixtures)

os.environ.setdefault("PTB_TIMEDELTA", "true")

ROOT = Path(__file__).resolve().parent.parent
OFFICERS_CHAT = -1001234


@pytest.fixture
def settings(tmp_path: Path, sandbox: Sandbox) -> Settings:  # noqa: F811
    """Settings of a bot that talks to this test's sandbox, with its own data folder."""
    return Settings(token=SANDBOX_TOKEN, api_url=sandbox.url, data_dir=tmp_path / "data",
                    content_dir=ROOT / "content", officer_chat_id=OFFICERS_CHAT, broadcast_rate=1000.0)


StartBot = Callable[..., Awaitable[App]]


@pytest_asyncio.fixture
async def start_bot(settings: Settings, sandbox: Sandbox) -> AsyncIterator[StartBot]:  # noqa: F811
    """Start the real application against the sandbox (call again after a stop to 'restart')."""
    running: list[App] = []

    async def start(**overrides: object) -> App:
        app = build_application(dataclasses.replace(settings, **overrides))  # type: ignore[arg-type]
        await start_app(app, poll_timeout=1)
        running.append(app)
        # Stopping PTB while its first getUpdates is still connecting stalls httpx's pool: wait for it.
        await sandbox.wait_until_polling()
        return app

    yield start
    for app in running:
        await stop_app(app)


@pytest_asyncio.fixture
async def bot(start_bot: StartBot) -> App:
    """The real bot, running."""
    return await start_bot()


async def person_of(app: App, user_id: int) -> int:
    """The person behind a sandbox (Telegram) user id."""
    identity = await app.bot_data.svc.identities.get("telegram", str(user_id))
    assert identity is not None, f"telegram user {user_id} never wrote to the bot"
    return identity.person_id
