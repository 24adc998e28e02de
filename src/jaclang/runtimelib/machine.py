"""The plugin machine: Pluggy markers, the hook specifications and the plugin manager.

Plugins implement hooks marked with :data:`hookimpl` and are registered on
:data:`plugin_manager`, either by hand or through the ``jac`` entry-point group.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Callable

import pluggy

if TYPE_CHECKING:
    import argparse

PROJECT_NAME = "jac"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)



class JacMachineSpec:
    """Hook specifications every Jac plugin may implement."""

    @staticmethod
    @hookspec(firstresult=True)
    def call_llm(model: Any, caller: Callable, args: dict[str | int, object]) -> object:
        """Answer a ``by llm()`` call.

        ``model`` is the configured model, ``caller`` the function (a bound method
        for methods) whose body the model stands in for, and ``args`` maps each
        parameter name (or position, for positional-only values) to its value.
        The first plugin returning a value other than ``None`` wins.
        """

    @staticmethod
    @hookspec
    def add_cli_commands(subparsers: argparse._SubParsersAction) -> None:
        """Add sub-commands to the ``jac`` command line (``jac cache``, ...)."""


class JacPluginManager(pluggy.PluginManager):
    """A Pluggy plugin manager that honours ``JAC_DISABLED_PLUGINS`` and ``JAC_DEBUG``.

    Loading entry points one at a time lets a plugin that fails to import be
    reported in one warning line without stopping the others.
    """

    def __init__(self) -> None:
        super().__init__(PROJECT_NAME)
        self.failed_plugins: dict[str, str] = {}
        self.plugin_sources: dict[str, tuple[str, str]] = {}

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        """Pluggy's hook-implementation check, skipping dunder attributes (never hooks).

        Pluggy asks this for every name in ``dir(plugin)``; most are ``__doc__``,
        ``__init__`` and the like, and skipping them keeps start-up registration cheap.
        """
        if name.startswith("__") and name.endswith("__"):
            return None
        return super().parse_hookimpl_opts(plugin, name)  # type: ignore[arg-type]

    def disabled_plugin_names(self) -> set[str]:
        """Names listed in ``JAC_DISABLED_PLUGINS`` (comma separated)."""
        raw = os.environ.get("JAC_DISABLED_PLUGINS", "")
        return {name.strip() for name in raw.split(",") if name.strip()}

    def load_setuptools_entrypoints(self, group: str, name: str | None = None) -> int:
        """Load every plugin of an entry-point group; return how many were loaded.

        Plugins named in ``JAC_DISABLED_PLUGINS`` are blocked before import.
        """
        from jaclang.runtimelib.entry_points import group_entry_points

        for blocked_name in self.disabled_plugin_names():
            if not self.is_blocked(blocked_name):
                self.set_blocked(blocked_name)
        count = 0
        for entry_point in group_entry_points(group):
            if name is not None and entry_point.name != name:
                continue
            if self.has_plugin(entry_point.name) or self.is_blocked(entry_point.name):
                continue
            try:
                plugin = entry_point.load()
            except Exception as error:  # any failure in third-party code
                message = f"{type(error).__name__}: {error}"
                self.failed_plugins[entry_point.name] = message
                print(
                    f"warning: jac plugin {entry_point.name!r} from {entry_point.distribution} "
                    f"failed to load ({message}); skipped",
                    file=sys.stderr,
                )
                continue
            self.register(plugin, name=entry_point.name)
            self.plugin_sources[entry_point.name] = (entry_point.distribution, entry_point.version)
            count += 1
            if debug_enabled():
                print(
                    f"[jac] loaded plugin {entry_point.name!r} ({entry_point.value}) "
                    f"from {entry_point.distribution} {entry_point.version}",
                    file=sys.stderr,
                )
        return count


def debug_enabled() -> bool:
    """Whether ``JAC_DEBUG`` asks for plugin and hook tracing on stderr."""
    return os.environ.get("JAC_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def _trace_hook_calls(manager: pluggy.PluginManager) -> None:
    """Log each hook call and its result to stderr."""

    def before(hook_name: str, hook_impls: list, kwargs: dict) -> None:
        names = [impl.plugin_name for impl in hook_impls]
        print(f"[jac] hook {hook_name} -> {names}", file=sys.stderr)

    def after(outcome: pluggy.Result, hook_name: str, hook_impls: list, kwargs: dict) -> None:
        status = "raised " + repr(outcome.exception) if outcome.exception else "returned"
        print(f"[jac] hook {hook_name} {status}", file=sys.stderr)

    manager.add_hookcall_monitoring(before, after)


plugin_manager = JacPluginManager()
plugin_manager.add_hookspecs(JacMachineSpec)

# Read once: hook tracing is decided when the machine starts.
TRACING_HOOKS = debug_enabled()
if TRACING_HOOKS:
    _trace_hook_calls(plugin_manager)


def call_llm(model: Any, caller: Callable, args: dict[str | int, object]) -> object:
    """Run the ``call_llm`` hook: the path every ``by llm()`` call takes."""
    result = plugin_manager.hook.call_llm(model=model, caller=caller, args=args)
    if result is None and not _has_answering_plugin():
        raise RuntimeError(
            "no plugin implements call_llm: install byllm or register a plugin "
            "with plugin_manager.register(...)"
        )
    return result


def _has_answering_plugin() -> bool:
    """Whether a non-wrapper plugin implements ``call_llm`` (wrappers only observe)."""
    return any(
        not (impl.wrapper or impl.hookwrapper) for impl in plugin_manager.hook.call_llm.get_hookimpls()
    )


def plugin_hooks(plugin: object) -> list[str]:
    """Names of the hooks a registered plugin implements."""
    callers = plugin_manager.get_hookcallers(plugin) or []
    return sorted(caller.name for caller in callers)
