"""What residents type into the help form: names, phone numbers, personal ID numbers, notes."""

from __future__ import annotations

from datetime import date

import pytest

from bot.helpdesk.model import parse_ref, ref_code
from bot.helpdesk.provinces import MERGED_INTO, PROVINCES
from bot.helpdesk.validate import (
    Invalid,
    check_id_number,
    check_name,
    check_note,
    check_phone,
    mask_name,
)

TODAY = date(2026, 12, 1)


def reason(result: object) -> str:
    assert isinstance(result, Invalid), result
    return result.reason.id


@pytest.mark.parametrize(("typed", "stored"), [
    ("Nguyễn Văn An", "Nguyễn Văn An"),
    ("  nguyễn   văn   an ", "Nguyễn Văn An"),      # spaces tidied, all-lower capitalised
    ("HOÀNG THỊ LAN", "Hoàng Thị Lan"),
    ("Nguye\u0302\u0303n Văn An", "Nguyễn Văn An"),   # decomposed marks composed (NFC)
    ("Ma\u200bi Anh", "Mai Anh"),                     # zero-width space removed
    ("Lý A Páo", "Lý A Páo"),                          # mixed case kept as typed
])
def test_names_are_cleaned(typed: str, stored: str) -> None:
    assert check_name(typed) == stored


@pytest.mark.parametrize(("typed", "why"), [
    ("", "Please type your full name"),
    ("   ", "Please type your full name"),
    ("a" * 5000, "too long for a name"),
    ("A", "too short"),
    ("Nguyễn Văn 3", "cannot contain numbers"),
    ("<b>An</b>", "only have letters and spaces"),
    ("An 🙂", "only have letters and spaces"),
    ("An-Bình", "only have letters and spaces"),
])
def test_bad_names_say_why(typed: str, why: str) -> None:
    assert why in reason(check_name(typed))


def test_name_length_limit_is_60() -> None:
    assert check_name("A" + "n" * 59) == "A" + "n" * 59
    assert "({length} characters)" in reason(check_name("A" + "n" * 60))


@pytest.mark.parametrize("typed", ["0912345678", "0912 345 678", "0912.345.678", "091-234-5678", "(091) 2345678",
                                   "+84912345678", "+84 912 345 678", "84912345678", "0084912345678"])
def test_phone_numbers_are_normalised(typed: str) -> None:
    assert check_phone(typed) == "0912345678"


@pytest.mark.parametrize("prefix", ["03", "05", "07", "08", "09"])
def test_every_mobile_prefix_is_accepted(prefix: str) -> None:
    assert check_phone(prefix + "12345678") == prefix + "12345678"


@pytest.mark.parametrize(("typed", "why"), [
    ("", "Please type your phone number"),
    ("091234567", "10 digits"),
    ("09123456789", "10 digits"),
    ("0212345678", "not a Vietnamese mobile number"),     # a landline
    ("0112345678", "not a Vietnamese mobile number"),
    ("+1 202 555 0100", "Only Vietnamese mobile numbers"),
    ("０９１２３４５６７８", "only digits"),                  # full-width digits are not typed numbers
    ("không nhớ", "only digits"),
    ("<script>", "only digits"),
])
def test_bad_phone_numbers_say_why(typed: str, why: str) -> None:
    assert why in reason(check_phone(typed))


@pytest.mark.parametrize("typed", ["001203012345", "001 203 012 345", "006095000001", "096300000001",
                                   "019026999999"])
def test_id_numbers_of_the_right_shape(typed: str) -> None:
    assert check_id_number(typed, TODAY) == typed.replace(" ", "")


@pytest.mark.parametrize(("typed", "why"), [
    ("", "12 digits of your personal ID"),
    ("00120301234", "has 12 digits; this one has {count}"),
    ("0012030123456", "has 12 digits; this one has {count}"),
    ("00120301234x", "only digits"),
    ("003203012345", "not a province code"),   # 003 was never assigned
    ("097203012345", "not a province code"),   # codes stop at 096
    ("000203012345", "not a province code"),
    ("001403012345", "The 4th digit"),         # 4/5 would mean born in the 2100s
    ("001903012345", "The 4th digit"),         # 8/9 would mean born in the 1800s
    ("001230012345", "has not come yet"),      # 2030
    ("001000012345", "cannot be right"),       # 1900: over 120 years old
])
def test_bad_id_numbers_say_why(typed: str, why: str) -> None:
    assert why in reason(check_id_number(typed, TODAY))


def test_birth_year_this_year_is_fine_and_next_year_is_not() -> None:
    assert check_id_number("001226000001", TODAY) == "001226000001"
    assert "has not come yet" in reason(check_id_number("001327000001", TODAY))


def test_province_codes_63_old_provinces_in_34_present_ones() -> None:
    assert len(PROVINCES) == 63
    assert set(MERGED_INTO) == set(PROVINCES)
    assert len(set(MERGED_INTO.values())) == 34
    assert PROVINCES["006"] == "Bắc Kạn" and MERGED_INTO["006"] == "Thái Nguyên"
    assert MERGED_INTO["019"] == "Thái Nguyên" and MERGED_INTO["001"] == "Hà Nội"
    assert all(1 <= int(code) <= 96 for code in PROVINCES)


def test_notes() -> None:
    assert check_note("  <b>nhà xa</b> & 2 con  ") == "<b>nhà xa</b> & 2 con"
    assert check_note("dòng 1\r\n\r\ndòng 2\x07") == "dòng 1\n\ndòng 2"
    assert check_note("a" * 500) == "a" * 500
    assert "the limit is {limit}" in reason(check_note("a" * 501))
    assert "Please type your note" in reason(check_note(" \u200b "))


def test_masks_and_reference_codes() -> None:
    assert mask_name("Nguyễn Văn An") == "N. V. An"
    assert mask_name("An") == "A."
    assert mask_name("") == ""
    assert ref_code(42) == "HT-0042" and ref_code(12345) == "HT-12345"
    assert parse_ref("HT-0042") == parse_ref("ht42") == parse_ref("42") == 42
    assert parse_ref("HT-0") is None and parse_ref("abc") is None


@pytest.mark.parametrize("filler", ["ㅤㅤ", "\u3164", "\u115f\u1160", "\uffa0 \uffa0", "\u2800\u2800", " \u3164 "])
def test_invisible_fillers_are_neither_a_name_nor_a_note(filler: str) -> None:
    """Issue 14 item 10: blank filler letters look empty and are treated as empty."""
    assert isinstance(check_name(filler), Invalid)
    assert isinstance(check_note(filler), Invalid)
