"""Switching the off-by-default plugins on: their working hooks are registered only while wanted.

A plugin that is off must cost nothing, per call and at start-up, so the entry
point of the cache, the call log, tracing and the rate limit
(:mod:`byllm.plugins.entry`) carries no working hook. :data:`FEATURES` lists
each switchable feature: the name its hooks are registered under, the entry
point it belongs to, the module and class of the hooks, and when the settings
want it. The hooks are registered on the plugin manager while the feature is
wanted, and only then is the feature's module imported: the settings say so
(matched when the first model is made, :func:`match_settings`, and each time
the settings are read again), or a model or a call asks for it
(``Model(cache=...)``, ``by llm(log=True)``, through :func:`request_features`;
once asked, the hooks stay, and check the model's own setting on every call).
A plugin blocked by ``JAC_DISABLED_PLUGINS`` (its entry point not registered)
stays off.
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


def cache_wanted(settings: Settings) -> bool:
    """The settings switch the persistent cache on (``BYLLM_CACHE``, ``cache`` in the config file)."""
    return settings.cache is not None


def log_wanted(settings: Settings) -> bool:
    """The settings switch the call log on (``BYLLM_LOG``, ``log`` in the config file)."""
    return settings.log is not None


def rate_limit_wanted(settings: Settings) -> bool:
    """The settings switch the shared rate limit on (a store, or requests or tokens per minute)."""
    return bool(settings.rate_limit or settings.rate_limit_rpm or settings.rate_limit_tpm)


def tracing_wanted(settings: Settings) -> bool:
    """Spans are wanted: not switched off, OpenTelemetry installed, somewhere to send them."""
    if settings.tracing == "off" or importlib.util.find_spec("opentelemetry") is None:
        return False  # decided without importing the tracing plugin
    from byllm.plugins.tracing import tracing_enabled

    return tracing_enabled(settings)


@dataclass
class Feature:
    """One switchable plugin: ``module.hooks`` registered as ``name`` while ``entry_point`` is loaded and wanted."""

    name: str
    entry_point: str
    module: str
    hooks: str
    wanted: Callable[[Settings], bool]
    requested: bool = False

    def hooks_class(self) -> type:
        """The class holding the feature's working hooks (imports its module)."""
        return getattr(importlib.import_module(self.module), self.hooks)

    def sync(self, settings: Settings) -> None:
        """Register or unregister the hooks on the current plugin manager to match ``settings``."""
        manager = machine.plugin_manager
        wanted = manager.has_plugin(self.entry_point) and (self.requested or self.wanted(settings))
        registered = manager.get_plugin(self.name)
        if wanted and registered is None:
            manager.register(self.hooks_class(), name=self.name)
        elif registered is not None and not wanted:
            manager.unregister(registered)

    @property
    def active(self) -> bool:
        """Whether the working hooks are registered on the current plugin manager."""
        return machine.plugin_manager.has_plugin(self.name)


# Every switchable feature, in the order their hooks are registered.
FEATURES = (
    Feature("byllm-cache:hooks", "byllm-cache", "byllm.plugins.cache", "CacheHooks", cache_wanted),
    Feature("byllm-log:hooks", "byllm-log", "byllm.plugins.calllog", "CallLogHooks", log_wanted),
    Feature("byllm-tracing:hooks", "byllm-tracing", "byllm.plugins.tracing", "TracingHooks", tracing_wanted),
    Feature("byllm-ratelimit:gate", "byllm-ratelimit", "byllm.ratelimit", "RateLimitGate", rate_limit_wanted),
    Feature("byllm-ratelimit:hooks", "byllm-ratelimit", "byllm.ratelimit", "RateLimitWrapper", rate_limit_wanted),
)
features: dict[str, Feature] = {feature.name: feature for feature in FEATURES}
_lock = threading.Lock()
_matched = False  # whether the features were matched to the settings since this module was imported


def sync(settings: Settings | None = None) -> None:
    """Match every feature to the settings (runs whenever they are read)."""
    global _matched
    settings = get_settings() if settings is None else settings
    with _lock:
        for feature in FEATURES:
            feature.sync(settings)
        _matched = True


def match_settings() -> None:
    """Match the features to the settings unless done already (each new model calls it; the first reads them)."""
    if not _matched:
        sync()


def request_features(cache: bool = False, log: bool = False) -> None:
    """A model or call uses the cache and/or the log: keep their hooks registered from now on."""
    if cache:
        features["byllm-cache:hooks"].requested = True
    if log:
        features["byllm-log:hooks"].requested = True
    sync()


def forget_requests() -> None:
    """Forget which features models asked for, and match the settings again (tests)."""
    for feature in FEATURES:
        feature.requested = False
    sync()


when_settings_load(sync)  # from now on, each (re)reading of the settings matches the features to them
