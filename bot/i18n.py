"""Translations (Babel gettext over content/locales) and Vietnamese date/time formatting.

Message ids in code are English; `vi` is the default language and must translate every id.
Catalogs are read from .po files at start-up and compiled in memory, so they can never be stale.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, datetime, time, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

DEFAULT_LANGUAGE = "vi"
LANGUAGES = ("vi", "en")
TZ: tzinfo = ZoneInfo("Asia/Ho_Chi_Minh")

Translate = Callable[[str], str]


def N_(message: str) -> str:
    """Mark a message id for extraction without translating it now."""
    return message


def language_of(code: str | None) -> str:
    """Telegram's language_code -> one of LANGUAGES (Vietnamese unless clearly English)."""
    return "en" if code and code.lower().startswith("en") else DEFAULT_LANGUAGE


class Catalogs:
    """All gettext domains of every language, merged per language."""

    def __init__(self, translations: dict[str, NullTranslations]) -> None:
        self._by_lang = translations

    @classmethod
    def load(cls, locales_dir: Path) -> Catalogs:
        by_lang: dict[str, NullTranslations] = {}
        for lang in LANGUAGES:
            merged: Translations | None = None
            folder = locales_dir / lang / "LC_MESSAGES"
            for po_path in sorted(folder.glob("*.po")) if folder.is_dir() else []:
                with po_path.open("rb") as fp:
                    catalog = read_po(fp, locale=lang, domain=po_path.stem)
                buf = io.BytesIO()
                write_mo(buf, catalog)
                buf.seek(0)
                t = Translations(buf, domain=po_path.stem)
                if merged is None:
                    merged = t
                else:
                    merged.merge(t)
            by_lang[lang] = merged if merged is not None else NullTranslations()
        return cls(by_lang)

    def gettext(self, lang: str) -> Translate:
        t = self._by_lang.get(lang) or self._by_lang.get(DEFAULT_LANGUAGE) or NullTranslations()
        return t.gettext

    def ngettext(self, lang: str) -> Callable[[str, str, int], str]:
        t = self._by_lang.get(lang) or self._by_lang.get(DEFAULT_LANGUAGE) or NullTranslations()
        return t.ngettext


def _locale(lang: str) -> str:
    return "vi" if lang not in LANGUAGES else lang


def local(dt: datetime) -> datetime:
    """An aware datetime in Asia/Ho_Chi_Minh."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=TZ)
    return dt.astimezone(TZ)


def fmt_datetime(dt: datetime, lang: str = DEFAULT_LANGUAGE) -> str:
    """'Thứ Ba, 02/12/2026 lúc 08:00' style: weekday, date and time in local time."""
    d = local(dt)
    if _locale(lang) == "vi":
        return f"{format_date(d, 'EEEE, dd/MM/yyyy', locale='vi')} {format_time(d, 'HH:mm', locale='vi')}"
    return format_datetime(d, "EEEE, dd MMM yyyy HH:mm", locale="en")


def fmt_date(d: date, lang: str = DEFAULT_LANGUAGE) -> str:
    """'Thứ Ba, 02/12' (no year) — for slots in the coming days."""
    pattern = "EEEE, dd/MM" if _locale(lang) == "vi" else "EEEE, d MMM"
    return format_date(d, pattern, locale=_locale(lang))


def fmt_time(t: time, lang: str = DEFAULT_LANGUAGE) -> str:
    """'8:00' in Vietnamese style (hour without a leading zero)."""
    return f"{t.hour}:{t.minute:02d}"


def fmt_number(n: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """'1.234' in Vietnamese."""
    from babel.numbers import format_decimal

    return format_decimal(n, locale=_locale(lang))
