"""The monthly report: figures equal counts taken by SQL here, the .docx has the layout, tables and chart
(and LibreOffice converts it when installed), the schedule fires at the configured time with a controlled clock,
once a month across restarts, and reminds unless a newer copy was opened."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from docx import Document

from bot.cli import main
from bot.config import Settings
from bot.content import read_content
from bot.dialogue.core import Refused, TryLater
from bot.dialogue.model import Capabilities, Out, Sent
from bot.dialogue.render import Rendered
from bot.report import schedule
from bot.report.config import ReportConfig, parse_report
from bot.services import Services, build_services

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MONTH = "2026-11"
SECRET_NAME, SECRET_PHONE, SECRET_ID = "Nguyễn Văn Bí Mật", "0912345678", "001099012345"


def ts(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> float:
    return datetime(y, m, d, hh, mm, tzinfo=TZ).timestamp()


# Inside November (local), just outside it on both sides: 31 Oct 23:30 local is still October although it
# is 16:30 UTC; 1 Dec 00:30 local is December although it is 30 Nov 17:30 UTC.
IN = [ts(2026, 11, 1, 0, 10), ts(2026, 11, 3), ts(2026, 11, 10), ts(2026, 11, 17), ts(2026, 11, 30, 23, 30)]
BEFORE, AFTER = ts(2026, 10, 31, 23, 30), ts(2026, 12, 1, 0, 30)


def seed(db_path: Path) -> None:
    """A month of activity on both channels, written straight into the tables."""
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA foreign_keys = ON")
    for pid in range(1, 21):
        con.execute("INSERT INTO persons(id, created_at) VALUES (?, ?)", (pid, BEFORE))
        channel = "zalo" if pid % 3 == 0 else "telegram"
        con.execute("INSERT INTO identities(channel, external_id, person_id, chat_id, language, first_seen, last_seen)"
                    " VALUES (?, ?, ?, ?, 'vi', ?, ?)", (channel, f"u{pid}", pid, f"c{pid}", BEFORE, BEFORE))
    # questions: statuses and answered topics across the month, some outside it
    faqs = ["vneid-level2-register", "can-cuoc-lost", "scam-warning", "vneid-wrong-info"]
    statuses = ["answer", "answer", "unsure", "out_of_scope", "answer", "empty"]
    qid = 0
    for i, at in enumerate([*IN, *IN, *IN, BEFORE, AFTER, BEFORE]):
        status = statuses[i % len(statuses)]
        topic = faqs[i % len(faqs)] if status == "answer" else None
        qid += 1
        con.execute("INSERT INTO questions(id, person_id, asked_at, text, folded, topic, score, status)"
                    " VALUES (?, ?, ?, 'q', 'q', ?, 0.5, ?)", (qid, 1 + i % 20, at, topic, status))
        if status == "answer":
            con.execute("INSERT INTO feedback(question_id, person_id, faq_id, helpful, created_at)"
                        " VALUES (?, ?, ?, ?, ?)", (qid, 1 + i % 20, topic, i % 2, at))
    # help requests in every state, on both channels, in several thôn
    topics = ["level2", "activate", "password", "phone", "dvc", "other"]
    villages = ["thon-1", "thon-2", "thon-3", "thon-5"]
    plan = [  # (created, status, appointment after days, closed after days)
        (IN[0], "new", None, None), (IN[1], "claimed", None, None), (IN[1], "scheduled", 2.0, None),
        (IN[2], "done", 1.0, 3.0), (IN[2], "done", 2.5, 4.0), (IN[3], "unreachable", None, 1.0),
        (IN[3], "cancelled", None, 0.5), (IN[4], "new", None, None), (BEFORE, "done", 1.0, 2.0),
        (BEFORE, "new", None, None), (AFTER, "new", None, None), (IN[3], "done", 1.0, 20.0),
    ]
    for rid, (created, status, appt, closed) in enumerate(plan, start=1):
        con.execute(
            "INSERT INTO help_requests(id, person_id, language, topic, full_name, phone, village, id_number, status,"
            " appointment_at, consent_at, created_at, updated_at, closed_at, channel, chat_id)"
            " VALUES (?, ?, 'vi', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (rid, rid, topics[rid % len(topics)], SECRET_NAME, SECRET_PHONE, villages[rid % len(villages)],
             SECRET_ID, status, None if appt is None else created + appt * 86400, created, created, created,
             None if closed is None else created + closed * 86400, "zalo" if rid % 2 else "telegram", f"c{rid}"))
        con.execute("INSERT INTO help_events(request_id, at, actor, kind) VALUES (?, ?, 'resident', 'created')",
                    (rid, created))
    for rid, at in ((1, IN[0] + 3600), (1, IN[0] + 7200), (2, IN[1] + 3600), (9, BEFORE + 60), (11, AFTER + 60)):
        con.execute("INSERT INTO help_events(request_id, at, actor, kind) VALUES (?, ?, 'system', 'reposted')",
                    (rid, at))
    # subscriptions on both channels: active, new, left, blocked
    subs = [  # (person, channel, village, active, blocked, consented, updated)
        (1, "telegram", "thon-1", 1, 0, BEFORE, BEFORE), (2, "telegram", "thon-2", 1, 0, IN[1], IN[1]),
        (3, "zalo", "thon-1", 1, 0, IN[2], IN[2]), (4, "telegram", None, 0, 0, BEFORE, IN[3]),
        (5, "telegram", "thon-3", 1, 1, BEFORE, IN[2]), (6, "zalo", "thon-2", 1, 0, BEFORE, BEFORE),
        (7, "telegram", "thon-1", 1, 0, AFTER, AFTER), (8, "zalo", "thon-3", 0, 0, IN[0], IN[3]),
        (9, "zalo", None, 1, 0, IN[4], IN[4]),
    ]
    for pid, channel, village, active, blocked, consented, updated in subs:
        con.execute("INSERT INTO subscriptions(person_id, channel, chat_id, language, active, blocked, village,"
                    " consented_at, updated_at) VALUES (?, ?, ?, 'vi', ?, ?, ?, ?, ?)",
                    (pid, channel, f"c{pid}", active, blocked, village, consented, updated))
    # campaigns: runs in the month with deliveries on both channels, one run before it
    for cid, (due, rows) in enumerate([
        (IN[1], [("telegram", "sent")] * 4 + [("telegram", "blocked"), ("zalo", "sent"), ("zalo", "sent"),
                                               ("zalo", "failed")]),
        (IN[3], [("telegram", "sent"), ("telegram", "failed"), ("zalo", "sent"), ("zalo", "blocked"),
                 ("zalo", "pending")]),
        (BEFORE, [("telegram", "sent"), ("zalo", "sent")]),
    ], start=1):
        con.execute("INSERT INTO campaigns(id, body, html, first_at, status, created_by, created_at)"
                    " VALUES (?, 'b', 'b', ?, 'done', 'cli', ?)", (cid, due, due))
        con.execute("INSERT INTO campaign_runs(id, campaign_id, due_at, status, started_at, recipients)"
                    " VALUES (?, ?, ?, 'done', ?, ?)", (cid, cid, due, due, len(rows)))
        for pid, (channel, status) in enumerate(rows, start=1):
            con.execute("INSERT INTO deliveries(run_id, person_id, channel, chat_id, status) VALUES (?, ?, ?, ?, ?)",
                        (cid, pid, channel, f"c{pid}", status))
    con.commit()
    con.close()


def expected(db_path: Path) -> dict[str, Any]:
    """The same figures, counted here with plain SQL (not through bot/report)."""
    start, end = ts(2026, 11, 1, 0, 0), ts(2026, 12, 1, 0, 0)
    con = sqlite3.connect(db_path)

    def one(sql: str, *args: Any) -> Any:
        return con.execute(sql, args).fetchone()[0]

    inm = "asked_at >= ? AND asked_at < ?"
    q = {
        "asked": one(f"SELECT COUNT(*) FROM questions WHERE {inm} AND status != 'empty'", start, end),
        "answered": one(f"SELECT COUNT(*) FROM questions WHERE {inm} AND status = 'answer'", start, end),
        "declined": one(f"SELECT COUNT(*) FROM questions WHERE {inm} AND status = 'out_of_scope'", start, end),
        "unsure": one(f"SELECT COUNT(*) FROM questions WHERE {inm} AND status = 'unsure'", start, end),
        "thumbs_up": one("SELECT COUNT(*) FROM feedback WHERE helpful = 1 AND created_at >= ? AND created_at < ?",
                         start, end),
        "thumbs_down": one("SELECT COUNT(*) FROM feedback WHERE helpful = 0 AND created_at >= ? AND created_at < ?",
                           start, end),
    }
    closed = "closed_at >= ? AND closed_at < ?"
    r = {
        "received": one("SELECT COUNT(*) FROM help_requests WHERE created_at >= ? AND created_at < ?", start, end),
        "done": one(f"SELECT COUNT(*) FROM help_requests WHERE status = 'done' AND {closed}", start, end),
        "unreachable": one(f"SELECT COUNT(*) FROM help_requests WHERE status = 'unreachable' AND {closed}",
                           start, end),
        "cancelled": one(f"SELECT COUNT(*) FROM help_requests WHERE status = 'cancelled' AND {closed}", start, end),
        "open_at_month_end": one("SELECT COUNT(*) FROM help_requests WHERE created_at < ?"
                                 " AND (closed_at IS NULL OR closed_at >= ?)", end, end),
        "sla_reposts": one("SELECT COUNT(*) FROM help_events WHERE kind = 'reposted' AND at >= ? AND at < ?",
                           start, end),
        "by_village": dict(con.execute("SELECT village, COUNT(*) FROM help_requests WHERE created_at >= ?"
                                       " AND created_at < ? GROUP BY village", (start, end)).fetchall()),
        "by_topic": dict(con.execute("SELECT topic, COUNT(*) FROM help_requests WHERE created_at >= ?"
                                     " AND created_at < ? GROUP BY topic", (start, end)).fetchall()),
    }
    runs = "SELECT id FROM campaign_runs WHERE started_at >= ? AND started_at < ?"
    per = con.execute(f"SELECT channel, status, COUNT(*) FROM deliveries WHERE run_id IN ({runs})"
                      " GROUP BY channel, status", (start, end)).fetchall()
    c = {"sent": one(f"SELECT COUNT(*) FROM ({runs})", start, end),
         "recipients": sum(n for _, _, n in per),
         "delivered": sum(n for _, s, n in per if s == "sent"),
         "blocked": sum(n for _, s, n in per if s == "blocked"),
         "failed": sum(n for _, s, n in per if s == "failed"),
         "channels": {ch for ch, _, _ in per}}
    s = {
        "at_month_end": one("SELECT COUNT(*) FROM subscriptions WHERE consented_at < ? AND"
                            " ((active = 1 AND blocked = 0) OR updated_at >= ?)", end, end),
        "new": one("SELECT COUNT(*) FROM subscriptions WHERE consented_at >= ? AND consented_at < ?", start, end),
        "left": one("SELECT COUNT(*) FROM subscriptions WHERE (active = 0 OR blocked = 1)"
                    " AND updated_at >= ? AND updated_at < ?", start, end),
        "zalo": one("SELECT COUNT(*) FROM subscriptions WHERE channel = 'zalo' AND consented_at < ? AND"
                    " ((active = 1 AND blocked = 0) OR updated_at >= ?)", end, end),
    }
    con.close()
    return {"questions": q, "requests": r, "campaigns": c, "subscribers": s}


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated database with a month of activity; the command line pointed at it."""
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BOT_CONTENT_DIR", str(ROOT / "content"))
    monkeypatch.delenv("BOT_ADMIN_IDS", raising=False)

    async def migrate() -> None:
        svc = await build_services(Settings(data_dir=tmp_path / "data", content_dir=ROOT / "content"))
        await svc.db.close()

    asyncio.run(migrate())
    seed(tmp_path / "data" / "bot.sqlite3")
    return tmp_path / "data"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_json_figures_equal_independent_sql_counts(data: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(capsys, "report", "monthly", "--month", MONTH, "--json", "--out", str(tmp_path / "out"))
    assert code == 0
    assert len(out.strip().splitlines()) == 1
    got = json.loads(out)
    want = expected(data / "bot.sqlite3")
    assert got["month"] == MONTH
    q = got["questions"]
    assert {k: q[k] for k in want["questions"]} == want["questions"]
    assert sum(q["by_group"].values()) == q["answered"] and q["answered"] > 0
    r = got["requests"]
    assert {k: r[k] for k in ("received", "done", "unreachable", "cancelled", "open_at_month_end",
                              "sla_reposts")} == {k: want["requests"][k] for k in
                                                  ("received", "done", "unreachable", "cancelled",
                                                   "open_at_month_end", "sla_reposts")}
    assert r["by_village"] == want["requests"]["by_village"]
    assert r["by_topic"] == want["requests"]["by_topic"]
    assert sum(sum(v.values()) for v in r["by_village_status"].values()) == r["received"]
    # medians by hand: appointments of November's requests 2.0, 1.0, 2.5, 1.0 days -> 1.5; closed (done or
    # unreachable) in November: 3, 4, 1 days, and October's request closed on 2 November (2) -> 2.5 (the one
    # closed after 20 days closes in December)
    assert r["median_days_to_appointment"] == 1.5
    assert r["median_days_to_close"] == 2.5
    c = got["campaigns"]
    assert {k: c[k] for k in ("sent", "recipients", "delivered", "blocked", "failed")} == {
        k: want["campaigns"][k] for k in ("sent", "recipients", "delivered", "blocked", "failed")}
    assert set(c["by_channel"]) == want["campaigns"]["channels"] == {"telegram", "zalo"}
    assert sum(v["delivered"] for v in c["by_channel"].values()) == c["delivered"]
    s = got["subscribers"]
    assert {k: s[k] for k in ("at_month_end", "new", "left")} == {
        k: want["subscribers"][k] for k in ("at_month_end", "new", "left")}
    assert s["by_channel"]["zalo"] == want["subscribers"]["zalo"]
    assert sum(s["by_village"].values()) == s["at_month_end"]
    # the figures as this test's data was built: worked out by hand as well
    assert (r["received"], r["done"], r["open_at_month_end"], c["sent"], c["recipients"]) == (9, 3, 6, 2, 13)


def _docx_text(path: Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    return "\n".join(parts)


def test_docx_has_the_administrative_layout_tables_and_chart(data: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code, printed = run_cli(capsys, "report", "monthly", "--month", MONTH, "--out", str(out))
    assert code == 0
    path = out / "bao-cao-de-an-06-2026-11.docx"
    assert path.exists() and (out / "bao-cao-de-an-06-2026-11-chart.png").exists()
    assert str(path) in printed
    doc = Document(str(path))
    text = _docx_text(path)
    for needle in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "CÔNG AN XÃ",
                   "UBND XÃ LỤC BÌNH", "Số: …/BC-CAX", "Lục Bình, ngày", "BÁO CÁO",
                   "Kết quả thực hiện Đề án 06 tháng 11/2026", "Nơi nhận:", "NGƯỜI BÁO CÁO", "(Ký, ghi rõ họ tên)",
                   "Tháng trước (10/2026)", "Thôn 1", "Zalo", "Telegram", "Số yêu cầu hỗ trợ tiếp nhận"):
        assert needle in text, needle
    assert doc.core_properties.title == "Báo cáo kết quả thực hiện Đề án 06 tháng 11/2026"
    assert len(doc.tables) >= 8
    assert len(doc.inline_shapes) == 1  # the chart
    # counts only: none of the personal data in the database reaches the document
    for secret in (SECRET_NAME, SECRET_PHONE, SECRET_ID, "0912"):
        assert secret not in text


def test_libreoffice_opens_the_docx(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Converted to PDF by LibreOffice (where installed), with the chart in it."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed: the PDF conversion is not tried")
    out = tmp_path / "out"
    assert run_cli(capsys, "report", "monthly", "--month", MONTH, "--out", str(out))[0] == 0
    path = out / "bao-cao-de-an-06-2026-11.docx"
    pdf_dir = tmp_path / "pdf"
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                    "--outdir", str(pdf_dir), str(path)], check=True, timeout=180, capture_output=True)
    pdf = pdf_dir / "bao-cao-de-an-06-2026-11.pdf"
    assert pdf.exists() and pdf.stat().st_size > 10_000
    assert b"/Image" in pdf.read_bytes()


