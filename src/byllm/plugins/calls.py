"""Grouping completions by the ``by llm()`` call they belong to.

A wrapper on ``call_llm`` opens a :class:`CallContext` in a context variable;
wrappers on ``llm_complete`` add each completion to the innermost open context
(nested calls made by tools get their own). Async calls keep the context: the
task running them copies the context variables when it is created.
"""

from __future__ import annotations

import contextvars
import inspect
import sys
import time
import types
from dataclasses import dataclass, field
from typing import Any, Callable

from byllm.providers.base import CompletionReply, CompletionRequest
from byllm.plugins.records import is_cache_hit


@dataclass
class CompletionEvent:
    """One completion: what was asked, what came back (or failed), and how long it took."""

    request: CompletionRequest
    reply: CompletionReply | None = None
    error: BaseException | None = None
    seconds: float = 0.0

    @property
    def cached(self) -> bool:
        """Whether a cache answered instead of the provider."""
        return self.reply is not None and is_cache_hit(self.reply)


@dataclass
class CallContext:
    """One ``by llm()`` call in progress and the completions it has made so far."""

    function: str
    model: Any
    started: float = field(default_factory=time.time)
    clock: float = field(default_factory=time.perf_counter)
    completions: list[CompletionEvent] = field(default_factory=list)


class CallTracker:
    """A context variable holding the call each plugin is currently observing."""

    def __init__(self, name: str) -> None:
        self._current: contextvars.ContextVar[CallContext | None] = contextvars.ContextVar(
            f"byllm_{name}_call", default=None
        )

    def current(self) -> CallContext | None:
        """The innermost call open in this context, if any."""
        return self._current.get()

    def enter(self, context: CallContext) -> contextvars.Token:
        """Make ``context`` the current call; pass the token to :meth:`leave`."""
        return self._current.set(context)

    def leave(self, token: contextvars.Token) -> None:
        """Restore the call that was current before :meth:`enter`."""
        self._current.reset(token)


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


def observe_completion(
    tracker: CallTracker, request: CompletionRequest, started: float
) -> Callable[[CompletionReply | None, BaseException | None], CompletionEvent]:
    """A function recording one finished completion into the tracker's current call."""

    def record(reply: CompletionReply | None, error: BaseException | None) -> CompletionEvent:
        event = CompletionEvent(request=request, reply=reply, error=error, seconds=time.perf_counter() - started)
        context = tracker.current()
        if context is not None:
            context.completions.append(event)
        return event

    return record
