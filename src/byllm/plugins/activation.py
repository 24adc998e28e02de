"""Switching the off-by-default plugins on: their working hooks are registered only while wanted.

The entry points of the cache, the call log, tracing and the rate limit carry no working hook
(:mod:`byllm.plugins.entry`), so a feature that is off costs nothing. Each feature's hooks are
registered, their module imported only then, while its entry point is loaded (not blocked by
``JAC_DISABLED_PLUGINS``) and the feature is wanted: the settings say so (matched when the first
model is made and each time they are read again), or a model or a call asked for it
(``Model(cache=...)``, ``by llm(log=True)``; once asked, the hooks stay and check the model's own
setting on every call).
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from typing import TYPE_CHECKING, Callable

from jaclang.runtimelib import machine
from byllm.settings import get_settings, when_settings_load

if TYPE_CHECKING:
    from byllm.settings import Settings


def rate_limit_wanted(settings: Settings) -> bool:
    """The settings switch the shared rate limit on (a store, or requests or tokens per minute)."""
    return bool(settings.rate_limit or settings.rate_limit_rpm or settings.rate_limit_tpm)


def tracing_wanted(settings: Settings) -> bool:
    """Spans are wanted: not switched off, OpenTelemetry installed, and ``on`` or a tracer provider set."""
    if settings.tracing == "off" or importlib.util.find_spec("opentelemetry") is None:
        return False  # decided without importing the tracing plugin
    from byllm.plugins.tracing import has_tracer_provider

    return settings.tracing == "on" or has_tracer_provider()


# The working hooks, in registration order: the name they are registered under (their entry point's
# name and a suffix), where they are (module:Class) and whether the settings want them.
HOOKS: dict[str, tuple[str, Callable[[Settings], bool]]] = {
    "byllm-cache:hooks": ("byllm.plugins.cache:CacheHooks", lambda settings: settings.cache is not None),
    "byllm-log:hooks": ("byllm.plugins.calllog:CallLogHooks", lambda settings: settings.log is not None),
    "byllm-tracing:hooks": ("byllm.plugins.tracing:TracingHooks", tracing_wanted),
    "byllm-ratelimit:gate": ("byllm.ratelimit:RateLimitGate", rate_limit_wanted),
    "byllm-ratelimit:hooks": ("byllm.ratelimit:RateLimitWrapper", rate_limit_wanted),
}
requested: set[str] = set()  # the hooks a model or a call asked for: they stay registered
_lock = threading.Lock()
_matched = False  # whether the hooks were matched to the settings since this module was imported


def sync(settings: Settings | None = None) -> None:
    """Register or unregister every feature's hooks on the current plugin manager to match the settings."""
    global _matched
    settings = get_settings() if settings is None else settings
    manager = machine.plugin_manager
    with _lock:
        for name, (target, wanted_by) in HOOKS.items():
            wanted = manager.has_plugin(name.partition(":")[0]) and (name in requested or wanted_by(settings))
            registered = manager.get_plugin(name)
            if wanted and registered is None:
                module, hooks = target.split(":")
                manager.register(getattr(importlib.import_module(module), hooks), name=name)
            elif registered is not None and not wanted:
                manager.unregister(registered)
        _matched = True


def match_settings() -> None:
    """Match the hooks to the settings unless done already (each new model calls it; the first reads them)."""
    if not _matched:
        sync()


def request_features(cache: bool = False, log: bool = False) -> None:
    """A model or call uses the cache and/or the log: keep their hooks registered from now on."""
    requested.update(name for name, asked in (("byllm-cache:hooks", cache), ("byllm-log:hooks", log)) if asked)
    sync()


def forget_requests() -> None:
    """Forget which features models asked for, and match the settings again (tests)."""
    requested.clear()
    sync()


when_settings_load(sync)  # from now on, each (re)reading of the settings matches the hooks to them
