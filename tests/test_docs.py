"""The README must not drift from the code: every setting and every command is documented."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from bot.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_environment_variable_is_documented() -> None:
    code = (ROOT / "bot" / "config.py").read_text(encoding="utf-8")
    in_code = set(re.findall(r'"(BOT_[A-Z_]+)"', code))
    documented = set(re.findall(r"`(BOT_[A-Z_]+)`", README))
    assert in_code, "no settings found in bot/config.py"
    assert in_code - documented == set()


def test_every_command_is_documented() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, command in sub.choices.items():
        children = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
        names = [f"{name} {child}" for a in children for child in a.choices] or [name]
        missing += [n for n in names if f"`{n}" not in README]
    assert missing == []


def test_the_two_commands_lead_the_readme() -> None:
    head = README[: README.index("## Configuration")]
    assert "make run" in head and "make test" in head
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci
