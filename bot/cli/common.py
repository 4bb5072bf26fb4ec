"""Helpers for command-line sub-commands: open storage, print JSON lines."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.config import Settings, load_settings
from storage.db import Database


@asynccontextmanager
async def database(settings: Settings | None = None) -> AsyncIterator[Database]:
    """The bot's database (migrated), for one command."""
    settings = settings or load_settings()
    sandbox = settings.data_dir / "sandbox" / settings.db_path.name
    if not settings.db_path.exists() and sandbox.exists():
        print(f"note: {settings.db_path} does not exist yet (nothing recorded there); the local sandbox's "
              f"database is {sandbox} — add --sandbox to read it: python -m bot --sandbox …", file=sys.stderr)
    db = await Database(settings.db_path).open()
    try:
        yield db
    finally:
        await db.close()


def print_json(obj: Any) -> None:
    """One JSON object per line (the `--json` contract)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()
