"""Residents never read how a fact was checked (issue 12 item 6): no provenance words in any answer or
announcement template; sources stay in the front matter for editors."""

from __future__ import annotations

from pathlib import Path

from bot.content import load_content

ROOT = Path(__file__).resolve().parent.parent
PROVENANCE = ("nguồn thứ cấp", "chưa được xác minh", "chưa xác minh", "công ty luật", "bản tóm tắt",
              "chưa kiểm chứng", "chưa đối chiếu")


def test_no_answer_says_how_its_facts_were_checked() -> None:
    content = load_content(ROOT / "content")
    bodies = {f"faq {k}": v.body for k, v in content.faqs.items()}
    bodies |= {f"template {k}": v.body for k, v in content.templates.items()}
    found = [(where, word) for where, body in bodies.items() for word in PROVENANCE if word in body.lower()]
    assert found == []
