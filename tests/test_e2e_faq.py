"""End to end: the real bot polls the sandbox over loopback; residents talk to it as on a phone."""

from __future__ import annotations

import logging

import pytest

from devtools.sandbox import Sandbox
from handlers.telegram.app import App
from storage.db import Database
from tests.conftest import person_of

pytestmark = pytest.mark.asyncio


async def test_start_welcomes_with_menu_and_records_source(sandbox: Sandbox, bot: App) -> None:
    lan = sandbox.user(1001, "Lan")
    await lan.start("poster-cho-phien")
    reply = await sandbox.wait_for(lan.id)
    assert "Lục Bình" in reply.text and "Thái Nguyên" in reply.text
    keyboard = lan.reply_keyboard
    assert keyboard is not None
    labels = [b["text"] for row in keyboard["keyboard"] for b in row]
    assert labels == ["❓ Hỏi đáp VNeID, dịch vụ công", "🔔 Nhận thông báo của xã", "🙋 Nhờ cán bộ hỗ trợ",
                      "📞 Liên hệ"]
    resident = await bot.bot_data.svc.residents.get(await person_of(bot, lan.id))
    assert resident is not None and resident.source == "poster-cho-phien"


async def test_command_menu_is_set_in_vietnamese_and_english(sandbox: Sandbox, bot: App) -> None:
    vi = {c["command"]: c["description"] for c in sandbox.commands()}
    en = {c["command"]: c["description"] for c in sandbox.commands(language="en")}
    for name in ("start", "help", "subscribe", "unsubscribe", "request", "status", "cancel", "mydata"):
        assert name in vi and name in en
    assert vi["mydata"] == "Xem hoặc xóa dữ liệu của tôi"
    assert en["mydata"] == "See or erase my data"


@pytest.mark.parametrize("question", ["Làm sao lấy lại mật khẩu VNeID khi quên?",
                                      "lam sao lay lai mat khau vneid khi quen"])
async def test_question_with_and_without_diacritics(sandbox: Sandbox, bot: App, question: str) -> None:
    binh = sandbox.user(1002, "Bình")
    reply = await binh.ask(question)
    assert "Quên mật khẩu" in reply.text
    assert reply.callback_data[:2] == [d for d in reply.callback_data if d.startswith("fb:")]
    row = await bot.bot_data.svc.db.fetchone("SELECT topic, status FROM questions ORDER BY id DESC LIMIT 1")
    assert row is not None and (row["topic"], row["status"]) == ("vneid-forgot-password", "answer")


async def test_suggestion_button_sends_that_answer(sandbox: Sandbox, bot: App) -> None:
    cuc = sandbox.user(1003, "Cúc")
    reply = await cuc.ask("kich hoat tai khoan dinh danh dien tu nhu the nao")
    related = [d for d in reply.callback_data if d.startswith("a:")]
    assert related, reply.callback_data
    cursor = sandbox.cursor(cuc.id)
    await cuc.press(reply, related[0])
    answer = await cursor.next()
    faq = bot.bot_data.svc.faq.faq(related[0].split(":")[1])
    assert faq.title in answer.text


async def test_thumbs_down_is_recorded_once_and_only_for_the_asker(sandbox: Sandbox, bot: App) -> None:
    dung = sandbox.user(1004, "Dũng")
    other = sandbox.user(1005, "Hà")
    reply = await dung.ask("đổi số điện thoại trên vneid")
    down = next(d for d in reply.callback_data if d.startswith("fb:") and d.endswith(":0"))
    query = await dung.press(reply, down)
    await sandbox.wait_for_answer(query)
    own = await other.ask("/start")
    forged = await other.press(own, down, forge=True)  # someone else's question id, in their own chat
    answer = await sandbox.wait_for_answer(forged)
    assert "cũ" in (answer.text or "")
    db: Database = bot.bot_data.svc.db
    rows = await db.fetchall("SELECT person_id, helpful, faq_id FROM feedback")
    assert [(r["person_id"], r["helpful"], r["faq_id"]) for r in rows] == [
        (await person_of(bot, dung.id), 0, "vneid-change-phone")]
    gaps = await bot.bot_data.svc.questions.gaps()
    assert any(g.kind == "thumbs_down" and g.topic == "vneid-change-phone" for g in gaps)


async def test_out_of_scope_is_declined_with_contacts(sandbox: Sandbox, bot: App) -> None:
    em = sandbox.user(1006, "Em")
    reply = await em.ask("xổ số miền bắc hôm nay về con gì")
    assert "chỉ trả lời được" in reply.text
    assert "Liên hệ" in reply.text and "1900 0368" in reply.text
    assert not any(d.startswith("fb:") for d in reply.callback_data)


async def test_unsure_offers_candidates_and_an_officer(sandbox: Sandbox, bot: App) -> None:
    gia = sandbox.user(1007, "Gia")
    reply = await gia.ask("vneid")
    assert "Có phải bạn muốn hỏi" in reply.text
    assert "ask" in reply.callback_data
    assert 2 <= len([d for d in reply.callback_data if d.startswith("a:")]) <= 3


async def test_user_text_is_escaped_and_phone_numbers_masked_in_logs(
        sandbox: Sandbox, bot: App, caplog: pytest.LogCaptureFixture) -> None:
    hoa = sandbox.user(1008, "Hoa")
    with caplog.at_level(logging.INFO):
        reply = await hoa.ask("<b>thời tiết</b> & <script>alert(1)</script> 0912345678")
    assert reply.text  # the sandbox refused nothing: everything was escaped
    assert "0912345678" not in caplog.text
    stored = await bot.bot_data.svc.db.fetchval("SELECT text FROM questions ORDER BY id DESC LIMIT 1")
    assert "0912345678" not in stored and "09•••••678" in stored


