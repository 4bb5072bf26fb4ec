"""Logging set-up: the bot token never reaches a log line; httpx request lines are kept quiet."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# Any Telegram-shaped token, wherever it appears (URLs logged by httpx contain it).
TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")


class RedactingFilter(logging.Filter):
    """Replace the configured token, and anything shaped like a token, in every record."""

    def __init__(self, token: str | None = None, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self.token = token
        self.secrets = tuple(s for s in (token, *secrets) if s)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<token>")
        return TOKEN_SHAPE.sub("<token>", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_text is None and record.exc_info[1] is not None:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redact(formatted)
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def setup_logging(token: str | None, level: int = logging.INFO, secrets: Iterable[str | None] = ()) -> None:
    """Configure the root logger once, with the redacting filter on its handler (the Telegram token, and
    `secrets` such as the Zalo token and webhook secret, never reach a log line)."""
    root = logging.getLogger()
    if not any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactingFilter(token, secrets))
        root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request URL (which contains the token) at INFO.
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
