"""The answer mini-format (content/README.md) → Telegram-safe HTML or plain text; message splitting.

Input: `**bold**`, `_italic_`, `[text](https://url)`, lines starting with "- " or "1. ", blank-line
paragraphs and `{{placeholders}}`. Everything else is text: `<`, `>` and `&` are escaped, never interpreted.
The HTML output uses only <b>, <i> and <a href="…">, always balanced.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Literal

from bot.content import Commune, Faq, Template, render_placeholders

TELEGRAM_LIMIT = 4096
BULLET = "•"

_BULLET_LINE = re.compile(r"^\s*[-*]\s+(.*)$")
_NUMBER_LINE = re.compile(r"^\s*(\d{1,3})[.)]\s+(.*)$")
# Inline markup, leftmost first: a link, **bold**, or _italic_ (underscores inside words stay literal).
_LINK_SRC = r"\[[^\]\n]+\]\([^)\s]+\)"
_INLINE = re.compile(
    rf"\[(?P<text>[^\]\n]+)\]\((?P<url>[^)\s]+)\)"
    rf"|\*\*(?=\S)(?P<bold>(?:{_LINK_SRC}|(?!{_LINK_SRC}).)+?)(?<=\S)\*\*"
    rf"|(?<![\w])_(?=\S)(?P<italic>(?:{_LINK_SRC}|(?!{_LINK_SRC}).)+?)(?<=\S)_(?![\w])"
)
_SAFE_URL = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)

Mode = Literal["html", "plain"]


def _inline(text: str, mode: Mode, links: bool = True) -> str:
    out: list[str] = []
    pos = 0
    for match in _INLINE.finditer(text):
        if match.group("text") is not None and not links:
            continue
        out.append(_escape(text[pos : match.start()], mode))
        pos = match.end()
        if match.group("text") is not None:
            label, url = match.group("text"), match.group("url")
            inner = _inline(label, mode, links=False)
            if mode == "html" and _SAFE_URL.match(url):
                out.append(f'<a href="{html.escape(url, quote=True)}">{inner}</a>')
            elif label.strip() == url.strip():
                out.append(_escape(url, mode))
            else:
                out.append(f"{inner} ({_escape(url, mode)})")
        elif match.group("bold") is not None:
            inner = _inline(match.group("bold"), mode, links)
            out.append(f"<b>{inner}</b>" if mode == "html" else inner)
        else:
            inner = _inline(match.group("italic"), mode, links)
            out.append(f"<i>{inner}</i>" if mode == "html" else inner)
    out.append(_escape(text[pos:], mode))
    return "".join(out)


def _escape(text: str, mode: Mode) -> str:
    return html.escape(text, quote=False) if mode == "html" else text


def _render(body: str, mode: Mode) -> str:
    paragraphs: list[str] = []
    current: list[str] = []
    for raw in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if not line:
            if current:
                paragraphs.append("\n".join(current))
                current = []
            continue
        bullet = _BULLET_LINE.match(line)
        number = _NUMBER_LINE.match(line)
        if bullet:
            current.append(f"{BULLET} {_inline(bullet.group(1), mode)}")
        elif number:
            current.append(f"{number.group(1)}. {_inline(number.group(2), mode)}")
        else:
            current.append(_inline(line, mode))
    if current:
        paragraphs.append("\n".join(current))
    return "\n\n".join(paragraphs)


def _body_of(item: Faq | Template | str) -> str:
    return item if isinstance(item, str) else item.body


def render_html(item: Faq | Template | str, commune: Commune, unknown_text: str) -> str:
    """The answer body as Telegram HTML (the title is not included); placeholders filled from `commune`."""
    return _render(render_placeholders(_body_of(item), commune, unknown_text), "html")


def render_plain(item: Faq | Template | str, commune: Commune, unknown_text: str) -> str:
    """The answer body as plain text for channels without formatting and the command line."""
    return _render(render_placeholders(_body_of(item), commune, unknown_text), "plain")


# --- splitting ----------------------------------------------------------------------------------------


def telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (of the raw string: a conservative upper bound)."""
    return len(text.encode("utf-16-le")) // 2


