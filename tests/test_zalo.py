"""The Zalo channel: the real application (bot/app.py's Runtime) against the sandbox's Zalo stand-in, with
the Telegram channel beside it on the same database."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio

from bot.app import Runtime
from bot.config import Settings
from bot.services import Services
from devtools.sandbox import Sandbox
from devtools.sandbox.zalo import ZALO_TOKEN, ZaloMessage, ZaloUser
from handlers.zalo_bot.client import ZaloClient, ZaloRefused, ZaloRetry
from handlers.zalo_bot.inbound import parse


async def eventually(check: Callable[[], bool] | Callable[[], Awaitable[bool]], timeout: float = 10.0,  # noqa: ASYNC109
                     what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached in time")
        await asyncio.sleep(0.02)


async def reply(user: ZaloUser, text: str, n: int = 1, timeout: float = 10.0) -> list[ZaloMessage]:  # noqa: ASYNC109
    """Send a text as the Zalo user; the bot's next `n` messages to them."""
    before = len(user.messages())
    await user.send(text)
    await eventually(lambda: len(user.messages()) >= before + n, timeout, f"{n} answer(s) to {text!r}")
    await asyncio.sleep(0.05)
    return user.messages()[before:]


@pytest.fixture
def zalo_settings(settings: Settings, sandbox: Sandbox) -> Settings:
    return dataclasses.replace(settings, zalo_token=ZALO_TOKEN, zalo_api_url=sandbox.zalo_url,
                               zalo_broadcast_rate=1000.0)


@pytest_asyncio.fixture
async def runtime(zalo_settings: Settings, sandbox: Sandbox) -> AsyncIterator[Runtime]:
    """Both channels in one process and one database, as `make run` with both tokens starts them."""
    rt = Runtime(zalo_settings, telegram_poll_timeout=1, zalo_poll_timeout=1)
    await rt.start()
    await sandbox.wait_until_polling()
    yield rt
    await rt.stop()


def svc_of(rt: Runtime) -> Services:
    return rt.services


# --- the client against the stand-in -----------------------------------------------------------------------


async def test_client_reads_ok_idle_timeouts_one_update_per_call_and_refusals(sandbox: Sandbox) -> None:
    client = ZaloClient(ZALO_TOKEN, sandbox.zalo_url, backoff=0.01)
    try:
        assert (await client.get_me())["id"]
        assert await client.get_update(wait=0) is None  # idle: "Request timeout" with HTTP 200
        sandbox.zalo.idle_status = 408
        assert await client.get_update(wait=0) is None  # … or with HTTP 408
        lan, binh = sandbox.zalo.user("a1", "Lan"), sandbox.zalo.user("b2", "Bình")
        await lan.send("xin chao")
        await binh.send("alo")
        first, second = await client.get_update(wait=1), await client.get_update(wait=1)
        assert first is not None and second is not None  # one update per call, in order
        assert first["message"]["text"] == "xin chao" and second["message"]["from"]["id"] == "b2"
        with pytest.raises(ZaloRefused) as refused:
            await client.call("editMessageText", {"chat_id": "a1", "text": "x"})
        assert refused.value.code == 404
        with pytest.raises(ZaloRefused) as too_long:
            await client.send_message("a1", "x" * 2001)
        assert too_long.value.code == 400
        sandbox.zalo.add_fault("sendMessage", 429, times=1, retry_after=0)
        sandbox.zalo.add_fault("sendMessage", 502, times=1, http_status=502)
        assert (await client.call("sendMessage", {"chat_id": "a1", "text": "ok"}, retries=2))["message_id"]
        sandbox.zalo.add_fault("sendMessage", 500, times=5)
        with pytest.raises(ZaloRetry):
            await client.call("sendMessage", {"chat_id": "a1", "text": "ok"}, retries=1)
    finally:
        await client.aclose()
    bad = ZaloClient("not-a-token", sandbox.zalo_url)
    try:
        with pytest.raises(ZaloRefused) as unauthorized:  # HTTP 200 with ok: false, error_code 401
            await bad.get_me()
        assert unauthorized.value.code == 401 and "not-a-token" not in str(unauthorized.value)
    finally:
        await bad.aclose()


async def test_network_errors_never_show_the_token() -> None:
    client = ZaloClient(ZALO_TOKEN, "http://127.0.0.1:9", retries=0)  # nothing listens on port 9
    try:
        with pytest.raises(ZaloRetry) as failed:
            await client.get_me()
        assert ZALO_TOKEN not in str(failed.value) and ZALO_TOKEN.split(":")[1] not in str(failed.value)
    finally:
        await client.aclose()


def test_updates_are_parsed_defensively() -> None:
    base = {"from": {"id": "u1", "display_name": "Lan"}, "chat": {"id": "u1", "chat_type": "PRIVATE"},
            "message_id": "m1"}
    text = parse({"ok": True, "result": {"event_name": "message.text.received", "message": {**base, "text": "hi"}}})
    assert text is not None and text.who.channel == "zalo" and text.who.chat == "u1" and text.message_id == "m1"
    image = parse({"event_name": "message.image.received", "message": {**base, "photo_url": "https://x/y.jpg"}})
    assert image is not None and type(image.event).__name__ == "Photo"
    odd = parse({"event_name": "message.unsupported.received", "message": base})
    assert odd is not None and type(odd.event).__name__ == "Other"
    group = {**base, "chat": {"id": "g1", "chat_type": "GROUP"}, "text": "hi"}
    assert parse({"event_name": "message.text.received", "message": group}) is None
    assert parse({"event_name": "message.text.received", "message": {**base, "from": {"id": "b", "is_bot": True}}}) \
        is None
    assert parse("garbage") is None and parse({"message": "x"}) is None


# --- residents on Zalo -----------------------------------------------------------------------------------


async def test_a_zalo_resident_gets_plain_answers_within_2000_characters(runtime: Runtime, sandbox: Sandbox) -> None:
    lan = sandbox.zalo.user("7f3a9c01d2e4b5a6", "Bà Lan")
    hello = await reply(lan, "/start")
    assert hello and all(len(m.text) <= 2000 for m in hello)
    asked = await reply(lan, "cho toi hoi dang ky dinh danh muc 2 thi can mang giay to gi va lam o dau a")
    text = "\n".join(m.text for m in asked)
    assert "<b>" not in text and "&amp;" not in text and "</" not in text
    assert all(len(m.text) <= 2000 for m in lan.messages())
    assert "1." in text and "Gõ" in text  # the feedback options as a numbered list
