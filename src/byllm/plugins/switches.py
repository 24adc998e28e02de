"""Switching a built-in plugin's working hooks on only while the plugin is in use.

A plugin that is off (the cache and the call log by default) must cost nothing
per call, so its entry-point class carries only what is always needed (its
``jac`` sub-command) and the hooks doing the work live on a separate object,
registered on the plugin manager while the feature is wanted: the settings say
so (re-checked by :func:`byllm.settings.reload_settings`), or a model or a call
asks for it (``Model(..., cache=...)``, ``by llm(log=True)``, see
:func:`activate_for`). Once a model asked, the hooks stay registered: they
check the model's own setting on every completion anyway.

The hooks may be named by a ``"module:attribute"`` string instead: their module
(and everything it imports: storage back-ends, records, logging, ...) is then
imported only when the feature is first switched on, which keeps ``import
jaclang`` cheap for the plugins that are off.
"""

from __future__ import annotations

from _thread import allocate_lock  # threading.Lock itself, without importing threading
from typing import TYPE_CHECKING, Any, Callable, Mapping

from jaclang.runtimelib.machine import plugin_manager
from byllm.settings import get_settings, when_settings_load

if TYPE_CHECKING:
    from byllm.settings import Settings


class HookSwitch:
    """Registers ``hooks`` as ``name`` while ``owner`` is a registered plugin and the feature is wanted."""

    def __init__(
        self,
        owner: object,
        hooks: object,
        name: str,
        param: str | None,
        wanted: Callable[[Settings], bool],
        volatile: bool = False,
    ) -> None:
        """``hooks``: the hooks object or its ``"module:attribute"`` path (imported when first switched on);
        ``param``: the model/call key asking for the feature; ``volatile``: re-check at each new model."""
        self._hooks: object | None = None if isinstance(hooks, str) else hooks
        self._hooks_path = hooks if isinstance(hooks, str) else ""
        self.owner = owner
        self.name = name
        self.param = param
        self.wanted = wanted
        self.volatile = volatile  # wanted() depends on more than the settings
        self.requested = False  # a model or call asked for the feature
        self.synced_with: Settings | None = None
        self._lock = allocate_lock()

    @property
    def hooks(self) -> object:
        """The working hooks, imported on first use when given as a path."""
        hooks = self._hooks
        if hooks is None:
            import importlib

            module_name, _, attribute = self._hooks_path.partition(":")
            hooks = self._hooks = getattr(importlib.import_module(module_name), attribute)
        return hooks

    def _registered(self) -> bool:
        """Whether the hooks are registered (never imports them)."""
        hooks = self._hooks
        return hooks is not None and plugin_manager.is_registered(hooks)

    @property
    def active(self) -> bool:
        """Whether the working hooks are registered."""
        return self._registered()

    def sync(self, settings: Settings) -> None:
        """Register or unregister the hooks to match ``settings`` (and earlier requests)."""
        with self._lock:
            # A blocked plugin (JAC_DISABLED_PLUGINS) or one not registered yet stays off.
            enabled = plugin_manager.is_registered(self.owner)
            wanted = enabled and (self.requested or self.wanted(settings))
            registered = self._registered()
            if wanted and not registered:
                plugin_manager.register(self.hooks, name=self.name)
            elif not wanted and registered:
                plugin_manager.unregister(self.hooks)
            self.synced_with = settings if enabled else None

    def turn_off(self) -> None:
        """Unregister the hooks unless a model asked for them (until the next :meth:`sync`)."""
        with self._lock:
            if not self.requested and self._registered():
                plugin_manager.unregister(self.hooks)

    def request(self) -> None:
        """A model or call uses the feature: keep the hooks registered from now on."""
        self.requested = True
        if not self._registered():
            self.sync(get_settings())


_switches: list[HookSwitch] = []


def add_switch(switch: HookSwitch) -> HookSwitch:
    """Manage ``switch`` from now on (plugins call this when their module is imported)."""
    _switches.append(switch)
    return switch


def forget_requests() -> None:
    """Forget which features models asked for and match the settings again (tests)."""
    for switch in _switches:
        switch.requested = False
    sync_all(get_settings())


def sync_all(settings: Settings) -> None:
    """Match every switch to ``settings`` (called whenever the settings are read)."""
    for switch in _switches:
        switch.sync(settings)


def activate_for(config: Mapping[str, Any]) -> None:
    """Switch on the plugins a model's configuration or call parameters ask for.

    Also brings every switch up to date with the current settings, so plugins
    configured in the environment or the config file are on before the first call.
    """
    settings = get_settings()
    for switch in _switches:
        if switch.volatile or switch.synced_with is not settings:
            switch.sync(settings)
        if switch.param is not None and config.get(switch.param) not in (None, False) and not switch.requested:
            switch.request()


when_settings_load(sync_all)
