"""`content gaps`: what residents asked that the bot could not answer well, most frequent first."""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from bot.cli.common import database, print_json
from storage.questions import Questions

KIND_LABEL = {"unsure": "unsure", "out_of_scope": "declined", "thumbs_down": "👎"}


def add_parser(csub: Any) -> None:
    gaps = csub.add_parser("gaps", help="questions the bot could not answer, and 👎 answers, by frequency")
    gaps.add_argument("--days", type=int, default=30, help="look back this many days (default 30)")
    gaps.add_argument("--limit", type=int, default=50)
    gaps.add_argument("--json", action="store_true")
    gaps.set_defaults(func=cmd_gaps)


def cmd_gaps(args: argparse.Namespace) -> int:
    async def go() -> None:
        since = time.time() - args.days * 86400
        async with database() as db:
            gaps = await Questions(db).gaps(since=since, limit=args.limit)
        if not gaps and not args.json:
            print(f"No unanswered questions in the last {args.days} days.")
        for g in gaps:
            if args.json:
                print_json({"count": g.count, "kind": g.kind, "faq": g.topic, "example": g.text})
            else:
                extra = f" [{g.topic}]" if g.topic else ""
                print(f"{g.count:5d}  {KIND_LABEL.get(g.kind, g.kind):8s}{extra}  {g.text}")

    asyncio.run(go())
    return 0
