"""Staff roles (officer, editor, admin) and the audit trail of who read or changed what."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, now

ROLES = ("officer", "editor", "admin")
# What each role may do, by the role that is required: an admin may do everything.
RANK = {"officer": 1, "editor": 1, "admin": 2}


@dataclass(frozen=True)
class StaffMember:
    person_id: int
    role: str
    display: str | None
    added_at: float
    added_by: str


@dataclass(frozen=True)
class AuditEntry:
    at: float
    actor: str
    action: str
    target: str | None
    detail: str | None


class Staff:
    def __init__(self, db: Database, admin_ids: frozenset[int] = frozenset()) -> None:
        self.db = db
        self.admin_ids = admin_ids

    async def add(self, person_id: int, role: str, added_by: str, display: str | None = None) -> None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO staff(person_id, role, display, added_at, added_by) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(person_id) DO UPDATE SET role = excluded.role,"
                " display = COALESCE(excluded.display, staff.display)",
                (person_id, role, display, now(), added_by),
            )
            await tx.execute("INSERT INTO audit_log(at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                             (now(), added_by, "staff.add", f"person:{person_id}", role))

    async def remove(self, person_id: int, removed_by: str) -> bool:
        async with self.db.transaction() as tx:
            n = await tx.execute("DELETE FROM staff WHERE person_id = ?", (person_id,))
            await tx.execute("INSERT INTO audit_log(at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                             (now(), removed_by, "staff.remove", f"person:{person_id}", None))
        return n > 0

    async def members(self) -> list[StaffMember]:
        rows = await self.db.fetchall("SELECT * FROM staff ORDER BY role, person_id")
        members = [StaffMember(r["person_id"], r["role"], r["display"], r["added_at"], r["added_by"]) for r in rows]
        listed = {m.person_id for m in members}
        if self.admin_ids:
            admins = [str(i) for i in sorted(self.admin_ids)]
            found = await self.db.fetchall(
                f"SELECT person_id FROM identities WHERE channel = 'telegram' AND external_id IN"
                f" ({','.join('?' * len(admins))}) ORDER BY person_id", admins)
            members += [StaffMember(int(r["person_id"]), "admin", None, 0.0, "BOT_ADMIN_IDS") for r in found
                        if int(r["person_id"]) not in listed]
        return members

    async def role(self, person_id: int) -> str | None:
        """The person's role; a Telegram identity listed in BOT_ADMIN_IDS makes its person an admin."""
        admins = tuple(str(i) for i in sorted(self.admin_ids))
        admin_sql = (f" UNION ALL SELECT 'admin', 0 FROM identities WHERE person_id = ? AND channel = 'telegram'"
                     f" AND external_id IN ({','.join('?' * len(admins))})") if admins else ""
        value = await self.db.fetchval(
            f"SELECT role FROM (SELECT role, 1 AS k FROM staff WHERE person_id = ?{admin_sql}) ORDER BY k LIMIT 1",
            (person_id, person_id, *admins) if admins else (person_id,))
        return None if value is None else str(value)

    async def has_role(self, person_id: int, *roles: str) -> bool:
        """True when the user holds one of `roles`; admins hold every role."""
        role = await self.role(person_id)
        return role is not None and (role == "admin" or role in roles)

    async def chats_of_role(self, role: str) -> list[tuple[str, str]]:
        """(channel, private chat) of every identity of the people holding `role` (admins not included)."""
        rows = await self.db.fetchall(
            "SELECT i.channel, i.chat_id FROM staff s JOIN identities i ON i.person_id = s.person_id"
            " WHERE s.role = ? ORDER BY s.person_id, i.first_seen", (role,))
        return [(str(r["channel"]), str(r["chat_id"])) for r in rows]

    async def audit(self, actor: str, action: str, target: str | None = None, detail: str | None = None) -> None:
        await self.db.execute("INSERT INTO audit_log(at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                              (now(), actor, action, target, detail))

    async def audit_trail(self, target: str | None = None, limit: int = 200) -> list[AuditEntry]:
        if target is None:
            rows = await self.db.fetchall("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = await self.db.fetchall(
                "SELECT * FROM audit_log WHERE target = ? ORDER BY id DESC LIMIT ?", (target, limit))
        return [AuditEntry(r["at"], r["actor"], r["action"], r["target"], r["detail"]) for r in rows]
