"""The public surface of byllm: ``from byllm.lib import Model, by, sem``."""

from __future__ import annotations

import inspect
import sys
from typing import Any, Callable, TypeVar

from jaclang.runtimelib.by_llm import llm_function
from jaclang.runtimelib.semstr import set_sem
from byllm.errors import (
    AuthenticationError,
    ByLLMError,
    ConfigurationError,
    EmptyReplyError,
    MalformedReplyError,
    MaxIterationsError,
    MockExhaustedError,
    OutputConversionError,
    ProviderError,
    ProviderTimeout,
    RateLimitError,
    ToolError,
)
from byllm.call import Attempt, CallRecord, PendingCall, ToolTurn
from byllm.llm import MockLLM, Model
from byllm.meaning import LOCAL_NAMES_ATTRIBUTE

Target = TypeVar("Target")

__all__ = [
    "Attempt",
    "AuthenticationError",
    "ByLLMError",
    "CallRecord",
    "ConfigurationError",
    "EmptyReplyError",
    "MalformedReplyError",
    "MaxIterationsError",
    "MockExhaustedError",
    "MockLLM",
    "Model",
    "OutputConversionError",
    "PendingCall",
    "ProviderError",
    "ProviderTimeout",
    "RateLimitError",
    "ToolError",
    "ToolTurn",
    "by",
    "sem",
]


def by(model: Model | Callable[[], Model]) -> Callable[[Callable], Callable]:
    """Make a typed, bodiless Python function (or method) answered by ``model``.

    ``@by(llm)``, ``@by(llm(temperature=0.2))``; works on ``async def`` too. The
    function's body is never run: its name, docstring, ``sem`` texts, typed
    parameters and return type are the prompt.
    """
    if isinstance(model, Model):
        decorate = llm_function(model)
    elif callable(model):
        decorate = llm_function(model, lazy=True)
    else:
        raise TypeError(f"by() takes a Model, got {type(model).__name__}")
    defining_frame = sys._getframe(1)
    local_names = dict(defining_frame.f_locals) if defining_frame.f_locals is not defining_frame.f_globals else None
    del defining_frame

    def remember_names_and_decorate(function: Callable) -> Callable:
        if local_names:
            setattr(inspect.unwrap(function), LOCAL_NAMES_ATTRIBUTE, local_names)
        return decorate(function)

    return remember_names_and_decorate


def sem(text: str | None = None, /, **parts: str) -> Callable[[Target], Target]:
    """Attach meaning to a function, class or enum: ``@sem("what it is", field="what it means")``.

    Keyword texts describe parts: a function's parameters (and ``return``), a
    class's fields, an enum's members.
    """

    def attach(target: Target) -> Target:
        owner: Any = inspect.unwrap(target) if inspect.isfunction(target) else target
        if text is not None:
            set_sem(owner, "", text)
        for part, part_text in parts.items():
            set_sem(owner, part, part_text)
        return target

    return attach


def __getattr__(name: str) -> Any:
    """Lazily expose the media, tool and batch helpers (heavier imports)."""
    lazy = {
        "Image": "byllm.media",
        "Video": "byllm.media",
        "MockToolCall": "byllm.tools",
        "map": "byllm.batch",
        "amap": "byllm.batch",
    }
    if name in lazy:
        import importlib

        return getattr(importlib.import_module(lazy[name]), name)
    raise AttributeError(f"module 'byllm.lib' has no attribute {name!r}")
