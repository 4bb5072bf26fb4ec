"""`content check`: broken content written to tmp_path gives the right file:line messages and exit codes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.cli import main
from bot.content import ContentError, load_content, render_placeholders
from bot.faq.check import TAXONOMY_IDS, check_content

ROOT = Path(__file__).resolve().parent.parent

COMMUNE = """\
name = ""
display_name = "xã Thử"
police_name = "Công an xã"
police_phone = ""
timezone = "Asia/Ho_Chi_Minh"
villages_verified = true
quiet_start = "21:00"
quiet_end = "06:30"

[office]
weekdays = [1, 2, 3, 4, 5]
slots = ["07:30-11:30", "13:30-17:00"]
holidays = ["2026-01-01", 2026-09-02]

[[village]]
id = "thon-1"
name = "Thôn 1"

[[village]]
id = "thon-2"
name = "Thôn 2"
"""
ABBREVIATIONS = '[abbreviations]\ndk = "đăng ký"\n"đk" = "đăng ký"\nmk = "mật khẩu"\n'
OUT_OF_SCOPE = 'words = ["thoi tiet", "xo so"]\n'
GROUPS = '[[group]]\nid = "vneid"\ntitle = "VNeID"\n\n[[group]]\nid = "other"\ntitle = "Khác"\n'
TEMPLATE = """\
+++
id = "moi-dang-ky"
title = "Mời đăng ký"
topic = "dinh-danh"
as_of = 2026-11-20
sources = ["https://example.org"]
+++
Mời bà con đến {{police_name}}.
"""


def faq_text(
    fid: str,
    *,
    questions: int = 6,
    group: str = "vneid",
    related: str = "[]",
    body: str = "Đến **{{police_name}}**.\n\nGọi {{police_phone}}.",
    extra: str = "",
) -> str:
    qs = ", ".join(f'"câu hỏi số {i} về {fid}"' for i in range(questions))
    return (
        "+++\n"  # 1
        f'id = "{fid}"\n'  # 2
        f'title = "Tiêu đề {fid}"\n'  # 3
        f'group = "{group}"\n'  # 4
        f"questions = [{qs}]\n"  # 5
        'keywords = ["từ khóa"]\n'  # 6
        f"related = {related}\n"  # 7
        "as_of = 2026-11-20\n"  # 8
        'sources = ["https://example.org"]\n'  # 9
        f"{extra}"
        "+++\n"  # 10 (without extra)
        f"{body}\n"  # 11
    )


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    (root / "faq").mkdir(parents=True)
    (root / "campaigns").mkdir()
    (root / "commune.toml").write_text(COMMUNE, encoding="utf-8")
    (root / "abbreviations.toml").write_text(ABBREVIATIONS, encoding="utf-8")
    (root / "out_of_scope.toml").write_text(OUT_OF_SCOPE, encoding="utf-8")
    (root / "faq" / "_groups.toml").write_text(GROUPS, encoding="utf-8")
    for i, fid in enumerate(TAXONOMY_IDS):
        group = "other" if i % 2 else "vneid"
        (root / "faq" / f"{fid}.md").write_text(faq_text(fid, group=group), encoding="utf-8")
    (root / "campaigns" / "moi-dang-ky.md").write_text(TEMPLATE, encoding="utf-8")
    return root


def messages(content_dir: Path, severity: str = "error") -> list[str]:
    """Problems as 'relative/path:line: message'."""
    return [
        f"{p.path.relative_to(content_dir)}:{p.line}: {p.message}"
        for p in check_content(content_dir)
        if p.severity == severity
    ]


def write(content_dir: Path, relative: str, text: str) -> None:
    (content_dir / relative).write_text(text, encoding="utf-8")


def test_valid_content_has_no_errors(content_dir: Path) -> None:
    assert messages(content_dir) == []
    content = load_content(content_dir)
    assert len(content.faqs) == 38 and list(content.templates) == ["moi-dang-ky"]
    assert content.commune.office_weekdays == [1, 2, 3, 4, 5]
    assert [v.id for v in content.commune.villages] == ["thon-1", "thon-2"]
    assert len(content.commune.holidays) == 2
    assert content.abbreviations["đk"] == "đăng ký"
    faq = content.faqs["vneid-activate"]
    assert faq.line == 11 and faq.body.startswith("Đến **")
    assert render_placeholders(faq.body, content.commune, "?") == "Đến **Công an xã**.\n\nGọi ?."
    # The empty phone is a warning where it is used, not an error.
    assert (
        "faq/vneid-activate.md:13: {{police_phone}} is empty in commune.toml: the bot will say it is not "
        "updated yet" in messages(content_dir, "warning")
    )


def test_toml_syntax_error_in_front_matter_has_the_file_line(content_dir: Path) -> None:
    text = faq_text("vneid-otp-missing").replace('group = "vneid"', 'group = vneid"')
    write(content_dir, "faq/vneid-otp-missing.md", text)
    found = messages(content_dir)
    assert len(found) == 1
    assert found[0].startswith("faq/vneid-otp-missing.md:4: invalid TOML: ")
    with pytest.raises(ContentError) as raised:
        load_content(content_dir)
    assert "vneid-otp-missing.md:4: error: invalid TOML" in str(raised.value)


def test_unclosed_front_matter_and_missing_fence(content_dir: Path) -> None:
    write(content_dir, "faq/vneid-passcode.md", faq_text("vneid-passcode").replace("+++\nĐến", "Đến"))
    write(content_dir, "faq/vneid-minors.md", '\n\nid = "vneid-minors"\n')
    assert messages(content_dir) == [
        "faq/vneid-minors.md:3: the file must start with a '+++' line",
        "faq/vneid-passcode.md:1: front matter is not closed by a '+++' line",
    ]


def test_id_must_equal_file_name_and_fields_are_typed(content_dir: Path) -> None:
    write(content_dir, "faq/vneid-passcode.md", faq_text("vneid-passcod"))
    text = faq_text("vneid-minors").replace('title = "Tiêu đề vneid-minors"\n', "title = 5\n")
    write(content_dir, "faq/vneid-minors.md", text.replace("as_of = 2026-11-20", 'as_of = "20/11/2026"'))
    text = faq_text("vneid-what-is").replace('sources = ["https://example.org"]\n', "")
    write(content_dir, "faq/vneid-what-is.md", text.replace('keywords = ["từ khóa"]', 'keywords = "từ khóa"'))
    assert messages(content_dir) == [
        "faq/vneid-minors.md:3: 'title' must be a text in quotes, not a number",
        "faq/vneid-minors.md:8: 'as_of' must be a date written as YYYY-MM-DD",
        "faq/vneid-passcode.md:2: id 'vneid-passcod' must equal the file name 'vneid-passcode'",
        "faq/vneid-what-is.md:1: 'sources' is missing",
        "faq/vneid-what-is.md:6: 'keywords' must be a list of texts in quotes",
    ]


def test_questions_group_related_and_unknown_keys(content_dir: Path) -> None:
    write(content_dir, "faq/vneid-activate.md", faq_text("vneid-activate", questions=5))
    write(content_dir, "faq/vneid-passcode.md", faq_text("vneid-passcode", group="nope"))
    write(
        content_dir,
        "faq/vneid-minors.md",
        faq_text("vneid-minors", related='["vneid-passcode", "no-such-faq"]', extra='relatd = ["x"]\n'),
    )
    assert messages(content_dir) == [
        "faq/vneid-activate.md:5: only 5 questions: write at least 6 ways residents ask it",
        "faq/vneid-minors.md:7: related id 'no-such-faq' has no FAQ file",
        "faq/vneid-passcode.md:4: group 'nope' is not in faq/_groups.toml",
    ]
    assert "faq/vneid-minors.md:10: unknown key 'relatd' (ignored)" in messages(content_dir, "warning")


def test_placeholders_unknown_is_error_empty_is_warning(content_dir: Path) -> None:
    body = "Dòng một.\n\nGọi {{police_phone}} hoặc {{polise_name}}."
    write(content_dir, "faq/vneid-activate.md", faq_text("vneid-activate", body=body))
    assert messages(content_dir) == [
        "faq/vneid-activate.md:13: unknown placeholder {{polise_name}}: commune.toml has no 'polise_name'",
    ]
    assert (
        "faq/vneid-activate.md:13: {{police_phone}} is empty in commune.toml: the bot will say it is not "
        "updated yet" in messages(content_dir, "warning")
    )


def test_rendered_answer_must_fit_telegram(content_dir: Path) -> None:
    body = "\n\n".join("Một đoạn khá dài về định danh điện tử. " * 10 for _ in range(12))
    write(content_dir, "faq/vneid-activate.md", faq_text("vneid-activate", body=body))
    found = messages(content_dir)
    assert len(found) == 1
    assert found[0].startswith("faq/vneid-activate.md:11: the rendered answer is about ")
    assert found[0].endswith("Telegram allows 4096: shorten it")


def test_missing_taxonomy_topic(content_dir: Path) -> None:
    (content_dir / "faq" / "scam-warning.md").unlink()
    (content_dir / "faq" / "vneid-minors.md").rename(content_dir / "faq" / "vneid-minor.md")
    assert messages(content_dir) == [
        "faq/scam-warning.md:1: topic 'scam-warning' of the taxonomy has no FAQ file",
        "faq/vneid-minor.md:2: id 'vneid-minors' must equal the file name 'vneid-minor'",
        "faq/vneid-minors.md:1: topic 'vneid-minors' of the taxonomy has no FAQ file",
    ]


def test_commune_problems(content_dir: Path) -> None:
    text = (
        COMMUNE.replace('quiet_end = "06:30"', 'quiet_end = "6h3"')
        .replace('"13:30-17:00"', '"17:00-13:30"')
        .replace('id = "thon-2"', 'id = "thon-1"')
        .replace("weekdays = [1, 2, 3, 4, 5]", "weekdays = [1, 2, 8]")
    )
    write(content_dir, "commune.toml", text)
    assert messages(content_dir) == [
        "commune.toml:8: 'quiet_end' must be a time written as HH:MM, not '6h3'",
        "commune.toml:11: 'weekdays' must be a list of numbers from 1 (Monday) to 7 (Sunday)",
        "commune.toml:12: slot '17:00-13:30' must look like \"07:30-11:30\" (end after start)",
        "commune.toml:20: village id 'thon-1' is used twice",
    ]


def test_commune_timezone_and_holiday(content_dir: Path) -> None:
    text = COMMUNE.replace("Asia/Ho_Chi_Minh", "Asia/Nowhere").replace('"2026-01-01"', '"2026-13-01"')
    write(content_dir, "commune.toml", text)
    assert messages(content_dir) == [
        "commune.toml:5: unknown time zone 'Asia/Nowhere'",
        "commune.toml:13: holiday '2026-13-01' is not a date written as YYYY-MM-DD",
    ]


def test_abbreviation_keys_with_marks_must_be_quoted(content_dir: Path) -> None:
    # TOML bare keys are ASCII only: `đk = …` is a syntax error on its line.
    write(content_dir, "abbreviations.toml", '[abbreviations]\ndk = "đăng ký"\nđk = "đăng ký"\n')
    found = messages(content_dir)
    assert len(found) == 1 and found[0].startswith("abbreviations.toml:3: invalid TOML: ")


def test_out_of_scope_and_groups_files(content_dir: Path) -> None:
    write(content_dir, "out_of_scope.toml", 'words = "thoi tiet"\n')
    write(content_dir, "faq/_groups.toml", GROUPS + '\n[[group]]\nid = "Bad Id"\ntitle = "x"\n')
    assert messages(content_dir) == [
        "faq/_groups.toml:9: group id 'Bad Id' must be lowercase letters, digits and dashes",
        "out_of_scope.toml:1: 'words' must be a list of texts in quotes",
    ]


def test_templates_are_checked(content_dir: Path) -> None:
    text = TEMPLATE.replace('sources = ["https://example.org"]\n', "").replace("{{police_name}}", "{{nope}}")
    write(content_dir, "campaigns/moi-dang-ky.md", text)
    write(content_dir, "campaigns/khac.md", TEMPLATE.replace('topic = "dinh-danh"', 'topic = "Định danh"'))
    assert messages(content_dir) == [
        "campaigns/khac.md:2: id 'moi-dang-ky' must equal the file name 'khac'",
        "campaigns/khac.md:4: topic 'Định danh' must be lowercase letters, digits and dashes",
        "campaigns/moi-dang-ky.md:1: 'sources' is missing",
    ]


# --- command line -------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(content_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(content_dir.parent)  # no stray .env
    monkeypatch.setenv("BOT_CONTENT_DIR", str(content_dir))
    return content_dir


def test_cli_check_ok(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["content", "check"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "OK (38 FAQs, 1 templates)"
    assert all(": warning: " in line for line in out[:-1])


def test_cli_check_errors_exit_1(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(cli_env, "faq/vneid-activate.md", faq_text("vneid-activate", questions=2))
    assert main(["content", "check"]) == 1
    out = capsys.readouterr().out
    assert f"{cli_env / 'faq' / 'vneid-activate.md'}:5: error: only 2 questions" in out
    assert "OK (" not in out


def test_cli_ask_refuses_broken_content(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(cli_env, "faq/vneid-activate.md", "+++\nid = \n+++\nx\n")
    assert main(["ask", "--json", "hello"]) == 1
    assert "vneid-activate.md:2: error: invalid TOML" in capsys.readouterr().err


def test_real_content_passes_the_check() -> None:
    content_dir = ROOT / "content"
    if not (content_dir / "faq").is_dir():
        pytest.skip("no content folder")
    errors = [str(p) for p in check_content(content_dir) if p.severity == "error"]
    assert errors == []


def test_cli_check_lists_templates_that_would_be_incomplete(cli_env: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 10 item 10: a template with an empty commune value is named, with what is missing."""
    write(cli_env, "campaigns/thieu.md", '+++\nid = "thieu"\ntitle = "Thiếu"\ntopic = "dinh-danh"\n'
          'as_of = 2026-01-01\nsources = ["https://example.org"]\n+++\nGọi {{police_phone}} nhé.\n')
    main(["content", "check"])
    out = capsys.readouterr().out
    assert "thieu.md" in out and "template incomplete" in out and "police_phone" in out


