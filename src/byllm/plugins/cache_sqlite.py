"""The SQLite cache backend: one embedded file, WAL mode, safe across threads and processes."""

from __future__ import annotations

import time
from pathlib import Path

from byllm.plugins.cache_backend import CacheStats
from byllm.plugins.sqlite_files import SqliteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL
);
"""


class SqliteCache:
    """A cache in one SQLite file; each entry is written in its own transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self._file = SqliteFile(self.path, SCHEMA, "SQLite cache")

    def get(self, key: str) -> str | None:
        """The value stored under ``key``, or ``None`` when missing or expired."""
        row = self._file.connection().execute("SELECT value, expires FROM entries WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        value, expires = row
        if expires is not None and expires <= time.time():
            return None
        return value

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``, expiring after ``ttl`` seconds if given."""
        now = time.time()
        self._file.connection().execute(
            "INSERT OR REPLACE INTO entries (key, value, created, expires) VALUES (?, ?, ?, ?)",
            (key, value, now, now + ttl if ttl else None),
        )

    def stats(self) -> CacheStats:
        """Live and expired entry counts and the file's size."""
        entries, expired = (
            self._file.connection()
            .execute(
                "SELECT COUNT(*), COALESCE(SUM(expires IS NOT NULL AND expires <= ?), 0) FROM entries", (time.time(),)
            )
            .fetchone()
        )
        return CacheStats(
            backend="sqlite",
            location=str(self.path),
            entries=entries - expired,
            expired=expired,
            size_bytes=self._file.size_bytes(),
        )

    def clear(self) -> int:
        """Remove every entry; return how many there were."""
        connection = self._file.connection()
        removed = connection.execute("DELETE FROM entries").rowcount
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return removed

    def purge_expired(self) -> int:
        """Remove expired entries; return how many."""
        return (
            self._file.connection()
            .execute("DELETE FROM entries WHERE expires IS NOT NULL AND expires <= ?", (time.time(),))
            .rowcount
        )

    def close(self) -> None:
        """Close this thread's connection."""
        self._file.close()
