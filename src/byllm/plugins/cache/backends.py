"""Where the cache keeps replies: one SQLite file, or a Redis server shared by a fleet of machines.

SQLite is in WAL mode, one connection per thread and process, each write its own transaction
(:class:`SqliteFile`, which the call log uses too). Redis commands time out quickly and are never
retried by the client; a circuit breaker skips a server that failed several times in a row until a
cool-down has passed.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol, TypeVar

from byllm.errors import ConfigurationError

@dataclass(frozen=True)
class CacheStats:
    """What ``jac cache stats`` shows for one backend."""

    backend: str
    location: str
    entries: int
    expired: int
    size_bytes: int


class CacheBackend(Protocol):
    """Where cached replies live: :class:`SqliteCache` or :class:`RedisCache`."""

    def get(self, key: str) -> str | None:
        """The live value stored under ``key``, or ``None``."""

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds (forever if ``None``)."""

    def stats(self) -> CacheStats:
        """Counts and size of what is stored."""

    def clear(self, expired_only: bool = False) -> int:
        """Remove every entry, or only the expired ones; return how many."""


BUSY_TIMEOUT_SECONDS = 30.0
KEY_PREFIX = "byllm:cache:"
TIMEOUT_SECONDS = 0.25
FAILURES_TO_OPEN = 3
COOL_DOWN_SECONDS = 30.0

Result = TypeVar("Result")


class SqliteFile:
    """A SQLite database in WAL mode with one connection per thread and process; subclasses set ``schema``.

    Every statement runs in autocommit mode, so each write is its own
    transaction: a process killed mid-write leaves a file that opens. A forked
    child opens its own connection (SQLite forbids sharing one).
    """

    schema = ""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
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


EXPIRED = "expires IS NOT NULL AND expires <= ?"


class SqliteCache(SqliteFile):
    """A cache in one SQLite file; expired entries are ignored until ``clear(expired_only=True)``."""

    schema = "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL, expires REAL);"

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


class CacheUnavailable(RuntimeError):
    """The cache server is failing; the circuit is open until its cool-down ends."""


class RedisCache:
    """A cache in Redis; keys are prefixed so ``clear`` removes only byllm's entries.

    A circuit breaker guards it: after ``FAILURES_TO_OPEN`` failures in a row, commands are
    refused for ``COOL_DOWN_SECONDS``; then one command probes the server again.
    """

    def __init__(self, url: str) -> None:
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError:
            raise ConfigurationError("the Redis cache needs the redis package: pip install 'jaclang[redis]'") from None
        self.url = url
        self.failures = 0
        self.open_until = 0.0
        self._lock = threading.Lock()
        self._client: Any = redis.Redis.from_url(
            url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS, retry=Retry(NoBackoff(), 0)
        )

    @property
    def circuit_open(self) -> bool:
        """Whether commands are refused right now."""
        return self.failures >= FAILURES_TO_OPEN and time.monotonic() < self.open_until

    def _guarded(self, command: Callable[[], Result]) -> Result:
        """Run ``command`` unless the circuit is open; count its failure or success."""
        with self._lock:
            if self.circuit_open:
                raise CacheUnavailable(f"skipped: {self.failures} failures in a row, retrying later")
            if self.failures >= FAILURES_TO_OPEN:
                self.open_until = time.monotonic() + COOL_DOWN_SECONDS  # half-open: this one command probes
        try:
            result = command()
        except Exception:
            with self._lock:
                self.failures += 1
                self.open_until = time.monotonic() + COOL_DOWN_SECONDS  # counts from the FAILURES_TO_OPEN-th on
            raise
        self.failures = 0
        return result

    def get(self, key: str) -> str | None:
        """The value stored under ``key``, or ``None`` (Redis expires entries itself)."""
        value = self._guarded(lambda: self._client.get(KEY_PREFIX + key))
        return None if value is None else value.decode("utf-8", "surrogateescape")

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``, expiring after ``ttl`` seconds if given."""
        expiry = max(int(ttl * 1000), 1) if ttl else None
        self._guarded(lambda: self._client.set(KEY_PREFIX + key, value, px=expiry))

    def _keys(self) -> list[bytes]:
        return list(self._client.scan_iter(match=KEY_PREFIX + "*", count=1000))

    def stats(self) -> CacheStats:
        """Entry count and the memory the entries use."""
        keys = self._keys()
        pipeline = self._client.pipeline(transaction=False)
        for key in keys:
            pipeline.memory_usage(key)
        size = sum(used or 0 for used in pipeline.execute())  # an empty pipeline sends nothing
        return CacheStats("redis", self.url, len(keys), 0, size)

    def clear(self, expired_only: bool = False) -> int:
        """Remove byllm's entries; return how many (Redis drops expired ones itself)."""
        if expired_only:
            return 0
        keys = self._keys()
        return sum(self._client.delete(*keys[start : start + 500]) for start in range(0, len(keys), 500))
