"""A caching plugin that composes with provider plugins.

A Pluggy wrapper cannot skip the implementations inside it, so the cache has
two hook implementations of ``call_llm`` on one plugin (Pluggy's ``specname``):
a ``tryfirst`` lookup that answers a repeated call (returning a value ends a
``firstresult`` hook), and a wrapper that stores whatever answered a new call.
"""

from __future__ import annotations

from typing import Any, Callable, Generator

from jaclang.runtimelib.machine import hookimpl
from byllm.llm import Model


def cache_key(model: Model, caller: Callable, args: dict[str | int, object]) -> str:
    """What identifies a call: function, model, per-call parameters and arguments."""
    function = getattr(caller, "__qualname__", caller.__name__)
    return repr((function, model.model_name, sorted(model.call_params.items(), key=str), args))


class CachingWrapper:
    """Answer repeated calls from memory; let every new call through to the provider."""

    cache: dict[str, Any] = {}

    @staticmethod
    @hookimpl(specname="call_llm", tryfirst=True)
    def lookup(model: Model, caller: Callable, args: dict[str | int, object]) -> object:
        """Return the cached answer, or ``None`` so the next plugin answers."""
        key = cache_key(model, caller, args)
        if key in CachingWrapper.cache:
            print(f"[cache] hit {caller.__name__}")
            return CachingWrapper.cache[key]
        return None

    @staticmethod
    @hookimpl(specname="call_llm", wrapper=True)
    def store(
        model: Model, caller: Callable, args: dict[str | int, object]
    ) -> Generator[None, object, object]:
        """Keep the answer of a new call (``None`` answers are not cached)."""
        key = cache_key(model, caller, args)
        result = yield
        if result is not None and key not in CachingWrapper.cache:
            CachingWrapper.cache[key] = result
            print(f"[cache] stored {caller.__name__}")
        return result
