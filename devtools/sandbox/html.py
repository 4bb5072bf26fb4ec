"""Telegram's HTML parse mode as the Bot API applies it: HTML in, plain text + entities out.

The parser follows TDLib's `parse_html` (the code the Bot API server runs): the same tag set, the same
attribute rules, the same error messages ("Unsupported start tag "br" at byte offset 5", ...), offsets
and lengths counted in UTF-16 code units. After parsing, `normalize` applies what Telegram does to
every message text: control characters become spaces, "\\r" is dropped, entities lose leading
whitespace and whitespace-only entities vanish, the text is trimmed, and entities of the same
splittable kind (bold, italic, ...) that touch are merged. `find_entities` detects the entities
Telegram adds by itself (bot commands, @mentions, #hashtags, URLs, e-mail addresses).

One deliberate difference (see `parse_html(strict=...)`): Telegram's documentation says every `&`
that is not part of an entity must be escaped; its server quietly keeps a bare `&` (and `&nbsp;`)
as literal text. By default the sandbox refuses them, so the bot is held to the documented
contract and a stray `&nbsp;` never reaches a resident's screen.

No I/O, no Telegram imports.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from typing import Any

ALLOWED_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del",
        "tg-spoiler", "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
# Bold, italic, ... may overlap anything and are merged when they touch (TDLib "splittable").
SPLITTABLE = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})
# Entities whose meaning is not the visible text itself: kept even when they cover only whitespace.
HIDDEN_DATA = frozenset({"text_link", "text_mention", "custom_emoji"})
_PRIORITY = {
    "blockquote": 0, "expandable_blockquote": 0, "pre": 11, "code": 20, "text_link": 49,
    "text_mention": 49, "bold": 90, "italic": 91, "underline": 92, "strikethrough": 93,
    "spoiler": 94, "custom_emoji": 99,
}  # fmt: skip
_SPACES = frozenset(" \t\r\n\0\v\f")
_SPECIAL = re.compile(r"[<&]")
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.\-]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\t]")


class HtmlError(ValueError):
    """Telegram cannot parse the HTML; `str(err)` is the text after "can't parse entities: "."""


@dataclass(frozen=True, slots=True)
class Entity:
    """A MessageEntity: `type`, `offset` and `length` in UTF-16 code units, plus the type's argument."""

    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None
    user_id: int | None = None
    custom_emoji_id: str | None = None

    @property
    def end(self) -> int:
        return self.offset + self.length

    def to_api(self) -> dict[str, Any]:
        """The Bot API JSON object (a `text_mention` gets a minimal `user`; the server fills it in)."""
        out: dict[str, Any] = {"offset": self.offset, "length": self.length, "type": self.type}
        if self.url is not None:
            out["url"] = self.url
        if self.language is not None:
            out["language"] = self.language
        if self.user_id is not None:
            out["user"] = {"id": self.user_id, "is_bot": False, "first_name": ""}
        if self.custom_emoji_id is not None:
            out["custom_emoji_id"] = self.custom_emoji_id
        return out

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Entity:
        user = data.get("user")
        return cls(
            type=str(data["type"]),
            offset=int(data["offset"]),
            length=int(data["length"]),
            url=data.get("url"),
            language=data.get("language"),
            user_id=int(user["id"]) if isinstance(user, dict) and "id" in user else None,
            custom_emoji_id=data.get("custom_emoji_id"),
        )


def utf16_len(text: str) -> int:
    """Length of `text` in UTF-16 code units (what Telegram counts)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The part of `text` an entity covers."""
    raw = text.encode("utf-16-le")
    return raw[2 * offset : 2 * (offset + length)].decode("utf-16-le", errors="replace")


def sort_entities(entities: list[Entity]) -> list[Entity]:
    """TDLib's order: by offset, longer first, then by type priority."""
    return sorted(entities, key=lambda e: (e.offset, -e.length, _PRIORITY.get(e.type, 50)))


