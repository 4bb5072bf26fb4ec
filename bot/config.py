"""Settings from the environment (and a `.env` file in the working directory)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_API_URL = "https://api.telegram.org"
DEFAULT_ZALO_API_URL = "https://bot-api.zaloplatforms.com"
# Zalo publishes no rate limit: a cautious pace (and a free plan may cap messages a month; see README).
DEFAULT_ZALO_BROADCAST_RATE = 5.0


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a simple KEY=VALUE file; blank lines and # comments are skipped, quotes stripped."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def _ids(text: str) -> frozenset[int]:
    out: set[int] = set()
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if part:
            out.add(int(part))
    return frozenset(out)


@dataclass(frozen=True)
class Settings:
    """Everything the bot is configured with. `repr` never shows the token."""

    token: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL
    data_dir: Path = Path("data")
    admin_ids: frozenset[int] = frozenset()
    officer_chat_id: int | None = None
    broadcast_rate: float = 25.0
    content_dir: Path = Path("content")
    web_port: int = 8080
    retention_days: int = 180
    zalo_token: str | None = field(default=None, repr=False)
    zalo_api_url: str = DEFAULT_ZALO_API_URL
    zalo_webhook_url: str | None = None
    zalo_webhook_secret: str | None = field(default=None, repr=False)
    zalo_webhook_port: int = 8443
    zalo_broadcast_rate: float = DEFAULT_ZALO_BROADCAST_RATE
    # Seconds to wait for a platform's answer to a send. A send with no answer may have arrived, so it is not
    # retried blindly: waiting out a slow API (answers after 6–12 s are seen under load) avoids second copies.
    send_timeout: float = 20.0

    @property
    def sandbox(self) -> bool:
        """Neither token: `run` starts the local sandbox."""
        return not self.token and not self.zalo_token

    @property
    def db_path(self) -> Path:
        return self.data_dir / "bot.sqlite3"

    @property
    def base_url(self) -> str:
        return f"{self.api_url.rstrip('/')}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.api_url.rstrip('/')}/file/bot"


def load_settings(env: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
    """Build settings from `env` (default: os.environ) over the values of a `.env` file."""
    merged: dict[str, str] = {}
    if dotenv is not None:
        merged.update(read_dotenv(dotenv))
    merged.update(os.environ if env is None else env)

    def get(name: str, default: str = "") -> str:
        return merged.get(name, default).strip()

    officer = get("BOT_OFFICER_CHAT_ID")
    return Settings(
        token=get("BOT_TOKEN") or None,
        api_url=get("BOT_API_URL") or DEFAULT_API_URL,
        data_dir=Path(get("BOT_DATA_DIR") or "data"),
        admin_ids=_ids(get("BOT_ADMIN_IDS")),
        officer_chat_id=int(officer) if officer else None,
        broadcast_rate=float(get("BOT_BROADCAST_RATE") or 25),
        content_dir=Path(get("BOT_CONTENT_DIR") or "content"),
        web_port=int(get("BOT_WEB_PORT") or 8080),
        retention_days=int(get("BOT_RETENTION_DAYS") or 180),
        zalo_token=get("ZALO_BOT_TOKEN") or None,
        zalo_api_url=get("ZALO_API_URL") or DEFAULT_ZALO_API_URL,
        zalo_webhook_url=get("ZALO_WEBHOOK_URL") or None,
        zalo_webhook_secret=get("ZALO_WEBHOOK_SECRET") or None,
        zalo_webhook_port=int(get("ZALO_WEBHOOK_PORT") or 8443),
        zalo_broadcast_rate=float(get("ZALO_BROADCAST_RATE") or DEFAULT_ZALO_BROADCAST_RATE),
    )
