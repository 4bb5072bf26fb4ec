"""A real python-telegram-bot Application polls the sandbox over loopback and sees Telegram's behaviour."""

from __future__ import annotations

import asyncio
import datetime as dtm

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from devtools.sandbox import Sandbox
from devtools.sandbox.world import tiny_png
from tests.sandbox_fixtures import ptb_timedelta, running_app, sandbox

__all__ = ["ptb_timedelta", "sandbox"]  # fixtures used by name below

KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Đăng ký", callback_data="subscribe")]])


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with the same text and a button."""
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(f"Bạn nói: {update.message.text}", reply_markup=KEYBOARD)


async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Acknowledge the press and edit the message."""
    query = update.callback_query
    assert query is not None
    await query.answer("Đã đăng ký")
    await query.edit_message_text(f"<b>Đã nhận:</b> {query.data}", parse_mode=ParseMode.HTML)


HANDLERS = (MessageHandler(filters.TEXT & ~filters.COMMAND, echo), CallbackQueryHandler(on_press))


async def test_user_text_gets_a_reply(sandbox: Sandbox) -> None:
    lan = sandbox.user(1001, "Lan")
    async with running_app(sandbox, *HANDLERS, rate_limiter=True):
        reply = await lan.ask("Làm căn cước ở đâu?")
    assert reply.text == "Bạn nói: Làm căn cước ở đâu?"
    assert reply.callback_data == ["subscribe"]
    assert reply.reply_to_message_id is None


async def test_inline_button_press_edits_the_message(sandbox: Sandbox) -> None:
    lan = sandbox.user(1001, "Lan")
    async with running_app(sandbox, *HANDLERS):
        reply = await lan.ask("chào")
        cursor = sandbox.cursor(lan)
        query = await lan.press(reply, "subscribe")
        edited = await cursor.next_edit(reply.message_id)
        answer = await sandbox.wait_for_answer(query)
    assert edited.text == "Đã nhận: subscribe"
    assert [e.type for e in edited.entities] == ["bold"]
    assert edited.reply_markup is None  # edit_message_text without markup drops the keyboard
    assert answer.text == "Đã đăng ký"


async def test_invalid_html_raises_bad_request(sandbox: Sandbox) -> None:
    sandbox.user(1001, "Lan")
    async with running_app(sandbox) as app:
        with pytest.raises(BadRequest, match=r"(?i)find end tag corresponding to start tag b"):
            await app.bot.send_message(1001, "<b>Giờ làm việc", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            button = InlineKeyboardButton("x", callback_data="x" * 65)
            await app.bot.send_message(1001, "x", reply_markup=InlineKeyboardMarkup([[button]]))
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await app.bot.send_message(1001, "a" * 4097)
        sent = await app.bot.send_message(1001, "A")
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await sent.edit_text("A")


async def test_flood_raises_retry_after(sandbox: Sandbox, ptb_timedelta: None) -> None:
    sandbox.user(1001, "Lan")
    sandbox.simulate_flood(retry_after=3, count=1)
    async with running_app(sandbox, rate_limiter=True) as app:
        with pytest.raises(RetryAfter) as caught:
            await app.bot.send_message(1001, "Thông báo")
        assert caught.value.retry_after == dtm.timedelta(seconds=3)
        await app.bot.send_message(1001, "Thông báo")  # the flood is over
    assert [c.status for c in sandbox.calls("sendMessage")] == [429, 200]


async def test_blocked_user_raises_forbidden(sandbox: Sandbox) -> None:
    lan = sandbox.user(1001, "Lan")
    blocked: list[str] = []

    async def on_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.my_chat_member is not None
        blocked.append(update.my_chat_member.new_chat_member.status)

    from telegram.ext import ChatMemberHandler

    async with running_app(sandbox, ChatMemberHandler(on_member)) as app:
        await lan.block()
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await app.bot.send_message(1001, "Nhắc lịch hẹn")
        with pytest.raises(Forbidden, match="bot can't initiate conversation"):
            await app.bot.send_message(99999, "ai đó")
        for _ in range(50):
            if blocked:
                break
            await asyncio.sleep(0.02)
    assert blocked == ["kicked"]


async def test_commands_deep_links_and_groups(sandbox: Sandbox) -> None:
    lan = sandbox.user(1001, "Lan")
    officer = sandbox.user(2001, "Hùng")
    group = sandbox.group(-100, "Cán bộ xã", members=[officer])

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"start args={context.args}")

    async with running_app(sandbox, CommandHandler("start", start), CommandHandler("queue", start)):
        assert (await lan.ask("/start poster_thon_3")).text == "start args=['poster_thon_3']"
        reply = await officer.ask("/queue@CommuneSandboxBot", chat=group)
        assert reply.chat_id == -100 and reply.text == "start args=[]"


