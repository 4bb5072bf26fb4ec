"""The one owner of the SQLite connection: opening, WAL, migrations, transactions."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
Row = aiosqlite.Row


def now() -> float:
    """Current time as stored in the database (Unix seconds, UTC)."""
    return time.time()


class Database:
    """Owns one aiosqlite connection; all reads and writes go through it.

    Writes that must be atomic use `async with db.transaction() as tx:`; the lock makes transactions
    of concurrent tasks run one after another on the single connection.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def open(self) -> Database:
        if self._conn is not None:
            return self
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a migration script and its record
        # are one transaction (executescript would otherwise commit first).
        self._conn = await aiosqlite.connect(str(self.path), isolation_level=None)
        try:
            self._conn.row_factory = aiosqlite.Row
            await self._conn.execute("PRAGMA journal_mode=WAL")
            await self._conn.execute("PRAGMA foreign_keys=ON")
            # Another process's write transaction (the CLI, a backup, an editor's sqlite3 shell) is waited out
            # for up to 30 s by every statement: a 15 s lock delays answers instead of losing them.
            await self._conn.execute("PRAGMA busy_timeout=30000")
            await self._conn.execute("PRAGMA synchronous=NORMAL")
            await self.migrate()
        except BaseException:
            # A read-only or full data folder: close the connection (its thread would keep the process
            # alive, and systemd would never restart it), then let the error out.
            await self.close()
            raise
        return self

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def __aenter__(self) -> Database:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- migrations -------------------------------------------------------------------------

    @staticmethod
    def migration_files() -> list[tuple[int, str, str]]:
        """(number, name, sql) for every file in storage/migrations, in order."""
        found: list[tuple[int, str, str]] = []
        folder = resources.files("storage").joinpath("migrations")
        for entry in folder.iterdir():
            match = MIGRATION_NAME.match(entry.name)
            if match:
                found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
        found.sort()
        numbers = [n for n, _, _ in found]
        if len(numbers) != len(set(numbers)):
            raise RuntimeError(f"two migrations share a number: {numbers}")
        return found

    async def migrate(self) -> list[str]:
        """Apply pending migrations, each in one transaction together with its record."""
        conn = self.conn
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
        )
        async with conn.execute("SELECT number FROM schema_migrations") as cur:
            done = {row[0] for row in await cur.fetchall()}
        applied: list[str] = []
        async with self._lock:
            for number, name, sql in self.migration_files():
                if number in done:
                    continue
                script = (
                    "BEGIN IMMEDIATE;\n"
                    f"{sql}\n;\n"
                    f"INSERT INTO schema_migrations(number, name, applied_at) VALUES ({number}, "
                    f"'{name}', {now()});\nCOMMIT;"
                )
                try:
                    await conn.executescript(script)
                except Exception:
                    if conn.in_transaction:
                        await conn.execute("ROLLBACK")
                    log.exception("migration %s failed; nothing of it was applied", name)
                    raise
                applied.append(name)
                log.info("applied migration %s", name)
        return applied

    # --- queries ----------------------------------------------------------------------------

    # Each helper is one round trip to aiosqlite's thread (no separate cursor close or fetch calls).

    async def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Row | None:
        rows = await self.conn.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
        return list(await self.conn.execute_fetchall(sql, params))

    async def fetchval(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one write statement (atomic on its own in autocommit mode); returns lastrowid for an
        INSERT, else the number of rows changed. The lock keeps it out of other tasks' transactions."""
        async with self._lock:
            return _result(sql, await self.conn.execute(sql, params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as tx:
            await tx.executemany(sql, rows)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT, ROLLBACK on error)."""
        async with self._lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self.conn)
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            else:
                await self.conn.execute("COMMIT")


def _result(sql: str, cursor: aiosqlite.Cursor) -> int:
    if sql.lstrip()[:6].upper() == "INSERT":
        return int(cursor.lastrowid or 0)
    return int(cursor.rowcount)


class Transaction:
    """Statements inside `Database.transaction()`."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        return _result(sql, await self._conn.execute(sql, params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Row | None:
        rows = await self._conn.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
        return list(await self._conn.execute_fetchall(sql, params))
