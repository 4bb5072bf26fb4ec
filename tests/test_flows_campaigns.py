"""The culture officer's /campaign dialogue as tables, with and without buttons (issue 10 items 10, 11)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.flowkit import Flow, Person, flow  # noqa: F401  (fixture)

DAYTIME = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 10:00 in the commune: outside the quiet hours


async def editor(flow: Flow) -> Person:  # noqa: F811
    hoa = flow.person("3101")
    await hoa.say("xin chao")
    who = await flow.conversation._identify(hoa.who())  # type: ignore[misc]
    await flow.services.staff.add(who.person, "editor", "test")
    flow.services.campaigns.clock = lambda: DAYTIME
    return hoa


async def test_a_template_can_be_edited_before_sending_and_now_says_now(flow: Flow) -> None:  # noqa: F811
    hoa = await editor(flow)
    await hoa.command("campaign")
    await hoa.choose("mẫu có sẵn")
    shown = await hoa.choose("kích hoạt VNeID ngay")
    assert any("Sửa nội dung" in label for m in shown for label in m.labels)  # not straight to the audience
    await hoa.choose("Sửa nội dung")
    body = flow.channel.to(hoa.user)[-1]
    assert "{{police_name}}" in body.text  # the text as written, to copy and change
    await hoa.say("Họp thôn **tối nay** lúc 19:00 tại nhà văn hóa")
    await hoa.choose("Tất cả")
    await hoa.choose("Gửi ngay")
    [done] = await hoa.choose("Xác nhận")
    assert "ngay" in done.text.lower() and "Đã hẹn" not in done.text
    await hoa.command("campaign")
    [shown_list] = await hoa.choose("Đã hẹn và đã gửi")
    assert "**" not in shown_list.text and "Họp thôn tối nay" in shown_list.text
    assert not any("Hủy" in label for label in shown_list.labels)  # cancelling is not next to the report


async def test_a_campaign_with_empty_commune_values_is_refused_at_confirmation(flow: Flow) -> None:  # noqa: F811
    hoa = await editor(flow)
    await hoa.command("campaign")
    await hoa.choose("mẫu có sẵn")
    await hoa.choose("Cảnh giác lừa đảo")
    await hoa.choose("Dùng mẫu này")
    await hoa.choose("Tất cả")
    await hoa.choose("Gửi ngay")
    [refused] = await hoa.choose("Xác nhận")
    assert "police_phone" in refused.text and "commune.toml" in refused.text
    assert await flow.services.campaigns.list() == []


async def test_cancelling_a_campaign_asks_first(flow: Flow) -> None:  # noqa: F811
    hoa = await editor(flow)
    campaign_id = await flow.services.campaigns.create("Họp thôn", at=datetime(2026, 12, 2, 1, 0, tzinfo=UTC))
    await hoa.command("campaign")
    await hoa.choose("Đã hẹn và đã gửi")
    [report] = await hoa.choose(f"Số {campaign_id}")
    assert any("Hủy" in label for label in report.labels)  # cancel is on the report
    [ask] = await hoa.choose("Hủy")
    assert "?" in ask.text
    campaign = await flow.services.campaigns.get(campaign_id)
    assert campaign is not None and campaign.status == "scheduled"
    await hoa.choose(ask.labels[0])
    campaign = await flow.services.campaigns.get(campaign_id)
    assert campaign is not None and campaign.status == "cancelled"


async def test_faq_fallback_has_no_doubled_parentheses(flow: Flow) -> None:  # noqa: F811
    lan = flow.person("1301")
    [answer] = await lan.say("bi lua dao mao danh cong an goi dien thi lam gi")
    assert "chưa cập nhật" in answer.text  # the fallback is shown…
    assert "((" not in answer.text and "))" not in answer.text  # …inside the text's own parentheses only