def test_a_bad_month_is_refused(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "monthly", "--month", "2026-13", "--json"]) == 2
    assert "YYYY-MM" in capsys.readouterr().err


# --- the schedule ---------------------------------------------------------------------------------------


@dataclass
class FakePort:
    """A channel port that records what it was given (documents when `files`)."""

    caps: Capabilities
    sent: list[tuple[str, str, Path | None]] = field(default_factory=list)
    refuse_files: bool = False

    async def send(self, chat: str, message: Rendered, out: Out) -> Sent:
        if out.document is not None and self.refuse_files:
            raise Refused("no documents here")
        self.sent.append((chat, "\n".join(message.parts), out.document))
        return Sent(str(len(self.sent)))

    async def edit(self, chat: str, message_id: str, message: Rendered, out: Out) -> bool:
        return False


def ports() -> tuple[FakePort, FakePort]:
    telegram = FakePort(Capabilities("telegram", buttons=True, edits=True, text_limit=4096, markup="html",
                                     contact_button=True, files=True))
    zalo = FakePort(Capabilities("zalo", buttons=False, edits=False, text_limit=2000, markup="plain",
                                 contact_button=False, files=False))
    return telegram, zalo


async def open_bot(data: Path) -> tuple[Services, FakePort, FakePort]:
    svc = await build_services(Settings(data_dir=data, content_dir=ROOT / "content", admin_ids=frozenset({777})))
    telegram, zalo = ports()
    svc.channels.add(telegram)
    svc.channels.add(zalo)
    return svc, telegram, zalo


