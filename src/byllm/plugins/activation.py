"""Switching the off-by-default plugins on: their working hooks are registered only while wanted.

A plugin that is off must cost nothing per call, so the entry-point class of
the cache, the call log and tracing carries only its ``jac`` sub-command; the
hooks doing the work are a separate object, registered on the plugin manager
while the feature is wanted: the settings say so (checked each time they are
read), or a model or a call asks for it (``Model(cache=...)``,
``by llm(log=True)``, through :func:`request_features`; once asked, the hooks
stay, and check the model's own setting on every call). A plugin blocked by
``JAC_DISABLED_PLUGINS`` (its entry point not registered) stays off.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from jaclang.runtimelib import machine
from byllm.settings import get_settings, loaded_settings, when_settings_load

if TYPE_CHECKING:
    from byllm.settings import Settings


@dataclass
class Feature:
    """One switchable plugin: ``hooks`` are registered as ``name`` while ``owner`` is loaded and wanted."""

    name: str
    owner: object
    hooks: object
    wanted: Callable[[Settings], bool]
    requested: bool = False

    def sync(self, settings: Settings) -> None:
        """Register or unregister the hooks on the current plugin manager to match ``settings``."""
        manager = machine.plugin_manager
        wanted = manager.is_registered(self.owner) and (self.requested or self.wanted(settings))
        registered = manager.is_registered(self.hooks)
        if wanted and not registered:
            manager.register(self.hooks, name=self.name)
        elif registered and not wanted:
            manager.unregister(self.hooks)

    @property
    def active(self) -> bool:
        """Whether the working hooks are registered on the current plugin manager."""
        return machine.plugin_manager.is_registered(self.hooks)


features: dict[str, Feature] = {}
_lock = threading.Lock()


def add_feature(feature: Feature) -> Feature:
    """Manage ``feature`` from now on (each plugin module adds its own when imported)."""
    features[feature.name] = feature
    settings = loaded_settings()  # read before this plugin was imported: catch up now
    if settings is not None:
        feature.sync(settings)
    return feature


def sync(settings: Settings | None = None) -> None:
    """Match every feature to the settings (runs whenever they are read)."""
    settings = get_settings() if settings is None else settings
    with _lock:
        for feature in features.values():
            feature.sync(settings)


def request_features(cache: bool = False, log: bool = False) -> None:
    """A model or call uses the cache and/or the log: keep their hooks registered from now on."""
    if cache:
        import byllm.plugins.cache  # noqa: F401  (adds its feature)
    if log:
        import byllm.plugins.calllog  # noqa: F401
    for name, asked in (("byllm-cache:hooks", cache), ("byllm-log:hooks", log)):
        if asked:
            features[name].requested = True
    sync()


def forget_requests() -> None:
    """Forget which features models asked for, and match the settings again (tests)."""
    for feature in features.values():
        feature.requested = False
    sync()


when_settings_load(sync)
