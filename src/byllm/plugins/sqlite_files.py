"""SQLite connections shared by the cache and the call log: one per thread and process."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from byllm.errors import ConfigurationError

BUSY_TIMEOUT_MS = 30_000


class SqliteFile:
    """A SQLite database file in WAL mode, opened lazily per thread.

    A forked child never reuses its parent's connection (SQLite forbids it), and
    every statement runs in autocommit mode, so each write is one transaction:
    a process killed mid-write leaves the file consistent.
    """

    def __init__(self, path: Path, schema: str, purpose: str) -> None:
        self.path = Path(path)
        self.schema = schema
        self.purpose = purpose
        self._local = threading.local()
        self._prepared_in: int | None = None

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened (and the schema created) on first use."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None and getattr(self._local, "pid", None) == os.getpid():
            return connection
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if self._prepared_in != os.getpid():
                # WAL mode is stored in the file; the schema statement is idempotent.
                connection.execute("PRAGMA journal_mode = WAL")
                connection.executescript(self.schema)
                self._prepared_in = os.getpid()
            connection.execute("PRAGMA synchronous = NORMAL")
        except (sqlite3.Error, OSError) as error:
            raise ConfigurationError(f"cannot open the {self.purpose} {str(self.path)!r}: {error}") from error
        self._local.connection = connection
        self._local.pid = os.getpid()
        return connection

    def size_bytes(self) -> int:
        """The database's size on disk, write-ahead log included."""
        return sum(
            candidate.stat().st_size for candidate in (self.path, Path(f"{self.path}-wal")) if candidate.exists()
        )

    def close(self) -> None:
        """Close this thread's connection."""
        connection = getattr(self._local, "connection", None)
        if connection is not None and getattr(self._local, "pid", None) == os.getpid():
            connection.close()
        self._local.connection = None