async def test_photos_round_trip_through_files(sandbox: Sandbox) -> None:
    lan = sandbox.user(1001, "Lan")
    received: list[bytes] = []

    async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        file = await update.message.photo[-1].get_file()
        received.append(bytes(await file.download_as_bytearray()))
        await update.message.reply_photo(
            InputFile(tiny_png(40, 30), filename="ok.png"), caption="Đã nhận ảnh"
        )

    async with running_app(sandbox, MessageHandler(filters.PHOTO, on_photo)):
        sent = await lan.send_photo("CCCD mặt trước")
        reply = await sandbox.wait_for(lan, after_message_id=sent.message_id)
    assert received and received[0].startswith(b"\x89PNG")
    assert reply.media == "photo" and reply.caption == "Đã nhận ảnh"
    assert reply.photo[-1]["width"] == 40


async def test_restarted_bot_gets_unconfirmed_updates_again(sandbox: Sandbox) -> None:
    lan = sandbox.user(1001, "Lan")
    async with running_app(sandbox, *HANDLERS):
        await lan.ask("trước")
    queued = await lan.send("trong lúc bot tắt")  # waits in the queue while the bot is down
    async with running_app(sandbox, *HANDLERS):
        reply = await sandbox.wait_for(lan, after_message_id=queued.message_id)
    assert reply.text == "Bạn nói: trong lúc bot tắt"
    assert [m.text for m in lan.messages()] == ["Bạn nói: trước", "Bạn nói: trong lúc bot tắt"]


async def test_ptb_parses_every_object_the_sandbox_returns(sandbox: Sandbox) -> None:
    from telegram import BotCommand, BotCommandScopeChat, MenuButtonCommands

    lan = sandbox.user(1001, "Lan", "Nguyễn", username="lan_ng")
    sandbox.group(-100, "Cán bộ xã", members=[lan], admins=[lan])
    async with running_app(sandbox) as app:
        bot = app.bot
        assert bot.username == "CommuneSandboxBot"
        chat = await bot.get_chat(1001)
        assert chat.first_name == "Lan" and chat.type == "private"
        group = await bot.get_chat(-100)
        assert group.title == "Cán bộ xã"
        member = await bot.get_chat_member(-100, 1001)
        assert member.status == "administrator"
        admins = await bot.get_chat_administrators(-100)
        assert [a.user.id for a in admins] == [1001]
        commands = [BotCommand("start", "Bắt đầu"), BotCommand("queue", "Hàng chờ")]
        assert await bot.set_my_commands(commands, scope=BotCommandScopeChat(-100))
        assert await bot.get_my_commands(scope=BotCommandScopeChat(-100)) == tuple(commands)
        assert await bot.set_chat_menu_button(menu_button=MenuButtonCommands())
        assert await bot.send_chat_action(1001, "typing")
        message = await bot.send_message(
            1001, "Xem <a href='https://vneid.gov.vn'>VNeID</a>", parse_mode=ParseMode.HTML
        )
        assert message.entities[0].url == "https://vneid.gov.vn"
        copied = await bot.copy_message(-100, 1001, message.message_id)
        assert copied.message_id > 0
        forwarded = await bot.forward_message(-100, 1001, message.message_id)
        assert forwarded.forward_origin is not None
        assert await bot.delete_message(1001, message.message_id)
        webhook = await bot.get_webhook_info()
        assert webhook.url == ""
