"""Batches: run one function over many inputs with a concurrency limit.

``byllm.map(fn, items, concurrency=32)`` (threads) and ``await byllm.amap(...)``
(one event loop) return results in input order. A failed item does not stop
the others: its place in the result list holds the exception instead, as with
``asyncio.gather(..., return_exceptions=True)``; :func:`failures` picks them out.
A Rich progress bar is drawn on stderr when stderr is a terminal.

``map(fn, items, executor=pool)`` runs the calls on any
``concurrent.futures.Executor`` instead (a process pool, Dask's
``client.get_executor()``): the function travels by reference and is rebuilt on
the worker with its own model and provider (see :mod:`byllm.scale.shipping`).
Provider batch jobs (half price, hours not seconds) are :func:`submit`.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import threading
from concurrent.futures import Executor, as_completed
from typing import TYPE_CHECKING, Any, Callable, Iterable

from byllm.errors import ConfigurationError

if TYPE_CHECKING:
    from byllm.batch_jobs.jobs import BatchJob

DEFAULT_CONCURRENCY = 32


def _calls(items: Iterable[Any], more_items: tuple[Iterable[Any], ...]) -> list[tuple[Any, ...]]:
    """Argument tuples, one per call: ``fn(item)``, or ``fn(a, b)`` when several iterables are zipped."""
    if more_items:
        return list(zip(items, *more_items))
    return [(item,) for item in items]


def _check_concurrency(concurrency: int) -> None:
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        raise ConfigurationError(f"concurrency must be a positive integer, got {concurrency!r}")


class _Progress:
    """A Rich progress bar on stderr, or nothing when stderr is not a terminal."""

    def __init__(self, total: int, label: str, enabled: bool | None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar: Any = None
        self._task: Any = None
        self.total = total
        self.label = label

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(console=Console(stderr=True), transient=False)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total)
        return self

    def advance(self) -> None:
        """One item finished."""
        if self._bar is not None:
            self._bar.advance(self._task)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _label(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def map(  # noqa: A001  (mirrors the builtin on purpose: byllm.map(fn, items))
    fn: Callable[..., Any],
    items: Iterable[Any],
    *more_items: Iterable[Any],
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: bool | None = None,
    executor: Executor | None = None,
    chunk_size: int = 1,
) -> list[Any]:
    """``[fn(item) for item in items]`` with up to ``concurrency`` calls at once, in input order.

    Extra iterables are zipped like the builtin ``map``. A failed call's place
    holds its exception. ``async def`` functions are run on one event loop
    (through :func:`amap`). ``progress=None`` shows a bar only on a terminal.

    With ``executor``, each task sent to it holds ``chunk_size`` calls, run on
    the worker with up to ``concurrency`` at once (one call per task by default).
    """
    _check_concurrency(concurrency)
    calls = _calls(items, more_items)
    if executor is not None:
        _check_concurrency(chunk_size)
        return _map_on_executor(fn, calls, executor, concurrency, chunk_size, progress)
    if inspect.iscoroutinefunction(fn):
        return asyncio.run(amap(fn, *zip(*calls), concurrency=concurrency, progress=progress)) if calls else []
    with _Progress(len(calls), _label(fn), progress) as bar:
        return _run_in_threads(fn, calls, concurrency, bar)


def _run_in_threads(fn: Callable[..., Any], calls: list[tuple[Any, ...]], concurrency: int, bar: _Progress) -> list[Any]:
    """Each call's result (or exception) in input order, from up to ``concurrency`` threads taking calls in turn.

    Plain threads sharing one list of calls, rather than an executor: no future
    per call, and the caller's thread sleeps until the end instead of waking for
    every finished call (which cost a thread switch per call at 64 threads).
    """
    results: list[Any] = [None] * len(calls)
    pending = iter(enumerate(calls))
    lock = threading.Lock()
    stopped = False

    def work() -> None:
        while True:
            with lock:
                taken = None if stopped else next(pending, None)
            if taken is None:
                return
            index, arguments = taken
            try:
                results[index] = fn(*arguments)
            except BaseException as error:  # kept in the result list, per item (as an executor's future keeps it)
                results[index] = error
            bar.advance()

    threads = [threading.Thread(target=work, name=f"byllm-map_{number}")
               for number in range(min(concurrency, len(calls)))]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException:  # interrupted (KeyboardInterrupt): no new calls start; those running finish
        stopped = True
        raise
    return results


async def amap(
    fn: Callable[..., Any],
    items: Iterable[Any],
    *more_items: Iterable[Any],
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: bool | None = None,
) -> list[Any]:
    """Async :func:`map`: at most ``concurrency`` calls in flight on the running loop.

    ``async def`` functions are awaited; plain functions run in worker threads.
    """
    _check_concurrency(concurrency)
    calls = _calls(items, more_items)
    results: list[Any] = [None] * len(calls)
    pending = iter(enumerate(calls))
    is_async = inspect.iscoroutinefunction(fn)
    with _Progress(len(calls), _label(fn), progress) as bar:

        async def worker() -> None:
            # ``concurrency`` workers take the calls in turn: no task and no semaphore wait per call.
            for index, arguments in pending:
                try:
                    if is_async:
                        results[index] = await fn(*arguments)
                    else:
                        result = await asyncio.to_thread(fn, *arguments)
                        results[index] = await result if inspect.isawaitable(result) else result
                except Exception as error:  # kept in the result list, per item
                    results[index] = error
                finally:
                    bar.advance()

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(calls)))))
    return results


def _map_on_executor(fn: Callable[..., Any], calls: list[tuple[Any, ...]], executor: Executor, concurrency: int,
                     chunk_size: int, progress: bool | None) -> list[Any]:
    """:func:`map` on an executor: chunks of calls as tasks, results put back in input order."""
    from byllm.scale.shipping import RemoteFailure, ship

    shipped = ship(fn)
    results: list[Any] = [None] * len(calls)
    with _Progress(len(calls), _label(fn), progress) as bar:
        futures = {}
        for start in range(0, len(calls), chunk_size):
            chunk = calls[start:start + chunk_size]
            if chunk_size == 1:
                futures[executor.submit(shipped, *chunk[0])] = start
            else:
                futures[executor.submit(_run_chunk, shipped, chunk, concurrency)] = start
        for future in as_completed(futures):
            start = futures[future]
            error = future.exception()
            if error is not None:  # the task itself failed (a worker died, unpicklable input): each of its items
                done = [error] * min(chunk_size, len(calls) - start)
            else:
                done = future.result() if chunk_size > 1 else [future.result()]
            for offset, value in enumerate(done):
                results[start + offset] = RemoteFailure.unwrap(value)
                bar.advance()
    return results


def _run_chunk(shipped: Callable[..., Any], chunk: list[tuple[Any, ...]], concurrency: int) -> list[Any]:
    """One executor task: a chunk of calls on the worker, through :func:`map`'s threads."""
    from byllm.scale.shipping import RemoteFailure

    values = map(shipped, *zip(*chunk), concurrency=concurrency, progress=False)
    return [RemoteFailure(value) if isinstance(value, BaseException) else value for value in values]


def submit(fn: Callable[..., Any], items: Iterable[Any], *more_items: Iterable[Any], **options: Any) -> BatchJob:
    """Send ``fn`` over ``items`` to the provider's batch API (half price, results within hours); return the job.

    See :func:`byllm.batch_jobs.jobs.submit` for the options.
    """
    from byllm.batch_jobs.jobs import submit as submit_job

    return submit_job(fn, items, *more_items, **options)


def failures(results: Iterable[Any]) -> list[tuple[int, BaseException]]:
    """``(index, exception)`` for every failed item of a :func:`map` / :func:`amap` result."""
    return [(index, result) for index, result in enumerate(results) if isinstance(result, BaseException)]

