"""`python -m bot campaign …`: the command-line contract, and a running bot picking up what it creates.

These tests run at any hour: they use a copy of content/ whose quiet hours are switched off (equal start
and end), because the command line works with the real clock."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import Settings
from devtools.sandbox import Sandbox
from handlers.telegram.app import App
from tests.conftest import StartBot

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def content_without_quiet_hours(folder: Path, quiet: tuple[str, str] = ("00:00", "00:00")) -> Path:
    """A copy of content/ with other quiet hours (equal start and end: none)."""
    target = folder / "content"
    shutil.copytree(ROOT / "content", target)
    commune = target / "commune.toml"
    text = commune.read_text(encoding="utf-8")
    text = text.replace('quiet_start = "21:00"', f'quiet_start = "{quiet[0]}"')
    text = text.replace('quiet_end = "06:30"', f'quiet_end = "{quiet[1]}"')
    assert f'quiet_start = "{quiet[0]}"' in text
    commune.write_text(text, encoding="utf-8")
    return target


def cli_env(data_dir: Path, content_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update(BOT_DATA_DIR=str(data_dir), BOT_CONTENT_DIR=str(content_dir), PYTHONPATH=str(ROOT))
    return env


def runner(data_dir: Path, content_dir: Path, cwd: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", "campaign", *args], capture_output=True, text=True,
                              env=cli_env(data_dir, content_dir), cwd=cwd, timeout=60)
    return run


def test_command_line_contract(tmp_path: Path) -> None:
    content = content_without_quiet_hours(tmp_path)
    run = runner(tmp_path / "data", content, tmp_path)
    tomorrow = (datetime.now(TZ) + timedelta(days=1)).replace(hour=7, minute=30, second=0, microsecond=0)
    created = run("create", "--text", "Họp **thôn** ngày mai", "--at", tomorrow.strftime("%Y-%m-%dT%H:%M"),
                  "--audience", "village:thon-2", "--json")
    assert created.returncode == 0, created.stderr
    first = json.loads(created.stdout)
    assert list(first) == ["id"] and isinstance(first["id"], int)
    note = tmp_path / "note.md"
    note.write_text('+++\nid = "x"\n+++\n**Lừa đảo** qua điện thoại\n', encoding="utf-8")
    plain = run("create", "--file", str(note), "--at", "now", "--repeat", "0 8 * * 1", "--audience", "topic:lua-dao")
    assert plain.returncode == 0, plain.stderr
    second = int(plain.stdout.strip())
    assert second == first["id"] + 1

    listed = [json.loads(line) for line in run("list", "--json").stdout.splitlines()]
    assert [c["id"] for c in listed] == [first["id"], second]  # soonest first
    assert listed[0]["status"] == "scheduled" and listed[0]["audience"] == "village:thon-2"
    assert listed[0]["at"] == tomorrow.strftime("%Y-%m-%dT%H:%M")
    assert listed[1]["repeat"] == "0 8 * * 1" and listed[1]["text"] == "**Lừa đảo** qua điện thoại"

    report = json.loads(run("report", str(first["id"]), "--json").stdout)
    assert report == {"id": first["id"], "status": "scheduled", "recipients": 0, "sent": 0, "failed": 0,
                      "blocked": 0, "pending": 0}
    assert run("cancel", str(first["id"])).returncode == 0
    again = run("cancel", str(first["id"]))
    assert again.returncode == 1 and "cancelled" in again.stderr
    assert json.loads(run("report", str(first["id"]), "--json").stdout)["status"] == "cancelled"
    assert run("report", "999").returncode == 1

    for bad, message in [
        (["--text", "   ", "--at", "now"], "empty"),
        (["--text", "x" * 5000, "--at", "now"], "4096"),
        (["--text", "x", "--at", "tomorrow"], "ISO-8601"),
        (["--text", "x", "--at", "2020-01-01T08:00"], "already passed"),
        (["--text", "x", "--at", "now", "--audience", "village:nope"], "No village"),
        (["--text", "x", "--at", "now", "--repeat", "0 7 * *"], "5 fields"),
    ]:
        result = run("create", *bad)
        assert result.returncode != 0 and message in result.stderr, (bad, result.stderr)


def test_quiet_hours_are_refused_with_a_suggestion(tmp_path: Path) -> None:
    content = content_without_quiet_hours(tmp_path, ("21:00", "06:30"))
    run = runner(tmp_path / "data", content, tmp_path)
    night = (datetime.now(TZ) + timedelta(days=2)).replace(hour=22, minute=0, second=0, microsecond=0)
    refused = run("create", "--text", "x", "--at", night.strftime("%Y-%m-%dT%H:%M"))
    assert refused.returncode == 1
    suggestion = (night + timedelta(days=1)).replace(hour=6, minute=30).strftime("%Y-%m-%dT%H:%M")
    assert "quiet hours" in refused.stderr and f"--at {suggestion}" in refused.stderr


def test_now_during_quiet_hours_waits_for_their_end(tmp_path: Path) -> None:
    """`--at now` at night still gives an id: the campaign goes out when the quiet hours end."""
    here = datetime.now(TZ)
    start, end = (here - timedelta(hours=1)).strftime("%H:%M"), (here + timedelta(hours=1)).strftime("%H:%M")
    content = content_without_quiet_hours(tmp_path, (start, end))
    run = runner(tmp_path / "data", content, tmp_path)
    created = run("create", "--text", "Thông báo ban đêm", "--at", "now", "--json")
    assert created.returncode == 0, created.stderr
    assert "quiet hours" in created.stderr and end in created.stderr
    campaign_id = json.loads(created.stdout)["id"]
    listed = [json.loads(line) for line in run("list", "--json").stdout.splitlines()]
    assert [c["at"][-5:] for c in listed if c["id"] == campaign_id] == [end]


@pytest.mark.asyncio
async def test_running_bot_picks_up_a_command_line_campaign(sandbox: Sandbox, start_bot: StartBot,
                                                            settings: Settings, tmp_path: Path) -> None:
    content = content_without_quiet_hours(tmp_path)
    bot: App = await start_bot(content_dir=content)
    users = [sandbox.user(30000 + i, f"Dân {i}") for i in range(20)]
    await bot.bot_data.svc.campaigns.subscriptions.add_many([(u.id, u.id, "vi", None) for u in users])
    env = cli_env(settings.data_dir, content)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "campaign", "create", "--text", "Tin từ dòng lệnh", "--at", "now", "--json",
        env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    campaign_id = json.loads(out)["id"]
    loop = asyncio.get_running_loop()
    created = loop.time()
    while not all(any("Tin từ dòng lệnh" in m.text for m in u.messages()) for u in users):
        assert loop.time() - created < 10, "not delivered within 10 seconds"
        await asyncio.sleep(0.1)
    report = await bot.bot_data.svc.campaigns.report(campaign_id)
    for _ in range(50):
        if report is not None and report.status == "done":
            break
        await asyncio.sleep(0.1)
        report = await bot.bot_data.svc.campaigns.report(campaign_id)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "campaign", "report", str(campaign_id), "--json",
        env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert json.loads(out) == {"id": campaign_id, "status": "done", "recipients": 20, "sent": 20, "failed": 0,
                               "blocked": 0, "pending": 0}
