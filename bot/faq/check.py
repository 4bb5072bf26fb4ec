"""`python -m bot content check`: everything an editor can get wrong in content/, as file:line problems.

Errors make the check fail (exit 1); warnings are shown but pass. Messages are for the editor, in English.
"""

from __future__ import annotations

import html
import re
import tomllib
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from bot.catalog_check import check_catalogs
from bot.content import (
    ABBREVIATIONS_FILE,
    COMMUNE_FILE,
    FAQ_DIR,
    OUT_OF_SCOPE_FILE,
    Content,
    Faq,
    Problem,
    Template,
    placeholders,
    read_content,
)
from bot.faq.normalize import fold, fold_token, tokenize
from bot.faq.render import TELEGRAM_LIMIT, render_html

__all__ = ["AS_OF_MAX_MONTHS", "MIN_QUESTIONS", "TAXONOMY_IDS", "Problem", "check_content", "run_checks"]

# The in-scope topics of the Đề án 06 taxonomy (shared/facts/taxonomy.md): each must have an FAQ file.
# 33 from the first taxonomy, then the 5 "topics to add" of December 2026 (issue 12).
TAXONOMY_IDS: tuple[str, ...] = (
    "de-an-06-overview",
    "vneid-what-is",
    "vneid-level-compare",
    "vneid-mandatory",
    "vneid-level2-register",
    "vneid-activate",
    "vneid-check-status",
    "vneid-level1-self-register",
    "vneid-otp-missing",
    "vneid-forgot-password",
    "vneid-passcode",
    "vneid-change-phone",
    "vneid-phone-not-own",
    "vneid-new-device",
    "vneid-account-lock",
    "vneid-wrong-info",
    "vneid-integrate-docs",
    "vneid-use-as-id",
    "vneid-minors",
    "vneid-no-smartphone",
    "cccd-can-cuoc-card",
    "can-cuoc-fees",
    "can-cuoc-doi-dvhc",
    "can-cuoc-lost",
    "dvc-login",
    "dvc-online-levels",
    "dvc-cu-tru",
    "dvc-ly-lich-tu-phap",
    "lien-thong-khai-sinh",
    "lien-thong-khai-tu",
    "data-privacy",
    "scam-warning",
    "hotline-support",
    "vneid-an-sinh-account",
    "vneid-residence-info",
    "can-cuoc-exchange-age",
    "cmnd-9-digit",
    "sim-check-owner",
)
MIN_QUESTIONS = 6
# An answer or announcement whose as_of is older than this many months is shown as a warning, so the editor
# re-checks its facts. Set in commune.toml: `[check]` `as_of_max_months = N` (0 = never warn).
AS_OF_MAX_MONTHS = 6
TITLE_WARN_CHARS = 64  # inline buttons cut longer titles on small phones
# Room kept for what the bot adds around an answer: title, the "checked on" line, a long "not updated" text.
ANSWER_FRAME_CHARS = 120
UNKNOWN_SAMPLE = "x" * 60

_KEY_LINE = re.compile(r"""^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*=""")
_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_TAG = re.compile(r"<[^>]+>")


def check_content(content_dir: Path, today: date | None = None) -> list[Problem]:
    """Every problem in `content_dir`, sorted by file and line."""
    return run_checks(content_dir, today)[1]


def run_checks(content_dir: Path, today: date | None = None) -> tuple[Content, list[Problem]]:
    """The content as far as it loads, and every problem found (loader's and semantic checks).

    `today` (default: the system date) is the day as_of dates are measured against.
    """
    today = today or date.today()
    content, problems = read_content(content_dir)
    commune_ok = not any(p.severity == "error" and p.path == content_dir / COMMUNE_FILE for p in problems)
    max_months, setting_problems = _as_of_max_months(content_dir / COMMUNE_FILE)
    problems += setting_problems
    problems += _check_faqs(content, commune_ok, today)
    problems += _check_templates(content, commune_ok)
    problems += _check_as_of_age(content, today, max_months)
    problems += _check_taxonomy(content, content_dir)
    problems += _check_abbreviations(content, content_dir / ABBREVIATIONS_FILE)
    problems += _check_out_of_scope(content, content_dir / OUT_OF_SCOPE_FILE)
    problems += _check_commune(content, content_dir / COMMUNE_FILE, commune_ok)
    problems += check_catalogs(content_dir / "locales")
    problems += _check_examples(content, content_dir)
    unique = dict.fromkeys(problems)
    return content, sorted(unique, key=lambda p: (str(p.path), p.line, p.severity, p.message))


