"""Checks of the gettext catalogs (content/locales/*/LC_MESSAGES/*.po), run by `content check` and on every
start and reload (issue 14 item 7): a catalog that does not parse is an error (it would silently fall back
to English); a translation whose {placeholders} differ from its msgid's, or whose HTML tags are unbalanced or
not the msgid's, is an error (the bot would store a confirmation and then fail to show it)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from babel.messages.pofile import PoFileError, read_po

from bot.content import Problem

_PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)?(?:[!:][^{}]*)?\}(?!\})")
# The markup the core sends (Telegram's HTML subset); other "<…>" in texts is plain text, escaped when shown.
_NAMES = "b|i|u|s|a|code|pre|blockquote|tg-spoiler|strong|em"
_TAG = re.compile(rf"<(/?)({_NAMES})(?:\s[^<>]*)?>", re.IGNORECASE)
_CUT = re.compile(rf"</?(?:{_NAMES})(?:\s[^<>]*)?(?=<|$)|</(?=\s|$)", re.IGNORECASE)


def placeholders(text: str) -> Counter[str]:
    return Counter(m.group(1) or "" for m in _PLACEHOLDER.finditer(text))


def tag_problem(text: str) -> str | None:
    """None when the tags nest properly; else what is wrong."""
    stack: list[str] = []
    for closing, name in _TAG.findall(text):
        name = name.lower()
        if not closing:
            stack.append(name)
        elif not stack or stack.pop() != name:
            return f"</{name}> does not close the last opened tag"
    if stack:
        return f"<{stack[-1]}> is never closed"
    if _CUT.search(text):
        return "a tag is cut off (missing '>')"
    return None


def tags(text: str) -> Counter[str]:
    return Counter(("/" if c else "") + n.lower() for c, n in _TAG.findall(text))


# A .po line: blank, a comment, a keyword with one complete quoted string, or a continuation string.
_STRING = r'"(?:[^"\\]|\\.)*"'
_LINE = re.compile(rf'^\s*(?:#.*|(?:msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+{_STRING}|{_STRING})?\s*$')


def syntax_problem(po_path: Path) -> Problem | None:
    """The first line Babel would misread or skip silently (an unclosed quote, a stray word)."""
    try:
        lines = po_path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        return Problem(po_path, 0, f"the catalog cannot be read: {exc}")
    for number, line in enumerate(lines, 1):
        if not _LINE.match(line):
            return Problem(po_path, number, f"the catalog does not parse here: {line[:60]!r}")
    return None


def check_catalogs(locales_dir: Path) -> list[Problem]:
    problems: list[Problem] = []
    for po_path in sorted(locales_dir.glob("*/LC_MESSAGES/*.po")):
        lang = po_path.parent.parent.name
        syntax = syntax_problem(po_path)
        if syntax is not None:
            problems.append(syntax)
            continue
        try:
            with po_path.open("rb") as fp:
                catalog = read_po(fp, locale=lang, domain=po_path.stem, abort_invalid=True)
        except (PoFileError, ValueError, UnicodeDecodeError, OSError) as exc:
            problems.append(Problem(po_path, _line_of(exc), f"the catalog does not parse: {exc}"))
            continue
        for message in catalog:
            msgid, msgstr = message.id, message.string
            if not msgid or not isinstance(msgid, str) or not isinstance(msgstr, str):
                continue
            if not msgstr:
                continue  # untranslated: the msgid (English) is shown
            line = message.lineno or 0
            want, got = placeholders(msgid), placeholders(msgstr)
            if want != got:
                missing = sorted(set(want) - set(got))
                extra = sorted(set(got) - set(want))
                detail = "; ".join(part for part in (
                    f"missing {', '.join('{' + p + '}' for p in missing)}" if missing else "",
                    f"unknown {', '.join('{' + p + '}' for p in extra)}" if extra else "") if part)
                problems.append(Problem(po_path, line, f"placeholders differ from the msgid ({detail or 'count'}): "
                                                       f"{msgid[:60]!r}"))
            broken = tag_problem(msgstr)
            if broken is not None and tag_problem(msgid) is None:
                problems.append(Problem(po_path, line, f"markup: {broken}: {msgstr[:60]!r}"))
            elif broken is None and tags(msgid) != tags(msgstr):
                problems.append(Problem(po_path, line, f"markup differs from the msgid: {msgstr[:60]!r}"))
    return problems


def _line_of(exc: Exception) -> int:
    found = re.search(r"line (\d+)", str(exc))
    return int(found.group(1)) if found else 0
