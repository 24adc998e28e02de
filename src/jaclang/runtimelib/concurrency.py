"""``flow`` and ``wait`` expressions: run an expression in a worker thread, then wait for its value."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

_pool: ThreadPoolExecutor | None = None


def flow(compute: Callable[[], Any]) -> Future:
    """``flow expr``: start ``expr`` in the program's thread pool and return its future (as upstream)."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(thread_name_prefix="jac-flow")
    return _pool.submit(compute)


def wait(task: Any) -> Any:
    """``wait task``: the value of a ``flow`` (raising what it raised); any other value as it is."""
    if isinstance(task, Future):
        return task.result()
    return task
