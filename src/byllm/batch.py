"""Batches: run one function over many inputs with a concurrency limit.

``byllm.map(fn, items, concurrency=32)`` (threads) and ``await byllm.amap(...)``
(one event loop) return results in input order. A failed item does not stop
the others: its place in the result list holds the exception instead, as with
``asyncio.gather(..., return_exceptions=True)``; :func:`failures` picks them out.
A Rich progress bar is drawn on stderr when stderr is a terminal.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Callable, Iterable

from byllm.errors import ConfigurationError

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
) -> list[Any]:
    """``[fn(item) for item in items]`` with up to ``concurrency`` calls at once, in input order.

    Extra iterables are zipped like the builtin ``map``. A failed call's place
    holds its exception. ``async def`` functions are run on one event loop
    (through :func:`amap`). ``progress=None`` shows a bar only on a terminal.
    """
    _check_concurrency(concurrency)
    calls = _calls(items, more_items)
    if inspect.iscoroutinefunction(fn):
        return asyncio.run(amap(fn, *zip(*calls), concurrency=concurrency, progress=progress)) if calls else []
    results: list[Any] = [None] * len(calls)
    with _Progress(len(calls), _label(fn), progress) as bar:
        if not calls:
            return results
        with ThreadPoolExecutor(max_workers=min(concurrency, len(calls)), thread_name_prefix="byllm-map") as pool:
            futures = {pool.submit(fn, *arguments): index for index, arguments in enumerate(calls)}
            for future in as_completed(futures):
                index = futures[future]
                error = future.exception()
                results[index] = error if error is not None else future.result()
                bar.advance()
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
    limit = asyncio.Semaphore(concurrency)
    is_async = inspect.iscoroutinefunction(fn)
    with _Progress(len(calls), _label(fn), progress) as bar:

        async def run(arguments: tuple[Any, ...]) -> Any:
            async with limit:
                try:
                    if is_async:
                        return await fn(*arguments)
                    result = await asyncio.to_thread(fn, *arguments)
                    return await result if inspect.isawaitable(result) else result
                except Exception as error:  # kept in the result list, per item
                    return error
                finally:
                    bar.advance()

        return list(await asyncio.gather(*(run(arguments) for arguments in calls)))


def failures(results: Iterable[Any]) -> list[tuple[int, BaseException]]:
    """``(index, exception)`` for every failed item of a :func:`map` / :func:`amap` result."""
    return [(index, result) for index, result in enumerate(results) if isinstance(result, BaseException)]

