"""Help-form and officer flows as tables, on a channel with buttons and on one without (issue 10)."""

from __future__ import annotations

from tests.flowkit import Flow, Person, flow  # noqa: F401  (fixture)


async def to_name_step(lan: Person) -> None:
    await lan.command("request")
    await lan.choose("Đồng ý")
    [asked] = await lan.choose("mức 2")
    assert "tên" in asked.text.lower()



async def test_a_question_at_the_name_step_is_not_saved_as_a_name(flow: Flow) -> None:  # noqa: F811
    """Item 1: 'quen mat khau vneid thi sao' at the name step is asked about, answered, and the form goes on."""
    lan = flow.person("1101")
    await to_name_step(lan)
    [which] = await lan.say("quen mat khau vneid thi sao")
    assert "họ tên" in which.text and "hỏi" in which.text
    draft = await flow.services.helpdesk.store.draft((await flow.conversation._identify(lan.who())).person)  # type: ignore[misc]
    assert draft is not None and "name" not in draft.data and draft.step == "name"
    answered = await lan.choose("muốn hỏi")
    assert any("mật khẩu" in m.text.lower() for m in answered)
    assert "họ và tên" in answered[-1].text.lower()  # the form resumes at the name
    [phone] = await lan.say("Nguyễn Văn An")
    assert "điện thoại" in phone.text.lower()


async def test_it_is_my_name_saves_it(flow: Flow) -> None:  # noqa: F811
    lan = flow.person("1102")
    await to_name_step(lan)
    [which] = await lan.say("Lam Sao?")
    assert "hỏi" in which.text
    answer = await lan.choose("họ tên")  # "it is my name": checked as a name (a "?" is not allowed in one)
    assert "chữ cái" in answer[0].text and "họ và tên" in answer[-1].text.lower()


async def test_a_sticker_in_the_form_repeats_the_question(flow: Flow) -> None:  # noqa: F811
    """Item 5: a sticker or photo mid-form asks the current step again, not 'type your question'."""
    from bot.dialogue.model import Other, Photo

    lan = flow.person("1103")
    await to_name_step(lan)
    for event in (Other("sticker"), Photo("file-1")):
        answer = await lan.send(event)
        assert "họ và tên" in answer[-1].text.lower()
        assert not any("gõ câu hỏi" in m.text.lower() for m in answer)


async def test_something_else_asks_what_the_problem_is_and_the_slot_is_echoed(flow: Flow) -> None:  # noqa: F811
    """Item 5: "Khác" asks what the problem is; the chosen time is said back."""
    lan = flow.person("1104")
    await lan.command("request")
    await lan.choose("Đồng ý")
    [problem] = await lan.choose("Khác")
    assert "vấn đề" in problem.text.lower()
    [name] = await lan.say("Tôi muốn hỏi về sổ hộ khẩu cũ")
    assert "họ và tên" in name.text.lower()
    await lan.say("Nguyễn Văn An")
    [_saved, village] = await lan.say("0912345678")
    await lan.choose(village.labels[0])
    [slot] = await lan.choose("Bỏ qua")
    chosen = await lan.choose(slot.labels[0])
    assert "đã chọn" in chosen[0].text.lower() and slot.labels[0].split()[0] in chosen[0].text
    await lan.choose("Bỏ qua")
    await lan.choose("Xác nhận")
    [request] = await flow.services.helpdesk.store.queue()
    assert request.topic == "other" and request.note == "Tôi muốn hỏi về sổ hộ khẩu cũ"


async def test_a_second_request_offers_to_reuse_name_and_phone(flow: Flow) -> None:  # noqa: F811
    lan = flow.person("1105")
    await lan.command("request")
    await lan.choose("Đồng ý")
    await lan.choose("mức 2")
    await lan.say("Nguyễn Văn An")
    [_saved, village] = await lan.say("0912345678")
    await lan.choose(village.labels[0])
    [slot] = await lan.choose("Bỏ qua")
    await lan.choose(slot.labels[0])
    await lan.choose("Bỏ qua")
    await lan.choose("Xác nhận")
    [offer] = await lan.command("request")
    assert "Nguyễn Văn An" in offer.text and "0912345678" in offer.text
    await lan.choose("dùng lại")
    [village] = await lan.choose("Kích hoạt")  # topic, then straight to the village
    assert "thôn" in village.text.lower()


async def test_cancel_in_the_officers_group_keeps_the_private_form(flow: Flow) -> None:  # noqa: F811
    """Issue 14 item 10: /cancel typed in a group neither cancels the private form nor says anything there."""
    lan = flow.person("1106")
    await to_name_step(lan)
    in_group = flow.person("1106", private=False, chat="-100")
    assert await in_group.command("cancel") == []
    [phone] = await lan.say("Nguyễn Văn An")
    assert "điện thoại" in phone.text.lower()
