"""The sandbox answers like the Telegram Bot API: every fidelity rule has a test here (over HTTP)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import httpx
import pytest

from devtools.sandbox import BOT_ID, Sandbox, SandboxError, entities_to_html, parse_html
from devtools.sandbox.html import HtmlError, normalize
from devtools.sandbox.world import tiny_png
from tests.sandbox_fixtures import TEST_TOKEN, BotApiClient, bot_api, sandbox

__all__ = ["bot_api", "sandbox"]  # fixtures used by name below

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


def inline(*data: str) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": d or "x", "callback_data": d} for d in data]]}


# --- the HTTP surface ----------------------------------------------------------------------------


async def test_get_me_is_the_fixed_sandbox_bot(bot_api: BotApiClient) -> None:
    me = await bot_api.ok("getMe")
    assert me["id"] == BOT_ID and me["is_bot"] is True
    assert me["username"] == "CommuneSandboxBot"


async def test_method_names_are_case_insensitive_and_get_works(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{sandbox.base_url}{TEST_TOKEN}/getme")
        assert response.json()["result"]["id"] == BOT_ID
        sandbox.user(1, "An")
        response = await client.get(
            f"{sandbox.base_url}{TEST_TOKEN}/sendMessage", params={"chat_id": "1", "text": "hi"}
        )
        assert response.json()["result"]["text"] == "hi"


async def test_unknown_method_is_404_not_found(bot_api: BotApiClient) -> None:
    assert await bot_api.error("sendTelepathy") == (404, "Not Found")


async def test_token_must_look_like_a_token(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as client:
        malformed = await client.post(f"{sandbox.url}/botnot-a-token/getMe")
        assert malformed.status_code == 401
        assert malformed.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        empty = await client.post(f"{sandbox.url}/bot/getMe")
        assert empty.status_code == 404
        assert empty.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_form_encoded_parameters_keep_text_as_text(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    sandbox.user(7, "Bảy")
    response = await bot_api.client.post("/sendMessage", data={"chat_id": "7", "text": "123"})
    assert response.json()["result"]["text"] == "123"
    markup = json.dumps(inline("a"))
    response = await bot_api.client.post(
        "/sendMessage", data={"chat_id": "7", "text": "k", "reply_markup": markup}
    )
    assert response.json()["result"]["reply_markup"] == inline("a")


async def test_keep_alive_serves_many_requests_on_one_connection(sandbox: Sandbox) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", int(sandbox.url.rsplit(":", 1)[1]))
    try:
        for _ in range(3):
            writer.write(f"GET /bot{TEST_TOKEN}/getMe HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK")
            assert b"Connection: keep-alive" in head
            length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
            assert json.loads(await reader.readexactly(length))["ok"] is True
    finally:
        writer.close()
        await writer.wait_closed()


async def test_the_token_never_reaches_the_logs(
    sandbox: Sandbox, bot_api: BotApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="devtools.sandbox")
    sandbox.user(1, "An")
    await bot_api.call("sendMessage", chat_id=1, text="<b>x", parse_mode="HTML")
    await bot_api.call("getMe")
    assert TEST_TOKEN not in caplog.text and "TEST-sandbox" not in caplog.text


async def test_binds_loopback_only_by_default(sandbox: Sandbox) -> None:
    assert sandbox.url.startswith("http://127.0.0.1:")


# --- getUpdates ----------------------------------------------------------------------------------


async def test_offset_confirms_updates_and_limit_caps(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    lan = sandbox.user(1001, "Lan")
    for text in ("một", "hai", "ba"):
        await lan.send(text)
    first = await bot_api.ok("getUpdates", limit=2)
    assert [u["message"]["text"] for u in first] == ["một", "hai"]
    again = await bot_api.ok("getUpdates")
    assert len(again) == 3  # nothing confirmed yet: redelivered
    rest = await bot_api.ok("getUpdates", offset=first[-1]["update_id"] + 1)
    assert [u["message"]["text"] for u in rest] == ["ba"]
    assert await bot_api.ok("getUpdates", offset=rest[-1]["update_id"] + 1) == []
    assert sandbox.pending_updates == 0


async def test_negative_offset_keeps_only_the_last_updates(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    lan = sandbox.user(1001, "Lan")
    for text in ("a", "b", "c"):
        await lan.send(text)
    assert [u["message"]["text"] for u in await bot_api.ok("getUpdates", offset=-1)] == ["c"]
    assert [u["message"]["text"] for u in await bot_api.ok("getUpdates")] == ["c"]


async def test_long_poll_wakes_as_soon_as_an_update_arrives(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    lan = sandbox.user(1001, "Lan")
    poll = asyncio.create_task(bot_api.ok("getUpdates", timeout=10))
    await asyncio.sleep(0.1)
    assert not poll.done()
    started = time.monotonic()
    await lan.send("xin chào")
    updates = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 1.0
    assert updates[0]["message"]["text"] == "xin chào"


async def test_long_poll_times_out_with_no_updates(bot_api: BotApiClient) -> None:
    started = time.monotonic()
    assert await bot_api.ok("getUpdates", timeout=0.3) == []
    assert 0.25 <= time.monotonic() - started < 2


async def test_a_second_poll_ends_the_first_with_409_conflict(bot_api: BotApiClient) -> None:
    first = asyncio.create_task(bot_api.call("getUpdates", timeout=10))
    await asyncio.sleep(0.1)
    assert await bot_api.ok("getUpdates", timeout=0) == []
    response = await asyncio.wait_for(first, 2)
    assert response.status_code == 409
    assert response.json()["description"].startswith("Conflict: terminated by other getUpdates request")


async def test_allowed_updates_filter_and_persist(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    lan = sandbox.user(1001, "Lan")
    sent = await bot_api.ok("sendMessage", chat_id=1001, text="chọn", reply_markup=inline("a"))
    await bot_api.ok("getUpdates", allowed_updates=["message"])
    await lan.press(sandbox.message(1001, sent["message_id"]), "a")
    await lan.send("text")
    updates = await bot_api.ok("getUpdates")  # the setting is remembered
    assert [next(k for k in u if k != "update_id") for u in updates] == ["message"]


async def test_delete_webhook_can_drop_pending_updates(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    await sandbox.user(1001, "Lan").send("cũ")
    assert (await bot_api.ok("getWebhookInfo"))["pending_update_count"] == 1
    assert await bot_api.ok("deleteWebhook", drop_pending_updates=True) is True
    assert await bot_api.ok("getUpdates") == []


async def test_updates_survive_a_bot_restart(sandbox: Sandbox) -> None:
    lan = sandbox.user(1001, "Lan")
    await lan.send("một")
    await lan.send("hai")
    url = f"{sandbox.base_url}{TEST_TOKEN}"
    async with httpx.AsyncClient(base_url=url) as first_run:
        updates = (await first_run.post("/getUpdates", json={"limit": 1})).json()["result"]
        confirmed = updates[0]["update_id"] + 1
        # the process dies after handling update 1 and confirming it in its next poll
        await first_run.post("/getUpdates", json={"offset": confirmed, "limit": 1})
    async with httpx.AsyncClient(base_url=url) as second_run:
        updates = (await second_run.post("/getUpdates", json={})).json()["result"]
    assert [u["message"]["text"] for u in updates] == ["hai"]


async def test_stop_ends_a_pending_long_poll_at_once() -> None:
    sb = Sandbox()
    await sb.start()
    async with httpx.AsyncClient(base_url=f"{sb.base_url}{TEST_TOKEN}") as client:
        poll = asyncio.create_task(client.post("/getUpdates", json={"timeout": 30}))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await sb.stop()
        response = await asyncio.wait_for(poll, 2)
        assert time.monotonic() - started < 1.5
        assert response.json() == {"ok": True, "result": []}


# --- HTML parse mode -----------------------------------------------------------------------------

BAD_HTML = [
    ("<b>bold", "Can't find end tag corresponding to start tag b"),
    ("a<br>b", 'Unsupported start tag "br" at byte offset 1'),
    ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
    ("x</b>", "Unexpected end tag at byte offset 1"),
    ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
    ("<p>đoạn</p>", 'Unsupported start tag "p" at byte offset 0'),
    ('<span class="red">x</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ('<a href="x"', "Unclosed start tag at byte offset 0"),
    ("Hỏi & đáp", 'Character "&" at byte offset 6 must be escaped'),  # "ỏ" is 3 bytes in UTF-8
    ("a&nbsp;b", 'Character "&" at byte offset 1 must be escaped'),
    ("<b>x</b", "Unclosed end tag at byte offset 4"),
]


@pytest.mark.parametrize(("html", "error"), BAD_HTML)
async def test_html_telegram_cannot_parse_is_400(
    sandbox: Sandbox, bot_api: BotApiClient, html: str, error: str
) -> None:
    sandbox.user(1001, "Lan")
    code, description = await bot_api.error("sendMessage", chat_id=1001, text=html, parse_mode="HTML")
    assert code == 400
    assert description.startswith(f"Bad Request: can't parse entities: {error}")


async def test_every_allowed_tag_becomes_its_entity(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    sandbox.user(1001, "Lan")
    html = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike>"
        '<del>d</del><tg-spoiler>p</tg-spoiler><span class="tg-spoiler">q</span><code>c</code>'
        '<a href="https://dichvucong.gov.vn">l</a><pre><code class="language-python">x = 1</code></pre>'
        "<blockquote>q</blockquote><blockquote expandable>e</blockquote>"
    )
    result = await bot_api.ok("sendMessage", chat_id=1001, text=html, parse_mode="HTML")
    kinds = [(e["type"], e["offset"], e["length"]) for e in result["entities"]]
    assert ("bold", 0, 2) in kinds  # <b>b</b><strong>s</strong> touch: merged like Telegram does
    assert ("italic", 2, 2) in kinds and ("underline", 4, 2) in kinds and ("strikethrough", 6, 3) in kinds
    assert ("spoiler", 9, 2) in kinds and ("code", 11, 1) in kinds
    assert {"type": "text_link", "offset": 12, "length": 1, "url": "https://dichvucong.gov.vn"} in result[
        "entities"
    ]
    assert {"type": "pre", "offset": 13, "length": 5, "language": "python"} in result["entities"]
    assert ("blockquote", 18, 1) in kinds and ("expandable_blockquote", 19, 1) in kinds
    assert result["text"] == "bsieunskdpqclx = 1qe"


async def test_entities_decode_and_offsets_count_utf16(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    sandbox.user(1001, "Lan")
    html = "&lt;&gt;&amp;&quot;&#39;&#x41; 🇻🇳 <b>Căn cước</b>"
    result = await bot_api.ok("sendMessage", chat_id=1001, text=html, parse_mode="HTML")
    assert result["text"] == "<>&\"'A 🇻🇳 Căn cước"
    assert result["entities"] == [{"offset": 12, "length": 8, "type": "bold"}]  # the flag is 4 units


def test_parser_matches_telegram_on_edge_cases() -> None:
    with pytest.raises(HtmlError, match="Unclosed end tag at byte offset 4"):
        parse_html("<b>x</ b>")  # no space allowed after "</"
    assert parse_html("<b >x</b >") == ("x", parse_html("<b>x</b>")[1])  # spaces before ">" are fine
    assert parse_html("<B>x</B>")[1][0].type == "bold"  # tag names are case-insensitive
    assert parse_html("<b>x</>")[1][0].type == "bold"  # an empty end tag closes the open one
    text, entities = parse_html('<a href="javascript:alert(1)">x</a>')
    assert (text, entities) == ("x", [])  # Telegram drops links it considers invalid
    assert parse_html("<a>https://vneid.gov.vn</a>")[1][0].url == "https://vneid.gov.vn"
    assert parse_html("Q&A", strict=False)[0] == "Q&A"  # Telegram's own (lenient) behaviour


def test_normalize_trims_and_drops_whitespace_entities() -> None:
    text, entities = normalize(*parse_html("  \n<b> chào </b>\n\n"))
    assert text == "chào"
    assert [(e.type, e.offset, e.length) for e in entities] == [("bold", 0, 4)]
    assert normalize(*parse_html("<b> </b>")) == ("", [])


def test_canonical_html_round_trips() -> None:
    source = '<b>Đăng ký <i>VNeID</i></b> tại <a href="https://vneid.gov.vn">đây</a> &amp; x'
    text, entities = normalize(*parse_html(source))
    again = entities_to_html(text, entities)
    assert normalize(*parse_html(again)) == (text, entities)


@pytest.mark.parametrize("text", ["", "   \n ", "<b></b>", "<b> </b>\n<i>\n</i>"])
async def test_empty_text_is_refused(sandbox: Sandbox, bot_api: BotApiClient, text: str) -> None:
    sandbox.user(1001, "Lan")
    assert await bot_api.error("sendMessage", chat_id=1001, text=text, parse_mode="HTML") == (
        400,
        "Bad Request: message text is empty",
    )


async def test_missing_text_is_refused(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    sandbox.user(1001, "Lan")
    assert await bot_api.error("sendMessage", chat_id=1001) == (400, "Bad Request: message text is empty")


async def test_length_limit_counts_utf16_after_parsing(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    sandbox.user(1001, "Lan")
    too_long = (400, "Bad Request: message is too long")
    await bot_api.ok("sendMessage", chat_id=1001, text="a" * 4096)
    assert await bot_api.error("sendMessage", chat_id=1001, text="a" * 4097) == too_long
    await bot_api.ok("sendMessage", chat_id=1001, text="<b>" + "ạ" * 4096 + "</b>", parse_mode="HTML")
    await bot_api.ok("sendMessage", chat_id=1001, text="&amp;" * 4096, parse_mode="HTML")
    await bot_api.ok("sendMessage", chat_id=1001, text="😀" * 2048)
    assert await bot_api.error("sendMessage", chat_id=1001, text="😀" * 2049) == too_long  # 4098 units


async def test_caption_limit_is_1024(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    sandbox.user(1001, "Lan")
    photo = {"photo": ("p.png", tiny_png(), "image/png")}
    response = await bot_api.call("sendPhoto", files=photo, chat_id="1001", caption="c" * 1025)
    assert response.json()["description"] == "Bad Request: message caption is too long"
    response = await bot_api.call("sendPhoto", files=photo, chat_id="1001", caption="c" * 1024)
    assert response.json()["ok"] is True


async def test_markdown_is_refused_explicitly(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    sandbox.user(1001, "Lan")
    code, description = await bot_api.error("sendMessage", chat_id=1001, text="*x*", parse_mode="MarkdownV2")
    assert code == 400 and "does not implement" in description


# --- keyboards -----------------------------------------------------------------------------------


async def test_callback_data_is_1_to_64_bytes(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    sandbox.user(1001, "Lan")
    invalid = (400, "Bad Request: BUTTON_DATA_INVALID")
    await bot_api.ok("sendMessage", chat_id=1001, text="ok", reply_markup=inline("x" * 64))
    assert (
        await bot_api.error("sendMessage", chat_id=1001, text="x", reply_markup=inline("x" * 65)) == invalid
    )
    vietnamese = "đ" * 33  # 33 characters, 66 bytes
    assert (
        await bot_api.error("sendMessage", chat_id=1001, text="x", reply_markup=inline(vietnamese)) == invalid
    )
    assert await bot_api.error("sendMessage", chat_id=1001, text="x", reply_markup=inline("")) == invalid


async def test_inline_buttons_need_an_action(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    sandbox.user(1001, "Lan")
    markup = {"inline_keyboard": [[{"text": "nothing"}]]}
    code, description = await bot_api.error("sendMessage", chat_id=1001, text="x", reply_markup=markup)
    assert code == 400 and "Text buttons are unallowed in the inline keyboard" in description
    url_button = {"inline_keyboard": [[{"text": "web", "url": "javascript:alert(1)"}]]}
    assert await bot_api.error("sendMessage", chat_id=1001, text="x", reply_markup=url_button) == (
        400,
        "Bad Request: BUTTON_URL_INVALID",
    )


async def test_markup_that_is_not_json_is_refused(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    sandbox.user(1001, "Lan")
    response = await bot_api.client.post(
        "/sendMessage", data={"chat_id": "1001", "text": "x", "reply_markup": "{"}
    )
    assert response.json()["description"] == "Bad Request: can't parse reply keyboard markup JSON object"


async def test_reply_keyboards_are_recorded_for_the_user(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    lan = sandbox.user(1001, "Lan")
    keyboard = {"keyboard": [["Có", {"text": "Gửi số", "request_contact": True}]], "one_time_keyboard": True}
    result = await bot_api.ok("sendMessage", chat_id=1001, text="?", reply_markup=keyboard)
    assert "reply_markup" not in result  # only inline keyboards are part of a Message
    assert lan.reply_keyboard is not None
    assert lan.reply_keyboard["keyboard"][0][0] == {"text": "Có"}
    await lan.send("Có")
    assert lan.reply_keyboard is None  # one-time keyboards hide after use
    await bot_api.ok("sendMessage", chat_id=1001, text="?", reply_markup=keyboard)
    await bot_api.ok("sendMessage", chat_id=1001, text="ok", reply_markup={"remove_keyboard": True})
    assert lan.reply_keyboard is None


# --- editing and deleting ------------------------------------------------------------------------


async def test_identical_edit_is_not_modified(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    sandbox.user(1001, "Lan")
    sent = await bot_api.ok(
        "sendMessage", chat_id=1001, text="<b>A</b>", parse_mode="HTML", reply_markup=inline("a")
    )
    same = {"chat_id": 1001, "message_id": sent["message_id"], "text": "<b>A</b>", "parse_mode": "HTML"}
    assert await bot_api.error("editMessageText", **same, reply_markup=inline("a")) == (400, NOT_MODIFIED)
    # the same text without bold is a different content
    edited = await bot_api.ok("editMessageText", **{**same, "parse_mode": ""}, reply_markup=inline("a"))
    assert edited["edit_date"] and "entities" not in edited
    markup_only = {"chat_id": 1001, "message_id": sent["message_id"], "reply_markup": inline("a")}
    assert await bot_api.error("editMessageReplyMarkup", **markup_only) == (400, NOT_MODIFIED)
    await bot_api.ok("editMessageReplyMarkup", **{**markup_only, "reply_markup": inline("b")})


async def test_edit_without_markup_removes_the_inline_keyboard(
    sandbox: Sandbox, bot_api: BotApiClient
) -> None:
    sandbox.user(1001, "Lan")
    sent = await bot_api.ok("sendMessage", chat_id=1001, text="A", reply_markup=inline("a"))
    edit = {"chat_id": 1001, "message_id": sent["message_id"], "text": "A"}
    result = await bot_api.ok("editMessageText", **edit)  # same text, keyboard dropped: a change
    assert "reply_markup" not in result
    assert sandbox.message(1001, sent["message_id"]).reply_markup is None
    assert await bot_api.error("editMessageText", **edit) == (400, NOT_MODIFIED)


async def test_edit_targets_must_exist_and_be_the_bots(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    lan = sandbox.user(1001, "Lan")
    assert await bot_api.error("editMessageText", chat_id=1001, message_id=99, text="x") == (
        400,
        "Bad Request: message to edit not found",
    )
    mine = await lan.send("của tôi")
    assert await bot_api.error("editMessageText", chat_id=1001, message_id=mine.message_id, text="x") == (
        400,
        "Bad Request: message can't be edited",
    )
    assert await bot_api.error("editMessageText", chat_id=-5, message_id=1, text="x") == (
        400,
        "Bad Request: chat not found",
    )


async def test_delete_message(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    sandbox.user(1001, "Lan")
    sent = await bot_api.ok("sendMessage", chat_id=1001, text="tạm")
    assert await bot_api.ok("deleteMessage", chat_id=1001, message_id=sent["message_id"]) is True
    assert sandbox.message(1001, sent["message_id"]).deleted
    assert await bot_api.error("deleteMessage", chat_id=1001, message_id=sent["message_id"]) == (
        400,
        "Bad Request: message to delete not found",
    )


async def test_reply_to_a_missing_message(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    lan = sandbox.user(1001, "Lan")
    assert await bot_api.error("sendMessage", chat_id=1001, text="x", reply_to_message_id=50) == (
        400,
        "Bad Request: message to be replied not found",
    )
    lenient = {"message_id": 50, "allow_sending_without_reply": True}
    await bot_api.ok("sendMessage", chat_id=1001, text="x", reply_parameters=lenient)
    question = await lan.send("hỏi")
    answer = await bot_api.ok(
        "sendMessage", chat_id=1001, text="đáp", reply_to_message_id=question.message_id
    )
    assert answer["reply_to_message"]["text"] == "hỏi"


# --- who the bot may write to --------------------------------------------------------------------


async def test_blocked_user_is_403_and_block_is_an_update(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    lan = sandbox.user(1001, "Lan")
    await lan.block()
    assert await bot_api.error("sendMessage", chat_id=1001, text="x") == (
        403,
        "Forbidden: bot was blocked by the user",
    )
    updates = await bot_api.ok("getUpdates")
    change = updates[-1]["my_chat_member"]
    assert (change["old_chat_member"]["status"], change["new_chat_member"]["status"]) == ("member", "kicked")
    await lan.unblock()
    await bot_api.ok("sendMessage", chat_id=1001, text="chào lại")
    with pytest.raises(SandboxError):
        await lan.block()
        await lan.send("blocked users cannot write")


async def test_unknown_user_cannot_be_contacted(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    assert await bot_api.error("sendMessage", chat_id=424242, text="x") == (
        403,
        "Forbidden: bot can't initiate conversation with a user",
    )
    quiet = sandbox.user(5, "Năm", started=False)
    assert (await bot_api.error("sendMessage", chat_id=5, text="x"))[0] == 403
    await quiet.send("chào")
    await bot_api.ok("sendMessage", chat_id=5, text="x")


async def test_deactivated_user_is_403(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    await sandbox.user(6, "Sáu").deactivate()
    assert await bot_api.error("sendMessage", chat_id=6, text="x") == (403, "Forbidden: user is deactivated")


async def test_groups_allow_sending_while_the_bot_is_a_member(
    sandbox: Sandbox, bot_api: BotApiClient
) -> None:
    officer = sandbox.user(2001, "Hùng")
    group = sandbox.group(-100, "Cán bộ xã", members=[officer])
    await bot_api.ok("sendMessage", chat_id=-100, text="Yêu cầu mới")
    assert await bot_api.error("sendMessage", chat_id=-999, text="x") == (400, "Bad Request: chat not found")
    await group.remove_bot(by=officer)
    assert await bot_api.error("sendMessage", chat_id=-100, text="x") == (
        403,
        "Forbidden: bot was kicked from the group chat",
    )


async def test_group_messages_carry_command_and_mention_entities(
    sandbox: Sandbox, bot_api: BotApiClient
) -> None:
    officer = sandbox.user(2001, "Hùng")
    group = sandbox.group(-100, "Cán bộ xã", members=[officer])
    await officer.send("/queue@CommuneSandboxBot", chat=group)
    await officer.send("nhờ @CommuneSandboxBot xem giúp", chat=group)
    updates = await bot_api.ok("getUpdates")
    command, mention = (u["message"] for u in updates)
    assert command["chat"] == {"id": -100, "type": "group", "title": "Cán bộ xã"}
    assert command["entities"] == [{"offset": 0, "length": 24, "type": "bot_command"}]
    assert mention["entities"] == [{"offset": 4, "length": 18, "type": "mention"}]


async def test_group_privacy_mode_filters_ordinary_messages() -> None:
    async with Sandbox(group_privacy=True) as sb:
        officer = sb.user(2001, "Hùng")
        group = sb.group(-100, "Cán bộ xã", members=[officer])
        await officer.send("chuyện phiếm", chat=group)
        await officer.send("/queue", chat=group)
        await officer.send("/help@OtherBot", chat=group)
        assert [u["message"]["text"] for u in sb.world.updates] == ["/queue"]


# --- flood control and injected errors -----------------------------------------------------------


async def test_simulated_flood_is_429_with_retry_after(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    sandbox.user(1001, "Lan")
    sandbox.simulate_flood(retry_after=7, count=2)
    for _ in range(2):
        response = await bot_api.call("sendMessage", chat_id=1001, text="x")
        assert response.status_code == 429
        assert response.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        }
    await bot_api.ok("getUpdates")  # polling is not a chat call: unaffected
    await bot_api.ok("sendMessage", chat_id=1001, text="x")
    assert [c.status for c in sandbox.calls("sendMessage")] == [429, 429, 200]


async def test_flood_can_target_one_chat_or_method(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    sandbox.user(1, "A")
    sandbox.user(2, "B")
    sandbox.simulate_flood(retry_after=3, count=1, chat_id=2)
    sandbox.simulate_flood(retry_after=4, count=1, method="editMessageText")
    await bot_api.ok("sendMessage", chat_id=1, text="x")
    assert (await bot_api.error("sendMessage", chat_id=2, text="x"))[0] == 429
    code, description = await bot_api.error("editMessageText", chat_id=1, message_id=1, text="y")
    assert (code, description) == (429, "Too Many Requests: retry after 4")


async def test_simulated_error(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    sandbox.user(1, "A")
    sandbox.simulate_error(502, "Bad Gateway", count=1)
    assert await bot_api.error("sendMessage", chat_id=1, text="x") == (502, "Bad Gateway")
    await bot_api.ok("sendMessage", chat_id=1, text="x")


async def test_call_log_and_counters(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    sandbox.user(1, "A")
    for _ in range(5):
        await bot_api.ok("sendMessage", chat_id=1, text="x")
    await bot_api.error("sendMessage", chat_id=1, text="")
    assert sandbox.call_count("sendMessage") == 6
    assert sandbox.sent_count == 5
    assert sandbox.max_rate("sendMessage", window=60) == 5
    assert all(c.chat_id == 1 for c in sandbox.calls("sendMessage"))


# --- commands, callbacks, actions, chats ---------------------------------------------------------


async def test_commands_are_kept_per_scope_and_language(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    default = [{"command": "start", "description": "Bắt đầu"}, {"command": "help", "description": "Trợ giúp"}]
    english = [{"command": "start", "description": "Start"}]
    private = {"type": "all_private_chats"}
    await bot_api.ok("setMyCommands", commands=default)
    await bot_api.ok("setMyCommands", commands=english, language_code="en")
    await bot_api.ok("setMyCommands", commands=english, scope=private)
    assert await bot_api.ok("getMyCommands") == default
    assert await bot_api.ok("getMyCommands", language_code="en") == english
    assert sandbox.commands(private) == english
    await bot_api.ok("deleteMyCommands", language_code="en")
    assert await bot_api.ok("getMyCommands", language_code="en") == []
    assert await bot_api.ok("getMyCommands") == default


@pytest.mark.parametrize("name", ["Start", "dang-ky", "đăngký", "a" * 33, "", "/start"])
async def test_command_names_outside_the_alphabet_are_refused(bot_api: BotApiClient, name: str) -> None:
    commands = [{"command": name, "description": "x"}]
    assert await bot_api.error("setMyCommands", commands=commands) == (
        400,
        "Bad Request: BOT_COMMAND_INVALID",
    )


@pytest.mark.parametrize("description", ["", " ", "d" * 257])
async def test_command_descriptions_are_1_to_256(bot_api: BotApiClient, description: str) -> None:
    commands = [{"command": "help", "description": description}]
    code, text = await bot_api.error("setMyCommands", commands=commands)
    assert (code, text) == (400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
    await bot_api.ok("setMyCommands", commands=[{"command": "a_1", "description": "d" * 256}])


async def test_answer_callback_query(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    lan = sandbox.user(1001, "Lan")
    too_old = (400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
    assert await bot_api.error("answerCallbackQuery", callback_query_id="123") == too_old
    sent = await bot_api.ok("sendMessage", chat_id=1001, text="?", reply_markup=inline("yes"))
    query = await lan.press(sandbox.message(1001, sent["message_id"]), "yes")
    update = (await bot_api.ok("getUpdates"))[-1]["callback_query"]
    assert update["data"] == "yes" and update["message"]["message_id"] == sent["message_id"]
    assert await bot_api.ok(
        "answerCallbackQuery", callback_query_id=update["id"], text="Đã nhận", show_alert=True
    )
    answer = await sandbox.wait_for_answer(query)
    assert (answer.text, answer.show_alert, answer.user_id) == ("Đã nhận", True, 1001)
    assert await bot_api.error("answerCallbackQuery", callback_query_id=update["id"]) == too_old


async def test_press_checks_the_button_unless_forged(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    lan = sandbox.user(1001, "Lan")
    sent = await bot_api.ok("sendMessage", chat_id=1001, text="?", reply_markup=inline("yes"))
    message = sandbox.message(1001, sent["message_id"])
    with pytest.raises(SandboxError):
        await lan.press(message, "admin:delete_all")
    await lan.press(message, "admin:delete_all", forge=True)
    await lan.press(message, text="yes")
    assert [u["callback_query"]["data"] for u in await bot_api.ok("getUpdates")] == [
        "admin:delete_all",
        "yes",
    ]


async def test_chat_actions_are_recorded(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    sandbox.user(1, "A")
    assert await bot_api.ok("sendChatAction", chat_id=1, action="typing") is True
    assert [(a.chat_id, a.action) for a in sandbox.chat_actions] == [(1, "typing")]
    assert await bot_api.error("sendChatAction", chat_id=1, action="dancing") == (
        400,
        "Bad Request: wrong parameter action in request",
    )


async def test_get_chat_and_member(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    lan = sandbox.user(1001, "Lan", "Nguyễn", username="lan_ng")
    sandbox.group(-100, "Cán bộ", members=[lan], admins=[lan])
    chat = await bot_api.ok("getChat", chat_id=1001)
    assert (chat["type"], chat["first_name"], chat["username"]) == ("private", "Lan", "lan_ng")
    member = await bot_api.ok("getChatMember", chat_id=-100, user_id=1001)
    assert member["status"] == "administrator" and member["user"]["id"] == 1001
    assert (await bot_api.ok("getChatMember", chat_id=-100, user_id=BOT_ID))["status"] == "member"
    assert await bot_api.error("getChat", chat_id=777) == (400, "Bad Request: chat not found")
    assert await bot_api.ok("leaveChat", chat_id=-100) is True
    assert (await bot_api.error("sendMessage", chat_id=-100, text="x"))[0] == 403


async def test_menu_button_and_profile_texts(bot_api: BotApiClient) -> None:
    assert await bot_api.ok("setChatMenuButton", menu_button={"type": "commands"}) is True
    assert await bot_api.ok("getChatMenuButton") == {"type": "commands"}
    await bot_api.ok("setMyDescription", description="Trợ lý xã", language_code="vi")
    assert await bot_api.ok("getMyDescription", language_code="vi") == {"description": "Trợ lý xã"}
    assert await bot_api.ok("close") is True and await bot_api.ok("logOut") is True


# --- photos and files ----------------------------------------------------------------------------


async def test_send_photo_upload_file_id_and_download(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    sandbox.user(1001, "Lan")
    png = tiny_png(1000, 500)
    result = await bot_api.call(
        "sendPhoto", files={"photo": ("map.png", png, "image/png")}, chat_id="1001", caption="<b>Bản đồ</b>",
        parse_mode="HTML",
    )  # fmt: skip
    message = result.json()["result"]
    sizes = message["photo"]
    assert [(s["width"], s["height"]) for s in sizes] == [(90, 45), (320, 160), (800, 400), (1000, 500)]
    assert message["caption"] == "Bản đồ" and message["caption_entities"][0]["type"] == "bold"
    again = await bot_api.ok("sendPhoto", chat_id=1001, photo=sizes[-1]["file_id"])
    assert again["photo"][-1]["file_id"] == sizes[-1]["file_id"]
    file = await bot_api.ok("getFile", file_id=sizes[-1]["file_id"])
    async with httpx.AsyncClient() as client:
        download = await client.get(f"{sandbox.base_file_url}{TEST_TOKEN}/{file['file_path']}")
    assert download.content == png
    assert await bot_api.error("getFile", file_id="nope") == (
        400,
        "Bad Request: wrong file_id or the file is temporarily unavailable",
    )


async def test_send_photo_refuses_what_telegram_refuses(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    sandbox.user(1001, "Lan")
    not_an_image = await bot_api.call(
        "sendPhoto", files={"photo": ("x.png", b"hello", "image/png")}, chat_id="1001"
    )
    assert not_an_image.json()["description"] == "Bad Request: IMAGE_PROCESS_FAILED"
    assert await bot_api.error("sendPhoto", chat_id=1001, photo="garbage") == (
        400,
        "Bad Request: wrong file identifier/HTTP URL specified",
    )
    by_url = await bot_api.ok("sendPhoto", chat_id=1001, photo="https://example.com/poster.jpg")
    assert by_url["photo"]


async def test_user_media_can_be_downloaded(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    lan = sandbox.user(1001, "Lan")
    await lan.send_photo("ảnh CCCD")
    await lan.send_contact("+84912345678")
    await lan.send_sticker()
    await lan.send_voice()
    photo, contact, sticker, voice = (u["message"] for u in await bot_api.ok("getUpdates"))
    assert photo["caption"] == "ảnh CCCD"
    assert contact["contact"] == {
        "phone_number": "+84912345678",
        "first_name": "Lan",
        "user_id": 1001,
    }
    assert sticker["sticker"]["emoji"] == "👍" and voice["voice"]["duration"] == 3
    file = await bot_api.ok("getFile", file_id=photo["photo"][-1]["file_id"])
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{sandbox.base_file_url}{TEST_TOKEN}/{file['file_path']}")
    assert response.content.startswith(b"\x89PNG")


# --- driver API, events and the control API ------------------------------------------------------


async def test_cursor_sees_new_messages_and_edits(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    lan = sandbox.user(1001, "Lan")
    cursor = sandbox.cursor(lan)
    sent = await bot_api.ok("sendMessage", chat_id=1001, text="một", reply_markup=inline("a"))
    await bot_api.ok("editMessageText", chat_id=1001, message_id=sent["message_id"], text="hai")
    await bot_api.ok("sendMessage", chat_id=1001, text="ba")
    assert (await cursor.next()).text == "một"  # a snapshot: as sent
    assert (await cursor.next()).text == "ba"
    edited = await cursor.next_edit(sent["message_id"])
    assert (edited.text, edited.edited, edited.reply_markup) == ("hai", True, None)
    with pytest.raises(TimeoutError):
        await cursor.next(timeout=0.05)
    assert [m.text for m in sandbox.messages(lan)] == ["hai", "ba"]


async def test_wait_for_after_a_message_is_race_free(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    lan = sandbox.user(1001, "Lan")
    question = await lan.send("hỏi")
    await bot_api.ok("sendMessage", chat_id=1001, text="đáp")  # arrives before anyone waits
    reply = await sandbox.wait_for(lan, after_message_id=question.message_id, timeout=1)
    assert reply.text == "đáp"


async def test_subscribers_receive_self_describing_events(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    lan = sandbox.user(1001, "Lan")
    with sandbox.subscribe(lan) as events:
        await lan.send("chào")
        sent = await bot_api.ok("sendMessage", chat_id=1001, text="<i>chào bạn</i>", parse_mode="HTML",
                                reply_markup=inline("ok"))  # fmt: skip
        query = await lan.press(sandbox.message(1001, sent["message_id"]), "ok")
        await bot_api.ok("answerCallbackQuery", callback_query_id=query.id, text="👍")
        await bot_api.ok("editMessageText", chat_id=1001, message_id=sent["message_id"], text="xong")
        await bot_api.ok("deleteMessage", chat_id=1001, message_id=sent["message_id"])
        await bot_api.ok("sendChatAction", chat_id=1001, action="typing")
        kinds = []
        while (event := events.get_nowait()) is not None:
            kinds.append(event["type"])
            json.dumps(event)  # JSON-able
            if event["type"] == "message":
                assert event["message"]["html"] == "<i>chào bạn</i>"
                assert event["message"]["reply_markup"] == inline("ok")
    assert kinds == [
        "user_message",
        "message",
        "callback_query",
        "callback_answer",
        "edit",
        "delete",
        "chat_action",
    ]


async def test_sse_stream_and_keep_alive() -> None:
    async with Sandbox(keepalive_interval=0.1) as sb:
        lan = sb.user(1001, "Lan")
        async with httpx.AsyncClient(base_url=sb.url) as client:
            lines: list[str] = []

            async def read() -> None:
                async with client.stream("GET", "/sandbox/events", params={"chat_id": 1001}) as response:
                    assert response.headers["content-type"].startswith("text/event-stream")
                    async for line in response.aiter_lines():
                        lines.append(line)
                        if line.startswith("data: ") and '"user_message"' in line:
                            return

            reader = asyncio.create_task(read())
            await asyncio.sleep(0.3)
            await lan.send("qua web")
            await asyncio.wait_for(reader, 2)
    assert ": keep-alive" in lines
    data = json.loads(next(line for line in lines if line.startswith("data: "))[6:])
    assert data["type"] == "user_message" and data["message"]["text"] == "qua web"


async def test_control_api_drives_the_world(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    async with httpx.AsyncClient(base_url=f"{sandbox.url}/sandbox") as control:
        created = await control.post("/users", json={"id": 3001, "first_name": "Mai"})
        assert created.json()["result"]["id"] == 3001
        sent = (await control.post("/send", json={"user_id": 3001, "text": "/start poster_xa"})).json()
        assert sent["result"]["entities"][0]["type"] == "bot_command"
        reply = await bot_api.ok("sendMessage", chat_id=3001, text="Chào Mai", reply_markup=inline("ok"))
        press = await control.post(
            "/press", json={"user_id": 3001, "message_id": reply["message_id"], "data": "ok"}
        )
        assert press.json()["ok"] is True
        bad_press = await control.post(
            "/press", json={"user_id": 3001, "message_id": reply["message_id"], "data": "x"}
        )
        assert bad_press.status_code == 400
        await control.post("/contact", json={"user_id": 3001, "phone_number": "+84900000000"})
        messages = (await control.get("/messages", params={"chat_id": 3001})).json()["result"]
        assert [m["text"] for m in messages] == ["Chào Mai"]
        await control.post("/flood", json={"retry_after": 2, "count": 1})
        assert (await bot_api.error("sendMessage", chat_id=3001, text="x"))[0] == 429
        await control.post("/block", json={"user_id": 3001})
        assert (await bot_api.error("sendMessage", chat_id=3001, text="x"))[0] == 403
        state = (await control.get("/state")).json()["result"]
        assert state["users"][0]["blocked"] is True
        await control.post("/reset")
        assert sandbox.world.users == {}
        rogue = await control.post("/users", json={"id": 1}, headers={"Host": "evil.example"})
        assert rogue.status_code == 403


async def test_remote_sandbox_client(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    from devtools.sandbox import RemoteSandbox

    async with RemoteSandbox(sandbox.url) as remote:
        events = remote.events(chat_id=4001, since=0)  # replays what happened before it connected
        first_event = asyncio.ensure_future(anext(events))
        await remote.user(4001, "Tú")
        sent = await remote.send(4001, "chào bot")
        assert (await first_event)["type"] == "user"
        reply = await bot_api.ok("sendMessage", chat_id=4001, text="chào Tú", reply_markup=inline("ok"))
        assert await remote.press(4001, reply["message_id"], "ok")
        texts = [m["text"] for m in await remote.messages(4001, include_user=True)]
        assert texts == ["chào bot", "chào Tú"]
        assert sent["entities"] == []
        await remote.block(4001)
        assert (await remote.state())["users"][0]["blocked"] is True
        await events.aclose()


async def test_extra_routes_can_be_mounted(sandbox: Sandbox) -> None:
    from devtools.sandbox import Request, Response

    async def page(request: Request) -> Response:
        return Response.text("<h1>chat</h1>", content_type="text/html; charset=utf-8")

    sandbox.add_route("GET", "/", page)
    async with httpx.AsyncClient(base_url=sandbox.url) as client:
        assert (await client.get("/")).text == "<h1>chat</h1>"
        assert (await client.get(f"/bot{TEST_TOKEN}/getMe")).json()["ok"] is True  # longer prefixes win


async def test_sse_resumes_after_last_event_id_and_ends_on_stop() -> None:
    sb = Sandbox()
    await sb.start()
    lan = sb.user(1001, "Lan")
    first = await lan.send("một")
    await lan.send("hai")
    seq_of_first = next(e.seq for e in sb.world.history() if e.message and e.message is first)
    async with httpx.AsyncClient(base_url=sb.url) as client:
        lines: list[str] = []

        async def read() -> None:
            headers = {"Last-Event-ID": str(seq_of_first)}
            async with client.stream("GET", "/sandbox/events", headers=headers) as response:
                async for line in response.aiter_lines():
                    lines.append(line)

        reader = asyncio.create_task(read())
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await sb.stop()
        await asyncio.wait_for(reader, 2)  # the stream ends with the server
        assert time.monotonic() - started < 1.5
    replayed = [json.loads(line[6:]) for line in lines if line.startswith("data: ")]
    assert [e["message"]["text"] for e in replayed] == ["hai"]


async def test_send_options_are_recorded(sandbox: Sandbox, bot_api: BotApiClient) -> None:
    sandbox.user(1001, "Lan")
    preview = {"is_disabled": True}
    result = await bot_api.ok(
        "sendMessage", chat_id=1001, text="https://vneid.gov.vn", link_preview_options=preview,
        disable_notification=True,
    )  # fmt: skip
    assert result["link_preview_options"] == preview
    assert result["entities"] == [{"offset": 0, "length": 20, "type": "url"}]  # detected like Telegram
    stored = sandbox.message(1001, result["message_id"])
    assert stored.disable_notification and stored.link_preview_options == preview


# --- volume --------------------------------------------------------------------------------------


async def test_many_sends_stay_linear_and_bounded() -> None:
    async with Sandbox(record_text=False, max_messages_per_chat=50) as sb:
        sb.user(1, "A")
        async with httpx.AsyncClient(base_url=f"{sb.base_url}{TEST_TOKEN}") as client:

            async def batch(n: int) -> float:
                started = time.perf_counter()
                for i in range(n):
                    response = await client.post("/sendMessage", data={"chat_id": "1", "text": f"tin {i}"})
                    assert response.status_code == 200
                return time.perf_counter() - started

            first = await batch(500)
            await batch(1000)
            last = await batch(500)
        assert sb.sent_count == 2000
        assert len(sb.messages(1)) == 50
        assert len(sb.world.chats[1].log) <= 2 * 5000
        assert last < 3 * first + 0.5  # no quadratic slow-down
