"""`report monthly --month YYYY-MM [--out DIR] [--json]`: the month's report for the People's Committee.

Writes the .docx (and its chart as a .png) into DIR (default BOT_DATA_DIR/reports); `--json` prints the
figures as one object instead of the path line. Figures come from bot/report (the database), counts only.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.cli.common import print_json
from bot.config import load_settings
from bot.report.figures import parse_month
from bot.services import build_services


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("report", help="reports for the People's Committee")
    rsub = p.add_subparsers(dest="report_command", required=True)
    m = rsub.add_parser("monthly", help="the month's Project 06 report (.docx) and its figures")
    m.add_argument("--month", required=True, help="YYYY-MM (month boundaries in commune time)")
    m.add_argument("--out", type=Path, help="folder for the .docx and its chart (default BOT_DATA_DIR/reports)")
    m.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    m.set_defaults(func=cmd_monthly)


def cmd_monthly(args: argparse.Namespace) -> int:
    try:
        parse_month(args.month)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    settings = load_settings()

    async def go() -> tuple[Path, dict[str, Any]]:
        svc = await build_services(settings)
        try:
            return await svc.reports.write(args.month, args.out, today=datetime.now(svc.content.commune.tzinfo).date())
        finally:
            await svc.db.close()

    path, figures = asyncio.run(go())
    if args.json:
        print_json(figures)
    else:
        print(f"wrote {path}")
    return 0
