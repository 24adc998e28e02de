"""Grouping completions by the ``by llm()`` call they belong to.

A wrapper on ``call_llm`` opens a :class:`CallContext` in a context variable;
wrappers on ``llm_complete`` add each completion to the innermost open context
(nested calls made by tools get their own). Async calls keep the context: the
task running them copies the context variables when it is created.
"""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from byllm.plugins.marks import is_cache_hit
from byllm.plugins.settle import when_settled

if TYPE_CHECKING:
    from byllm.providers.base import CompletionReply, CompletionRequest

__all__ = ["CallContext", "CallTracker", "CompletionEvent", "observe_completion", "when_settled"]


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
