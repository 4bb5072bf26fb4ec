"""The monthly report service: figures of a month (and the month before), the .docx written from them,
and the log of what was opened. Used by the command line, the schedule and the sandbox panel."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.content import Content
from bot.i18n import DEFAULT_LANGUAGE, Catalogs
from bot.report.document import ReportDocument
from bot.report.figures import ReportFigures, month_name, parse_month, shift
from storage.db import Database
from storage.report import ReportStore


class MonthlyReports:
    def __init__(self, db: Database, content: Content, catalogs: Catalogs, reports_dir: Path) -> None:
        self.db = db
        self.content = content
        self.catalogs = catalogs
        self.reports_dir = reports_dir
        self.figures = ReportFigures(db, content)
        self.store = ReportStore(db)

    @property
    def config(self) -> Any:
        return self.content.commune.report

    async def monthly(self, month: str) -> dict[str, Any]:
        """The figures of `month` (YYYY-MM) as one JSON-ready object."""
        return await self.figures.monthly(month)

    async def current(self, now: datetime) -> dict[str, Any]:
        """The figures of the month `now` falls in (commune time), so far."""
        local = now.astimezone(self.content.commune.tzinfo)
        return await self.monthly(month_name(local.year, local.month))

    async def write(self, month: str, out_dir: Path | None = None, language: str = DEFAULT_LANGUAGE,
                    today: date | None = None, opened: bool = True,
                    at: float | None = None) -> tuple[Path, dict[str, Any]]:
        """Write the .docx of `month` (and its chart) into `out_dir`; returns its path and the figures.
        `opened` records that someone asked for it (that stops the reminder)."""
        year, mon = parse_month(month)
        figures = await self.monthly(month)
        previous = await self.monthly(month_name(*shift(year, mon, -1)))
        groups = {g.id: g.title for g in self.content.groups}
        document = ReportDocument(self.content.commune, self.config, self.catalogs.gettext(language), groups)
        path = document.write(figures, previous, out_dir or self.reports_dir, today)
        if opened:
            await self.store.log(figures["month"], "opened", path=str(path), at=at)
        return path, figures