# --- parsing -------------------------------------------------------------------------------------


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the character reference at `text[pos] == "&"`: (character, end position) or None."""
    n = len(text)
    end = pos + 1
    if end < n and text[end] == "#":
        end += 1
        code = 0
        if end < n and text[end] == "x":
            end += 1
            while end < n and text[end] in "0123456789abcdefABCDEF":
                code = code * 16 + int(text[end], 16)
                end += 1
        else:
            while end < n and text[end].isascii() and text[end].isdigit():
                code = code * 10 + int(text[end])
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10 or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        name = text[pos + 1 : end]
        named = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(name)
        if named is None:
            return None
        char = named
    if end < n and text[end] == ";":
        end += 1
    return char, end


def _byte_offset(text: str, pos: int) -> int:
    return len(text[:pos].encode("utf-8", errors="surrogatepass"))


_LINK_SCHEMES = ("http", "https", "tg", "ton", "tonsite")
_DOMAIN = re.compile(r"^[A-Za-z0-9\-.]+\.[A-Za-z]{2,}(?::\d+)?(?:[/?#].*)?$")


def checked_link(url: str) -> str | None:
    """Telegram's link check: a usable URL (scheme added when missing) or None."""
    url = url.strip()
    if not url or any(c in url for c in ' \n\t<>"'):
        return None
    scheme, sep, rest = url.partition("://")
    if sep:
        if scheme.lower() not in _LINK_SCHEMES or not rest:
            return None
        return url
    if ":" in url.split("/", 1)[0].split("?", 1)[0] and not _DOMAIN.match(url):
        return None  # "javascript:alert(1)", "mailto:x" ...
    if _DOMAIN.match(url):
        return "http://" + url
    return None


@dataclass(slots=True)
class _Open:
    tag: str
    argument: str
    offset: int  # UTF-16 offset where the entity starts
    out_index: int  # index in the output pieces where the entity's text starts
    expandable: bool


