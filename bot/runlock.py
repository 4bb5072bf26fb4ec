"""One bot process per database: `run` holds an exclusive lock on a file in its data folder.

A second `python -m bot run` (or `make chat` beside `make run`) on the same folder stops at once with one
clear line instead of two processes long-polling and writing the same database. The lock is the kernel's
(flock): it goes away with the process, even after kill -9, so there is nothing stale to clean up.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


class AlreadyRunning(RuntimeError):
    """Another bot process holds this data folder."""


@contextlib.contextmanager
def hold(data_dir: Path) -> Iterator[None]:
    """Hold `data_dir`'s run lock while the block runs; AlreadyRunning if another process has it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "run.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise AlreadyRunning(
                f"another bot process (pid {other}) is already running on {data_dir}: one process per "
                f"database. Stop it first, or give this one its own BOT_DATA_DIR.") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)
