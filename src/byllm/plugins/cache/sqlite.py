"""The SQLite cache backend (and the SQLite file the call log shares): WAL, safe across threads and processes."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

BUSY_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class CacheStats:
    """What ``jac cache stats`` shows for one backend."""

    backend: str
    location: str
    entries: int
    expired: int
    size_bytes: int


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
        self._prepared_in: int | None = None

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened (and the schema created) on first use."""
        local = self._local
        if getattr(local, "pid", None) == os.getpid():
            return local.connection
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
        try:
            if self._prepared_in != os.getpid():
                connection.execute("PRAGMA journal_mode = WAL")  # stored in the file; idempotent
                connection.executescript(self.schema)
                self._prepared_in = os.getpid()
            connection.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            connection.close()
            raise
        local.connection, local.pid = connection, os.getpid()
        return connection

    def size_bytes(self) -> int:
        """The database's size on disk, write-ahead log included."""
        files = (self.path, Path(f"{self.path}-wal"))
        return sum(file.stat().st_size for file in files if file.exists())

    def close(self) -> None:
        """Close this thread's connection."""
        if getattr(self._local, "pid", None) == os.getpid():
            self._local.connection.close()
        self._local.pid = None


SCHEMA = "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL, expires REAL);"


class SqliteCache:
    """A cache in one SQLite file; expired entries are ignored, and removed by ``purge_expired``."""

    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self._file = SqliteFile(self.path, SCHEMA)

    def get(self, key: str) -> str | None:
        """The value stored under ``key``, or ``None`` when missing or expired."""
        row = self._file.connection().execute(
            "SELECT value FROM entries WHERE key = ? AND (expires IS NULL OR expires > ?)", (key, time.time())
        ).fetchone()
        return None if row is None else row[0]

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``, expiring after ``ttl`` seconds if given."""
        now = time.time()
        self._file.connection().execute(
            "INSERT OR REPLACE INTO entries (key, value, created, expires) VALUES (?, ?, ?, ?)",
            (key, value, now, now + ttl if ttl else None),
        )

    def delete(self, key: str) -> None:
        """Remove one entry."""
        self._file.connection().execute("DELETE FROM entries WHERE key = ?", (key,))

    def stats(self) -> CacheStats:
        """Live and expired entry counts and the file's size."""
        entries, expired = self._file.connection().execute(
            "SELECT COUNT(*), COALESCE(SUM(expires IS NOT NULL AND expires <= ?), 0) FROM entries", (time.time(),)
        ).fetchone()
        return CacheStats("sqlite", str(self.path), entries - expired, expired, self._file.size_bytes())

    def clear(self) -> int:
        """Remove every entry; return how many there were."""
        connection = self._file.connection()
        removed = connection.execute("DELETE FROM entries").rowcount
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return removed

    def purge_expired(self) -> int:
        """Remove expired entries; return how many."""
        sql = "DELETE FROM entries WHERE expires IS NOT NULL AND expires <= ?"
        return self._file.connection().execute(sql, (time.time(),)).rowcount

    def close(self) -> None:
        """Close this thread's connection."""
        self._file.close()