def parse_html(text: str, *, strict: bool = True) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML into (text, entities) like the Bot API; raise `HtmlError` where it refuses.

    `strict` also refuses a `&` that starts no supported entity (see the module docstring).
    The result is not yet normalized (trimmed, merged): call `normalize` for that.
    """
    n = len(text)

    def ch(k: int) -> str:
        return text[k] if k < n else "\0"

    out: list[str] = []
    u16 = 0
    stack: list[_Open] = []
    entities: list[Entity] = []
    i = 0
    while i < n:
        m = _SPECIAL.search(text, i)
        j = m.start() if m else n
        if j > i:
            piece = text[i:j]
            out.append(piece)
            u16 += utf16_len(piece)
            i = j
            if i >= n:
                break
        if text[i] == "&":
            decoded = _decode_entity(text, i)
            if decoded is None:
                if strict:
                    raise HtmlError(
                        f'Character "&" at byte offset {_byte_offset(text, i)} must be escaped as "&amp;" '
                        "(only &lt; &gt; &amp; &quot; and numeric entities are supported)"
                    )
                out.append("&")
                u16 += 1
                i += 1
                continue
            char, i = decoded
            out.append(char)
            u16 += utf16_len(char)
            continue

        begin = i
        i += 1
        if ch(i) != "/":
            while ch(i) not in _SPACES and ch(i) != ">":
                i += 1
            if i >= n:
                raise HtmlError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            tag = text[begin + 1 : i].lower()
            if tag not in ALLOWED_TAGS:
                raise HtmlError(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
            argument = ""
            expandable = False
            while ch(i) != ">":
                while i < n and ch(i) in _SPACES:
                    i += 1
                if i >= n:
                    raise HtmlError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
                if ch(i) == ">":
                    break
                attr_begin = i
                while ch(i) not in _SPACES and ch(i) not in "=>":
                    i += 1
                attr = text[attr_begin:i]
                if not attr:
                    raise HtmlError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                    )
                while i < n and ch(i) in _SPACES:
                    i += 1
                if ch(i) != "=":
                    if tag == "blockquote" and attr.lower() == "expandable":
                        expandable = True
                        continue
                    raise HtmlError(
                        f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                        f"at byte offset {_byte_offset(text, begin)}"
                    )
                i += 1
                while i < n and ch(i) in _SPACES:
                    i += 1
                if i >= n:
                    raise HtmlError(f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
                if ch(i) not in "'\"":
                    token = _NAME_TOKEN.match(text, i)
                    assert token is not None  # the pattern matches the empty string
                    value = token.group().lower()
                    if ch(token.end()) not in _SPACES and ch(token.end()) != ">":
                        raise HtmlError(
                            f"Unexpected end of name token at byte offset {_byte_offset(text, token.start())}"
                        )
                    i = token.end()
                else:
                    quote = text[i]
                    i += 1
                    buf: list[str] = []
                    while i < n and text[i] != quote:
                        if text[i] == "&":
                            decoded = _decode_entity(text, i)
                            if decoded is not None:
                                buf.append(decoded[0])
                                i = decoded[1]
                                continue
                        buf.append(text[i])
                        i += 1
                    if i < n:
                        i += 1  # the closing quote
                    value = "".join(buf)
                if i >= n:
                    raise HtmlError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
                if tag == "a" and attr == "href":
                    argument = value
                elif tag == "code" and attr == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and attr == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif tag == "tg-emoji" and attr == "emoji-id":
                    argument = value
            if tag == "span" and argument != "spoiler":
                raise HtmlError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}'
                )
            stack.append(_Open(tag, argument, u16, len(out), expandable))
            i += 1  # past ">"
            continue

        # an end tag
        if not stack:
            raise HtmlError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
        while ch(i) not in _SPACES and ch(i) != ">":
            i += 1
        end_tag = text[begin + 2 : i].lower()
        while i < n and ch(i) in _SPACES:
            i += 1
        if ch(i) != ">":
            raise HtmlError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
        i += 1
        top = stack.pop()
        if end_tag and end_tag != top.tag:
            raise HtmlError(
                f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                f'expected "</{top.tag}>", found "</{end_tag}>"'
            )
        if u16 > top.offset:
            entity = _close(top, u16 - top.offset, "".join(out[top.out_index :]), entities)
            if entity is not None:
                entities.append(entity)
    if stack:
        raise HtmlError(f"Can't find end tag corresponding to start tag {stack[-1].tag}")
    return "".join(out), sort_entities(entities)


def _close(top: _Open, length: int, inner: str, entities: list[Entity]) -> Entity | None:
    """The entity a closed tag makes (or None); may rewrite the last entity for <pre><code>."""
    tag, offset = top.tag, top.offset
    simple = {
        "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
        "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
        "tg-spoiler": "spoiler", "span": "spoiler",
    }  # fmt: skip
    if tag in simple:
        return Entity(simple[tag], offset, length)
    if tag == "tg-emoji":
        if not top.argument.isdigit() or int(top.argument) == 0:
            raise HtmlError("Invalid custom emoji identifier specified")
        return Entity("custom_emoji", offset, length, custom_emoji_id=top.argument)
    if tag == "a":
        url = top.argument or inner
        user = re.fullmatch(r"tg://user\?id=(\d+)", url)
        if user:
            return Entity("text_mention", offset, length, user_id=int(user.group(1)))
        link = checked_link(url)
        return Entity("text_link", offset, length, url=link) if link else None
    if tag == "pre":
        last = entities[-1] if entities else None
        if last and last.type == "code" and (last.offset, last.length) == (offset, length) and last.language:
            entities[-1] = replace(last, type="pre")
            return None
        return Entity("pre", offset, length)
    if tag == "code":
        last = entities[-1] if entities else None
        if last and last.type == "pre" and (last.offset, last.length) == (offset, length) and top.argument:
            entities[-1] = replace(last, language=top.argument)
            return None
        # a language is kept only until we know whether a <pre> wraps this <code>
        return Entity("code", offset, length, language=top.argument or None)
    if tag == "blockquote":
        return Entity("expandable_blockquote" if top.expandable else "blockquote", offset, length)
    raise AssertionError(tag)  # pragma: no cover - ALLOWED_TAGS is exhaustive


# --- normalization -------------------------------------------------------------------------------


def _u16_positions(text: str) -> list[int]:
    """UTF-16 offset of each code point, plus the total at the end."""
    pos = [0] * (len(text) + 1)
    acc = 0
    for k, c in enumerate(text):
        pos[k] = acc
        acc += 2 if ord(c) > 0xFFFF else 1
    pos[len(text)] = acc
    return pos


def _drop_chars(text: str, entities: list[Entity], drop: str) -> tuple[str, list[Entity]]:
    """Remove every character in `drop`, shifting entity offsets (UTF-16) accordingly."""
    pos = _u16_positions(text)
    removed = [pos[k] for k, c in enumerate(text) if c in drop]
    if not removed:
        return text, entities

    def shift(x: int) -> int:
        return x - sum(1 for r in removed if r < x)

    out = []
    for e in entities:
        start, end = shift(e.offset), shift(e.end)
        if end > start:
            out.append(replace(e, offset=start, length=end - start))
    return "".join(c for c in text if c not in drop), out


def normalize(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """What Telegram does to a message text before storing it (see the module docstring).

    Returns ("", []) for a text that is empty once whitespace is removed.
    """
    text = _CONTROL.sub(" ", text)
    if "\r" in text:
        text, entities = _drop_chars(text, entities, "\r")
    if not entities:
        stripped = text.strip(" \n")
        return stripped, []
    pos = _u16_positions(text)
    u16_to_index = {u: k for k, u in enumerate(pos)}
    kept: list[Entity] = []
    for e in entities:
        if e.length <= 0:
            continue
        if e.type in HIDDEN_DATA:
            kept.append(e)
            continue
        k = u16_to_index.get(e.offset)
        end_k = u16_to_index.get(e.end, len(text))
        if k is None:
            kept.append(e)
            continue
        while k < end_k and text[k] in " \n":
            k += 1
        if k >= end_k:
            continue  # whitespace only
        kept.append(replace(e, offset=pos[k], length=e.end - pos[k]))
    # trim the text: right side always, left side up to the first entity
    stripped_right = text.rstrip(" \n")
    if not stripped_right.strip(" \n"):
        return "", []
    limit = pos[len(stripped_right)]
    clipped = []
    for e in kept:
        if e.offset >= limit:
            continue
        clipped.append(replace(e, length=min(e.end, limit) - e.offset) if e.end > limit else e)
    first_entity = min((e.offset for e in clipped), default=limit)
    lead = len(stripped_right) - len(stripped_right.lstrip(" \n"))
    lead_u16 = min(pos[lead], first_entity)
    # leading whitespace is ASCII, so its UTF-16 length equals its length in code points
    result = stripped_right[lead_u16:]
    if lead_u16:
        clipped = [replace(e, offset=e.offset - lead_u16) for e in clipped]
    return result, _merge(clipped)


def _merge(entities: list[Entity]) -> list[Entity]:
    """Merge touching entities of one splittable type; drop formatting inside code and pre."""
    codes = [(e.offset, e.end) for e in entities if e.type in ("code", "pre")]
    by_type: dict[str, list[Entity]] = {}
    others: list[Entity] = []
    for e in entities:
        if e.type == "code" and e.language is not None:
            e = replace(e, language=None)
        if e.type in SPLITTABLE:
            if any(start <= e.offset and e.end <= end for start, end in codes):
                continue
            by_type.setdefault(e.type, []).append(e)
        else:
            others.append(e)
    merged: list[Entity] = list(others)
    for kind, group in by_type.items():
        group.sort(key=lambda e: e.offset)
        start, end = group[0].offset, group[0].end
        for e in group[1:]:
            if e.offset <= end:
                end = max(end, e.end)
            else:
                merged.append(Entity(kind, start, end - start))
                start, end = e.offset, e.end
        merged.append(Entity(kind, start, end - start))
    return sort_entities(merged)


# --- automatic entities --------------------------------------------------------------------------

_AUTO = re.compile(
    r"(?P<email>(?<![\w.@+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
    r"|(?P<url>(?<![\w@/.])(?:(?:https?|tg)://[^\s<>\"]+"
    r"|(?:[A-Za-z0-9-]+\.)+(?:vn|com|net|org|gov|edu|info|io|me|app|dev|ru|uk|de)(?![\w-])(?:/[^\s<>\"]*)?))"
    r"|(?P<bot_command>(?<![\w/<>\\])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@]))"
    r"|(?P<mention>(?<![\w@])@[A-Za-z0-9_]{3,32}(?![\w@]))"
    r"|(?P<hashtag>(?<![\w#])#(?=\w*[^\W\d])\w{1,256})"
)
_URL_TRAILING = ".,;:!?'\")]}"


def find_entities(text: str) -> list[Entity]:
    """Entities Telegram detects by itself: bot_command, mention, hashtag, url, email."""
    if not any(c in text for c in "/@#."):
        return []
    found: list[Entity] = []
    pos: list[int] | None = None
    for m in _AUTO.finditer(text):
        kind = m.lastgroup
        assert kind is not None
        start, end = m.span()
        if kind == "url":
            while end > start and text[end - 1] in _URL_TRAILING:
                end -= 1
        if text.isascii():
            found.append(Entity(kind, start, end - start))
        else:
            if pos is None:
                pos = _u16_positions(text)
            found.append(Entity(kind, pos[start], pos[end] - pos[start]))
    return found


def add_found_entities(text: str, entities: list[Entity]) -> list[Entity]:
    """Merge `find_entities(text)` into `entities` where they do not clash with code, pre or links."""
    found = find_entities(text)
    if not found:
        return entities
    blocking = [e for e in entities if e.type not in SPLITTABLE and "blockquote" not in e.type]
    extra = [f for f in found if not any(f.offset < b.end and b.offset < f.end for b in blocking)]
    return sort_entities([*entities, *extra]) if extra else entities


# --- rendering -----------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Escape text for Telegram HTML."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _open_tag(e: Entity) -> tuple[str, str]:
    simple = {
        "bold": "b", "italic": "i", "underline": "u", "strikethrough": "s", "spoiler": "tg-spoiler",
        "code": "code", "blockquote": "blockquote",
    }  # fmt: skip
    if e.type in simple:
        return f"<{simple[e.type]}>", f"</{simple[e.type]}>"
    if e.type == "expandable_blockquote":
        return "<blockquote expandable>", "</blockquote>"
    if e.type == "pre":
        if e.language:
            return f'<pre><code class="language-{escape(e.language)}">', "</code></pre>"
        return "<pre>", "</pre>"
    if e.type == "text_link" and e.url:
        return f'<a href="{escape(e.url)}">', "</a>"
    if e.type == "text_mention" and e.user_id is not None:
        return f'<a href="tg://user?id={e.user_id}">', "</a>"
    if e.type == "custom_emoji" and e.custom_emoji_id:
        return f'<tg-emoji emoji-id="{escape(e.custom_emoji_id)}">', "</tg-emoji>"
    return "", ""  # automatic entities (url, mention, ...) have no markup


def entities_to_html(text: str, entities: list[Entity] | tuple[Entity, ...]) -> str:
    """Canonical Telegram HTML for (text, entities): what a renderer such as the web chat can show.

    Text is escaped; entities that do not nest cleanly are closed and reopened around each other.
    """
    if not entities:
        return escape(text)
    pos = _u16_positions(text)
    boundaries = sorted({0, pos[-1], *(e.offset for e in entities), *(e.end for e in entities)})
    index = {u: k for k, u in enumerate(pos)}
    ordered = sort_entities(list(entities))
    out: list[str] = []
    open_now: list[Entity] = []
    for a, b in itertools.pairwise(boundaries):
        wanted = [e for e in ordered if e.offset <= a and b <= e.end]
        # close everything from the first entity that is no longer wanted
        keep = 0
        while keep < len(open_now) and keep < len(wanted) and open_now[keep] is wanted[keep]:
            keep += 1
        for e in reversed(open_now[keep:]):
            out.append(_open_tag(e)[1])
        open_now = open_now[:keep]
        for e in wanted[keep:]:
            out.append(_open_tag(e)[0])
            open_now.append(e)
        start_k, end_k = index.get(a, 0), index.get(b, len(text))
        out.append(escape(text[start_k:end_k]))
    for e in reversed(open_now):
        out.append(_open_tag(e)[1])
    return "".join(out)
