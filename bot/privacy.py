"""Masking of phone and personal ID numbers for lists, logs and stored free text (channel-free)."""

from __future__ import annotations

import re

MASK = "•"
# A Vietnamese phone number as typed: 0xxxxxxxxx or +84xxxxxxxxx, with optional spaces, dots or dashes.
_PHONE = re.compile(r"(?<!\d)(?:\+?84|0)(?:[\s.\-]?\d){8,10}(?!\d)")
# A 12-digit personal ID number (số định danh cá nhân), or a 9-digit old CMND, possibly spaced.
_ID = re.compile(r"(?<!\d)(?:\d[\s.\-]?){11}\d(?!\d)|(?<!\d)\d{9}(?!\d)")


def mask_phone(phone: str) -> str:
    """'0912345678' -> '09•••••678' (first 2 and last 3 digits kept)."""
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("84") and len(digits) >= 11:
        digits = "0" + digits[2:]
    if len(digits) < 6:
        return MASK * len(digits)
    return digits[:2] + MASK * (len(digits) - 5) + digits[-3:]


def mask_id(number: str) -> str:
    """'001203012345' -> '001•••••••45' (province code and last 2 digits kept)."""
    digits = re.sub(r"\D", "", number)
    if len(digits) < 6:
        return MASK * len(digits)
    return digits[:3] + MASK * (len(digits) - 5) + digits[-2:]


def mask_text(text: str) -> str:
    """Mask every phone-like and ID-like number inside free text."""
    text = _ID.sub(lambda m: mask_id(m.group(0)), text)
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)
