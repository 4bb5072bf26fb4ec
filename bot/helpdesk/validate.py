"""Checks of what residents type: full name, Vietnamese mobile number, 12-digit personal ID, note.

Each check returns the cleaned value, or an `Invalid` whose message says exactly what is wrong.
Every function accepts any string (empty, 5,000 characters, emoji, HTML) and never raises.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from bot.helpdesk.messages import Msg, msg
from bot.helpdesk.provinces import PROVINCES
from bot.i18n import N_

NAME_MIN, NAME_MAX = 2, 60
NOTE_MAX = 500
MOBILE_PREFIXES = ("03", "05", "07", "08", "09")
OLDEST_AGE = 120

# Zero-width and other invisible characters that phones insert, and the blank "filler" letters people use to
# look empty (Hangul fillers U+115F, U+1160, U+3164, U+FFA0; the blank Braille pattern U+2800): removed before
# any check, so a name or a note made only of them is empty.
_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180e\u200b-\u200f"
                        "\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SEPARATORS = re.compile(r"[\s.\-()/]")
_ASCII_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Invalid:
    reason: Msg


def clean_text(text: str) -> str:
    """NFC, invisible characters removed, runs of spaces made one, trimmed."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    return " ".join(text.split())


def check_name(text: str) -> str | Invalid:
    """A full name: 2–60 characters, letters (Vietnamese marks kept) and spaces only."""
    name = clean_text(text)
    if not name:
        return Invalid(msg(N_("Please type your full name, for example: Nguyễn Văn An.")))
    if len(name) > NAME_MAX:
        return Invalid(msg(N_("That is too long for a name ({length} characters). Please type at most "
                              "{limit} characters."), length=len(name), limit=NAME_MAX))
    if any(c.isdigit() for c in name):
        return Invalid(msg(N_("A name cannot contain numbers. Please type only the letters of your name.")))
    if any(c != " " and unicodedata.category(c)[0] not in "LM" for c in name):
        return Invalid(msg(N_("A name can only have letters and spaces (no signs or emoji). "
                              "Please type it again.")))
    if sum(c.isalpha() for c in name) < NAME_MIN:
        return Invalid(msg(N_("That is too short for a name. Please type your full name, "
                              "for example: Nguyễn Văn An.")))
    if name.islower() or name.isupper():
        name = " ".join(word[:1].upper() + word[1:].lower() for word in name.split())
    return name


def normalise_phone(text: str) -> str:
    """Digits of a phone number with a +84 / 84 / 0084 prefix turned into 0 (no validity check)."""
    compact = _SEPARATORS.sub("", clean_text(text))
    for prefix in ("+84", "0084"):
        if compact.startswith(prefix):
            return "0" + compact[len(prefix):]
    if compact.startswith("84") and len(compact) == 11:
        return "0" + compact[2:]
    return compact


def check_phone(text: str) -> str | Invalid:
    """A Vietnamese mobile number, stored as 10 digits starting 03/05/07/08/09."""
    if not clean_text(text):
        return Invalid(msg(N_("Please type your phone number, for example 0912345678.")))
    phone = normalise_phone(text)
    if phone.startswith("+"):
        return Invalid(msg(N_("Only Vietnamese mobile numbers can be used (starting with 0 or +84).")))
    if not _ASCII_DIGITS.fullmatch(phone):
        return Invalid(msg(N_("A phone number has only digits, for example 0912345678. Please type it again.")))
    if len(phone) != 10:
        return Invalid(msg(N_("A mobile number has 10 digits; this one has {count}. Please check it and type "
                              "it again."), count=len(phone)))
    if phone[:2] not in MOBILE_PREFIXES:
        return Invalid(msg(N_("{start}… is not a Vietnamese mobile number. Mobile numbers start with 03, 05, "
                              "07, 08 or 09."), start=phone[:3]))
    return phone


def check_id_number(text: str, today: date) -> str | Invalid:
    """The 12-digit personal ID: province code (3 digits), century/sex digit, 2 year digits, 6 digits."""
    number = _SEPARATORS.sub("", clean_text(text))
    if not number:
        return Invalid(msg(N_("Please type the 12 digits of your personal ID number, or press “Skip”.")))
    if not _ASCII_DIGITS.fullmatch(number):
        return Invalid(msg(N_("The personal ID number has only digits (12 digits, printed on your căn cước "
                              "card). Please type it again, or press “Skip”.")))
    if len(number) != 12:
        return Invalid(msg(N_("The personal ID number has 12 digits; this one has {count}. Please check your "
                              "card and type it again."), count=len(number)))
    if number[:3] not in PROVINCES:
        return Invalid(msg(N_("The first 3 digits ({code}) are not a province code. Please check the number "
                              "on your card."), code=number[:3]))
    century = int(number[3])
    if century > 3:
        return Invalid(msg(N_("The 4th digit must be 0, 1, 2 or 3 (it shows the century of birth). Please "
                              "check the number on your card.")))
    year = (1900 if century < 2 else 2000) + int(number[4:6])
    if year > today.year:
        return Invalid(msg(N_("Digits 4 to 6 give the birth year {year}, which has not come yet. Please check "
                              "the number on your card."), year=year))
    if year < today.year - OLDEST_AGE:
        return Invalid(msg(N_("Digits 4 to 6 give the birth year {year}, which cannot be right. Please check "
                              "the number on your card."), year=year))
    return number


def check_note(text: str) -> str | Invalid:
    """An optional note: up to 500 characters, line breaks kept, control characters removed."""
    note = _CONTROL.sub("", _INVISIBLE.sub("", unicodedata.normalize("NFC", text)))
    note = "\n".join(" ".join(line.split()) for line in note.strip().splitlines()).strip()
    if not note:
        return Invalid(msg(N_("Please type your note in words, or press “Skip”.")))
    if len(note) > NOTE_MAX:
        return Invalid(msg(N_("Your note has {length} characters; the limit is {limit}. Please make it "
                              "shorter."), length=len(note), limit=NOTE_MAX))
    return note


def mask_name(name: str) -> str:
    """'Nguyễn Văn An' -> 'N. V. An' (the given name, which Vietnamese puts last, kept)."""
    words = name.split()
    if len(words) <= 1:
        return name[:1] + "." if name else ""
    return " ".join([*(w[0] + "." for w in words[:-1]), words[-1]])
