"""The cache backend Protocol and opening a backend from its URL."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from byllm.errors import ConfigurationError
from byllm.settings import sqlite_path


@dataclass(frozen=True)
class CacheStats:
    """What ``jac cache stats`` shows for one backend."""

    backend: str
    location: str
    entries: int
    expired: int
    size_bytes: int


class CacheBackend(Protocol):
    """Where cached replies live: a key-value store with expiry."""

    url: str

    def get(self, key: str) -> str | None:
        """The value stored under ``key``, or ``None``."""
        ...

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds (forever if ``None``)."""
        ...

    def stats(self) -> CacheStats:
        """Counts and size of what is stored."""
        ...

    def clear(self) -> int:
        """Remove every entry; return how many were removed."""
        ...

    def purge_expired(self) -> int:
        """Remove expired entries; return how many were removed."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


_backends: dict[str, CacheBackend] = {}
_lock = threading.Lock()


def open_backend(url: str) -> CacheBackend:
    """The backend for a cache URL, opened once per process and reused."""
    backend = _backends.get(url)
    if backend is not None:
        return backend
    with _lock:
        backend = _backends.get(url)
        if backend is None:
            backend = _create_backend(url)
            _backends[url] = backend
    return backend


def _create_backend(url: str) -> CacheBackend:
    if url.startswith("sqlite:"):
        from byllm.plugins.cache_sqlite import SqliteCache

        return SqliteCache(sqlite_path(url))
    if url.startswith(("redis://", "rediss://", "unix://")):
        from byllm.plugins.cache_redis import RedisCache

        return RedisCache(url)
    raise ConfigurationError(f"unknown cache backend {url!r}; use sqlite:///path or redis://host:port/db")


def close_backends() -> None:
    """Close and forget every open backend (tests, or after changing locations)."""
    with _lock:
        for backend in _backends.values():
            backend.close()
        _backends.clear()
