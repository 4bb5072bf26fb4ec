"""Staff roles (officer, editor, admin) and the audit trail of who read or changed what."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, now

ROLES = ("officer", "editor", "admin")
# What each role may do, by the role that is required: an admin may do everything.
RANK = {"officer": 1, "editor": 1, "admin": 2}


@dataclass(frozen=True)
class StaffMember:
    user_id: int
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

    async def add(self, user_id: int, role: str, added_by: str, display: str | None = None) -> None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO staff(user_id, role, display, added_at, added_by) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(user_id) DO UPDATE SET role = excluded.role,"
                " display = COALESCE(excluded.display, staff.display)",
                (user_id, role, display, now(), added_by),
            )
            await tx.execute("INSERT INTO audit_log(at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                             (now(), added_by, "staff.add", f"user:{user_id}", role))

    async def remove(self, user_id: int, removed_by: str) -> bool:
        async with self.db.transaction() as tx:
            n = await tx.execute("DELETE FROM staff WHERE user_id = ?", (user_id,))
            await tx.execute("INSERT INTO audit_log(at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                             (now(), removed_by, "staff.remove", f"user:{user_id}", None))
        return n > 0

    async def members(self) -> list[StaffMember]:
        rows = await self.db.fetchall("SELECT * FROM staff ORDER BY role, user_id")
        members = [StaffMember(r["user_id"], r["role"], r["display"], r["added_at"], r["added_by"]) for r in rows]
        listed = {m.user_id for m in members}
        members += [StaffMember(uid, "admin", None, 0.0, "BOT_ADMIN_IDS") for uid in sorted(self.admin_ids)
                    if uid not in listed]
        return members

    async def role(self, user_id: int) -> str | None:
        if user_id in self.admin_ids:
            return "admin"
        value = await self.db.fetchval("SELECT role FROM staff WHERE user_id = ?", (user_id,))
        return None if value is None else str(value)

    async def has_role(self, user_id: int, *roles: str) -> bool:
        """True when the user holds one of `roles`; admins hold every role."""
        role = await self.role(user_id)
        return role is not None and (role == "admin" or role in roles)

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
