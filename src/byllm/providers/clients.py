"""A process-wide cache of clients and connection pools, keyed by kind, base URL and a stand-in for the key.

Building an SDK client costs far more than a request's bookkeeping and each one
owns a connection pool, so byllm builds one per (kind, base URL, key) and reuses
it. Async clients are also keyed by event loop: an async connection pool must
not outlive the loop it was opened on (``asyncio.run`` makes a new loop each time),
so a loop's clients are closed when that loop shuts down.

asyncio is imported by the first async client, not with this module: a program
whose calls are all synchronous never loads it.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Hashable

from byllm.logs import logger

if TYPE_CHECKING:
    import asyncio


_lock = threading.Lock()
_sync_clients: dict[Hashable, Any] = {}
# Per event loop: the loop itself (kept to tell a new loop from a dead one with the
# same id), its clients, and the async generator that closes them at loop shutdown.
_async_clients: dict[int, tuple[asyncio.AbstractEventLoop, dict[Hashable, Any], Any]] = {}


def key_identity(api_key: str | None) -> int:
    """An in-process stand-in for an API key in client and pool keys: its hash (salted per process), never the key.

    For keys shared with other processes use :func:`key_fingerprint`.
    """
    return hash(api_key)


@functools.lru_cache(maxsize=64)
def key_fingerprint(api_key: str | None) -> str:
    """A short, one-way fingerprint of an API key, the same in every process (rate-limit buckets in Redis)."""
    if not api_key:
        return ""
    import hashlib  # only where a fingerprint must be shared: the hashing library costs start-up time

    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


def cached_client(key: Hashable, build: Callable[[], Any]) -> Any:
    """The synchronous client stored under ``key``, built by ``build`` on first use."""
    client = _sync_clients.get(key)
    if client is None:
        with _lock:
            client = _sync_clients.get(key)
            if client is None:
                client = build()
                _sync_clients[key] = client
    return client


async def _close_at_loop_shutdown(loop_id: int, clients: dict[Hashable, Any]) -> AsyncIterator[None]:
    """Suspended for the loop's lifetime; its ``finally`` closes the loop's clients.

    ``asyncio.run`` (and any runner calling ``loop.shutdown_asyncgens()``) closes
    open async generators before closing the loop, which is the one moment the
    clients' connections can still be closed cleanly on their own loop.
    """
    try:
        yield
    finally:
        _async_clients.pop(loop_id, None)
        for client in list(clients.values()):
            try:
                closing = client.close()  # an SDK client's close is a coroutine; byllm's own pool closes at once
                if closing is not None:
                    await closing
            except Exception:  # closing is best effort: the loop is going away
                logger(__name__).debug("closing an async client failed", exc_info=True)
        if clients:
            import asyncio

            await asyncio.sleep(0)  # closed transports finish closing their sockets before the loop does


async def _start(generator: AsyncIterator[None]) -> None:
    await generator.__anext__()


def cached_async_client(key: Hashable, build: Callable[[], Any]) -> Any:
    """The async client for ``key`` on the running event loop, built on first use there."""
    import asyncio  # already loaded: the caller runs on an event loop

    loop = asyncio.get_running_loop()
    entry = _async_clients.get(id(loop))
    if entry is not None and entry[0] is loop:
        client = entry[1].get(key)
        if client is not None:
            return client
    with _lock:
        entry = _async_clients.get(id(loop))
        if entry is None or entry[0] is not loop:
            for loop_id, (known, _clients, _closer) in list(_async_clients.items()):
                if known.is_closed():  # a loop that never ran shutdown_asyncgens()
                    del _async_clients[loop_id]
            clients: dict[Hashable, Any] = {}
            closer = _close_at_loop_shutdown(id(loop), clients)
            loop.create_task(_start(closer))
            entry = (loop, clients, closer)
            _async_clients[id(loop)] = entry
        client = entry[1].get(key)
        if client is None:
            client = build()
            entry[1][key] = client
    return client


def clear_clients() -> None:
    """Forget every cached client (tests, or after rotating credentials); synchronous ones are closed."""
    with _lock:
        for client in _sync_clients.values():
            close = getattr(client, "close", None)
            if callable(close):
                close()
        _sync_clients.clear()
        _async_clients.clear()


def client_count() -> int:
    """How many clients serve synchronous calls: SDK clients and byllm's own pools (for tests)."""
    return len(_sync_clients)


def async_loop_count() -> int:
    """How many event loops have cached async clients (for tests)."""
    return len(_async_clients)


def _after_fork_in_child() -> None:
    _async_clients.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
