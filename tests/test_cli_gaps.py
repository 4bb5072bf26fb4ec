"""`python -m bot content gaps` lists unanswered questions and 👎 answers by frequency."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from storage.db import Database
from storage.questions import Questions


async def test_gaps_lists_most_frequent_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    async with Database(tmp_path / "bot.sqlite3") as db:
        q = Questions(db)
        for _ in range(4):
            await q.record(1, "gia lua hom nay", "gia lua hom nay", None, 0.05, "out_of_scope")
        await q.record(2, "vneid", "vneid", None, 0.2, "unsure")
        qid = await q.record(3, "quen mk", "quen mk", "vneid-forgot-password", 0.8, "answer")
        await q.feedback(qid, 3, "vneid-forgot-password", helpful=False)
        await q.record(4, "doi sdt", "doi sdt", "vneid-change-phone", 0.9, "answer")  # answered: not a gap
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    import asyncio

    code = await asyncio.to_thread(main, ["content", "gaps", "--json"])
    assert code == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0] == {"count": 4, "kind": "out_of_scope", "faq": None, "example": "gia lua hom nay"}
    assert {(r["kind"], r["faq"]) for r in rows[1:]} == {("unsure", None), ("thumbs_down", "vneid-forgot-password")}
    assert all(r["example"] != "doi sdt" for r in rows)
