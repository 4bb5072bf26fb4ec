"""The monthly report as a .docx in the layout of Vietnamese administrative documents (Nghị định 30/2020):
the issuing body and number on the left, Quốc hiệu and tiêu ngữ on the right, place and date, the title,
body sections with tables of the figures and the previous month beside them, a chart, "Nơi nhận" and a
signature block left empty for the officer. Text comes from the gettext catalogs; names from commune.toml.
Counts only: nothing in it names a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table

from bot.content import Commune
from bot.helpdesk.model import TOPICS
from bot.i18n import N_, Translate, fmt_number
from bot.report.chart import PALETTE, stacked_bars
from bot.report.config import ReportConfig
from bot.report.figures import parse_month, shift

FONT = "Times New Roman"
CHART_STATUSES = (("done", N_("done")), ("scheduled", N_("appointment booked")), ("claimed", N_("taken")),
                  ("new", N_("waiting")), ("unreachable", N_("could not reach")), ("cancelled", N_("cancelled")))
COLOUR_NAMES = (N_("green"), N_("blue"), N_("yellow"), N_("grey"), N_("red"), N_("purple"))


def file_name(month: str) -> str:
    return f"bao-cao-de-an-06-{month}.docx"


def _commune_name(commune: Commune) -> str:
    return commune.values.get("name") or commune.values.get("former_name") or commune.display_name


def _place(commune: Commune, config: ReportConfig) -> str:
    if config.place:
        return config.place
    name = _commune_name(commune)
    for prefix in ("xã ", "phường ", "thị trấn ", "Xã ", "Phường "):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _diff(now: int | float | None, before: int | float | None) -> str:
    if now is None or before is None:
        return "–"
    d = now - before
    if isinstance(d, float):
        d = round(d, 1)
    return f"+{d}" if d > 0 else str(d) if d < 0 else "0"


def _num(value: int | float | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return str(fmt_number(value))


class ReportDocument:
    """Writes the .docx (and its chart as a .png beside it)."""

    def __init__(self, commune: Commune, config: ReportConfig, translate: Translate,
                 group_titles: dict[str, str]) -> None:
        self.commune = commune
        self.config = config
        self._ = translate
        self.groups = group_titles
        self.villages = {v.id: v.name for v in commune.villages}

    def write(self, figures: dict[str, Any], previous: dict[str, Any], out_dir: Path,
              today: date | None = None) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        chart = self.chart(figures)
        (out_dir / file_name(figures["month"]).replace(".docx", "-chart.png")).write_bytes(chart)
        doc = self.build(figures, previous, chart, today)
        path = out_dir / file_name(figures["month"])
        doc.save(str(path))
        return path

    # --- pieces ----------------------------------------------------------------------------------------

    def chart(self, figures: dict[str, Any]) -> bytes:
        rows = self._village_rows(figures)
        return stacked_bars([[row.get(s, 0) for s, _label in CHART_STATUSES] for _v, row in rows])

    def _village_rows(self, figures: dict[str, Any]) -> list[tuple[str, dict[str, int]]]:
        by = figures["requests"]["by_village_status"]
        ids = [v.id for v in self.commune.villages] + sorted(k for k in by if k not in self.villages)
        return [(vid, by.get(vid, {})) for vid in ids]

    def build(self, figures: dict[str, Any], previous: dict[str, Any], chart: bytes,
              today: date | None) -> Any:
        _ = self._
        year, month = parse_month(figures["month"])
        label = f"{month:02d}/{year:04d}"
        doc = Document()
        self._page(doc)
        doc.core_properties.title = _("Report on the results of Project 06 in {month}").format(month=label)
        doc.core_properties.author = self.config.issuer or self.commune.values.get("police_name", "")
        self._header(doc, today)
        self._title(doc, label)

        p = self._para(doc, _("Pursuant to the commune's plan for Project 06, {issuer} reports the results the "
                              "commune's chatbot recorded from {start} to {end} as follows:").format(
            issuer=self._issuer(), start=f"01/{label}", end=self._last_day(year, month)))
        p.paragraph_format.first_line_indent = Mm(10)

        py, pm = shift(year, month, -1)
        before = f"{pm:02d}/{py:04d}"
        self._heading(doc, _("I. RESULTS"))
        q, qp = figures["questions"], previous["questions"]
        self._heading(doc, _("1. Questions from residents about VNeID and electronic identification"), level=2)
        self._compare(doc, before, [
            (_("Questions asked"), q["asked"], qp["asked"]),
            (_("Answered by the bot"), q["answered"], qp["answered"]),
            (_("Outside the bot's scope (pointed elsewhere)"), q["declined"], qp["declined"]),
            (_("Unclear (the bot asked to rephrase)"), q["unsure"], qp["unsure"]),
            (_("Answers residents marked helpful"), q["thumbs_up"], qp["thumbs_up"]),
            (_("Answers residents marked not helpful"), q["thumbs_down"], qp["thumbs_down"]),
        ])
        if q["by_group"]:
            self._para(doc, _("Answered questions by topic group:"))
            self._simple(doc, (_("Topic group"), _("Questions")),
                         [(self.groups.get(g, g), _num(n)) for g, n in q["by_group"].items()])

        r, rp = figures["requests"], previous["requests"]
        self._heading(doc, _("2. Help with registering and activating electronic identification"), level=2)
        self._compare(doc, before, [
            (_("Help requests received"), r["received"], rp["received"]),
            (_("Done"), r["done"], rp["done"]),
            (_("Could not reach the resident"), r["unreachable"], rp["unreachable"]),
            (_("Cancelled"), r["cancelled"], rp["cancelled"]),
            (_("Still open at the end of the month"), r["open_at_month_end"], rp["open_at_month_end"]),
            (_("Median days from request to appointment"), r["median_days_to_appointment"],
             rp["median_days_to_appointment"]),
            (_("Median days from request to closing"), r["median_days_to_close"], rp["median_days_to_close"]),
            (_("Requests posted again to the officers' group (not taken in time)"), r["sla_reposts"],
             rp["sla_reposts"]),
        ])
        if r["by_topic"]:
            self._para(doc, _("Requests received by kind of help:"))
            self._simple(doc, (_("Kind of help"), _("Requests")),
                         [(_(TOPICS.get(t, TOPICS["other"])), _num(n)) for t, n in r["by_topic"].items()])
        self._para(doc, _("Requests received by village and where they stand now:"))
        statuses = [(s, _(lbl)) for s, lbl in CHART_STATUSES]
        rows = self._village_rows(figures)
        self._simple(doc, (_("No."), _("Village"), *(lbl for _s, lbl in statuses), _("Total")),
                     [(str(i + 1), self.villages.get(v, v), *(_num(row.get(s, 0)) for s, _l in statuses),
                       _num(sum(row.values()))) for i, (v, row) in enumerate(rows)], size=10)
        doc.add_picture(BytesIO(chart), width=Mm(160))
        doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        legend = "; ".join(f"{_(COLOUR_NAMES[i])}: {lbl}" for i, (_s, lbl) in enumerate(statuses)
                           if i < len(PALETTE))
        cap = self._para(doc, _("Chart: help requests by village (numbered as in the table above). "
                                "Colours — {legend}.").format(legend=legend), italic=True, size=12)
        cap.alignment = WD_ALIGN_PARAGRAPH.CENTER

        c, cp = figures["campaigns"], previous["campaigns"]
        self._heading(doc, _("3. Announcements sent to residents"), level=2)
        self._compare(doc, before, [
            (_("Announcements sent"), c["sent"], cp["sent"]),
            (_("Recipients"), c["recipients"], cp["recipients"]),
            (_("Delivered"), c["delivered"], cp["delivered"]),
            (_("Not delivered: the resident blocked the bot"), c["blocked"], cp["blocked"]),
            (_("Not delivered: errors"), c["failed"], cp["failed"]),
        ])
        if c["by_channel"]:
            self._simple(doc, (_("Channel"), _("Recipients"), _("Delivered"), _("Blocked"), _("Errors")),
                         [(self._channel(ch), _num(v["recipients"]), _num(v["delivered"]), _num(v["blocked"]),
                           _num(v["failed"])) for ch, v in c["by_channel"].items()])

        s, sp = figures["subscribers"], previous["subscribers"]
        self._heading(doc, _("4. Residents receiving the commune's announcements"), level=2)
        self._compare(doc, before, [
            (_("Subscribers at the end of the month"), s["at_month_end"], sp["at_month_end"]),
            (_("New subscribers"), s["new"], sp["new"]),
            (_("Stopped (unsubscribed or blocked the bot)"), s["left"], sp["left"]),
        ])
        if s["by_channel"]:
            self._simple(doc, (_("Channel"), _("Subscribers")),
                         [(self._channel(ch), _num(n)) for ch, n in s["by_channel"].items()])
        if s["by_village"]:
            self._simple(doc, (_("Village"), _("Subscribers")),
                         [(self.villages.get(v, _("not given") if v == "unknown" else v), _num(n))
                          for v, n in s["by_village"].items()])

        self._heading(doc, _("II. ASSESSMENT"))
        self._para(doc, _("(The officer writes the assessment: what went well, difficulties, causes.)"), italic=True)
        self._para(doc, "…" * 40)
        self._heading(doc, _("III. TASKS FOR NEXT MONTH"))
        self._para(doc, _("(The officer writes the tasks and proposals for next month.)"), italic=True)
        self._para(doc, "…" * 40)
        self._para(doc, _("The figures above were counted automatically by the commune's chatbot; they hold "
                          "numbers only, no personal data."), italic=True, size=12)
        self._footer(doc)
        return doc

    # --- layout helpers --------------------------------------------------------------------------------

    def _issuer(self) -> str:
        return self.config.issuer or self.commune.values.get("police_name", "") or "Công an xã"

    def _parent(self) -> str:
        return self.config.parent_body or f"UBND {_commune_name(self.commune)}"

    def _channel(self, channel: str) -> str:
        return {"telegram": "Telegram", "zalo": "Zalo"}.get(channel, channel)

    @staticmethod
    def _last_day(year: int, month: int) -> str:
        ny, nm = shift(year, month, 1)
        last = date(ny, nm, 1).toordinal() - 1
        return date.fromordinal(last).strftime("%d/%m/%Y")

    @staticmethod
    def _page(doc: Any) -> None:
        section = doc.sections[0]
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.top_margin, section.bottom_margin = Mm(20), Mm(20)
        section.left_margin, section.right_margin = Mm(30), Mm(15)
        style = doc.styles["Normal"]
        style.font.name = FONT
        style.font.size = Pt(14)
        style.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
        style.paragraph_format.space_after = Pt(6)

    def _header(self, doc: Any, today: date | None) -> None:
        _ = self._
        table = doc.add_table(rows=2, cols=2)
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        _no_borders(table)
        left, right = table.cell(0, 0), table.cell(0, 1)
        left.width, right.width = Mm(70), Mm(95)
        self._cell_lines(left, [(self._parent().upper(), False, False, 13),
                                (self._issuer().upper(), True, False, 13), ("_______", True, False, 13)])
        self._cell_lines(right, [("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", True, False, 13),
                                 ("Độc lập - Tự do - Hạnh phúc", True, False, 14),
                                 ("_______________________", True, False, 13)])
        self._cell_lines(table.cell(1, 0), [(_("No.: …/{symbol}").format(symbol=self.config.symbol),
                                             False, False, 13)])
        when = (_("{place}, day {day} month {month} year {year}").format(
            place=_place(self.commune, self.config), day=f"{today.day:02d}",
            month=f"{today.month:02d}" if today.month < 3 else str(today.month),  # Decree 30: 01, 02, 3 … 12
            year=today.year) if today else _("{place}, day … month … year …").format(
            place=_place(self.commune, self.config)))
        self._cell_lines(table.cell(1, 1), [(when, False, True, 14)])

    def _title(self, doc: Any, label: str) -> None:
        _ = self._
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.space_before = Pt(18)
        p.paragraph_format.space_after = Pt(0)
        self._run(p, _("REPORT"), bold=True)
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        self._run(p, _("Results of Project 06 in {month}").format(month=label), bold=True)
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        self._run(p, "_______", bold=True)

    def _footer(self, doc: Any) -> None:
        _ = self._
        table = doc.add_table(rows=1, cols=2)
        _no_borders(table)
        left, right = table.cell(0, 0), table.cell(0, 1)
        recipients = [(_("Recipients:"), True, True, 12)]
        recipients += [(f"- {line};", False, False, 11) for line in self.config.recipients or (
            _("People's Committee of the commune (to report)"), _("Filed: archive"))]
        self._cell_lines(left, recipients, align=WD_ALIGN_PARAGRAPH.LEFT)
        self._cell_lines(right, [((self.config.signer_title or _("REPORTED BY")).upper(), True, False, 14),
                                 (_("(Signature and full name)"), False, True, 14), ("", False, False, 14),
                                 ("", False, False, 14), ("", False, False, 14)])

    def _heading(self, doc: Any, text: str, level: int = 1) -> None:
        p = doc.add_paragraph()
        p.paragraph_format.space_before = Pt(10 if level == 1 else 6)
        p.paragraph_format.keep_with_next = True
        self._run(p, text, bold=True, italic=level > 1)

    def _para(self, doc: Any, text: str, italic: bool = False, size: int = 14) -> Any:
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        self._run(p, text, italic=italic, size=size)
        return p

    def _compare(self, doc: Any, before: str, rows: Sequence[tuple[str, Any, Any]]) -> None:
        _ = self._
        self._simple(doc, (_("Figure"), _("This month"), _("Previous month ({month})").format(month=before),
                           _("Change")),
                     [(name, _num(now), _num(prev), _diff(now, prev)) for name, now, prev in rows])

    def _simple(self, doc: Any, header: Sequence[str], rows: Sequence[Sequence[str]], size: int = 12) -> Table:
        table = doc.add_table(rows=1, cols=len(header))
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        for cell, text in zip(table.rows[0].cells, header, strict=True):
            self._cell_lines(cell, [(text, True, False, size)])
            _shade(cell, "E7E6E6")
        for row in rows:
            cells = table.add_row().cells
            for i, (cell, text) in enumerate(zip(cells, row, strict=True)):
                self._cell_lines(cell, [(text, False, False, size)],
                                 align=WD_ALIGN_PARAGRAPH.LEFT if i == 0 else WD_ALIGN_PARAGRAPH.CENTER)
        doc.add_paragraph().paragraph_format.space_after = Pt(0)
        return table

    def _cell_lines(self, cell: Any, lines: Sequence[tuple[str, bool, bool, int]],
                    align: Any = WD_ALIGN_PARAGRAPH.CENTER) -> None:
        first = True
        for text, bold, italic, size in lines:
            p = cell.paragraphs[0] if first else cell.add_paragraph()
            first = False
            p.alignment = align
            p.paragraph_format.space_after = Pt(0)
            self._run(p, text, bold=bold, italic=italic, size=size)

    @staticmethod
    def _run(p: Any, text: str, bold: bool = False, italic: bool = False, size: int = 14) -> None:
        run = p.add_run(text)
        run.bold, run.italic = bold, italic
        run.font.size = Pt(size)
        run.font.name = FONT
        run.font.color.rgb = RGBColor(0, 0, 0)


def _no_borders(table: Any) -> None:
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    tbl_pr.append(borders)


def _shade(cell: Any, fill: str) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shading)