# --- as_of age (issue 12 item 7) -----------------------------------------------------------------------


def test_old_as_of_is_a_warning_after_six_months(content_dir: Path) -> None:
    # The fixture's FAQs and template are as of 2026-11-20: fresh on 2027-05-20, stale from 2027-05-21.
    text = faq_text("vneid-activate").replace("as_of = 2026-11-20", "as_of = 2026-05-31")
    write(content_dir, "faq/vneid-activate.md", text)
    on = date(2026, 12, 3)
    stale = [p for p in check_content(content_dir, today=on) if "months old" in p.message]
    assert [(p.path.name, p.line, p.severity) for p in stale] == [("vneid-activate.md", 8, "warning")]
    assert stale[0].message == ("as_of 2026-05-31 is more than 6 months old: re-check this answer's facts, "
                                "then set as_of to the day you checked them")
    assert not [p for p in check_content(content_dir, today=date(2026, 11, 30)) if "months old" in p.message]
    later = [p.path.name for p in check_content(content_dir, today=date(2027, 5, 21)) if "months old" in p.message]
    assert len(later) == len(TAXONOMY_IDS) + 1 and "moi-dang-ky.md" in later  # announcements too
    assert not [p for p in check_content(content_dir, today=date(2027, 5, 20))
                if "months old" in p.message and p.path.name != "vneid-activate.md"]
    assert messages(content_dir) == []  # never an error