def visible_length(html_text: str) -> int:
    """Characters Telegram counts in an HTML message (UTF-16 units of the text without tags)."""
    text = html.unescape(_TAG.sub("", html_text))
    return len(text.encode("utf-16-le")) // 2


def _key_lines(path: Path) -> dict[str, int]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    out: dict[str, int] = {}
    for i, raw in enumerate(lines):
        if i and raw.strip() == "+++":
            break  # end of the front matter
        match = _KEY_LINE.match(raw)
        if match:
            out.setdefault(match.group(1) or match.group(2) or match.group(3), i + 1)
    return out


def _body_problems(item: Faq | Template, content: Content, commune_ok: bool, what: str) -> list[Problem]:
    problems: list[Problem] = []
    values = content.commune.values
    reported: set[str] = set()
    for offset, line in enumerate(item.body.split("\n")):
        number = item.line + offset
        if commune_ok:
            for key in placeholders(line):
                if key in reported:
                    continue
                reported.add(key)
                if key not in values:
                    problems.append(
                        Problem(
                            item.path,
                            number,
                            f"unknown placeholder {{{{{key}}}}}: commune.toml has no '{key}'",
                        )
                    )
                elif not values[key].strip():
                    problems.append(
                        Problem(
                            item.path,
                            number,
                            f"{{{{{key}}}}} is empty in commune.toml: the bot will say it is not updated yet",
                            "warning",
                        )
                    )
        for label, url in _LINK.findall(line):
            if not url.lower().startswith(("http://", "https://")):
                problems.append(
                    Problem(
                        item.path,
                        number,
                        f"link '{label}' is not http(s): it will be shown as text",
                        "warning",
                    )
                )
        if "<" in line and re.search(r"</?[a-zA-Z][^>]*>", line):
            problems.append(
                Problem(item.path, number, "HTML is not interpreted: the tags will be shown as typed", "warning")
            )
    rendered = render_html(item, content.commune, UNKNOWN_SAMPLE)
    size = visible_length(rendered) + len(item.title) + ANSWER_FRAME_CHARS
    if size > TELEGRAM_LIMIT:
        problems.append(
            Problem(
                item.path,
                item.line,
                f"the rendered {what} is about {size} characters with its "
                f"title; Telegram allows {TELEGRAM_LIMIT}: shorten it",
            )
        )
    return problems


# Training data for the classifier (content/examples/): example questions per label, counting the FAQ's
# own `questions`; the confusable pairs need more, with examples close to the neighbouring topic.
MIN_EXAMPLES = 30
MIN_EXAMPLES_CONFUSABLE = 60
MIN_OUT_OF_SCOPE = 200
CONFUSABLE_PAIRS: tuple[tuple[str, str], ...] = (
    ("vneid-level-compare", "vneid-level2-register"),
    ("vneid-passcode", "vneid-forgot-password"),
    ("vneid-new-device", "vneid-activate"),
    ("vneid-integrate-docs", "vneid-use-as-id"),
)


def _check_examples(content: Content, content_dir: Path) -> list[Problem]:
    from bot.faq.service import SPECIAL_LABELS

    problems: list[Problem] = []
    folder = content_dir / "examples"
    known = set(content.faqs) | set(content.redirects) | set(SPECIAL_LABELS)
    for label in content.examples:
        if label not in known:
            problems.append(Problem(folder / f"{label}.txt", 1,
                                    f"'{label}' is not an FAQ id, a redirect id or one of {', '.join(SPECIAL_LABELS)}"))
    confusable = {t for pair in CONFUSABLE_PAIRS for t in pair}
    for faq in content.faqs.values():
        count = len(faq.questions) + len(content.examples.get(faq.id, ()))
        floor = MIN_EXAMPLES_CONFUSABLE if faq.id in confusable else MIN_EXAMPLES
        if count < floor:
            problems.append(Problem(folder / f"{faq.id}.txt", 1,
                                    f"{count} example questions (questions + examples): write at least {floor}",
                                    "warning"))
    oos = len(content.examples.get("out-of-scope", ()))
    if oos < MIN_OUT_OF_SCOPE:
        problems.append(Problem(folder / "out-of-scope.txt", 1,
                                f"{oos} out-of-scope examples: write at least {MIN_OUT_OF_SCOPE}", "warning"))
    for rid, redirect in content.redirects.items():
        if not content.examples.get(rid):
            problems.append(Problem(content_dir / "redirects.toml", redirect.line,
                                    f"redirect '{rid}' has no examples/{rid}.txt: the bot cannot recognise it"))
    # A context phrase is wrapped around every class's examples: one that names a topic would pull every
    # long message towards it.
    keywords = {fold(k): faq.id for faq in content.faqs.values() for k in faq.keywords if len(fold(k)) > 3}
    for phrase in content.context:
        padded = f" {fold(phrase.text)} "
        named = next((k for k in keywords if f" {k} " in padded), None)
        if named is not None:
            problems.append(Problem(phrase.path, phrase.line,
                                    f"'{named}' is a keyword of {keywords[named]}: a context phrase must fit any "
                                    "question (it is wrapped around every example)", "warning"))
    # The same question under two labels teaches the classifier nothing but confusion.
    owner: dict[str, tuple[str, Path, int]] = {}
    for label, items in content.examples.items():
        for item in items:
            key = fold(item.text)
            first = owner.get(key)
            if first is not None and first[0] != label:
                problems.append(Problem(item.path, item.line,
                                        f"also an example of '{first[0]}' ({first[1].name}:{first[2]})", "warning"))
            else:
                owner.setdefault(key, (label, item.path, item.line))
    return problems


