"""Extract message ids from the code and compare them with the catalogs (used by tests and `i18n check`)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

KEYWORDS = {"_": None, "N_": None}
SOURCE_DIRS = ("bot", "handlers")


def extract_ids(root: Path) -> dict[str, str]:
    """msgid -> 'file:line' of its first use, for every _() / N_() call in the code."""
    found: dict[str, str] = {}
    for folder in SOURCE_DIRS:
        for path in sorted((root / folder).rglob("*.py")):
            for lineno, message, _comments, _context in extract_from_file(
                    "python", str(path), keywords=KEYWORDS):
                if isinstance(message, str) and message:
                    found.setdefault(message, f"{path.relative_to(root)}:{lineno}")
    return found


def catalog_ids(locales: Path, lang: str) -> dict[str, str]:
    """msgid -> msgstr over every .po file of a language."""
    out: dict[str, str] = {}
    for po in sorted((locales / lang / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fp:
            for message in read_po(fp):
                if message.id and isinstance(message.id, str):
                    out[message.id] = message.string if isinstance(message.string, str) else ""
    return out
