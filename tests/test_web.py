"""The web chat over HTTP (httpx): page and assets served by the project only, the side panel's JSON, the
reset, the guards (loopback only, same origin, never next to a real token), and `python -m bot run`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from bot.cli import run as run_cli
from bot.config import Settings
from devtools.sandbox import Sandbox, SandboxUser
from devtools.sandbox.local import (
    OFFICER,
    OFFICERS_GROUP_ID,
    PERSONAS,
    RESIDENT_1,
    SandboxRefused,
    local_bot,
    run_local,
)
from devtools.sandbox.web import LABELS, WebChat

ROOT = Path(__file__).resolve().parent.parent
DAYTIME = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)  # Thursday 09:00 in Asia/Ho_Chi_Minh: no quiet hours


@pytest_asyncio.fixture
async def web(tmp_path: Path) -> AsyncIterator[WebChat]:
    settings = Settings(data_dir=tmp_path / "data", content_dir=ROOT / "content")
    async with local_bot(settings, port=0) as local:
        page = WebChat(local)
        page.mount()
        yield page


@pytest_asyncio.fixture
async def client(web: WebChat) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=web.local.sandbox.url, timeout=10) as c:
        yield c


async def file_request(sandbox: Sandbox, user: SandboxUser) -> str:
    """Fill and confirm the help form as the resident would, sharing the own contact; the confirmation."""
    cursor = sandbox.cursor(user)

    async def after_press(data: str) -> None:
        message = sandbox.last_message(user)
        assert message is not None and data in message.callback_data, (data, message)
        await user.press(message, data)

    await user.send("/request")
    await cursor.next()
    await after_press("rq:consent:yes")
    await cursor.next()
    await after_press("rq:topic:level2")
    await cursor.next()
    await user.send("Nguyễn Thị Lan")
    await cursor.next()
    await user.send_contact()
    await cursor.next()
    await cursor.next()
    await after_press("rq:village:thon-3")
    await cursor.next()
    await user.send("019203012345")
    slots = await cursor.next()
    await user.press(slots, next(d for d in slots.callback_data if d.startswith("rq:slot:")))
    await cursor.next()  # the chosen time, said back
    await cursor.next()
    await after_press("rq:note:skip")
    await cursor.next()
    await after_press("rq:summary:confirm")
    return (await cursor.next()).text


async def eventually(check: object, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check() if callable(check) else check
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


# --- the page -----------------------------------------------------------------------------------------


async def test_the_page_is_served_in_vietnamese_with_its_assets(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<html lang="vi">' in page.text
    assert "Mô phỏng chatbot của xã" in page.text and "Làm lại từ đầu" in page.text
    assert "{{" not in page.text  # every placeholder filled
    labels = json.loads(re.search(r'<script type="application/json" id="labels">(.*?)</script>', page.text,
                                  re.S).group(1))  # type: ignore[union-attr]
    assert set(labels) == set(LABELS) and labels["start"] == "BẮT ĐẦU"
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    english = await client.get("/?lang=en")
    assert '<html lang="en">' in english.text and "Bot simulator" in english.text
    assert 'href="?lang=vi">Tiếng Việt<' in english.text and 'href="?lang=en">English<' in page.text
    css = await client.get("/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    js = await client.get("/app.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    for path in ("/nothing", "/web.py", "/../web.py", "/%2e%2e/web.py", "/web/index.html", "/app.js/x"):
        assert (await client.get(path)).status_code == 404, path


async def test_assets_reference_no_other_host(client: httpx.AsyncClient) -> None:
    """Works offline: no CDN, no web fonts, no external script, style, image or connection."""
    texts = {path: (await client.get(path)).text for path in ("/", "/app.css", "/app.js", "/zalo.js")}
    for path, text in texts.items():
        hosts = set(re.findall(r"(?i)\bhttps?://([a-z0-9.\-\[\]:]+)", text))
        assert hosts <= {"127.0.0.1", "localhost"}, (path, hosts)
        assert "@import" not in text and "@font-face" not in text, path
        assert not re.search(r"""(?i)url\(\s*['"]?(?!data:)[a-z]*:?//""", text), path
    html = texts["/"]
    for attribute in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert not re.match(r"(?i)([a-z]+:)?//", attribute), attribute
        assert not re.match(r"(?i)[a-z]+:", attribute) or attribute.startswith("data:"), attribute
    assert re.findall(r'<script[^>]*src="([^"]*)"', html) == ["app.js", "zalo.js"]
    assert re.findall(r'<link rel="stylesheet" href="([^"]*)"', html) == ["app.css"]
    # The script talks to this origin only: relative paths, no WebSocket or fetch to another host.
    assert re.findall(r'fetch\(([^,)]*)', texts["/app.js"]) == ["path"]
    assert 'new EventSource("/sandbox/events")' in texts["/app.js"]


async def test_setup_lists_the_personas_and_the_group(client: httpx.AsyncClient) -> None:
    setup = (await client.get("/web/setup")).json()["result"]
    keys = [p["key"] for p in setup["personas"]]
    assert keys == [p.key for p in PERSONAS] + ["group"]
    group = setup["personas"][-1]
    assert group["chat_id"] == OFFICERS_GROUP_ID and group["actor_id"] == OFFICER.user_id
    assert setup["commune"] and setup["group_members"] == 1
    assert setup["labels"]["reset"] == "Làm lại từ đầu"


# --- the panel ----------------------------------------------------------------------------------------


async def test_the_panel_shows_the_match_the_queue_masked_and_campaign_progress(
        web: WebChat, client: httpx.AsyncClient) -> None:
    sandbox = web.local.sandbox
    svc = web.local.app.bot_data.svc
    svc.campaigns.clock = lambda: DAYTIME
    empty = (await client.get("/web/panel", params={"user_id": RESIDENT_1.user_id})).json()["result"]
    assert empty["question"] is None and empty["requests"] == [] and empty["campaigns"] == []

    lan = sandbox.get_user(RESIDENT_1.user_id)
    question_text = "kich hoat dinh danh muc 2 o dau"
    topic = svc.faq.ask(question_text).topic
    assert topic in {"vneid-activate", "vneid-level2-register"}  # see tests/test_web_browser.py
    await lan.ask(question_text)
    binh = sandbox.get_user(1002)
    await binh.ask("xin việc ở đâu")  # out of scope, by someone else
    mine = (await client.get("/web/panel", params={"user_id": lan.id})).json()["result"]
    question = mine["question"]
    assert question["topic"] == topic and question["status"] == "answer"
    assert question["title"] == svc.faq.faq(topic).title and svc.faq.thresholds()["answer"] <= question["score"] <= 1
    assert question["closest"][0]["id"] == topic and len(question["closest"]) == 3
    assert mine["thresholds"] == svc.faq.thresholds()
    anyone = (await client.get("/web/panel")).json()["result"]["question"]
    assert anyone["status"] == "out_of_scope" and anyone["topic"] is None

    confirmation = await file_request(sandbox, lan)
    assert "HT-0001" in confirmation
    await svc.campaigns.subscriptions.subscribe(lan.id, lan.id, "vi")
    campaign_id = await svc.campaigns.create("Họp dân **thôn 3** tối thứ Bảy.", at=None)

    async def delivered() -> bool:
        report = await svc.campaigns.report(campaign_id)
        return report is not None and report.status == "done"

    await eventually(delivered)
    response = await client.get("/web/panel", params={"user_id": lan.id})
    panel = response.json()["result"]
    assert panel["open_requests"] == 1
    request = panel["requests"][0]
    assert (request["code"], request["status"], request["village"]) == ("HT-0001", "new", "Thôn 3")
    assert request["status_label"] == "chờ nhận" and request["topic"] == "Đăng ký định danh mức 2"
    assert request["phone"] == "09•••••001"
    # Personal data stays masked: no full phone number, no ID number, no name in the panel.
    assert "0910001001" not in response.text and "019203012345" not in response.text
    assert "Nguyễn Thị Lan" not in response.text
    campaign = panel["campaigns"][0]
    assert campaign["id"] == campaign_id and campaign["status"] == "done" and campaign["status_label"] == "Đã gửi"
    assert (campaign["recipients"], campaign["sent"], campaign["failed"], campaign["pending"]) == (1, 1, 0, 0)
    assert campaign["text"] == "Họp dân thôn 3 tối thứ Bảy." and campaign["audience"] == "tất cả người nhận tin"
    assert panel["subscribers"] == 1
    # This month's report figures (bot/report), as the .docx would count them.
    figures = dict(panel["report"]["rows"])
    assert figures["Số yêu cầu hỗ trợ tiếp nhận"] == "1" and figures["Số lượt thông báo đã gửi"] == "1"
    assert figures["Đã đến người nhận"] == "1/1"


async def test_lang_en_makes_the_personas_and_the_bot_speak_english(web: WebChat, client: httpx.AsyncClient) -> None:
    """Issue 10 item 14: with ?lang=en the personas' language_code is English, so the bot answers in English."""
    setup = (await client.get("/web/setup", params={"lang": "en"})).json()["result"]
    assert setup["lang"] == "en"
    sandbox = web.local.sandbox
    lan = sandbox.get_user(RESIDENT_1.user_id)
    assert lan.language_code == "en"
    answer = await lan.ask("/help")
    assert "How to use this bot" in answer.text
    await client.get("/web/setup", params={"lang": "vi"})
    assert lan.language_code == "vi"


# --- reset ----------------------------------------------------------------------------------------------


async def test_reset_wipes_the_sandbox_and_its_database_and_restarts_the_bot(
        web: WebChat, client: httpx.AsyncClient) -> None:
    local = web.local
    lan = local.sandbox.get_user(RESIDENT_1.user_id)
    await lan.ask("quen mat khau vneid")
    await local.app.bot_data.svc.campaigns.subscriptions.subscribe(lan.id, lan.id, "vi")
    old_app = local.app
    db_path = local.settings.db_path
    assert db_path.parent.name == "sandbox" and db_path.exists()

    response = await client.post("/web/reset", json={})
    assert response.status_code == 200 and response.json() == {"ok": True, "result": {}}

    assert local.app is not old_app and local.app.running
    svc = local.app.bot_data.svc
    assert await svc.questions.latest() is None
    assert await svc.campaigns.audience_size("all") == 0
    officer = await svc.identities.get("telegram", str(OFFICER.user_id))
    assert officer is not None and await svc.staff.role(officer.person_id) == "officer"
    assert sorted(local.sandbox.world.users) == sorted(p.user_id for p in PERSONAS)
    assert local.sandbox.messages(lan.id, include_user=True) == []
    assert OFFICERS_GROUP_ID in local.sandbox.world.chats
    # The bot answers again, from the fresh database.
    lan = local.sandbox.get_user(RESIDENT_1.user_id)
    reply = await lan.ask("/start")
    assert reply.text
    panel = (await client.get("/web/panel")).json()["result"]
    assert panel["question"] is None and panel["requests"] == []


async def test_reload_reads_edited_content_and_refuses_broken_content(tmp_path: Path) -> None:
    """The content editor's check: edit an answer, read the content again, ask; nothing is erased."""
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    settings = Settings(data_dir=tmp_path / "data", content_dir=content)
    async with local_bot(settings, port=0) as local:
        page = WebChat(local)
        page.mount()
        lan = local.sandbox.get_user(RESIDENT_1.user_id)
        before = await lan.ask("quen mat khau vneid")
        assert "Sửa thử lần một" not in before.text
        faq = content / "faq" / "vneid-forgot-password.md"
        faq.write_text(faq.read_text(encoding="utf-8") + "\nSửa thử lần một.\n", encoding="utf-8")
        async with httpx.AsyncClient(base_url=local.sandbox.url, timeout=10) as client:
            response = await client.post("/web/reload", json={})
            assert response.status_code == 200, response.text
            after = await lan.ask("quen mat khau vneid")
            assert "Sửa thử lần một." in after.text
            assert len(local.sandbox.messages(lan.id)) == 2  # the chat and the database were kept
            assert await local.app.bot_data.svc.db.fetchval("SELECT COUNT(*) FROM questions") == 2

            (content / "commune.toml").write_text("this is = = not toml", encoding="utf-8")
            app = local.app
            refused = await client.post("/web/reload", json={})
            assert refused.status_code == 422
            assert any("commune.toml" in problem for problem in refused.json()["problems"])
            assert local.app is app and app.running  # the bot keeps the content it had
            still = await lan.ask("quen mat khau vneid")
            assert "Sửa thử lần một." in still.text


async def test_reset_refuses_other_hosts_other_origins_and_plain_forms(
        web: WebChat, client: httpx.AsyncClient) -> None:
    lan = web.local.sandbox.get_user(RESIDENT_1.user_id)
    await lan.ask("quen mat khau vneid")
    app = web.local.app
    origin = web.local.sandbox.url
    refused = [
        await client.post("/web/reset", json={}, headers={"Origin": "http://evil.example"}),
        await client.post("/web/reset", json={}, headers={"Host": "evil.example"}),  # DNS rebinding
        await client.post("/web/reset", content=b"x=1",
                          headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": origin}),
        await client.post("/web/reset", content=b"{}", headers={"Content-Type": "text/plain"}),
    ]
    assert [r.status_code for r in refused] == [403, 403, 415, 415]
    assert (await client.get("/web/reset")).status_code == 404
    assert (await client.get("/", headers={"Host": "evil.example"})).status_code == 403
    assert (await client.get("/web/panel", headers={"Host": "evil.example:80"})).status_code == 403
    assert web.local.app is app
    assert await app.bot_data.svc.questions.latest() is not None  # nothing was wiped


# --- never exposed, never next to a real token -----------------------------------------------------------


async def test_the_sandbox_binds_loopback_only(web: WebChat) -> None:
    server = web.local.sandbox.server.http._server
    assert server is not None
    addresses = {sock.getsockname()[0] for sock in server.sockets}
    assert addresses == {"127.0.0.1"}
    port = web.local.sandbox.server.http.port
    other = _non_loopback_address()
    if other is None:
        return  # this machine has no other interface to try
    with pytest.raises(OSError):
        _, writer = await asyncio.wait_for(asyncio.open_connection(other, port), 3)
        writer.close()


def _non_loopback_address() -> str | None:
    """An address of this machine that is not loopback (no packet is sent), or None."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.255.255.255", 1))
        address = str(s.getsockname()[0])
        if not address.startswith("127."):
            return address
    return None


async def test_the_sandbox_refuses_to_start_next_to_a_real_token(tmp_path: Path) -> None:
    settings = Settings(token="123456:REAL-token", data_dir=tmp_path / "data", content_dir=ROOT / "content")
    with pytest.raises(SandboxRefused):
        async with local_bot(settings):
            pass
    with pytest.raises(SandboxRefused):
        await run_local(settings, terminal=False, web=True)
    assert not (tmp_path / "data").exists()


def test_run_with_a_token_serves_telegram_not_the_sandbox(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_TOKEN", "123456:REAL-token")
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    called: list[str] = []

    async def serve(settings: Settings) -> None:
        called.append("telegram")

    async def serve_sandbox(settings: Settings, terminal: bool, web: bool) -> None:
        called.append("sandbox")

    monkeypatch.setattr(run_cli, "serve", serve)
    monkeypatch.setattr(run_cli, "serve_sandbox", serve_sandbox)
    assert run_cli.cmd_run(run_cli.argparse.Namespace(no_web=False)) == 0
    assert called == ["telegram"]


def _environment(tmp_path: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update(BOT_DATA_DIR=str(tmp_path / "data"), BOT_CONTENT_DIR=str(ROOT / "content"),
               BOT_WEB_PORT=str(port), PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_python_m_bot_chat_refuses_a_token(tmp_path: Path) -> None:
    env = {**_environment(tmp_path, _free_port()), "BOT_TOKEN": "123456:REAL-token"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "chat", cwd=tmp_path, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2 and b"BOT_TOKEN is set" in out


async def test_make_run_without_a_token_serves_the_web_chat_on_the_configured_port(tmp_path: Path) -> None:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=_environment(tmp_path, port),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert process.stdout is not None
    url = f"http://127.0.0.1:{port}/"
    printed: list[str] = []
    try:
        while url not in "".join(printed):
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            assert line, "".join(printed)
            printed.append(line.decode())
        async with httpx.AsyncClient(timeout=10) as c:
            page = await c.get(url)
            assert page.status_code == 200 and "Mô phỏng chatbot" in page.text
            setup = (await c.get(url + "web/setup")).json()["result"]
            assert len(setup["personas"]) == len(PERSONAS) + 1
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(process.stdout.read(), 60)
        await asyncio.wait_for(process.wait(), 60)
    text = "".join(printed) + rest.decode()
    assert process.returncode == 0, text
    assert "Trang chat thử / Web chat:" in text and "Open this address in a web browser" in text
    assert "SANDBOX-local" not in text  # the (fake) token is never printed
    # The sandbox keeps its own database, apart from a real deployment's.
    assert (tmp_path / "data" / "sandbox" / "bot.sqlite3").exists()
    assert not (tmp_path / "data" / "bot.sqlite3").exists()


async def test_make_run_says_when_the_port_is_busy(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = int(busy.getsockname()[1])
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, env=_environment(tmp_path, port),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert f"BOT_WEB_PORT={port + 1}" in err.decode()


async def test_reload_applies_exactly_the_checks_of_content_check(tmp_path: Path) -> None:
    """An FAQ whose `related` names an FAQ that does not exist is an error for `content check`: reload
    refuses it too, and the bot keeps answering with the content it had (issue 10 item 12)."""
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    settings = Settings(data_dir=tmp_path / "data", content_dir=content)
    async with local_bot(settings, port=0) as local:
        page = WebChat(local)
        page.mount()
        faq = content / "faq" / "vneid-forgot-password.md"
        text = faq.read_text(encoding="utf-8")
        assert "related = [" in text
        faq.write_text(text.replace("related = [", 'related = ["khong-co-bai-nay", ', 1), encoding="utf-8")
        from bot.faq.check import run_checks

        errors = [p for p in run_checks(content)[1] if p.severity == "error"]
        assert any("khong-co-bai-nay" in str(p) for p in errors)  # content check calls it an error
        app = local.app
        async with httpx.AsyncClient(base_url=local.sandbox.url, timeout=10) as client:
            refused = await client.post("/web/reload", json={})
        assert refused.status_code == 422
        assert any("khong-co-bai-nay" in problem for problem in refused.json()["problems"])
        assert local.app is app and app.running


async def test_the_page_has_a_zalo_phone_talking_to_the_same_bot(web: WebChat, client: httpx.AsyncClient) -> None:
    page = (await client.get("/")).text
    assert 'id="zalo-messages"' in page and "zalo.js" in page and "Cùng bot trên Zalo" in page
    assert (await client.get("/zalo.js")).status_code == 200
    lan = {"user": "7a1c0e5b9d3f2a68", "name": "Bà Lan", "text": "/start"}
    sent = await client.post("/sandbox/zalo/send", json=lan)
    assert sent.json()["ok"]

    async def answered() -> bool:
        got = (await client.get("/sandbox/zalo/messages", params={"user": "7a1c0e5b9d3f2a68"})).json()["result"]
        return any(m["from_bot"] and "Xin chào" in m["text"] for m in got["messages"])

    await eventually(answered)
    # the same checks as the Telegram control API: no other host, no cross-site form posts
    foreign = await client.get("/sandbox/zalo/messages", params={"user": "x"}, headers={"Host": "evil.example"})
    form = await client.post("/sandbox/zalo/send", content="user=x&text=hi",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (foreign.status_code, form.status_code) == (403, 415)
