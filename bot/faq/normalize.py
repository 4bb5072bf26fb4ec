"""Vietnamese text normalisation for search: NFC, lower case, diacritic folding, syllables, abbreviations.

Every function here accepts any string (empty, very long, emoji only, stray combining marks, HTML) and
never raises. Nothing happens at import time beyond compiling a few regular expressions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

# Format and control characters that carry no meaning for search: zero-width space/joiners, BOM, soft
# hyphen, bidi marks, C0/C1 controls (whitespace controls are handled by `_SPACES` first).
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufe00-\ufe0f\ufeff\ufff9-\ufffb]"
)
_SPACES = re.compile("[\t\n\v\f\r\x1c-\x1f\x85\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
# Combining marks of the scripts residents type (Vietnamese uses U+0300–U+036F only).
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# A syllable: letters (with any combining marks left after NFC) or a run of digits.
_TOKEN = re.compile(r"(?:[^\W\d_][\u0300-\u036f]*)+|\d+")

# The five Vietnamese tone marks (as combining characters after NFD) and their tone numbers.
_TONES = {"\u0301": "1", "\u0300": "2", "\u0309": "3", "\u0303": "4", "\u0323": "5"}

# Particles and interjections that say nothing about the topic (folded or exact forms).
# They are dropped from queries so that "ạ", "nhé", "ơi" neither match nor dilute the confidence.
FILLERS_EXACT = frozenset({"ạ", "à", "ơi", "nhé", "nhá", "nha", "hả", "hở", "nhỉ", "vậy", "dạ", "ạh", "ừ", "ừm", "ớ"})
FILLERS_FOLDED = frozenset({"oi", "nhe", "nha", "ak", "ah", "ok", "oke", "okie", "uh", "uhm", "hic", "huhu", "z"})

# Syllables that frame a question rather than name its topic. Typed with marks they are unambiguous; typed
# without marks only those whose plain form is not also a topic word of the FAQs ("the" may be "thẻ").
FRAME_EXACT = frozenset(
    {
        "ở",
        "đâu",
        "làm",
        "sao",
        "thế",
        "nào",
        "gì",
        "có",
        "không",
        "được",
        "là",
        "phải",
        "thì",
        "mà",
        "của",
        "cho",
        "với",
        "và",
        "hay",
        "hoặc",
        "như",
        "này",
        "đó",
        "bị",
        "rồi",
        "đã",
        "đang",
        "sẽ",
        "cần",
        "muốn",
        "tôi",
        "mình",
        "em",
        "anh",
        "chị",
        "bạn",
        "ai",
        "khi",
        "bao",
        "giờ",
        "mấy",
        "nhiêu",
        "lâu",
        "nên",
        "cũng",
        "vẫn",
        "các",
        "những",
        "một",
        "thể",
        "vậy",
        "ơi",
        "hỏi",
        "cách",
    }
)
FRAME_FOLDED = frozenset(
    {
        "o",
        "lam",
        "sao",
        "nao",
        "gi",
        "co",
        "khong",
        "duoc",
        "la",
        "phai",
        "thi",
        "cua",
        "voi",
        "va",
        "hay",
        "nhu",
        "nay",
        "roi",
        "da",
        "toi",
        "minh",
        "em",
        "anh",
        "ai",
        "khi",
        "gio",
        "nhieu",
        "lau",
        "nen",
        "cung",
        "cac",
        "nhung",
        "mot",
        "vay",
        "hoi",
        "cach",
    }
)

MAX_INPUT_CHARS = 4096


def normalize(text: str) -> str:
    """NFC, lower case, invisible characters removed, whitespace collapsed; Vietnamese marks are kept."""
    if not text:
        return ""
    text = text[: MAX_INPUT_CHARS * 4]
    text = _SPACES.sub(" ", text)
    text = _INVISIBLE.sub("", text)
    text = unicodedata.normalize("NFC", text).lower()
    # Lower-casing can produce decomposed forms (e.g. "İ"); compose again.
    text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())


def strip_marks(text: str) -> str:
    """Remove every combining mark and turn đ into d; `text` is expected to be normalised already."""
    if text.isascii():
        return text
    text = _COMBINING.sub("", unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFC", text.replace("đ", "d").replace("Đ", "D"))


def fold(text: str) -> str:
    """`normalize` then drop diacritics: "Đăng ký" → "dang ky"."""
    return " ".join(strip_marks(normalize(text)).split())


def tokenize(text: str) -> list[str]:
    """Split normalised text into syllables (letter runs, digit runs); leading zeros of numbers dropped."""
    out: list[str] = []
    for tok in _TOKEN.findall(normalize(text)):
        if tok[0].isdigit():
            tok = tok.lstrip("0") or "0"
        out.append(tok)
    return out


@lru_cache(maxsize=65536)
def fold_token(token: str) -> str:
    """Diacritic-free form of one syllable that is already normalised."""
    return strip_marks(token)


def has_marks(token: str) -> bool:
    """True when the syllable carries any Vietnamese mark (tone, vowel shape or đ)."""
    return not token.isascii() and fold_token(token) != token


@lru_cache(maxsize=65536)
def tone_key(token: str) -> str:
    """Canonical accented form of a syllable: vowel-shape marks kept, tone moved to a trailing digit.

    Old and new tone placement compare equal ("hoà" and "hòa" → "hoa2"), while different tones or vowels
    stay apart ("mã" → "ma4", "má" → "ma1", "mâ" → "mâ").
    """
    if token.isascii():
        return token
    decomposed = unicodedata.normalize("NFD", token)
    tone = ""
    kept: list[str] = []
    for ch in decomposed:
        mark = _TONES.get(ch)
        if mark is not None:
            tone = mark
        else:
            kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept)) + tone


def is_filler(token: str) -> bool:
    """True for particles such as "ạ", "nhé", "ơi" that carry no topic."""
    if token in FILLERS_EXACT:
        return True
    return not has_marks(token) and token in FILLERS_FOLDED


def is_frame(token: str) -> bool:
    """True for syllables such as "ở", "đâu", "làm", "sao" that frame a question (see FRAME_EXACT)."""
    if has_marks(token):
        return token in FRAME_EXACT
    return token in FRAME_FOLDED


@dataclass(frozen=True)
class AbbreviationTable:
    """Abbreviations compiled for fast matching: folded key syllables → [(key syllables, expansion)]."""

    entries: Mapping[tuple[str, ...], tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]]
    longest: int
    starts: frozenset[str] = frozenset()  # folded first syllables of the keys


def compile_abbreviations(abbreviations: Mapping[str, str]) -> AbbreviationTable:
    """Compile `{"dk": "đăng ký", …}`; keys and expansions are tokenised like any text."""
    entries: dict[tuple[str, ...], list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
    longest = 0
    for key, value in abbreviations.items():
        key_tokens = tuple(tokenize(key))
        expansion = tuple(tokenize(value))
        if not key_tokens or not expansion:
            continue
        folded = tuple(fold_token(t) for t in key_tokens)
        variants = entries.setdefault(folded, [])
        variants.append((key_tokens, expansion))
        # A key typed exactly as written is tried before keys that only match without diacritics.
        variants.sort(key=lambda item: not has_marks("".join(item[0])))
        longest = max(longest, len(key_tokens))
    return AbbreviationTable(
        entries={k: tuple(v) for k, v in entries.items()}, longest=longest, starts=frozenset(k[0] for k in entries)
    )


def _typed_matches(typed: Sequence[str], key: Sequence[str]) -> bool:
    # Matching ignores diacritics, except that a syllable typed *with* marks must equal the key exactly:
    # "ca" may mean "công an", "cá" (as in "cá nhân") never does.
    return all(not has_marks(t) or t == k for t, k in zip(typed, key, strict=True))


def expand_abbreviations(tokens: Sequence[str], abbreviations: Mapping[str, str] | AbbreviationTable) -> list[str]:
    """Replace abbreviations in a syllable list ("dk" → "đăng", "ký"); the longest key wins."""
    table = abbreviations if isinstance(abbreviations, AbbreviationTable) else compile_abbreviations(abbreviations)
    if not table.entries:
        return list(tokens)
    out: list[str] = []
    i = 0
    n = len(tokens)
    starts = table.starts
    while i < n:
        expansion = _match_at(tokens, i, table) if fold_token(tokens[i]) in starts else None
        if expansion is None:
            out.append(tokens[i])
            i += 1
        else:
            size, words = expansion
            out.extend(words)
            i += size
    return out


def _match_at(tokens: Sequence[str], i: int, table: AbbreviationTable) -> tuple[int, tuple[str, ...]] | None:
    for size in range(min(table.longest, len(tokens) - i), 0, -1):
        window = tokens[i : i + size]
        for key_tokens, expansion in table.entries.get(tuple(fold_token(t) for t in window), ()):
            if _typed_matches(window, key_tokens):
                return size, expansion
    return None
