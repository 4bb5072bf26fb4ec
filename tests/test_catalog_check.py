"""`content check` (and so start-up and reload) checks every catalog entry against its msgid (issue 14 item 7)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.catalog_check import check_catalogs
from bot.content import ContentError
from bot.content_gate import load_checked

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def content(tmp_path: Path) -> Path:
    copy = tmp_path / "content"
    shutil.copytree(ROOT / "content", copy)
    return copy


def break_entry(content: Path, find: str, replace: str, domain: str = "helpdesk") -> Path:
    po = content / "locales" / "vi" / "LC_MESSAGES" / f"{domain}.po"
    text = po.read_text(encoding="utf-8")
    assert find in text, find
    po.write_text(text.replace(find, replace, 1), encoding="utf-8")
    return po


def test_todays_catalogs_pass() -> None:
    assert check_catalogs(ROOT / "content" / "locales") == []


@pytest.mark.parametrize(("find", "replace", "expected"), [
    ("{code}", "{ma}", "placeholders differ"),
    ("</b>", "</b", "markup"),
    ("</b>", "", "never closed"),
])
def test_a_one_character_typo_is_an_error_that_stops_start_up(content: Path, find: str, replace: str,
                                                             expected: str) -> None:
    po = content / "locales" / "vi" / "LC_MESSAGES" / "helpdesk.po"
    text = po.read_text(encoding="utf-8")
    # the first translation that has both a {code} placeholder and bold markup
    entry = next(block for block in text.split("\n\n") if "msgstr" in block and find in block.split("msgstr", 1)[1])
    broken = entry.split("msgstr", 1)[0] + "msgstr" + entry.split("msgstr", 1)[1].replace(find, replace, 1)
    po.write_text(text.replace(entry, broken, 1), encoding="utf-8")
    problems = check_catalogs(content / "locales")
    assert any(expected in p.message and p.path == po for p in problems), problems
    with pytest.raises(ContentError):
        load_checked(content)


def test_a_garbled_catalog_is_an_error_not_a_silent_fall_back(content: Path) -> None:
    po = content / "locales" / "vi" / "LC_MESSAGES" / "bot.po"
    po.write_text(po.read_text(encoding="utf-8") + '\nmsgid "Unclosed\nmsgstr "x"\n', encoding="utf-8")
    problems = check_catalogs(content / "locales")
    assert any("does not parse" in p.message and p.path == po for p in problems), problems