async def add_staff(svc: Services) -> None:
    editor = await svc.identities.ensure("telegram", "501")
    await svc.staff.add(editor, "editor", "cli")
    admin = await svc.identities.ensure("zalo", "z-admin")
    await svc.staff.add(admin, "admin", "cli")
    officer = await svc.identities.ensure("telegram", "502")
    await svc.staff.add(officer, "officer", "cli")
    await svc.identities.ensure("telegram", "777")  # BOT_ADMIN_IDS


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 12, day, hh, mm, tzinfo=TZ)


async def test_the_report_is_sent_on_the_5th_at_8_once_and_reminded_on_the_8th(data: Path) -> None:
    svc, telegram, zalo = await open_bot(data)
    try:
        await add_staff(svc)
        assert await schedule.tick(svc, at(4, 23, 59)) == []
        assert await schedule.tick(svc, at(5, 7, 59)) == []
        assert telegram.sent == [] and zalo.sent == []
        assert await schedule.tick(svc, at(5, 8, 0)) == ["sent 2026-11"]
        # Telegram (files): the document, to the editor and the BOT_ADMIN_IDS admin, not to the officer
        assert sorted(chat for chat, _, _ in telegram.sent) == ["501", "777"]
        assert all(doc is not None and doc.name == "bao-cao-de-an-06-2026-11.docx" for _, _, doc in telegram.sent)
        assert "Dự thảo báo cáo Đề án 06 tháng 11/2026" in telegram.sent[0][1]
        # Zalo (no files): a summary and where the file is
        assert len(zalo.sent) == 1 and zalo.sent[0][2] is None
        assert "Tệp báo cáo ở trên máy chủ" in zalo.sent[0][1] and "yêu cầu hỗ trợ" in zalo.sent[0][1].lower()
        assert (data / "reports" / "bao-cao-de-an-06-2026-11.docx").exists()
        assert await schedule.tick(svc, at(5, 8, 1)) == []
        assert len(telegram.sent) == 2
    finally:
        await svc.db.close()
    # a restart: nothing is sent again; the reminder comes on the 8th at 08:00
    svc, telegram, zalo = await open_bot(data)
    try:
        assert await schedule.tick(svc, at(6, 9)) == []
        assert await schedule.tick(svc, at(8, 7, 59)) == []
        assert await schedule.tick(svc, at(8, 8, 0)) == ["reminded 2026-11"]
        assert len(telegram.sent) == 2 and len(zalo.sent) == 1
        assert "Nhắc việc" in zalo.sent[0][1]
        assert await schedule.tick(svc, at(8, 9)) == []
        assert await schedule.tick(svc, at(20, 9)) == []
    finally:
        await svc.db.close()
    con = sqlite3.connect(data / "bot.sqlite3")
    assert con.execute("SELECT kind, recipients FROM report_log WHERE month = '2026-11' AND kind != 'opened'"
                       " ORDER BY id").fetchall() == [("sent", 3), ("reminded", 3)]
    con.close()


