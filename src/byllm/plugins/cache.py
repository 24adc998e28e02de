"""The persistent cache plugin: identical completions are answered from SQLite or Redis.

The key is the model name plus the exact request: sampling parameters,
messages, output schema and tools. The cache is off unless configured
(``BYLLM_CACHE``, the config file, or ``Model(..., cache=...)``); calls to the
scripted mock model are never cached unless asked for explicitly, because a
mock answers with its outputs in order.

This module is the ``byllm-cache`` entry point and stays light, since every
``jac`` start-up loads it: the working parts (policy, look-up, store, counters,
:class:`~byllm.plugins.cache_hooks.CacheHooks`) live in
:mod:`byllm.plugins.cache_hooks`, imported when the cache is first switched on.
Every one of their names can still be imported from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jaclang.runtimelib.machine import hookimpl
import byllm.hooks  # noqa: F401  (the llm_complete hook specs)
from byllm.plugins.switches import HookSwitch, add_switch

if TYPE_CHECKING:
    import argparse

    from byllm.settings import Settings


class CachePlugin:
    """The ``byllm-cache`` plugin: ``jac cache``, and :class:`CacheHooks` while a cache is in use.

    Off (no cache configured, no model asking for one) it adds no hook to any call.
    """

    @staticmethod
    @hookimpl
    def add_cli_commands(subparsers: argparse._SubParsersAction) -> None:
        """Add ``jac cache stats | clear``."""
        from byllm.plugins.cli import add_cache_command

        add_cache_command(subparsers)


def _cache_configured(settings: Settings) -> bool:
    return settings.cache is not None


switch = add_switch(
    HookSwitch(CachePlugin, "byllm.plugins.cache_hooks:CacheHooks", "byllm-cache:hooks", "cache", _cache_configured)
)


def __getattr__(name: str) -> Any:
    """The cache's working parts (``counters``, ``cache_policy``, ``CacheHooks``, ...), imported on first use."""
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from byllm.plugins import cache_hooks

    try:
        return getattr(cache_hooks, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
