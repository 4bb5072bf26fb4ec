"""`requests list [--status S] [--json]` and `requests export --csv PATH [--month YYYY-MM] [--full --admin-id ID]`.

Lists and exports show phone, ID number and name masked. `--full` (the unmasked export) is allowed only
with `--admin-id` of a user who is an admin (BOT_ADMIN_IDS or `staff add … --role admin`); every export
and every refusal is written to the audit log.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.cli.common import database, print_json
from bot.config import Settings, load_settings
from bot.content import ContentError, load_content
from bot.helpdesk.model import TOPICS, ref_code
from bot.helpdesk.validate import mask_name
from bot.i18n import TZ, Catalogs
from bot.privacy import mask_id, mask_phone
from storage.helpdesk import STATUSES, HelpRequest, HelpStore
from storage.identities import Identities
from storage.staff import Staff

CSV_COLUMNS = ("code", "created_at", "status", "topic", "topic_label", "village", "preferred_slot",
               "officer", "appointment_at", "outcome", "closed_at", "full_name", "phone", "id_number", "note")


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("requests", help="help requests: list and export")
    rsub = p.add_subparsers(dest="requests_command", required=True)
    ls = rsub.add_parser("list", help="list requests (phone and ID masked)")
    ls.add_argument("--status", choices=STATUSES)
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    ls.set_defaults(func=cmd_list)
    ex = rsub.add_parser("export", help="write requests to a CSV file (for the monthly report)")
    ex.add_argument("--csv", required=True, type=Path, help="the file to write")
    ex.add_argument("--status", choices=STATUSES)
    ex.add_argument("--month", help="only requests made in this month, YYYY-MM (local time)")
    ex.add_argument("--full", action="store_true", help="unmasked names, phones, ID numbers and notes")
    ex.add_argument("--admin-id", type=int, help="the Telegram user id of the admin asking for --full")
    ex.set_defaults(func=cmd_export)


def _local(at: float | None) -> str:
    return "" if at is None else datetime.fromtimestamp(at, TZ).isoformat(timespec="minutes")


def _month(text: str) -> tuple[float, float]:
    """'2026-11' -> [start, end) of that month in local time."""
    start = datetime.strptime(text, "%Y-%m").replace(tzinfo=TZ)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start.timestamp(), end.timestamp()


def _villages(settings: Settings) -> dict[str, str]:
    try:
        return {v.id: v.name for v in load_content(settings.content_dir).commune.villages}
    except ContentError:
        return {}


def row_of(r: HelpRequest, villages: dict[str, str], topic_label: str, full: bool) -> dict[str, Any]:
    """One request as a flat record; names, phones and ID numbers masked unless `full`."""
    return {
        "code": ref_code(r.id),
        "created_at": _local(r.created_at),
        "status": r.status,
        "topic": r.topic,
        "topic_label": topic_label,
        "village": villages.get(r.village, r.village),
        "preferred_slot": f"{r.slot_date} {r.slot_start}-{r.slot_end}" if r.slot_date else "",
        "officer": r.officer_name or "",
        "appointment_at": _local(r.appointment_at),
        "outcome": r.outcome or "",
        "closed_at": _local(r.closed_at),
        "full_name": r.full_name if full else mask_name(r.full_name),
        "phone": r.phone if full else mask_phone(r.phone) if r.phone else "",
        "id_number": (r.id_number or "") if full else mask_id(r.id_number) if r.id_number else "",
        "note": (r.note or "") if full else "",
    }


def cmd_list(args: argparse.Namespace) -> int:
    settings = load_settings()
    villages = _villages(settings)

    async def go() -> list[HelpRequest]:
        async with database(settings) as db:
            return await HelpStore(db).listing(status=args.status)

    for r in asyncio.run(go()):
        row = row_of(r, villages, r.topic, full=False)
        if args.json:
            print_json({"id": r.id, **{k: v for k, v in row.items() if k not in ("topic_label", "note")}})
        else:
            print("\t".join([row["code"], row["created_at"], row["status"], row["topic"], row["village"],
                             row["phone"], row["officer"] or "-"]))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    settings = load_settings()
    villages = _villages(settings)
    _ = Catalogs.load(settings.content_dir / "locales").gettext("vi")
    if args.full and args.admin_id is None:
        print("--full needs --admin-id USER_ID of an admin", file=sys.stderr)
        return 2
    try:
        since, until = _month(args.month) if args.month else (None, None)
    except ValueError:
        print(f"--month must look like 2026-11, not {args.month!r}", file=sys.stderr)
        return 2

    async def go() -> int | None:
        """The number of requests written; None when the full export is refused."""
        async with database(settings) as db:
            staff = Staff(db, settings.admin_ids)
            actor = f"cli:{args.admin_id}" if args.admin_id is not None else "cli"
            asking = await Identities(db).ensure("telegram", str(args.admin_id)) if args.admin_id is not None else 0
            if args.full and await staff.role(asking) != "admin":
                await staff.audit(actor, "access.refused", None, "requests export --full")
                print(f"user {args.admin_id} is not an admin: the full export is refused", file=sys.stderr)
                return None
            requests = await HelpStore(db).listing(status=args.status, since=since, until=until)
            args.csv.parent.mkdir(parents=True, exist_ok=True)
            with args.csv.open("w", newline="", encoding="utf-8-sig") as fp:  # BOM: Excel reads UTF-8
                writer = csv.DictWriter(fp, fieldnames=CSV_COLUMNS)
                writer.writeheader()
                for r in requests:
                    writer.writerow(row_of(r, villages, _(TOPICS.get(r.topic, TOPICS["other"])), args.full))
            await staff.audit(actor, "request.export", None,
                              f"{'full' if args.full else 'masked'}, {len(requests)} rows")
            return len(requests)

    count = asyncio.run(go())
    if count is None:
        return 2
    print(f"wrote {count} request(s) to {args.csv}" + (" (unmasked)" if args.full else " (masked)"))
    return 0
