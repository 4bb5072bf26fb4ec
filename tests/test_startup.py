"""Start-up failures end the process quickly with one clear line and a non-zero status (issue 14 item 6), so
systemd restarts it: an unusable data folder, broken content, a token the platform refuses."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path

from devtools.sandbox import Sandbox
from devtools.sandbox.client import SANDBOX_TOKEN
from devtools.sandbox.zalo import ZALO_TOKEN
from tests.test_campaigns_cli import cli_env

ROOT = Path(__file__).resolve().parent.parent


def run_bot(env: dict[str, str], cwd: Path) -> tuple[int, str, float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "bot", "run"], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=60)
    return done.returncode, done.stderr, time.monotonic() - started


async def test_an_unusable_database_exits_at_once_with_one_line(tmp_path: Path, sandbox: Sandbox) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "bot.sqlite3").write_bytes(b"this is not a database")  # what a damaged or foreign file looks like
    env = cli_env(data, ROOT / "content") | {"BOT_TOKEN": SANDBOX_TOKEN, "BOT_API_URL": sandbox.url}
    code, err, seconds = await asyncio.to_thread(run_bot, env, tmp_path)
    assert code == 1 and seconds < 20
    assert "cannot use the database" in err and "Traceback" not in err


async def test_broken_content_exits_with_the_problem_not_a_traceback(tmp_path: Path, sandbox: Sandbox) -> None:
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    (content / "commune.toml").write_text("this = is not [ toml", encoding="utf-8")
    env = cli_env(tmp_path / "data", content) | {"BOT_TOKEN": SANDBOX_TOKEN, "BOT_API_URL": sandbox.url}
    code, err, seconds = await asyncio.to_thread(run_bot, env, tmp_path)
    assert code == 1 and seconds < 20, err
    assert "commune.toml" in err and "Traceback" not in err


async def test_a_refused_zalo_token_exits_with_one_line(tmp_path: Path, sandbox: Sandbox) -> None:
    env = cli_env(tmp_path / "data", ROOT / "content") | {"ZALO_BOT_TOKEN": "bad-token",
                                                         "ZALO_API_URL": sandbox.zalo_url}
    code, err, seconds = await asyncio.to_thread(run_bot, env, tmp_path)
    assert code == 1 and seconds < 20, err
    assert "Zalo refused the bot token" in err and "Traceback" not in err and "bad-token" not in err
    assert ZALO_TOKEN not in err
