"""The [report] table of content/commune.toml: when the draft report is sent and reminded, and the names
printed on it. Checked by `python -m bot content check` (bot/content.py calls `parse_report`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from typing import Any

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
KEYS = ("enabled", "send_day", "send_time", "remind_day", "remind_time", "issuer", "parent_body", "place",
        "symbol", "signer_title", "recipients")


@dataclass(frozen=True)
class ReportConfig:
    """Defaults: sent on the 5th at 08:00, a reminder on the 8th at 08:00 (the plan wants it before the 9th)."""

    enabled: bool = True
    send_day: int = 5
    send_time: time = time(8, 0)
    remind_day: int = 8
    remind_time: time = time(8, 0)
    issuer: str = ""          # the issuing body; "" = police_name
    parent_body: str = ""     # the body above it; "" = "UBND " + the commune's name
    place: str = ""           # the place before the date; "" = the commune's name without "xã"
    symbol: str = "BC-CAX"    # the document symbol after "Số: …/"
    signer_title: str = ""    # the signature block's title; "" = "NGƯỜI BÁO CÁO"
    recipients: tuple[str, ...] = ()  # "Nơi nhận" lines; () = the catalog's default


def parse_report(raw: Any) -> tuple[ReportConfig, list[tuple[str, str]]]:
    """The config, and (key, problem) for every wrong value (the default is kept for it)."""
    if raw is None:
        return ReportConfig(), []
    if not isinstance(raw, dict):
        return ReportConfig(), [("report", "[report] must be a table")]
    problems: list[tuple[str, str]] = []
    values: dict[str, Any] = {}
    for key in raw:
        if key not in KEYS:
            problems.append((key, f"unknown key '{key}' in [report] (known: {', '.join(KEYS)})"))
    if "enabled" in raw:
        if isinstance(raw["enabled"], bool):
            values["enabled"] = raw["enabled"]
        else:
            problems.append(("enabled", "'enabled' must be true or false"))
    for key in ("send_day", "remind_day"):
        if key in raw:
            day = raw[key]
            if isinstance(day, int) and not isinstance(day, bool) and 1 <= day <= 28:
                values[key] = day
            else:
                problems.append((key, f"'{key}' must be a day of the month from 1 to 28, not {day!r}"))
    for key in ("send_time", "remind_time"):
        if key in raw:
            text = raw[key]
            match = _CLOCK.match(text) if isinstance(text, str) else None
            if match:
                values[key] = time(int(match.group(1)), int(match.group(2)))
            else:
                problems.append((key, f"'{key}' must be a time written as HH:MM, not {text!r}"))
    for key in ("issuer", "parent_body", "place", "symbol", "signer_title"):
        if key in raw:
            if isinstance(raw[key], str):
                values[key] = raw[key].strip()
            else:
                problems.append((key, f"'{key}' must be text"))
    if "recipients" in raw:
        lines = raw["recipients"]
        if isinstance(lines, list) and all(isinstance(x, str) and x.strip() for x in lines):
            values["recipients"] = tuple(x.strip() for x in lines)
        else:
            problems.append(("recipients", "'recipients' must be a list of non-empty texts"))
    config = ReportConfig(**values)
    if config.remind_day < config.send_day or (
            config.remind_day == config.send_day and config.remind_time <= config.send_time):
        problems.append(("remind_day", "the reminder must come after the report is sent (remind_day/remind_time)"))
    return config, problems
