"""Masking of phone and personal ID numbers for lists, logs and stored free text (channel-free)."""

from __future__ import annotations

import re

MASK = "•"
# Any run of 9 or more digits as a resident may type it: spaces (several), dots, dashes, slashes or
# brackets between them, a leading + or "(": "(098) 765 0123", "0084 98…", "0 1 9 2 0 3 …". Shorter runs
# (dates, amounts, the 8-digit hotline 1900 0368) are not personal numbers and stay.
_NUMBER = re.compile(r"(?<![\d])[+(]?\d(?:[\s.\-()/]{0,2}\d){8,}(?!\d)")
# Full-width and other Unicode decimal digits read as ASCII first ("０９１２…").
_DIGITS = {ord(c): str(i) for i, c in enumerate("０１２３４５６７８９")}


def mask_phone(phone: str) -> str:
    """'0912345678' -> '09•••••678' (first 2 and last 3 digits kept); +84 / 0084 read as 0."""
    digits = re.sub(r"\D", "", phone.translate(_DIGITS))
    if digits.startswith("0084") and len(digits) >= 13:
        digits = "0" + digits[4:]
    elif digits.startswith("84") and len(digits) >= 11:
        digits = "0" + digits[2:]
    if len(digits) < 6:
        return MASK * len(digits)
    return digits[:2] + MASK * (len(digits) - 5) + digits[-3:]


def mask_id(number: str) -> str:
    """'001203012345' -> '001•••••••45' (province code and last 2 digits kept)."""
    digits = re.sub(r"\D", "", number.translate(_DIGITS))
    if len(digits) < 6:
        return MASK * len(digits)
    return digits[:3] + MASK * (len(digits) - 5) + digits[-2:]


def _mask_number(match: re.Match[str]) -> str:
    raw = match.group(0)
    digits = re.sub(r"\D", "", raw)
    if len(digits) in (9, 12) and not (len(digits) == 9 and digits.startswith("84")):
        masked = mask_id(digits)  # a personal ID number (12) or an old CMND (9)
    else:
        masked = mask_phone(digits)  # a phone number (10, 11 with 84, 13 with 0084) or any long number
    return ("(" if raw.startswith("(") and ")" not in raw else "") + masked


def mask_text(text: str) -> str:
    """Mask every phone-like and ID-like number inside free text (whatever the spacing or digits)."""
    return _NUMBER.sub(_mask_number, text.translate(_DIGITS))
