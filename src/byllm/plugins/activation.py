"""Switching the off-by-default plugins on: their working hooks are registered only while wanted.

The entry points of the cache, the call log, tracing and the rate limit carry no working hook
(:mod:`byllm.plugins.entry`), so a feature that is off costs nothing. Each :class:`Feature`
registers its hooks, importing their module only then, while its entry point is loaded (not
blocked by ``JAC_DISABLED_PLUGINS``) and the feature is wanted: the settings say so (matched when
the first model is made and each time they are read again), or a model or a call asked for it
(``Model(cache=...)``, ``by llm(log=True)``; once asked, the hooks stay and check the model's own
setting on every call).
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from dataclasses import dataclass
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


@dataclass
class Feature:
    """One switchable plugin: the hooks at ``target`` (``module:Class``) registered as ``name`` while wanted.

    ``name`` is the entry point's name with a suffix (``byllm-cache:hooks``).
    """

    name: str
    target: str
    wanted: Callable[[Settings], bool]
    requested: bool = False

    def sync(self, settings: Settings) -> None:
        """Register or unregister the hooks on the current plugin manager to match ``settings``."""
        manager = machine.plugin_manager
        entry_point = self.name.partition(":")[0]
        wanted = manager.has_plugin(entry_point) and (self.requested or self.wanted(settings))
        registered = manager.get_plugin(self.name)
        if wanted and registered is None:
            module, hooks = self.target.split(":")
            manager.register(getattr(importlib.import_module(module), hooks), name=self.name)
        elif registered is not None and not wanted:
            manager.unregister(registered)

    @property
    def active(self) -> bool:
        """Whether the working hooks are registered on the current plugin manager."""
        return machine.plugin_manager.has_plugin(self.name)


# Every switchable feature, in the order their hooks are registered.
features: dict[str, Feature] = {
    feature.name: feature
    for feature in (
        Feature("byllm-cache:hooks", "byllm.plugins.cache:CacheHooks", lambda settings: settings.cache is not None),
        Feature("byllm-log:hooks", "byllm.plugins.calllog:CallLogHooks", lambda settings: settings.log is not None),
        Feature("byllm-tracing:hooks", "byllm.plugins.tracing:TracingHooks", tracing_wanted),
        Feature("byllm-ratelimit:gate", "byllm.ratelimit:RateLimitGate", rate_limit_wanted),
        Feature("byllm-ratelimit:hooks", "byllm.ratelimit:RateLimitWrapper", rate_limit_wanted),
    )
}
_lock = threading.Lock()
_matched = False  # whether the features were matched to the settings since this module was imported


def sync(settings: Settings | None = None) -> None:
    """Match every feature to the settings (runs whenever they are read)."""
    global _matched
    settings = get_settings() if settings is None else settings
    with _lock:
        for feature in features.values():
            feature.sync(settings)
        _matched = True


def match_settings() -> None:
    """Match the features to the settings unless done already (each new model calls it; the first reads them)."""
    if not _matched:
        sync()


def request_features(cache: bool = False, log: bool = False) -> None:
    """A model or call uses the cache and/or the log: keep their hooks registered from now on."""
    features["byllm-cache:hooks"].requested |= cache
    features["byllm-log:hooks"].requested |= log
    sync()


def forget_requests() -> None:
    """Forget which features models asked for, and match the settings again (tests)."""
    for feature in features.values():
        feature.requested = False
    sync()


when_settings_load(sync)  # from now on, each (re)reading of the settings matches the features to them
