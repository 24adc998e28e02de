"""Finishing work once a ``by llm()`` call's result is final, for plain values and awaitables alike.

Its own small module because the usage plugin (on by default, loaded at every
``jac`` start-up) needs it, and nothing else of :mod:`byllm.plugins.calls`.
"""

from __future__ import annotations

import inspect
import sys
import types
from typing import Any, Callable


def when_settled(result: Any, finish: Callable[[Any, BaseException | None], None]) -> Any:
    """Call ``finish(value, error)`` once ``result`` is final; return what the caller should get.

    A plain value finishes now. An asyncio future or task (what ``Model.invoke``
    returns for ``async def`` functions) is returned unchanged and finishes when
    it completes. Any other awaitable is wrapped in a task that finishes after it.
    """
    kind = type(result)
    if kind in _PLAIN_TYPES:  # the common case, one look-up: a value of a type seen before
        finish(result, None)
        return result
    # asyncio is imported only by programs that use it; without it nothing is a future.
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None and isinstance(result, asyncio.Future):
        result.add_done_callback(lambda future: _finish_future(future, finish))
        return result
    # Awaitables define __await__ (the Awaitable ABC checks the same), except old
    # generator-based coroutines; testing the type first keeps plain values cheap.
    if hasattr(type(result), "__await__") or (isinstance(result, types.GeneratorType) and inspect.isawaitable(result)):
        import asyncio

        return asyncio.ensure_future(_await_then_finish(result, finish))
    if len(_PLAIN_TYPES) < _PLAIN_TYPES_LIMIT and not isinstance(result, types.GeneratorType):
        _PLAIN_TYPES.add(kind)  # neither a future nor awaitable: instances never are
    finish(result, None)
    return result


# Types whose instances were found to be plain values (no __await__, not futures).
_PLAIN_TYPES: set[type] = set()
_PLAIN_TYPES_LIMIT = 1024


def _finish_future(future: Any, finish: Callable[[Any, BaseException | None], None]) -> None:
    if future.cancelled():
        import asyncio

        finish(None, asyncio.CancelledError())
    elif future.exception() is not None:
        finish(None, future.exception())
    else:
        finish(future.result(), None)


async def _await_then_finish(awaitable: Any, finish: Callable[[Any, BaseException | None], None]) -> Any:
    try:
        value = await awaitable
    except BaseException as error:
        finish(None, error)
        raise
    finish(value, None)
    return value
