"""`staff add|remove|list`: who is an officer, an editor (culture officer) or an admin."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bot.cli.common import database, print_json
from bot.config import load_settings
from storage.identities import Identities
from storage.staff import ROLES, Staff


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("staff", help="manage staff roles")
    ssub = p.add_subparsers(dest="staff_command", required=True)
    add = ssub.add_parser("add", help="give a Telegram user a role")
    add.add_argument("user_id", type=int)
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--name", default=None, help="a display name for lists")
    add.set_defaults(func=cmd_add)
    rm = ssub.add_parser("remove", help="take a user's role away")
    rm.add_argument("user_id", type=int)
    rm.set_defaults(func=cmd_remove)
    ls = ssub.add_parser("list", help="list staff")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)


def cmd_add(args: argparse.Namespace) -> int:
    async def go() -> None:
        settings = load_settings()
        async with database(settings) as db:
            person = await Identities(db).ensure("telegram", str(args.user_id))
            await Staff(db, settings.admin_ids).add(person, args.role, "cli", args.name)
    asyncio.run(go())
    print(f"{args.user_id} is now {args.role}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    async def go() -> bool:
        settings = load_settings()
        async with database(settings) as db:
            person = await Identities(db).ensure("telegram", str(args.user_id))
            return await Staff(db, settings.admin_ids).remove(person, "cli")
    removed = asyncio.run(go())
    print(f"{args.user_id} removed" if removed else f"{args.user_id} was not staff")
    return 0 if removed else 1


def cmd_list(args: argparse.Namespace) -> int:
    async def go() -> None:
        settings = load_settings()
        async with database(settings) as db:
            members = await Staff(db, settings.admin_ids).members()
            telegram = await Identities(db).external_ids([m.person_id for m in members], "telegram")
        for m in members:
            user_id = telegram.get(m.person_id, "")
            user = int(user_id) if user_id.lstrip("-").isdigit() else user_id
            if args.json:
                print_json({"user_id": user, "person": m.person_id, "role": m.role, "name": m.display,
                            "added_by": m.added_by})
            else:
                print(f"{user}\t{m.role}\t{m.display or ''}\t(added by {m.added_by})")
    asyncio.run(go())
    return 0
