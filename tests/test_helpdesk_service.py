"""The help-request workflow over a real SQLite database, with a clock the tests move."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
import pytest_asyncio

from bot.content import load_content
from bot.helpdesk.form import Contact, Input, Pick, Text
from bot.helpdesk.messages import Msg, render
from bot.helpdesk.service import HelpdeskService, Reply, Who
from bot.i18n import TZ, Catalogs, Translate
from storage.db import Database
from storage.helpdesk import HelpStore, NewRequest, TooManyOpen
from storage.residents import Residents
from storage.staff import Staff

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 12, 1, 9, 0, tzinfo=TZ).timestamp()  # a Tuesday morning
VI = Catalogs.load(ROOT / "content" / "locales").gettext("vi")
OFFICER, ADMIN = 900, 901


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest_asyncio.fixture
async def clock() -> Clock:
    return Clock(START)


@pytest_asyncio.fixture
async def helpdesk(tmp_path: Path, clock: Clock) -> AsyncIterator[HelpdeskService]:
    db = await Database(tmp_path / "bot.sqlite3").open()
    staff = Staff(db, frozenset({ADMIN}))
    await staff.add(OFFICER, "officer", "test")
    # The admin of BOT_ADMIN_IDS is a Telegram user; here their person has the same number.
    await db.execute("INSERT INTO persons(id, created_at) VALUES (?, 0)", (ADMIN,))
    await db.execute("INSERT INTO identities(channel, external_id, person_id, chat_id, first_seen, last_seen)"
                     " VALUES ('telegram', ?, ?, ?, 0, 0)", (str(ADMIN), ADMIN, str(ADMIN)))
    commune = load_content(ROOT / "content").commune
    yield HelpdeskService(HelpStore(db), staff, Residents(db), commune, 180, clock)
    await db.close()


def text_of(reply: Reply | list, _: Translate = VI) -> str:
    says = reply.says if isinstance(reply, Reply) else reply
    return "\n".join(render(s.text, _) for s in says)


def who(person: int) -> Who:
    return Who(person, str(person), "vi")


async def step(helpdesk: HelpdeskService, user_id: int, given: Input) -> Reply:
    return await helpdesk.answer(who(user_id), given, VI)


async def to_summary(helpdesk: HelpdeskService, user_id: int, name: str = "nguyễn văn an") -> Reply:
    await helpdesk.begin(who(user_id), VI)
    await step(helpdesk, user_id, Text("đồng ý"))                   # typed, not pressed
    await step(helpdesk, user_id, Text("kich hoat tai khoan vneid"))  # a button label, without diacritics
    await step(helpdesk, user_id, Text(name))
    await step(helpdesk, user_id, Contact("+84 912 345 678", own=True))
    await step(helpdesk, user_id, Text("thon 2"))
    await step(helpdesk, user_id, Text("bỏ qua"))
    draft = await helpdesk.store.draft(user_id)
    assert draft is not None and draft.step == "slot"
    slots = await step(helpdesk, user_id, Text("???"))  # not a slot: asked again, with the buttons
    key = slots.says[-1].choices[0][0].value
    await step(helpdesk, user_id, Pick("slot", key))
    return await step(helpdesk, user_id, Text("Nhà ở xa, đi lại khó"))


async def confirmed(helpdesk: HelpdeskService, user_id: int) -> int:
    await to_summary(helpdesk, user_id)
    reply = await step(helpdesk, user_id, Pick("summary", "confirm"))
    assert reply.created is not None, text_of(reply)
    return reply.created.id


async def test_typed_answers_fill_the_whole_form(helpdesk: HelpdeskService) -> None:
    summary = await to_summary(helpdesk, 1)
    text = text_of(summary)
    for expected in ("Kích hoạt tài khoản VNeID", "Nguyễn Văn An", "0912345678", "Thôn 2", "(không ghi)",
                     "Thứ Tư, 02/12 — 7:30–11:30", "Nhà ở xa"):
        assert expected in text, expected
    reply = await step(helpdesk, 1, Text("xac nhan"))
    assert reply.created is not None
    r = reply.created
    assert (r.topic, r.full_name, r.phone, r.village, r.id_number, r.slot_date, r.slot_start) == (
        "activate", "Nguyễn Văn An", "0912345678", "thon-2", None, "2026-12-02", "07:30")
    assert r.status == "new" and r.consent_at == START
    assert "HT-0001" in text_of(reply) and "0912345678" in text_of(reply)
    assert await helpdesk.store.draft(1) is None


async def test_a_second_confirm_stores_nothing_more(helpdesk: HelpdeskService) -> None:
    await to_summary(helpdesk, 1)
    first, second = await asyncio.gather(step(helpdesk, 1, Pick("summary", "confirm")),
                                         step(helpdesk, 1, Pick("summary", "confirm")))
    assert [r.created is not None for r in (first, second)].count(True) == 1
    late = second if second.created is None else first
    assert late.toast is not None and "already sent" in late.toast.id
    assert len(await helpdesk.store.listing()) == 1


async def test_changing_one_answer_goes_back_to_the_summary(helpdesk: HelpdeskService) -> None:
    await to_summary(helpdesk, 1)
    menu = await step(helpdesk, 1, Pick("summary", "edit"))
    assert [c.value for row in menu.says[-1].choices for c in row][-1] == "back"
    await step(helpdesk, 1, Pick("edit", "name"))
    summary = await step(helpdesk, 1, Text("Trần Thị Bình"))
    assert summary.says[-1].step == "summary" and "Trần Thị Bình" in text_of(summary)
    await step(helpdesk, 1, Pick("summary", "edit"))
    await step(helpdesk, 1, Pick("edit", "phone"))
    saved = await step(helpdesk, 1, Text("0387654321"))
    assert saved.says[0].menu and saved.says[-1].step == "summary" and "0387654321" in text_of(saved)


async def test_stale_and_forged_buttons_change_nothing(helpdesk: HelpdeskService) -> None:
    await helpdesk.begin(who(1), VI)
    reply = await step(helpdesk, 1, Pick("village", "thon-1"))  # a later step's button
    assert reply.toast is not None and "earlier question" in reply.toast.id
    reply = await step(helpdesk, 1, Pick("consent", "maybe"))  # a value no button has
    assert "no longer available" in text_of(reply) or "không còn" in text_of(reply)
    draft = await helpdesk.store.draft(1)
    assert draft is not None and draft.step == "consent" and draft.data == {}
    reply = await step(helpdesk, 2, Pick("summary", "confirm"))  # no form at all
    assert reply.toast is not None and not reply.says
    assert (await step(helpdesk, 2, Text("xin chào"))).handled is False  # free text goes to the FAQ


async def test_declining_consent_keeps_nothing(helpdesk: HelpdeskService) -> None:
    await helpdesk.begin(who(1), VI)
    reply = await step(helpdesk, 1, Text("không đồng ý"))
    assert "không ghi lại gì" in text_of(reply)
    assert await helpdesk.store.draft(1) is None


async def test_the_chosen_time_passing_sends_the_resident_back_to_choose(
        helpdesk: HelpdeskService, clock: Clock) -> None:
    await to_summary(helpdesk, 1)
    clock.t += 23 * 3600  # Wednesday 8:00: the chosen Wednesday-morning slot can no longer be booked
    reply = await step(helpdesk, 1, Pick("summary", "confirm"))
    assert reply.created is None and "đã qua" in text_of(reply)
    draft = await helpdesk.store.draft(1)
    assert draft is not None and (draft.step, draft.editing) == ("slot", True)


async def test_simultaneous_claims_have_exactly_one_winner(helpdesk: HelpdeskService) -> None:
    request_id = await confirmed(helpdesk, 1)
    officers = list(range(OFFICER, OFFICER + 10))
    results = await asyncio.gather(*(helpdesk.claim(request_id, o, f"Cán bộ {o}") for o in officers))
    winners = [o for o, (won, _) in zip(officers, results, strict=True) if won]
    assert len(winners) == 1
    request = await helpdesk.store.get(request_id)
    assert request is not None and request.officer_id == winners[0] and request.status == "claimed"
    assert [e.kind for e in await helpdesk.store.events(request_id)] == ["created", "claimed"]


async def test_actions_follow_the_states(helpdesk: HelpdeskService, clock: Clock) -> None:
    request_id = await confirmed(helpdesk, 1)
    assert "Nobody has taken" in ((await helpdesk.finish(request_id, OFFICER, "level2")).problem or Msg("")).id
    await helpdesk.claim(request_id, OFFICER, "Minh")
    past = datetime(2026, 11, 30, 8, 0, tzinfo=TZ)
    assert (await helpdesk.schedule(request_id, OFFICER, past)).problem is not None
    booked = await helpdesk.schedule(request_id, OFFICER, datetime(2026, 12, 3, 8, 0, tzinfo=TZ))
    assert booked.request is not None and booked.notice is not None
    assert "Thứ Năm, 03/12 lúc 8:00" in render(booked.notice.say.text, VI)
    assert booked.request.remind_at == datetime(2026, 12, 2, 19, 0, tzinfo=TZ).timestamp()
    assert (await helpdesk.finish(request_id, OFFICER, "no-such-outcome")).problem is not None
    done = await helpdesk.finish(request_id, OFFICER, "activated")
    assert done.request is not None and done.request.status == "done" and done.request.closed_at == clock.t
    again = await helpdesk.unreachable(request_id, OFFICER)
    assert again.request is not None and again.problem is not None and "already closed" in again.problem.id


async def test_booking_after_the_reminder_time_needs_no_reminder(helpdesk: HelpdeskService, clock: Clock) -> None:
    request_id = await confirmed(helpdesk, 1)
    await helpdesk.claim(request_id, OFFICER, "Minh")
    clock.t = datetime(2026, 12, 1, 20, 0, tzinfo=TZ).timestamp()  # 20:00, for tomorrow morning
    booked = await helpdesk.schedule(request_id, OFFICER, datetime(2026, 12, 2, 8, 0, tzinfo=TZ))
    assert booked.request is not None and booked.request.reminded_at == clock.t
    assert await helpdesk.due_reminders(clock.t + 3600) == []


async def test_at_most_three_open_requests(helpdesk: HelpdeskService) -> None:
    ids = [await confirmed(helpdesk, 1) for _ in range(3)]
    assert ids == [1, 2, 3]
    refused = await helpdesk.begin(who(1), VI)
    assert "3 yêu cầu chưa xong" in text_of(refused)
    assert await helpdesk.store.draft(1) is None
    new = NewRequest(1, 1, "vi", "other", "An", "0912345678", "thon-1", None, None, None, None, None, START)
    await helpdesk.store.start_draft(1, 1, "vi", "summary", START)
    with pytest.raises(TooManyOpen):
        await helpdesk.store.create(new, 3, START)
    await helpdesk.cancel_own(1, 2)
    assert "rq" not in text_of(await helpdesk.begin(who(1), VI))  # the form opens again


async def test_idle_forms_are_dropped_after_24_hours(helpdesk: HelpdeskService, clock: Clock) -> None:
    await helpdesk.begin(who(1), VI)
    await step(helpdesk, 1, Text("đồng ý"))
    assert await helpdesk.expire_drafts(clock.t + 23 * 3600) == []
    dropped = await helpdesk.expire_drafts(clock.t + 25 * 3600)
    assert [(n.chat_id, n.say.menu) for n in dropped] == [("1", True)]
    assert "24 giờ" in render(dropped[0].say.text, VI)
    assert await helpdesk.store.draft(1) is None
    # A form found idle when the resident comes back is dropped too, with the same message.
    await helpdesk.begin(who(2), VI)
    clock.t += 25 * 3600
    reply = await step(helpdesk, 2, Text("đồng ý"))
    assert "24 giờ" in text_of(reply) and await helpdesk.store.draft(2) is None


async def test_retention_anonymises_after_180_days(helpdesk: HelpdeskService, clock: Clock) -> None:
    request_id = await confirmed(helpdesk, 1)
    await helpdesk.claim(request_id, OFFICER, "Minh")
    await helpdesk.add_note(request_id, OFFICER, "Gọi số 0912345678, chị An", to_resident=False)
    await helpdesk.finish(request_id, OFFICER, "level2")
    open_id = await confirmed(helpdesk, 2)
    assert await helpdesk.apply_retention(clock.t + 179 * 86400) == 0
    assert await helpdesk.apply_retention(clock.t + 181 * 86400) == 1
    r = await helpdesk.store.get(request_id)
    assert r is not None and r.anonymised_at is not None
    assert (r.person_id, r.full_name, r.phone, r.id_number, r.note) == (None, "", "", None, None)
    assert (r.topic, r.village, r.status, r.outcome) == ("activate", "thon-2", "done", "level2")  # for reports
    details = [e.detail for e in await helpdesk.store.events(request_id) if e.kind == "note"]
    assert details == [None]
    still = await helpdesk.store.get(open_id)
    assert still is not None and still.full_name == "Nguyễn Văn An"  # open requests are kept


async def test_erasure_cancels_open_and_anonymises_closed(helpdesk: HelpdeskService) -> None:
    closed = await confirmed(helpdesk, 1)
    await helpdesk.cancel_own(1, closed)
    open_id = await confirmed(helpdesk, 1)
    await helpdesk.begin(who(1), VI)  # and a half-filled form
    cancelled = await helpdesk.erase(1)
    assert [r.id for r in cancelled] == [open_id]
    for request_id in (closed, open_id):
        r = await helpdesk.store.get(request_id)
        assert r is not None and r.status == "cancelled" and r.person_id is None and r.phone == ""
    assert await helpdesk.store.draft(1) is None
    assert await helpdesk.requests_of(1) == []
    trail = await helpdesk.staff.audit_trail("person:1")
    assert [e.action for e in trail] == ["resident.erase"]


async def test_residents_cannot_cancel_others_requests(helpdesk: HelpdeskService) -> None:
    request_id = await confirmed(helpdesk, 1)
    assert await helpdesk.cancel_own(2, request_id) is None
    r = await helpdesk.store.get(request_id)
    assert r is not None and r.status == "new"
    trail = await helpdesk.staff.audit_trail(f"request:{request_id}")
    assert [(e.actor, e.action) for e in trail] == [("person:2", "access.refused")]


async def test_views_lists_and_refusals_are_audited(helpdesk: HelpdeskService) -> None:
    request_id = await confirmed(helpdesk, 1)
    assert await helpdesk.is_officer(OFFICER) and await helpdesk.is_officer(ADMIN)
    assert not await helpdesk.is_officer(1)
    await helpdesk.queue(OFFICER)
    found = await helpdesk.view(request_id, OFFICER)
    assert found is not None and found[0].full_name == "Nguyễn Văn An"
    await helpdesk.refuse(1, "hq:view:1", request_id)
    actions = [(e.actor, e.action, e.target) for e in reversed(await helpdesk.staff.audit_trail())]
    assert actions[-3:] == [(f"person:{OFFICER}", "request.list", None),
                            (f"person:{OFFICER}", "request.view", f"request:{request_id}"),
                            ("person:1", "access.refused", f"request:{request_id}")]


async def test_messages_to_residents_escape_what_officers_type(helpdesk: HelpdeskService) -> None:
    request_id = await confirmed(helpdesk, 1)
    await helpdesk.claim(request_id, OFFICER, "Minh")
    change = await helpdesk.add_note(request_id, OFFICER, "<b>Mang</b> sổ & thẻ", to_resident=True)
    assert change.notice is not None
    html = render(change.notice.say.text, VI)
    assert "&lt;b&gt;Mang&lt;/b&gt; sổ &amp; thẻ" in html
    too_long = await helpdesk.add_note(request_id, OFFICER, "x" * 501, to_resident=True)
    assert too_long.problem is not None and too_long.notice is None
