"""FAQ flows as tables, on a channel with buttons and on one without (numbered choices)."""

from __future__ import annotations

from tests.flowkit import Flow, flow  # noqa: F401  (fixture)


async def test_question_answer_and_feedback(flow: Flow) -> None:  # noqa: F811
    lan = flow.person("1001")
    [answer] = await lan.say("quen mat khau vneid thi lam sao")
    assert "mật khẩu" in answer.text.lower()
    assert "👍" in answer.labels and "👎" in answer.labels
    await lan.choose("👍")
    row = await flow.services.db.fetchone("SELECT helpful FROM feedback")
    assert row is not None and row["helpful"] == 1


async def test_browsing_shows_an_answer_as_a_new_message_with_feedback(flow: Flow) -> None:  # noqa: F811
    """Issue 10 item 4: "Back" must not erase the answer just read, and browsed answers can be rated."""
    lan = flow.person("1001")
    [groups] = await lan.command("faq")
    assert groups.labels
    [group] = await lan.choose(groups.labels[0])
    faq_label = next(label for label in group.labels if "⬅️" not in label)
    answer_messages = await lan.choose(faq_label)
    answer = answer_messages[-1]
    assert answer.id != group.id and answer.edits == 0  # a new message, not the list edited in place
    assert "👍" in answer.labels and "👎" in answer.labels
    await lan.choose("👎")
    row = await flow.services.db.fetchone("SELECT helpful, faq_id FROM feedback")
    assert row is not None and row["helpful"] == 0
    # The list is still there to go on browsing.
    assert any("⬅️" in label for label in group.labels)


async def test_numbered_choices_accept_the_words_too(flow: Flow) -> None:  # noqa: F811
    if flow.channel.caps.buttons:
        return
    lan = flow.person("1002")
    [groups] = await lan.command("faq")
    assert "1." in groups.text and "Gõ" in groups.text
    first = groups.labels[0]
    [group] = await lan.say(first.lower())
    assert group.labels and group.text != groups.text


async def test_staff_see_their_own_commands_in_help(flow: Flow) -> None:  # noqa: F811
    """Issue 10 item 9: /queue and /campaign are in the officers' and the culture officer's help."""
    minh, hoa, lan = flow.person("2001"), flow.person("3001"), flow.person("1001")
    for person, role in ((minh, "officer"), (hoa, "editor")):
        await person.say("xin chao")  # known to the bot
        who = await flow.conversation._identify(person.who())  # type: ignore[misc]
        await flow.services.staff.add(who.person, role, "test")
    [officer_help] = await minh.command("help")
    [editor_help] = await hoa.command("help")
    [resident_help] = await lan.command("help")
    assert "/queue" in officer_help.text and "/campaign" not in officer_help.text
    assert "/campaign" in editor_help.text and "/queue" not in editor_help.text
    assert "/queue" not in resident_help.text and "/campaign" not in resident_help.text