_TAG = re.compile(r"<(/?)([a-z]+)((?:\s[^>]*)?)>")


@dataclass
class _Open:
    name: str
    markup: str  # the opening tag as written, to re-open it in the next part


def _units(text: str) -> list[tuple[str, bool]]:
    """Cut HTML into atoms that must not be split: tags, entities, single characters (flag: is a tag)."""
    atoms: list[tuple[str, bool]] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "<":
            end = text.find(">", i)
            if end != -1:
                atoms.append((text[i : end + 1], True))
                i = end + 1
                continue
        if ch == "&":
            end = text.find(";", i, i + 12)
            if end != -1:
                atoms.append((text[i : end + 1], False))
                i = end + 1
                continue
        atoms.append((ch, False))
        i += 1
    return atoms


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split Telegram HTML into parts of at most `limit` UTF-16 units each.

    Cuts preferably at a paragraph break, then a line break, then a space (in the second half of a part);
    never inside a tag or an entity. Tags open at a cut are closed at the end of the part and opened again
    at the start of the next one. Blank input gives no parts.
    """
    if not _visible(text):
        return []
    if telegram_length(text) <= limit:
        return [text]
    limit = max(limit, 64)
    atoms = _units(text)
    n = len(atoms)
    parts: list[str] = []
    stack: list[_Open] = []
    i = 0
    while i < n:
        while i < n and atoms[i][0] in (" ", "\n"):
            i += 1
        if i >= n:
            break
        prefix = "".join(o.markup for o in stack)
        local = list(stack)
        size = telegram_length(prefix)
        cuts: dict[int, tuple[int, list[_Open]]] = {}  # rank → (end, tags open there), last seen
        j = i
        while j < n:
            atom, is_tag = atoms[j]
            after = _after_tag(local, atom) if is_tag else local
            closers = sum(len(o.name) + 3 for o in after)
            cost = telegram_length(atom)
            if size + cost + closers > limit and j > i:
                break
            size += cost
            local = after
            j += 1
            cuts[_cut_rank(atoms, i, j)] = (j, local)
        if j >= n:
            end, open_after = n, local
        else:
            end, open_after = _choose_cut(cuts, i, j)
        body = "".join(atom for atom, _ in atoms[i:end]).rstrip(" \n")
        part = prefix + body + "".join(f"</{o.name}>" for o in reversed(open_after))
        if _visible(part):
            parts.append(part)
        stack = open_after
        i = end
    return parts


def _after_tag(stack: list[_Open], tag: str) -> list[_Open]:
    match = _TAG.fullmatch(tag)
    if match is None:
        return stack
    if match.group(1):
        if stack and stack[-1].name == match.group(2):
            return stack[:-1]
        return stack
    return [*stack, _Open(match.group(2), tag)]


def _cut_rank(atoms: list[tuple[str, bool]], start: int, end: int) -> int:
    """How good it is to cut after atoms[end - 1]: 3 paragraph break, 2 line break, 1 space, 0 anywhere."""
    last = atoms[end - 1][0]
    if last == "\n":
        before = end - 2 >= start and atoms[end - 2][0] == "\n"
        following = end < len(atoms) and atoms[end][0] == "\n"
        return 3 if before or following else 2
    return 1 if last == " " else 0


def _choose_cut(cuts: dict[int, tuple[int, list[_Open]]], start: int, stop: int) -> tuple[int, list[_Open]]:
    half = start + (stop - start) // 2
    for rank in (3, 2, 1):
        if rank in cuts and cuts[rank][0] >= half:
            return cuts[rank]
    for rank in (3, 2, 1, 0):
        if rank in cuts:
            return cuts[rank]
    raise AssertionError("a part always holds at least one atom")


def _visible(part: str) -> bool:
    return bool(html.unescape(_TAG.sub("", part)).strip())
