"""`python -m bot`: one sub-command group per module; each module adds its parsers with `add_parsers`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from bot.cli import campaign as campaign_cli
from bot.cli import faq as faq_cli
from bot.cli import report as report_cli
from bot.cli import requests as requests_cli
from bot.cli import run as run_cli
from bot.cli import staff as staff_cli
from bot.config import load_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Commune outreach bot")
    parser.add_argument("--sandbox", action="store_true",
                        help="use the local sandbox's database (BOT_DATA_DIR/sandbox), the one `make run` "
                             "without a token writes")
    sub = parser.add_subparsers(dest="command", required=True)
    # Each module registers its own sub-commands and sets `func` (args -> exit code).
    for module in (run_cli, faq_cli, staff_cli, campaign_cli, requests_cli, report_cli):
        module.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.sandbox:
        os.environ["BOT_DATA_DIR"] = str(load_settings().data_dir / "sandbox")
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0