async def test_no_reminder_when_someone_opened_a_newer_copy(data: Path) -> None:
    svc, telegram, _zalo = await open_bot(data)
    try:
        await add_staff(svc)
        assert await schedule.tick(svc, at(5, 8)) == ["sent 2026-11"]
        # the officer ran `report monthly` on the 6th
        await svc.reports.write("2026-11", data / "mine", at=at(6, 10).timestamp())
        assert await schedule.tick(svc, at(8, 8)) == []
        assert len(telegram.sent) == 2
    finally:
        await svc.db.close()


async def test_a_channel_that_refuses_the_file_gets_the_summary(data: Path) -> None:
    svc, telegram, _zalo = await open_bot(data)
    telegram.refuse_files = True
    try:
        await add_staff(svc)
        assert await schedule.tick(svc, at(5, 8)) == ["sent 2026-11"]
        assert telegram.sent and all(doc is None and "Tệp báo cáo" in text for _, text, doc in telegram.sent)
    finally:
        await svc.db.close()


async def test_a_temporary_failure_is_tried_again_at_the_next_check(data: Path) -> None:
    svc, telegram, zalo = await open_bot(data)
    try:
        await add_staff(svc)
        working = telegram.send

        async def down(chat: str, message: Rendered, out: Out) -> Sent:
            raise TryLater("network down")

        telegram.send = down  # type: ignore[method-assign]
        zalo.send = down  # type: ignore[method-assign]
        assert await schedule.tick(svc, at(5, 8)) == []
        telegram.send = working  # type: ignore[method-assign]
        assert await schedule.tick(svc, at(5, 8, 1)) == ["sent 2026-11"]
        assert len(telegram.sent) == 2
    finally:
        await svc.db.close()


