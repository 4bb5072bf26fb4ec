"""Help-form and officer flows as tables, on a channel with buttons and on one without (issue 10)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.dialogue import callbacks as cb
from bot.dialogue.model import Press
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


# --- officers ------------------------------------------------------------------------------------------

TUESDAY_10 = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")).timestamp()


async def filed(flow: Flow, user: str = "1201") -> tuple[Person, Person, int]:  # noqa: F811
    """A resident's request, taken by an officer (both in private chats); returns them and the request id."""
    lan = flow.person(user)
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
    [request] = await flow.services.helpdesk.store.queue()
    minh = flow.person("2201")
    await minh.say("xin chao")
    officer = await flow.conversation._identify(minh.who())  # type: ignore[misc]
    await flow.services.staff.add(officer.person, "officer", "test")
    await minh.send(Press(cb.make("hq", "claim", request.id)))
    return lan, minh, request.id


async def test_appointments_are_checked_against_office_days_and_hours(flow: Flow) -> None:  # noqa: F811
    """Item 7: Sunday, 20:00, a holiday and yesterday are refused, each with the next office time."""
    flow.services.helpdesk.clock = lambda: TUESDAY_10
    _lan, minh, rid = await filed(flow)
    [hint] = await minh.send(Press(cb.make("hq", "appt", rid)))
    first_time = hint.labels[0].split(", ")[-1]  # "04/12 7:30": the first time offered, always ahead
    assert f"“{first_time}”" in hint.text  # the example is an offered time, never in the past
    for typed, why in (("hôm qua 8h", "đã qua"), ("chủ nhật 8h", "không làm việc"), ("20h", "không làm việc"),
                       ("01/01/2027 8h", "không làm việc")):
        refused = (await minh.say(typed))[-1]
        assert why in refused.text and "Giờ làm việc gần nhất" in refused.text, (typed, refused.text)
    request = await flow.services.helpdesk.store.get(rid)
    assert request is not None and request.appointment_at is None
    [refused] = await minh.say("hôm qua 8h")
    assert "01/12" in refused.text and "10:00" in refused.text  # the next free office time: now
    booked = await minh.say("02/12 8:30")
    assert "Đã lưu" in booked[-1].text


async def test_a_reschedule_says_from_and_to_and_keeps_the_history(flow: Flow) -> None:  # noqa: F811
    """Item 8: the resident reads "Lịch hẹn đã đổi: từ … sang …"; the officer sees what changed, not the card."""
    flow.services.helpdesk.clock = lambda: TUESDAY_10
    lan, minh, rid = await filed(flow)
    await minh.send(Press(cb.make("hq", "appt", rid)))
    [first] = [m for m in await minh.say("02/12 8:30") if m.chat == minh.user]
    assert "Lịch hẹn" in first.text and "Lịch sử" not in first.text  # what changed, not the detail card
    await minh.send(Press(cb.make("hq", "appt", rid)))
    await minh.say("03/12 14:00")
    told = flow.channel.to(lan.user)[-1]
    assert "đã đổi" in told.text and "từ" in told.text and "8:30" in told.text and "14:00" in told.text
    [detail] = await minh.send(Press(cb.make("hq", "view", rid)))
    assert "8:30" in detail.text and "14:00" in detail.text  # both times stay in the history


async def test_could_not_reach_asks_first_and_the_resident_can_reopen(flow: Flow) -> None:  # noqa: F811
    lan, minh, rid = await filed(flow)
    [confirm] = [m for m in await minh.send(Press(cb.make("hq", "unre", rid))) if m.chat == minh.user]
    assert "?" in confirm.text
    request = await flow.services.helpdesk.store.get(rid)
    assert request is not None and request.status == "claimed"
    await minh.choose("Đúng, đóng")
    request = await flow.services.helpdesk.store.get(rid)
    assert request is not None and request.status == "unreachable"
    assert "/status" in flow.channel.to(lan.user)[-1].text
    [_status] = await lan.command("status")
    [reopened] = [m for m in await lan.choose("Mở lại") if m.chat == lan.user]
    assert "mở lại" in reopened.text
    request = await flow.services.helpdesk.store.get(rid)
    assert request is not None and request.status == "claimed" and request.closed_at is None
    assert "mở lại" in flow.channel.to(minh.user)[-1].text


async def test_a_residents_reply_reaches_the_officer(flow: Flow) -> None:  # noqa: F811
    """Item 2: text soon after the officer's message goes to that officer and the request's history."""
    lan, minh, rid = await filed(flow)
    await minh.send(Press(cb.make("hq", "msg", rid)))
    await minh.say("Mời bác 8h sáng mai ra trụ sở nhé")
    assert "Mời bác" in flow.channel.to(lan.user)[-1].text
    [passed] = [m for m in await lan.say("vâng tôi sẽ đến đúng giờ ạ") if m.chat == lan.user]
    assert "Đã chuyển" in passed.text
    to_officer = flow.channel.to(minh.user)[-1]
    assert "vâng tôi sẽ đến đúng giờ ạ" in to_officer.text and "HT-" in to_officer.text
    events = await flow.services.helpdesk.store.events(rid)
    assert any(e.kind == "reply" and e.detail == "vâng tôi sẽ đến đúng giờ ạ" for e in events)