def _check_faqs(content: Content, commune_ok: bool, today: date) -> list[Problem]:
    problems: list[Problem] = []
    group_ids = {g.id for g in content.groups}
    seen_questions: dict[str, str] = {}
    oos = [(w, tuple(fold_token(t) for t in tokenize(w))) for w in content.out_of_scope]
    for faq in content.faqs.values():
        lines = _key_lines(faq.path)

        def at(key: str, lines: dict[str, int] = lines, faq: Faq = faq) -> int:
            return lines.get(key, 1)

        if len(faq.questions) < MIN_QUESTIONS:
            problems.append(
                Problem(
                    faq.path,
                    at("questions"),
                    f"only {len(faq.questions)} questions: write at least {MIN_QUESTIONS} ways residents ask it",
                )
            )
        if faq.group not in group_ids:
            problems.append(Problem(faq.path, at("group"), f"group '{faq.group}' is not in faq/_groups.toml"))
        for rid in faq.related:
            if rid == faq.id:
                problems.append(Problem(faq.path, at("related"), "an FAQ cannot be related to itself", "warning"))
            elif rid not in content.faqs:
                problems.append(Problem(faq.path, at("related"), f"related id '{rid}' has no FAQ file"))
        if len(faq.title) > TITLE_WARN_CHARS:
            problems.append(
                Problem(
                    faq.path,
                    at("title"),
                    f"title is {len(faq.title)} characters; buttons show about {TITLE_WARN_CHARS}",
                    "warning",
                )
            )
        if faq.as_of > today:
            problems.append(Problem(faq.path, at("as_of"), f"as_of {faq.as_of} is in the future", "warning"))
        own: set[str] = set()
        for question in faq.questions:
            key = fold(question)
            if key in own:
                problems.append(
                    Problem(faq.path, at("questions"), f"question '{question}' is written twice", "warning")
                )
            own.add(key)
            other = seen_questions.get(key)
            if other is not None and other != faq.id:
                problems.append(
                    Problem(
                        faq.path,
                        at("questions"),
                        f"question '{question}' is also in '{other}': the bot cannot tell them apart",
                        "warning",
                    )
                )
            seen_questions.setdefault(key, faq.id)
            words = [fold_token(t) for t in tokenize(question)]
            for word, phrase in oos:
                if phrase and any(tuple(words[i : i + len(phrase)]) == phrase for i in range(len(words))):
                    problems.append(
                        Problem(
                            faq.path,
                            at("questions"),
                            f"question '{question}' contains the out-of-scope word '{word}'",
                            "warning",
                        )
                    )
        problems += _body_problems(faq, content, commune_ok, "answer")
    return problems


