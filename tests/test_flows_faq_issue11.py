"""Issue 11 items 3 and 4 (issue 10 item 3): small talk, need-help and redirects in the core flow."""

from __future__ import annotations

from tests.flowkit import Flow, flow  # noqa: F401  (fixture)

OFFICER = "Hỏi cán bộ"


async def test_greetings_and_thanks_get_a_short_reply_not_the_refusal(flow: Flow) -> None:  # noqa: F811
    lan = flow.person("1101")
    for text in ("alo", "xin chào", "cảm ơn nhé", "ok"):
        [reply] = await lan.say(text)
        assert "Xin chào" in reply.text, text
        assert "chỉ trả lời" not in reply.text.lower(), text  # not the out-of-scope refusal


async def test_asking_for_help_offers_the_officer(flow: Flow) -> None:  # noqa: F811
    lan = flow.person("1102")
    [reply] = await lan.say("tôi cần giúp")
    assert any(OFFICER in label for label in reply.labels)


async def test_a_redirect_says_who_handles_it_with_the_officer_button(flow: Flow) -> None:  # noqa: F811
    lan = flow.person("1103")
    [reply] = await lan.say("quen mat khau app ngan hang agribank")
    assert "ngân hàng" in reply.text
    assert any(OFFICER in label for label in reply.labels)


async def test_every_decline_offers_the_officer(flow: Flow) -> None:  # noqa: F811
    lan = flow.person("1104")
    [reply] = await lan.say("ket qua xo so mien bac hom nay")
    assert any(OFFICER in label for label in reply.labels)