async def test_a_new_form_after_the_officers_message_takes_its_answers(flow: Flow) -> None:  # noqa: F811
    """A resident who starts a second request after the officer wrote types the form's answers, not replies:
    the phone and ID number go into the new form, never to the officer or the first request's history."""
    lan, minh, rid = await filed(flow)
    await minh.send(Press(cb.make("hq", "msg", rid)))
    await minh.say("Mời bác 8h sáng mai ra trụ sở nhé")
    to_officer_before = len(flow.channel.to(minh.user))
    await lan.command("request")
    await lan.choose("Không, nhập lại")  # last time's details offered: type them again
    await lan.choose("Đồng ý")
    await lan.choose("mức 2")
    [ask_phone] = await lan.say("Nguyễn Thị Bình")
    assert "số điện thoại" in ask_phone.text
    [saved, _village] = await lan.say("0987654321")
    assert "Đã chuyển" not in saved.text
    assert len(flow.channel.to(minh.user)) == to_officer_before  # nothing went to the officer
    events = await flow.services.helpdesk.store.events(rid)
    assert not any(e.kind == "reply" for e in events)
    draft = await flow.services.helpdesk.store.draft(  # type: ignore[misc]
        (await flow.conversation._identify(lan.who())).person)  # type: ignore[misc]
    assert draft is not None and draft.data.get("name") == "Nguyễn Thị Bình" and draft.data.get("phone") == "0987654321"


async def test_an_officers_message_during_a_new_form_does_not_take_its_answers(flow: Flow) -> None:  # noqa: F811
    """The soak's case: the officer writes while the resident is filling in a second form; the ID number
    typed next is the form's answer. A reply that does reach the officer never spells out a number."""
    lan, minh, rid = await filed(flow)
    await lan.command("request")
    await lan.choose("Không, nhập lại")
    await lan.choose("Đồng ý")
    await lan.choose("mức 2")
    await lan.say("Nguyễn Thị Bình")
    [_saved, village] = await lan.say("0987654321")
    [ask_id] = await lan.choose(village.labels[0])
    await minh.send(Press(cb.make("hq", "msg", rid)))
    await minh.say("Bác nhớ mang thẻ nhé")  # … arrives while the form asks for the ID number
    to_officer_before = len(flow.channel.to(minh.user))
    await lan.say("019306012345")
    assert len(flow.channel.to(minh.user)) == to_officer_before
    draft = await flow.services.helpdesk.store.draft(  # type: ignore[misc]
        (await flow.conversation._identify(lan.who())).person)  # type: ignore[misc]
    assert draft is not None and draft.data.get("id") == "019306012345"
    assert ask_id is not None
    await lan.command("cancel")
    [passed] = [m for m in await lan.say("so cua toi la 0912 345 678 nhe") if m.chat == lan.user]
    assert "Đã chuyển" in passed.text
    forwarded = flow.channel.to(minh.user)[-1].text
    assert "0912 345 678" not in forwarded and "345 678" not in forwarded
    events = await flow.services.helpdesk.store.events(rid)
    assert all("345" not in (e.detail or "") for e in events if e.kind == "reply")


async def test_long_notes_are_summarised_in_the_detail(flow: Flow) -> None:  # noqa: F811
    """Issue 14 item 10: many long notes do not split the officer's detail into many messages."""
    _lan, minh, rid = await filed(flow)
    for i in range(12):
        await minh.send(Press(cb.make("hq", "note", rid)))
        await minh.say(f"Ghi chú {i} " + "rất dài " * 60)
    [detail] = await minh.send(Press(cb.make("hq", "view", rid)))
    assert len(detail.rendered.parts) == 1 and len(detail.text) < 2000


async def test_a_platform_reply_hours_later_still_reaches_the_officer(flow: Flow) -> None:  # noqa: F811
    """Item 2: long after the officer wrote, plain text is a question again; a platform reply still goes to them."""
    import time as clock

    from bot.dialogue.model import Text

    lan, minh, rid = await filed(flow)
    await minh.send(Press(cb.make("hq", "msg", rid)))
    await minh.say("Bác mang sổ hộ khẩu cũ nhé")
    later = clock.time() + 3 * 3600
    flow.services.helpdesk.clock = lambda: later
    plain = [m for m in await lan.say("quen mat khau vneid thi lam sao") if m.chat == lan.user]
    assert "mật khẩu" in plain[0].text.lower()  # answered as a question
    replied = [m for m in await lan.send(Text("vâng ạ", "5000", reply_to="42")) if m.chat == lan.user]
    assert "Đã chuyển" in replied[0].text
    assert "vâng ạ" in flow.channel.to(minh.user)[-1].text
