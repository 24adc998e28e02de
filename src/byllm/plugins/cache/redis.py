"""The Redis cache backend: one cache for a fleet of machines, never slower than its timeouts.

Commands time out quickly and are never retried by the client; a circuit breaker skips a
server that failed several times in a row until a cool-down has passed.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, TypeVar

from byllm.errors import ConfigurationError
from byllm.plugins.cache import CacheStats

KEY_PREFIX = "byllm:cache:"
TIMEOUT_SECONDS = 0.25
FAILURES_TO_OPEN = 3
COOL_DOWN_SECONDS = 30.0

Result = TypeVar("Result")


class CacheUnavailable(RuntimeError):
    """The cache server is failing; the circuit is open until its cool-down ends."""


class RedisCache:
    """A cache in Redis; keys are prefixed so ``clear`` removes only byllm's entries.

    A circuit breaker guards it: after ``FAILURES_TO_OPEN`` failures in a row, commands are
    refused for ``COOL_DOWN_SECONDS``; then one command probes the server again.
    """

    def __init__(self, url: str, timeout: float = TIMEOUT_SECONDS) -> None:
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
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
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
        size = sum(used or 0 for used in pipeline.execute()) if keys else 0
        return CacheStats("redis", self.url, len(keys), 0, size)

    def clear(self, expired_only: bool = False) -> int:
        """Remove byllm's entries; return how many (Redis drops expired ones itself)."""
        if expired_only:
            return 0
        keys = self._keys()
        return sum(self._client.delete(*keys[start : start + 500]) for start in range(0, len(keys), 500))
