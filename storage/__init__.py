"""SQLite storage: one connection owner (`Database`), numbered migrations, one module per table group.

SQL lives only in this package. Timestamps are stored as REAL Unix seconds (UTC).
"""

from storage.db import Database

__all__ = ["Database"]
