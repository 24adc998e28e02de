"""The SQLite cache backend, and the SQLite file handling the call log shares with it."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

from byllm.plugins.cache import CacheStats

BUSY_TIMEOUT_SECONDS = 30.0


class SqliteFile:
    """A SQLite database in WAL mode with one connection per thread and process.

    Every statement runs in autocommit mode, so each write is its own
    transaction: a process killed mid-write leaves a file that opens. A forked
    child opens its own connection (SQLite forbids sharing one).
    """

    def __init__(self, path: Path, schema: str) -> None:
        self.path = Path(path)
        self.schema = schema
        self._local = threading.local()

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened (and the schema created) on first use."""
        local = self._local
        if getattr(local, "pid", None) == os.getpid():
            return local.connection
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
        try:
            connection.execute("PRAGMA journal_mode = WAL")  # stored in the file; idempotent
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.executescript(self.schema)
        except BaseException:
            connection.close()
            raise
        local.connection, local.pid = connection, os.getpid()
        return connection

    def execute(self, sql: str, arguments: tuple | list = ()) -> sqlite3.Cursor:
        """Run one statement on this thread's connection."""
        return self.connection().execute(sql, arguments)


SCHEMA = "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL, expires REAL);"
EXPIRED = "expires IS NOT NULL AND expires <= ?"


class SqliteCache(SqliteFile):
    """A cache in one SQLite file; expired entries are ignored until ``clear(expired_only=True)``."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)

    def get(self, key: str) -> str | None:
        """The live value stored under ``key``, or ``None``."""
        row = self.execute(f"SELECT value FROM entries WHERE key = ? AND NOT ({EXPIRED})", (key, time.time())).fetchone()
        return None if row is None else row[0]

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``, expiring after ``ttl`` seconds if given."""
        now = time.time()
        sql = "INSERT OR REPLACE INTO entries (key, value, created, expires) VALUES (?, ?, ?, ?)"
        self.execute(sql, (key, value, now, now + ttl if ttl else None))

    def stats(self) -> CacheStats:
        """Live and expired entry counts and the size on disk (nothing is created to report on)."""
        if not self.path.exists():
            return CacheStats("sqlite", str(self.path), 0, 0, 0)
        sql = f"SELECT COUNT(*), COALESCE(SUM({EXPIRED}), 0) FROM entries"
        entries, expired = self.execute(sql, (time.time(),)).fetchone()
        files = (self.path, Path(f"{self.path}-wal"))
        size = sum(file.stat().st_size for file in files if file.exists())
        return CacheStats("sqlite", str(self.path), entries - expired, expired, size)

    def clear(self, expired_only: bool = False) -> int:
        """Remove every entry, or only the expired ones; return how many."""
        if not self.path.exists():
            return 0
        if expired_only:
            return self.execute(f"DELETE FROM entries WHERE {EXPIRED}", (time.time(),)).rowcount
        removed = self.execute("DELETE FROM entries").rowcount
        self.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return removed