def test_as_of_age_is_set_in_commune_toml(content_dir: Path) -> None:
    write(content_dir, "faq/vneid-activate.md",
          faq_text("vneid-activate").replace("as_of = 2026-11-20", "as_of = 2025-01-01"))
    on = date(2026, 12, 3)
    write(content_dir, "commune.toml", COMMUNE + "\n[check]\nas_of_max_months = 24\n")
    assert not [p for p in check_content(content_dir, today=on) if "months old" in p.message]
    write(content_dir, "commune.toml", COMMUNE + "\n[check]\nas_of_max_months = 12\n")
    assert [p.message[:40] for p in check_content(content_dir, today=on) if "months old" in p.message] == [
        "as_of 2025-01-01 is more than 12 months "]
    write(content_dir, "commune.toml", COMMUNE + "\n[check]\nas_of_max_months = 0\n")
    assert not [p for p in check_content(content_dir, today=on) if "months old" in p.message]
    write(content_dir, "commune.toml", COMMUNE + '\n[check]\nas_of_max_months = "six"\n')
    line = len(COMMUNE.splitlines()) + 3
    assert messages(content_dir) == [
        f"commune.toml:{line}: 'as_of_max_months' must be a whole number of months from 0 (never warn) to 120, "
        "not 'six'"]


def test_cli_check_passes_with_old_as_of(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(cli_env, "faq/vneid-activate.md",
          faq_text("vneid-activate").replace("as_of = 2026-11-20", "as_of = 2020-01-01"))
    assert main(["content", "check"]) == 0
    out = capsys.readouterr().out
    assert "vneid-activate.md:8: warning: as_of 2020-01-01 is more than 6 months old" in out
    assert out.splitlines()[-1].startswith("OK (")
