"""Fixtures and helpers for tests that run against `devtools.sandbox` (import what you need).

- `sandbox`: a started `Sandbox` on 127.0.0.1 (stopped after the test).
- `bot_api`: a `BotApiClient` (httpx, keep-alive) calling the sandbox's Bot API with `TEST_TOKEN`.
- `running_app(sandbox, *handlers)`: a real PTB `Application` polling the sandbox, torn down cleanly.
- `ptb_timedelta`: sets PTB_TIMEDELTA=true for the test. PTB 22 warns (PTBDeprecationWarning) whenever it
  builds a `RetryAfter` unless that variable is set, which `filterwarnings = error` turns into a failure.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from devtools.sandbox import Sandbox

TEST_TOKEN = "123456:TEST-sandbox"


class BotApiClient:
    """Calls `/bot<token>/<method>` with JSON bodies (or form / multipart when asked)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def call(
        self, method: str, *, files: dict[str, Any] | None = None, **params: Any
    ) -> httpx.Response:
        if files is not None:
            data = {k: v if isinstance(v, str) else _json(v) for k, v in params.items()}
            return await self.client.post(f"/{method}", data=data, files=files)
        return await self.client.post(f"/{method}", json=params)

    async def ok(self, method: str, **params: Any) -> Any:
        """Call and return `result`, failing the test if Telegram would have refused."""
        response = await self.call(method, **params)
        body = response.json()
        assert response.status_code == 200 and body["ok"] is True, body
        return body["result"]

    async def error(self, method: str, **params: Any) -> tuple[int, str]:
        """Call, expect a refusal, return (error_code, description) after checking the shape."""
        response = await self.call(method, **params)
        body = response.json()
        assert body["ok"] is False, body
        assert response.status_code == body["error_code"]
        return body["error_code"], body["description"]


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


@pytest_asyncio.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox() as sb:
        yield sb


@pytest_asyncio.fixture
async def bot_api(sandbox: Sandbox) -> AsyncIterator[BotApiClient]:
    async with httpx.AsyncClient(base_url=f"{sandbox.base_url}{TEST_TOKEN}") as client:
        yield BotApiClient(client)


@pytest.fixture
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    yield


@contextlib.asynccontextmanager
async def running_app(
    sandbox: Sandbox, *handlers: Any, token: str = TEST_TOKEN, rate_limiter: bool = False
) -> AsyncIterator[Any]:
    """Build a PTB Application against the sandbox, start polling, yield it, shut it down cleanly."""
    from telegram.ext import AIORateLimiter, ApplicationBuilder

    builder: Any = ApplicationBuilder().token(token)
    builder = builder.base_url(sandbox.base_url).base_file_url(sandbox.base_file_url)
    if rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter())
    app = builder.build()
    for handler in handlers:
        app.add_handler(handler)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    # Stopping PTB while its first getUpdates is still connecting leaves httpx's one-connection pool
    # stuck for its pool timeout (1 s) and logs an error; wait until that connection is up.
    await sandbox.wait_until_polling()
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
