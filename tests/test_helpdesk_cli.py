"""`python -m bot requests list|export`: masked by default, unmasked only for an admin, always audited."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_settings
from storage.db import Database
from storage.helpdesk import HelpStore, NewRequest
from storage.staff import Staff

ROOT = Path(__file__).resolve().parent.parent
ADMIN, OFFICER = 501, 502


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder with two requests (one done), an officer and an admin from BOT_ADMIN_IDS."""
    monkeypatch.chdir(tmp_path)  # no .env from the project folder
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BOT_CONTENT_DIR", str(ROOT / "content"))
    monkeypatch.setenv("BOT_ADMIN_IDS", str(ADMIN))

    async def fill() -> None:
        async with Database(load_settings().db_path) as db:
            store = HelpStore(db)
            await Staff(db).add(OFFICER, "officer", "test")
            for user_id, name, phone, id_number in ((1, "Nguyễn Văn An", "0912345678", "019203012345"),
                                                    (2, "Lò Thị Bình", "0387654321", None)):
                await store.start_draft(user_id, user_id, "vi", "summary", 1.0)
                new = NewRequest(user_id, user_id, "vi", "level2", name, phone, "thon-3", id_number, "2026-12-02",
                                 "07:30", "11:30", "nhà xa", 1.0)
                await store.create(new, 3, 1_795_000_000.0)
            await store.claim(1, OFFICER, "Minh", 1_795_000_100.0)
            await store.transition(1, ("claimed",), "done", "tg:502", "done", "level2", 1_795_000_200.0,
                                   outcome="level2", closed_at=1_795_000_200.0)

    asyncio.run(fill())
    return tmp_path / "data"


def audit(data_dir: Path) -> list[tuple[str, str, str | None]]:
    async def read() -> list[tuple[str, str, str | None]]:
        async with Database(data_dir / "bot.sqlite3") as db:
            rows = await db.fetchall("SELECT actor, action, detail FROM audit_log WHERE action != 'staff.add'"
                                     " ORDER BY id")
            return [(r["actor"], r["action"], r["detail"]) for r in rows]
    return asyncio.run(read())


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fp:
        return list(csv.DictReader(fp))


def test_list_as_json_is_masked(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["requests", "list", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["code"], r["status"], r["phone"]) for r in rows] == [
        ("HT-0001", "done", "09•••••678"), ("HT-0002", "new", "03•••••321")]
    assert rows[0]["id_number"] == "019•••••••45" and rows[1]["id_number"] == ""
    assert rows[0]["full_name"] == "N. V. An" and rows[0]["village"] == "Thôn 3"
    assert "0912345678" not in json.dumps(rows) and "nhà xa" not in json.dumps(rows)
    assert main(["requests", "list", "--status", "new"]) == 0
    out = capsys.readouterr().out
    assert "HT-0002" in out and "HT-0001" not in out


def test_export_is_masked_unless_an_admin_asks(data_dir: Path, tmp_path: Path) -> None:
    masked = tmp_path / "report.csv"
    assert main(["requests", "export", "--csv", str(masked)]) == 0
    rows = read_csv(masked)
    assert [r["code"] for r in rows] == ["HT-0001", "HT-0002"]
    assert rows[0]["topic_label"] == "Đăng ký định danh mức 2" and rows[0]["outcome"] == "level2"
    assert "0912345678" not in masked.read_text(encoding="utf-8-sig")
    assert rows[0]["phone"] == "09•••••678" and rows[0]["note"] == ""

    full = tmp_path / "full.csv"
    assert main(["requests", "export", "--csv", str(full), "--full"]) == 2  # no admin named
    assert main(["requests", "export", "--csv", str(full), "--full", "--admin-id", str(OFFICER)]) == 2
    assert not full.exists()
    assert main(["requests", "export", "--csv", str(full), "--full", "--admin-id", str(ADMIN)]) == 0
    rows = read_csv(full)
    assert (rows[0]["full_name"], rows[0]["phone"], rows[0]["id_number"], rows[0]["note"]) == (
        "Nguyễn Văn An", "0912345678", "019203012345", "nhà xa")
    assert audit(data_dir) == [
        ("cli", "request.export", "masked, 2 rows"),
        (f"cli:{OFFICER}", "access.refused", "requests export --full"),
        (f"cli:{ADMIN}", "request.export", "full, 2 rows"),
    ]


def test_export_of_one_month(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.csv"
    assert main(["requests", "export", "--csv", str(out), "--month", "2026-11"]) == 0  # 1_795_000_000 = Nov 2026
    assert len(read_csv(out)) == 2
    assert main(["requests", "export", "--csv", str(out), "--month", "2026-12"]) == 0
    assert read_csv(out) == []
    assert main(["requests", "export", "--csv", str(out), "--month", "tháng 11"]) == 2
