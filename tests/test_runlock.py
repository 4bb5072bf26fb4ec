"""One bot process per database: a second `run` on the same data folder stops at once, clearly;
the command line can be pointed at the sandbox's database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def env_for(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "ZALO_"))}
    env.update(BOT_DATA_DIR=str(data), BOT_CONTENT_DIR=str(ROOT / "content"), **extra)
    return env


def test_second_run_on_the_same_database_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from bot import runlock\n"
         "with runlock.hold(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)", str(data)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        second = subprocess.run([sys.executable, "-m", "bot", "run"], cwd=tmp_path, capture_output=True, text=True,
                                env=env_for(data, BOT_TOKEN="123:fake", BOT_API_URL="http://127.0.0.1:9"),
                                timeout=60)
        assert second.returncode == 1
        assert "already running" in second.stderr and str(holder.pid) in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1  # one clear line, no traceback
        assert time.monotonic() - started < 30
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_the_lock_goes_with_the_process(tmp_path: Path) -> None:
    from bot import runlock

    data = tmp_path / "data"
    with runlock.hold(data):
        pass
    with runlock.hold(data):  # released: taken again
        pass


def test_cli_reads_the_sandbox_database_when_asked(tmp_path: Path) -> None:
    data = tmp_path / "data"
    add = subprocess.run([sys.executable, "-m", "bot", "--sandbox", "staff", "add", "2001", "--role", "officer"],
                         cwd=tmp_path, capture_output=True, text=True, env=env_for(data), timeout=60)
    assert add.returncode == 0, add.stderr
    assert (data / "sandbox" / "bot.sqlite3").exists()
    plain = subprocess.run([sys.executable, "-m", "bot", "staff", "list"], cwd=tmp_path, capture_output=True,
                           text=True, env=env_for(data), timeout=60)
    assert "2001" not in plain.stdout
    assert "--sandbox" in plain.stderr  # says which database it read and where the sandbox's is
    sandbox = subprocess.run([sys.executable, "-m", "bot", "--sandbox", "staff", "list"], cwd=tmp_path,
                             capture_output=True, text=True, env=env_for(data), timeout=60)
    assert "2001\tofficer" in sandbox.stdout