def _as_of_max_months(path: Path) -> tuple[int, list[Problem]]:
    """`[check]` `as_of_max_months` of commune.toml (default AS_OF_MAX_MONTHS); a bad value is an error."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return AS_OF_MAX_MONTHS, []  # the loader reports an unreadable commune.toml
    table = data.get("check")
    if table is None:
        return AS_OF_MAX_MONTHS, []
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    line = next((i + 1 for i, raw in enumerate(lines) if raw.strip() == "[check]"), 1)
    if not isinstance(table, dict):
        return AS_OF_MAX_MONTHS, [Problem(path, line, "'check' must be a [check] table")]
    problems: list[Problem] = []
    for key in table:
        if key != "as_of_max_months":
            problems.append(Problem(path, line, f"unknown key '{key}' in [check]", "warning"))
    value = table.get("as_of_max_months", AS_OF_MAX_MONTHS)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 120:
        key_line = next((i + 1 for i, raw in enumerate(lines) if raw.strip().startswith("as_of_max_months")), line)
        problems.append(Problem(path, key_line, f"'as_of_max_months' must be a whole number of months "
                                                f"from 0 (never warn) to 120, not {value!r}"))
        return AS_OF_MAX_MONTHS, problems
    return value, problems


def _months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (the month's last day when it is shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + month // 12, month % 12 + 1, 1)
    last = (next_month - date(year, month, 1)).days
    return date(year, month, min(day.day, last))


def _check_as_of_age(content: Content, today: date, max_months: int) -> list[Problem]:
    """A warning for each answer or announcement not re-checked within `max_months` (0: none)."""
    if max_months <= 0:
        return []
    oldest = _months_before(today, max_months)
    items: list[tuple[Faq | Template, str]] = [(f, "answer") for f in content.faqs.values()]
    items += [(t, "announcement") for t in content.templates.values()]
    return [
        Problem(item.path, _key_lines(item.path).get("as_of", 1),
                f"as_of {item.as_of} is more than {max_months} months old: re-check this {what}'s facts, "
                f"then set as_of to the day you checked them", "warning")
        for item, what in items
        if item.as_of < oldest
    ]


def _check_templates(content: Content, commune_ok: bool) -> list[Problem]:
    problems: list[Problem] = []
    for template in content.templates.values():
        problems += _body_problems(template, content, commune_ok, "announcement")
    return problems


def _check_taxonomy(content: Content, content_dir: Path) -> list[Problem]:
    folder = content_dir / FAQ_DIR
    if not folder.is_dir():
        return []
    return [
        Problem(folder / f"{topic}.md", 1, f"topic '{topic}' of the taxonomy has no FAQ file")
        for topic in TAXONOMY_IDS
        if topic not in content.faqs and not (folder / f"{topic}.md").exists()
    ]


def _check_abbreviations(content: Content, path: Path) -> list[Problem]:
    problems: list[Problem] = []
    lines = _key_lines(path)
    by_folded: dict[tuple[str, ...], tuple[str, str]] = {}
    for key, value in content.abbreviations.items():
        line = lines.get(key, 1)
        tokens = tokenize(key)
        if not tokens:
            problems.append(Problem(path, line, f"abbreviation '{key}' has no letters or digits"))
            continue
        if not tokenize(value):
            problems.append(Problem(path, line, f"abbreviation '{key}' expands to no words"))
            continue
        folded = tuple(fold_token(t) for t in tokens)
        previous = by_folded.get(folded)
        if previous is not None and fold(previous[1]) != fold(value):
            problems.append(
                Problem(
                    path,
                    line,
                    f"'{key}' and '{previous[0]}' look the same without diacritics "
                    f"but expand differently ('{value}' / '{previous[1]}')",
                    "warning",
                )
            )
        by_folded.setdefault(folded, (key, value))
    return problems


def _check_out_of_scope(content: Content, path: Path) -> list[Problem]:
    problems: list[Problem] = []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return problems
    seen: set[str] = set()
    for word in content.out_of_scope:
        line = next((i + 1 for i, raw in enumerate(lines) if f'"{word}"' in raw), 1)
        key = fold(word)
        if not tokenize(word):
            problems.append(Problem(path, line, f"out-of-scope word '{word}' has no letters or digits"))
        elif key in seen:
            problems.append(Problem(path, line, f"out-of-scope word '{word}' is listed twice", "warning"))
        seen.add(key)
    return problems


def _check_commune(content: Content, path: Path, commune_ok: bool) -> list[Problem]:
    if not commune_ok:
        return []
    lines = _key_lines(path)
    problems: list[Problem] = []
    if not content.commune.villages_verified:
        problems.append(
            Problem(
                path,
                lines.get("villages_verified", 1),
                "the village list is not verified yet (villages_verified = false)",
                "warning",
            )
        )
    used: set[str] = set()
    for item in _bodies(content):
        used.update(placeholders(item))
    for key, value in content.commune.values.items():
        if not value.strip() and key not in used:
            problems.append(Problem(path, lines.get(key, 1), f"'{key}' is not filled in yet", "warning"))
    return problems


def _bodies(content: Content) -> Iterable[str]:
    yield from (f.body for f in content.faqs.values())
    yield from (t.body for t in content.templates.values())