async def test_browse_lists_edit_in_place_and_answers_are_new_messages(sandbox: Sandbox, bot: App) -> None:
    khanh = sandbox.user(1009, "Khánh")
    groups = await khanh.ask("❓ Hỏi đáp VNeID, dịch vụ công")
    assert "Chọn chủ đề" in groups.text
    cursor = sandbox.cursor(khanh.id)
    await khanh.press(groups, "g:can-cuoc")
    listing = await cursor.next_edit(groups.message_id)
    assert any(d.startswith("f:") for d in listing.callback_data)
    await khanh.press(listing, "f:can-cuoc-lost")
    answer = await cursor.next()  # the answer is a new message: the list stays to go on browsing
    assert "Thông tin được kiểm tra ngày" in answer.text
    assert any(d.startswith("fb:") for d in answer.callback_data)
    await khanh.press(listing, "grp")
    back = await cursor.next_edit(groups.message_id)
    assert any(d.startswith("g:") for d in back.callback_data)
    assert len(khanh.messages()) == 2  # the list (edited in place) and the answer


async def test_long_answer_is_split_under_the_limit(sandbox: Sandbox, bot: App) -> None:
    from bot.dialogue.model import Address, Out

    long_html = "\n".join(f"<b>Dòng {i}</b> " + "chữ " * 30 for i in range(200))
    user = sandbox.user(1010, "Lâm")
    await user.start()
    await sandbox.wait_for(user.id)
    last = await bot.bot_data.svc.channels.send(Address("telegram", str(user.id)), Out(long_html), "vi")
    parts = [m for m in user.messages() if "Dòng" in m.text]
    assert len(parts) >= 2 and str(parts[-1].message_id) == last.message
    assert all(len(p.text) <= 4096 for p in parts)
    assert "".join(p.text for p in parts).count("Dòng") == 200


async def test_group_chat_answers_only_when_addressed(sandbox: Sandbox, bot: App) -> None:
    officer = sandbox.user(1011, "Minh")
    group = sandbox.group(-100555, "Tổ công tác thôn 3", members=[officer])
    cursor = group.cursor()
    await officer.send("quên mật khẩu vneid", chat=group)
    with pytest.raises(TimeoutError):
        await cursor.next(timeout=1.0)
    username = (await bot.bot.get_me()).username
    await officer.send(f"@{username} quên mật khẩu vneid", chat=group)
    reply = await cursor.next()
    assert "Quên mật khẩu" in reply.text
    await officer.reply_to(reply, "con quen passcode thi sao")
    again = await cursor.next()
    assert "passcode" in again.text.lower()


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂🙂", "a" * 4000, "k\u200bh\u0301o\u0301a tài khoản",
                                  "**bold** [x](javascript:alert(1)) <i>"])
async def test_bad_input_gets_a_calm_answer(sandbox: Sandbox, bot: App, text: str) -> None:
    user = sandbox.user(1012, "Nam")
    reply = await user.ask(text)
    assert reply.text and "có trục trặc" not in reply.text


async def test_stickers_and_photos_get_told_only_text_is_understood(sandbox: Sandbox, bot: App) -> None:
    user = sandbox.user(1013, "Oanh")
    await user.send_sticker()
    reply = await sandbox.wait_for(user.id)
    assert "chỉ đọc được tin nhắn chữ" in reply.text
    await user.send_voice()
    reply = await sandbox.wait_for(user.id, after_message_id=reply.message_id)
    assert "chỉ đọc được tin nhắn chữ" in reply.text


async def test_forged_button_data_gets_a_calm_answer(sandbox: Sandbox, bot: App) -> None:
    user = sandbox.user(1014, "Phúc")
    start = await user.ask("/start")
    for data in ("f:../../etc/passwd", "g:khong-co", "zz:1", "fb:abc:1", "a:khong-ton-tai"):
        query = await user.press(start, data, forge=True)
        answer = await sandbox.wait_for_answer(query)
        assert answer is not None


async def test_a_question_during_another_process_s_15_second_write_lock_is_answered_after_it(
        sandbox: Sandbox, bot: App) -> None:
    """Issue 14 item 5: a write lock held by another process (the CLI, a backup) delays answers, loses none."""
    import asyncio
    import sqlite3
    import threading
    import time

    held = threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(bot.bot_data.svc.settings.db_path, timeout=30)
        try:
            connection.execute("BEGIN IMMEDIATE")
            held.set()
            time.sleep(15)
            connection.rollback()
        finally:
            connection.close()

    locker = threading.Thread(target=hold, daemon=True)
    locker.start()
    assert held.wait(5)
    newcomer = sandbox.user(4301, "Ông Sáu")  # a first message: the bot must write who this is
    started = time.monotonic()
    reply = await newcomer.ask("quen mat khau vneid", timeout=40)
    assert time.monotonic() - started >= 10  # it waited for the lock …
    assert "mật khẩu" in reply.text.lower()  # … and then answered, nothing lost
    await asyncio.to_thread(locker.join)


async def test_an_answer_during_8_seconds_of_502s_arrives_when_they_end(sandbox: Sandbox, bot: App) -> None:
    """Issue 14: a platform failing for a few seconds delays the answer; it is not lost."""
    import asyncio

    resident = sandbox.user(4302, "Bà Năm")
    rule = sandbox.simulate_error(502, "Bad Gateway", count=10**6, chat_id=resident.id, method="sendMessage")
    await resident.send("quen mat khau vneid")
    await asyncio.sleep(5)
    assert not resident.messages()  # Telegram is failing …
    sandbox.world.faults.remove(rule)  # … and recovers
    reply = await sandbox.wait_for(resident.id, timeout=15)
    assert "mật khẩu" in reply.text.lower()
