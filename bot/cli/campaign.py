"""`campaign create|list|cancel|report`: announcements from the shell. A running bot picks up a campaign
created here within a few seconds (it polls the database); nothing is sent by this command itself."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.campaigns.errors import CampaignError
from bot.campaigns.service import Campaigns, strip_front_matter
from bot.cli.common import database, print_json
from bot.config import load_settings
from bot.content import ContentError, load_content
from bot.i18n import Catalogs
from storage.staff import Staff


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("campaign", help="announcement campaigns: create, list, cancel, report")
    csub = p.add_subparsers(dest="campaign_command", required=True)

    create = csub.add_parser("create", help="schedule an announcement; prints its id")
    text = create.add_mutually_exclusive_group(required=True)
    text.add_argument("--text", help="the announcement (**bold**, lists, links, {{placeholders}})")
    text.add_argument("--file", type=Path, help="a file with the announcement (a template's front matter is "
                                                "skipped)")
    create.add_argument("--at", required=True,
                        help='"now" or a local ISO-8601 time, e.g. 2026-12-15T07:30 (commune time zone)')
    create.add_argument("--repeat", help='a 5-field cron rule in local time, e.g. "0 7 * * 1" (Mondays 07:00)')
    create.add_argument("--audience", default="all", help="all | village:<id> | topic:<id> (default all)")
    create.add_argument("--json", action="store_true", help='print {"id": …}')
    create.set_defaults(func=cmd_create)

    ls = csub.add_parser("list", help="scheduled campaigns first, then past ones")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)

    cancel = csub.add_parser("cancel", help="cancel a scheduled or running campaign")
    cancel.add_argument("id", type=int)
    cancel.set_defaults(func=cmd_cancel)

    report = csub.add_parser("report", help="delivery figures of a campaign's latest run")
    report.add_argument("id", type=int)
    report.add_argument("--json", action="store_true")
    report.set_defaults(func=cmd_report)


@asynccontextmanager
async def service() -> AsyncIterator[Campaigns]:
    settings = load_settings()
    content = load_content(settings.content_dir)
    catalogs = Catalogs.load(settings.content_dir / "locales")
    async with database(settings) as db:
        yield Campaigns(db, content, catalogs, Staff(db, settings.admin_ids), settings.broadcast_rate)


def fail(message: str, code: int = 1) -> int:
    print(f"campaign: {message}", file=sys.stderr)
    return code


def parse_at(value: str) -> datetime | None:
    """ "now" → None; an ISO-8601 time (local when it has no offset). Raises ValueError."""
    if value.strip().lower() == "now":
        return None
    return datetime.fromisoformat(value.strip())


def cmd_create(args: argparse.Namespace) -> int:
    if args.file is not None:
        try:
            body = strip_front_matter(args.file.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError) as exc:
            return fail(f"cannot read {args.file}: {exc}", 2)
    else:
        body = args.text
    try:
        at = parse_at(args.at)
    except ValueError:
        return fail(f'--at must be "now" or an ISO-8601 time such as 2026-12-15T07:30, not {args.at!r}', 2)

    async def go() -> int:
        async with service() as campaigns:
            local = at
            if local is not None and local.tzinfo is None:
                local = local.replace(tzinfo=campaigns.content.commune.tzinfo)
            if local is None and args.repeat is None and campaigns.quiet.contains(campaigns.now()):
                # "now" means "as soon as allowed": during quiet hours that is their end. (An explicit
                # time inside quiet hours is refused with a suggestion instead.)
                local = campaigns.quiet.next_allowed(campaigns.now())
                print(f"campaign: now is in the quiet hours ({campaigns.quiet.label}); it will be sent at "
                      f"{local.replace(tzinfo=None).isoformat(timespec='minutes')}", file=sys.stderr)
            return await campaigns.create(body, at=local, repeat=args.repeat, audience=args.audience,
                                          created_by="cli")

    try:
        campaign_id = asyncio.run(go())
    except ContentError as exc:
        return fail(f"the content folder has errors:\n{exc}", 2)
    except CampaignError as exc:
        hint = ""
        if exc.suggestion_at is not None:
            hint = f" (try --at {exc.suggestion_at.replace(tzinfo=None).isoformat(timespec='minutes')})"
        return fail(f"{exc}{hint}")
    if args.json:
        print_json({"id": campaign_id})
    else:
        print(campaign_id)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    async def go() -> None:
        async with service() as campaigns:
            for c in await campaigns.list(1000):
                at = c.next_at if c.next_at is not None else c.first_at
                when = campaigns.local(at).replace(tzinfo=None).isoformat(timespec="minutes")
                preview = " ".join(c.body.split())[:80]
                if args.json:
                    print_json({"id": c.id, "status": c.status, "audience": c.audience, "at": when,
                                "repeat": c.repeat, "created_by": c.created_by, "text": preview})
                else:
                    repeat = f" (repeat {c.repeat})" if c.repeat else ""
                    print(f"{c.id}\t{c.status}\t{when}{repeat}\t{c.audience}\t{preview}")

    try:
        asyncio.run(go())
    except ContentError as exc:
        return fail(f"the content folder has errors:\n{exc}", 2)
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    async def go() -> tuple[bool, str | None]:
        async with service() as campaigns:
            campaign = await campaigns.get(args.id)
            if campaign is None:
                return False, None
            return await campaigns.cancel(args.id, "cli"), campaign.status

    cancelled, status = asyncio.run(go())
    if status is None:
        return fail(f"no campaign {args.id}")
    if not cancelled:
        return fail(f"campaign {args.id} is {status}: nothing to cancel")
    print(f"campaign {args.id} cancelled")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    async def go() -> Any:
        async with service() as campaigns:
            return await campaigns.report(args.id)

    report = asyncio.run(go())
    if report is None:
        return fail(f"no campaign {args.id}")
    if args.json:
        print_json(report.to_json())
    else:
        print(f"campaign {report.id}: {report.status}; recipients {report.recipients}, sent {report.sent}, "
              f"blocked {report.blocked}, failed {report.failed}, pending {report.pending}")
    return 0
