"""The Redis cache backend: one cache shared by a fleet of machines."""

from __future__ import annotations

from typing import Any

from byllm.errors import ConfigurationError
from byllm.plugins.cache_backend import CacheStats

KEY_PREFIX = "byllm:cache:"


class RedisCache:
    """A cache in Redis; keys are prefixed so ``clear`` removes only byllm's entries."""

    def __init__(self, url: str) -> None:
        try:
            import redis
        except ImportError:
            raise ConfigurationError(
                "the Redis cache needs the redis package: pip install 'jaclang[redis]'"
            ) from None
        self.url = url
        # Bounded waits: a hung cache server must slow a call down, never stall it.
        self._client: Any = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)

    def get(self, key: str) -> str | None:
        """The value stored under ``key``, or ``None`` (Redis expires entries itself)."""
        value = self._client.get(KEY_PREFIX + key)
        return None if value is None else value.decode("utf-8")

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``, expiring after ``ttl`` seconds if given."""
        if ttl:
            self._client.set(KEY_PREFIX + key, value, px=max(int(ttl * 1000), 1))
        else:
            self._client.set(KEY_PREFIX + key, value)

    def _keys(self) -> list[bytes]:
        return list(self._client.scan_iter(match=KEY_PREFIX + "*", count=1000))

    def stats(self) -> CacheStats:
        """Entry count and the memory the entries use."""
        keys = self._keys()
        size = 0
        for start in range(0, len(keys), 500):
            pipeline = self._client.pipeline(transaction=False)
            for key in keys[start : start + 500]:
                pipeline.memory_usage(key)
            size += sum(used or 0 for used in pipeline.execute())
        return CacheStats(backend="redis", location=self.url, entries=len(keys), expired=0, size_bytes=size)

    def clear(self) -> int:
        """Remove byllm's entries; return how many there were."""
        keys = self._keys()
        removed = 0
        for start in range(0, len(keys), 500):
            removed += self._client.delete(*keys[start : start + 500])
        return removed

    def purge_expired(self) -> int:
        """Nothing to do: Redis drops expired keys itself."""
        return 0

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