async def test_the_job_fires_at_the_configured_time_with_a_controlled_clock(
        data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real repeating job (started with the core's jobs) on a clock the test moves."""
    svc, telegram, _zalo = await open_bot(data)
    config = ReportConfig(send_day=3, send_time=time(14, 30), remind_day=4, remind_time=time(9, 0))
    svc.content = replace(svc.content, commune=replace(svc.content.commune, report=config))
    svc.reports.content = svc.content
    monkeypatch.setattr(schedule, "CHECK_SECONDS", 0.01)
    monkeypatch.setattr(schedule, "FIRST_SECONDS", 0.0)
    now = [at(3, 14, 29)]
    try:
        await add_staff(svc)
        schedule.start_jobs(svc, clock=lambda: now[0])
        await asyncio.sleep(0.2)
        assert telegram.sent == []
        now[0] = at(3, 14, 30)
        for _ in range(200):
            if len(telegram.sent) == 2:
                break
            await asyncio.sleep(0.02)
        assert len(telegram.sent) == 2
        await asyncio.sleep(0.1)
        assert len(telegram.sent) == 2  # once
    finally:
        await svc.jobs.stop()
        await svc.db.close()


# --- configuration --------------------------------------------------------------------------------------


def test_report_config_is_validated() -> None:
    config, problems = parse_report({"send_day": 5, "send_time": "08:00", "remind_day": 8, "remind_time": "08:00"})
    assert problems == [] and config.send_day == 5 and config.remind_time == time(8, 0)
    _config, problems = parse_report({"send_day": 31, "send_time": "8h", "remind_day": 2, "colour": "red"})
    messages = " | ".join(m for _k, m in problems)
    assert "send_day" in messages and "send_time" in messages and "unknown key 'colour'" in messages


def test_content_check_reports_a_bad_report_table_with_its_line(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    toml = content / "commune.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('send_time = "08:00"', 'send_time = "25:00"'),
                    encoding="utf-8")
    _content, problems = read_content(content)
    bad = [p for p in problems if "send_time" in str(p)]
    assert bad, problems
    line = next(i for i, text in enumerate(toml.read_text(encoding="utf-8").splitlines(), 1)
                if text.startswith("send_time"))
    assert bad[0].line == line
    good, _problems = read_content(ROOT / "content")
    assert good.commune.report.send_day == 5 and good.commune.report.remind_day == 8
