"""A process-wide cache of SDK clients, keyed by client kind, base URL and a hash of the key.

Building an SDK client costs far more than a request's bookkeeping and each one
owns a connection pool, so byllm builds one per (kind, base URL, key) and reuses
it. Async clients are also keyed by event loop: an async connection pool must
not outlive the loop it was opened on (``asyncio.run`` makes a new loop each time),
so a loop's clients are closed when that loop shuts down.

Synchronous callers of an async client share :func:`background_loop`: one event
loop on a daemon thread, owning that client's pool for every thread of the
process; its clients are closed at exit.

asyncio is imported by the first async client or background loop, not with this
module: a program whose calls are all synchronous never loads it.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import threading
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable, Hashable, TypeVar

from byllm.logs import logger

if TYPE_CHECKING:
    import asyncio


Result = TypeVar("Result")
_lock = threading.Lock()
_sync_clients: dict[Hashable, Any] = {}
# Per event loop: the loop itself (kept to tell a new loop from a dead one with the
# same id), its clients, and the async generator that closes them at loop shutdown.
_async_clients: dict[int, tuple[asyncio.AbstractEventLoop, dict[Hashable, Any], Any]] = {}


@functools.lru_cache(maxsize=64)
def key_fingerprint(api_key: str | None) -> str:
    """A short, one-way fingerprint of an API key, safe to keep in a cache key."""
    if not api_key:
        return ""
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
                await client.close()
            except Exception:  # closing is best effort: the loop is going away
                logger(__name__).debug("closing an async client failed", exc_info=True)


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
    """Forget every cached client (tests, or after rotating credentials); the background loop's are closed."""
    _background.stop()
    with _lock:
        for client in _sync_clients.values():
            close = getattr(client, "close", None)
            if callable(close):
                close()
        _sync_clients.clear()
        _async_clients.clear()


def client_count() -> int:
    """How many clients serve synchronous calls: SDK clients, and those on the background loop (for tests)."""
    loop = _background._loop
    entry = _async_clients.get(id(loop)) if loop is not None else None
    return len(_sync_clients) + (len(entry[1]) if entry is not None and entry[0] is loop else 0)


def async_loop_count() -> int:
    """How many event loops have cached async clients, the background loop not counted (for tests)."""
    loop = _background._loop
    return len(_async_clients) - (1 if loop is not None and id(loop) in _async_clients else 0)


class BackgroundLoop:
    """An event loop on a daemon thread, where synchronous code runs coroutines.

    Sync calls from any thread submit to this one loop, so they share its
    clients and connection pools (a pool per thread would open a connection per
    thread, and an ``asyncio.run`` per call would open one per call). At exit
    the loop's async generators are shut down, which closes its clients.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._thread_id: int | None = None
        self._start_lock = threading.Lock()

    def loop(self) -> asyncio.AbstractEventLoop:
        """The running background loop, started on first use."""
        loop = self._loop
        if loop is not None:
            return loop
        with self._start_lock:
            if self._loop is None:
                import asyncio

                loop = asyncio.new_event_loop()
                started = threading.Event()
                thread = threading.Thread(target=self._run, args=(loop, started), name="byllm-io", daemon=True)
                thread.start()
                started.wait()
                self._thread, self._thread_id, self._loop = thread, thread.ident, loop
                atexit.register(self.stop)
            return self._loop

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop, started: threading.Event) -> None:
        import asyncio

        asyncio.set_event_loop(loop)
        loop.call_soon(started.set)
        loop.run_forever()

    def run(self, awaitable: Awaitable[Result]) -> Result:
        """Run ``awaitable`` on the background loop and wait for its result (from any other thread)."""
        if threading.get_ident() == self._thread_id:  # waiting here for the loop would wait forever
            close = getattr(awaitable, "close", None)
            if callable(close):
                close()
            raise RuntimeError("a synchronous byllm call was made on byllm's own I/O thread; make it from "
                               "another thread, or await the async form")
        handoff = _Handoff(awaitable)
        loop = self._loop or self.loop()
        loop.call_soon_threadsafe(handoff.start)
        try:
            handoff.finished.acquire()
        except BaseException:  # interrupted while waiting (KeyboardInterrupt): stop the work too
            loop.call_soon_threadsafe(handoff.cancel)
            raise
        return handoff.result()

    def stop(self) -> None:
        """Close the loop's clients and stop its thread (registered with ``atexit``)."""
        with self._start_lock:
            loop, thread, self._loop, self._thread, self._thread_id = self._loop, self._thread, None, None, None
        if loop is None or thread is None or not thread.is_alive():
            return
        import asyncio

        try:
            asyncio.run_coroutine_threadsafe(loop.shutdown_asyncgens(), loop).result(timeout=5)
        except Exception:  # closing is best effort at exit
            logger(__name__).debug("closing the background loop's clients failed", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        if not thread.is_alive():
            loop.close()

    def forget(self) -> None:
        """Drop the loop without stopping it: in a forked child, the thread running it does not exist."""
        self._loop, self._thread, self._thread_id, self._start_lock = None, None, None, threading.Lock()


class _Handoff:
    """One awaitable run on the background loop for a thread blocked on ``finished``.

    A task and one lock per call, the cheapest handoff we measured: 97k
    instructions a hop (callgrind) against 163k for
    ``asyncio.run_coroutine_threadsafe``, which adds a ``concurrent.futures.Future``,
    its condition variable and a callback chained each way.
    """

    __slots__ = ("awaitable", "task", "error", "finished", "cancelled")

    def __init__(self, awaitable: Awaitable[Any]) -> None:
        self.awaitable = awaitable
        self.task: asyncio.Future[Any] | None = None
        self.error: BaseException | None = None  # the awaitable could not be started (not awaitable)
        self.cancelled = False
        self.finished = threading.Lock()
        self.finished.acquire()

    def start(self) -> None:
        """On the loop: start the task, or drop the awaitable if the caller has already given up."""
        if self.cancelled:
            close = getattr(self.awaitable, "close", None)
            if callable(close):
                close()
            return
        import asyncio  # loaded: this runs on the background loop

        try:
            self.task = asyncio.ensure_future(self.awaitable)
        except BaseException as error:  # handed back to the waiting thread
            self.error = error
            self.finished.release()
            return
        self.task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[Any]) -> None:
        self.finished.release()

    def cancel(self) -> None:
        """On the loop: the waiting thread was interrupted."""
        self.cancelled = True
        if self.task is not None:
            self.task.cancel()

    def result(self) -> Any:
        """The task's result or exception, in the waiting thread."""
        task = self.task
        if task is None:
            raise self.error  # type: ignore[misc]
        if task.cancelled():
            import concurrent.futures

            raise concurrent.futures.CancelledError()
        return task.result()


_background = BackgroundLoop()


def background_loop() -> BackgroundLoop:
    """The process's background loop for synchronous callers of async clients."""
    return _background


def _after_fork_in_child() -> None:
    _background.forget()
    _async_clients.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
