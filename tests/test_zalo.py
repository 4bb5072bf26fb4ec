"""The Zalo channel: the real application (bot/app.py's Runtime) against the sandbox's Zalo stand-in, with
the Telegram channel beside it on the same database."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import httpx
import pytest
import pytest_asyncio

from bot.app import Runtime
from bot.config import Settings
from bot.services import Services
from devtools.sandbox import Sandbox, SandboxUser
from devtools.sandbox.zalo import ZALO_TOKEN, ZaloMessage, ZaloUser
from handlers.zalo_bot.client import ZaloClient, ZaloRefused, ZaloRetry
from handlers.zalo_bot.inbound import parse
from tests.conftest import OFFICERS_CHAT

DAYTIME = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)  # Thursday 09:00 in Asia/Ho_Chi_Minh: no quiet hours


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


async def test_stickers_images_and_unsupported_messages_get_calm_answers(runtime: Runtime, sandbox: Sandbox) -> None:
    lan = sandbox.zalo.user("c0ffee01", "Bà Lan")
    n = len(lan.messages())
    await lan.send_sticker()
    await eventually(lambda: len(lan.messages()) > n)
    assert "gõ câu hỏi" in lan.messages()[-1].text
    n = len(lan.messages())
    await lan.send_unsupported()
    await eventually(lambda: len(lan.messages()) > n)
    assert "không xem được" in lan.messages()[-1].text  # no guess at what it was


async def test_a_repeated_update_is_answered_once(runtime: Runtime, sandbox: Sandbox) -> None:
    lan = sandbox.zalo.user("d00d01", "Bà Lan")
    update = {"event_name": "message.text.received",
              "message": {"from": {"id": lan.id, "display_name": "Lan"}, "chat": {"id": lan.id, "chat_type": "PRIVATE"},
                          "message_id": "same-id-1", "text": "/help", "date": 1}}
    sandbox.zalo.push(update)
    sandbox.zalo.push(update)  # Zalo has no offset: the same message may come twice
    await eventually(lambda: len(lan.messages()) >= 1)
    await asyncio.sleep(2.5)  # both polls done
    assert len(lan.messages()) == 1


async def officers_group(sandbox: Sandbox, svc: Services) -> tuple[object, SandboxUser]:
    minh = sandbox.user(9001, "Cán bộ Minh")
    person = await svc.identities.ensure("telegram", str(minh.id))
    await svc.staff.add(person, "officer", "test", "Cán bộ Minh")
    group = sandbox.group(OFFICERS_CHAT, "Tổ hỗ trợ VNeID", members=[minh])
    return group, minh


async def test_a_zalo_resident_files_a_request_by_typing_and_hears_from_the_telegram_officer(
        runtime: Runtime, sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    svc = svc_of(runtime)
    group, minh = await officers_group(sandbox, svc)
    notices = group.cursor()  # type: ignore[attr-defined]
    lan = sandbox.zalo.user("9e8d7c6b5a4f3e2d", "Bà Lan")
    with caplog.at_level(logging.INFO):
        consent = await reply(lan, "/request")
        assert "1. ✅ Đồng ý" in consent[-1].text
        topics = await reply(lan, "dong y")  # the words, without diacritics
        assert "Đăng ký định danh mức 2" in topics[-1].text
        ask_name = await reply(lan, "1")
        assert "họ và tên" in ask_name[-1].text
        ask_phone = await reply(lan, "Nguyen Thi Lan")
        assert "số điện thoại" in ask_phone[-1].text and "📱" not in ask_phone[-1].text  # typed, no button
        villages = await reply(lan, "0912 345 678", n=2)
        assert "thôn nào" in villages[-1].text and "Chọn" not in villages[0].text
        ask_id = await reply(lan, "thon 3")
        assert "định danh" in ask_id[-1].text
        slots = await reply(lan, "019203012345")
        ask_note = await reply(lan, "1")
        summary = await reply(lan, "bo qua")
        assert "Nguyen Thi Lan" in summary[-1].text and "Xác nhận" in summary[-1].text
        confirmation = await reply(lan, "1")
        assert "HT-0001" in confirmation[0].text
        notice = await notices.next()
    assert slots and ask_note
    assert "HT-0001" in notice.text and "019203012345" not in notice.text and "0912345678" not in notice.text
    assert not any("019203012345" in r.getMessage() or "0912345678" in r.getMessage() for r in caplog.records)
    # The officer on Telegram claims it: the resident on Zalo is told.
    before = len(lan.messages())
    private = sandbox.cursor(minh)
    await minh.press(notice, "hq:claim:1")
    detail = await private.next()  # the full detail, privately, on Telegram
    assert "Nguyen Thi Lan" in detail.text
    await eventually(lambda: len(lan.messages()) > before, what="the claim notice on Zalo")
    assert "đã nhận yêu cầu" in lan.messages()[-1].text
    request = await svc.helpdesk.store.get(1)
    assert request is not None and request.status == "claimed"
    # "Done" reaches Zalo too (through the outbox).
    private = sandbox.cursor(minh)
    await minh.press(detail, "hq:done:1")
    outcomes = await private.next()
    before = len(lan.messages())
    await minh.press(outcomes, "hz:1:level2")
    await eventually(lambda: len(lan.messages()) > before, what="the done notice on Zalo")
    assert "đã xong" in lan.messages()[-1].text
    status = await reply(lan, "/status")
    assert "HT-0001" in status[-1].text


async def subscribe_on_zalo(user: ZaloUser) -> None:
    consent = await reply(user, "/subscribe")
    assert "Đồng ý" in consent[-1].text
    villages = await reply(user, "1", n=2)  # "subscribed" (a pop-up on Telegram) first, then the villages
    assert "Đã đăng ký" in villages[0].text
    assert "thôn nào" in villages[-1].text
    topics = await reply(user, "2")
    await reply(user, str(topics[-1].text.count("\n") and len([ln for ln in topics[-1].text.splitlines()
                                                                 if ln[:1].isdigit()])))  # "Xong", the last option


async def test_a_campaign_reaches_both_channels_once_and_a_zalo_429_pauses_only_zalo(
        runtime: Runtime, sandbox: Sandbox) -> None:
    svc = svc_of(runtime)
    villages = [v.id for v in svc.content.commune.villages]
    tg_users = [sandbox.user(30000 + i, f"Dân {i}") for i in range(40)]
    await svc.campaigns.subscriptions.add_many([(u.id, u.id, "vi", villages[i % 8]) for i, u in enumerate(tg_users)])
    zalo_users = [sandbox.zalo.user(f"ab{i:04x}", f"Zalo {i}") for i in range(30)]
    await svc.campaigns.subscriptions.add_many([(u.id, u.id, "vi", villages[i % 8]) for i, u in enumerate(zalo_users)],
                                               channel="zalo")
    lan = sandbox.zalo.user("5ub5cr1be", "Bà Lan")
    await subscribe_on_zalo(lan)
    sub = await svc.campaigns.subscriptions.get((await svc.identities.get("zalo", lan.id)).person_id)  # type: ignore[union-attr]
    assert sub is not None and sub.active and sub.channel == "zalo"
    # Zalo asks for 2 seconds of silence at its 5th send.
    sandbox.zalo.add_fault("sendMessage", 429, times=1, retry_after=2)
    started = asyncio.get_running_loop().time()
    svc.campaigns.clock = lambda: DAYTIME  # "now" outside the quiet hours, whatever the hour the suite runs at
    campaign_id = await svc.campaigns.create("Họp **thôn** tối thứ Bảy", at=None)

    def tg_received() -> int:
        return sum(any("Họp" in m.text for m in sandbox.messages(u.id)) for u in tg_users)

    def zalo_received() -> list[int]:
        return [sum("Họp thôn" in m.text for m in u.messages()) for u in [*zalo_users, lan]]

    await eventually(lambda: tg_received() == len(tg_users), what="every Telegram subscriber")
    telegram_done = asyncio.get_running_loop().time() - started
    await eventually(lambda: all(n == 1 for n in zalo_received()), timeout=15, what="every Zalo subscriber")
    zalo_done = asyncio.get_running_loop().time() - started
    assert telegram_done < 1.5 <= zalo_done  # Telegram did not wait out Zalo's pause
    await asyncio.sleep(0.5)
    assert all(n == 1 for n in zalo_received())  # exactly once, the 429'd one included
    zalo_text = lan.messages()[-1].text
    assert "**" not in zalo_text and "<b>" not in zalo_text and "/unsubscribe" in zalo_text
    await svc.campaigns.engine.idle()
    report = await svc.campaigns.report(campaign_id)
    assert report is not None and (report.recipients, report.sent, report.failed) == (71, 71, 0)


async def test_zalo_alone_and_webhook_mode_with_its_secret(zalo_settings: Settings, sandbox: Sandbox) -> None:
    settings = dataclasses.replace(zalo_settings, token=None, zalo_webhook_url="http://127.0.0.1:0/zalo-hook",
                                   zalo_webhook_secret="s3cret-for-tests", zalo_webhook_port=0)
    rt = Runtime(settings)
    await rt.start()
    try:
        assert set(rt.services.channels.ports) == {"zalo"} and rt.telegram is None
        assert rt.zalo is not None and rt.zalo._webhook is not None
        port = rt.zalo._webhook.port
        hook = f"http://127.0.0.1:{port}/zalo-hook"
        sandbox.zalo.webhook_url = hook  # the stand-in posts there, with the registered secret
        assert sandbox.zalo.webhook_secret == "s3cret-for-tests"
        lan = sandbox.zalo.user("abcdef12", "Bà Lan")
        answers = await reply(lan, "/start")
        assert "Xin chào" in answers[0].text
        body = {"event_name": "message.text.received",
                "message": {"from": {"id": lan.id}, "chat": {"id": lan.id, "chat_type": "PRIVATE"},
                            "message_id": "forged-1", "text": "/help"}}
        async with httpx.AsyncClient() as http:
            forged = await http.post(hook, content=json.dumps(body), headers={"X-Bot-Api-Secret-Token": "wrong"})
            missing = await http.post(hook, json=body)
            wrong_path = await http.post(f"http://127.0.0.1:{port}/other", json=body,
                                         headers={"X-Bot-Api-Secret-Token": "s3cret-for-tests"})
        assert (forged.status_code, missing.status_code, wrong_path.status_code) == (401, 401, 404)
        await asyncio.sleep(0.3)
        assert len(lan.messages()) == len(answers)  # nothing answered to forged requests
    finally:
        await rt.stop()
