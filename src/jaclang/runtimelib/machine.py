"""The plugin machine: Pluggy markers, the hook specifications and the plugin manager.

Plugins implement hooks marked with :data:`hookimpl` and are registered on
:data:`plugin_manager`, either by hand or through the ``jac`` entry-point group
(:func:`load_plugins`, run when this module is first imported).

Hook specifications are declared in one place per package and added when the
manager is built: jaclang's own below (:class:`JacMachineSpec`), other packages'
through the ``jac.hookspecs`` entry-point group (byllm's is ``byllm.hookspecs``).
So every hook a plugin may implement is known before any plugin registers, and a
plugin with a wrong signature or a misspelled hook is reported by name.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import pluggy

if TYPE_CHECKING:
    import argparse

    from jaclang.runtimelib.entry_points import PluginEntryPoint

PROJECT_NAME = "jac"
PLUGIN_GROUP = "jac"
HOOKSPEC_GROUP = "jac.hookspecs"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

PASSIVE_FOR_ATTRIBUTE = "jac_passive_for"
HookFunction = TypeVar("HookFunction", bound=Callable[..., Any])


def passive_for(*plugin_names: str) -> Callable[[HookFunction], HookFunction]:
    """Mark a wrapper hook implementation that has nothing to do when only these plugins answer the hook.

    A check of other plugins' answers, for example, is passive while byllm
    answers alone; the plugin manager then calls that answer directly (see
    :meth:`JacPluginManager.direct_implementation`).
    """

    def mark(function: HookFunction) -> HookFunction:
        setattr(function, PASSIVE_FOR_ATTRIBUTE, frozenset(plugin_names))
        return function

    return mark


class JacMachineSpec:
    """Hook specifications every Jac plugin may implement."""

    @staticmethod
    @hookspec(firstresult=True)
    def call_llm(model: Any, caller: Callable, args: dict[str | int, object]) -> object:
        """Answer a ``by llm()`` call (fires once per call; firstresult).

        ``model`` is the configured model, ``caller`` the function (a bound method
        for methods) whose body the model stands in for, and ``args`` maps each
        parameter name (or position, for positional-only values) to its value.
        Return the call's value to answer it, or ``None`` to let the next plugin
        answer; byllm's own implementation runs last and calls
        ``model.invoke(caller, args)``. Wrappers (``@hookimpl(wrapper=True)``) see
        every call whoever answers it.
        """

    @staticmethod
    @hookspec
    def add_cli_commands(subparsers: argparse._SubParsersAction) -> None:
        """Add sub-commands to the ``jac`` command line (fires once, when ``jac`` starts).

        Call ``subparsers.add_parser(name, help=...)`` and give the parser a
        handler with ``parser.set_defaults(handler=function)``; ``jac`` calls
        ``function(options)`` with the parsed ``argparse.Namespace`` and exits
        with its return value (``None`` means 0).
        """


class JacPluginManager(pluggy.PluginManager):
    """A Pluggy plugin manager that isolates broken plugins and honours ``JAC_DISABLED_PLUGINS``.

    Each entry point is loaded and registered on its own: a plugin that fails to
    import, or whose hooks do not match their specifications, is reported once
    by name (in :attr:`failed_plugins` and one warning line) and the others load.
    """

    def __init__(self) -> None:
        # Entry points whose module was itself being imported when the plugins loaded (a
        # program or test that imports its plugin module first): registered once it is done.
        self._deferred: list[PluginEntryPoint] = []
        self._settling = False
        super().__init__(PROJECT_NAME)
        self.failed_plugins: dict[str, str] = {}
        self.plugin_sources: dict[str, tuple[str, str]] = {}
        self.warnings: list[str] = []
        self._direct: dict[str, Callable[..., Any] | None] = {}
        self._monitored = False

    # -- direct calls: Pluggy's per-call machinery skipped where it would only call one function --
    def direct_implementation(self, name: str) -> Callable[..., Any] | None:
        """The one function behind hook ``name`` when calling it directly is what calling the hook does.

        That holds when exactly one plugin answers the hook, its function takes
        the specification's arguments in order (call it positionally), every
        wrapper on the hook is :func:`passive_for` that plugin, and no hook-call
        monitoring (``JAC_DEBUG``, ``enable_tracing``) is on; otherwise ``None``:
        call ``hook.<name>(...)``. For a hook that is not ``firstresult`` the
        direct result is the function's own value, not Pluggy's list of results.
        Registering, unregistering or blocking a plugin recomputes it.
        """
        if self._deferred:
            self._load_deferred()
        try:
            return self._direct[name]
        except KeyError:
            function = self._direct[name] = self._find_direct_implementation(name)
            return function

    def _find_direct_implementation(self, name: str) -> Callable[..., Any] | None:
        caller = getattr(self.hook, name, None)
        if self._monitored or caller is None or caller.spec is None:
            return None
        implementations = caller.get_hookimpls()
        answering = [impl for impl in implementations if not (impl.wrapper or impl.hookwrapper)]
        if len(answering) != 1 or answering[0].argnames != caller.spec.argnames:
            return None
        answer = answering[0]
        for implementation in implementations:
            if implementation is not answer and answer.plugin_name not in getattr(
                implementation.function, PASSIVE_FOR_ATTRIBUTE, ()
            ):
                return None
        return answer.function

    # -- plugins whose module was mid-import when the plugins loaded --------------------------
    @property  # type: ignore[misc]  # Pluggy declares it Final; reading it first registers deferred plugins
    def hook(self) -> pluggy.HookRelay:
        """The hook callers (Pluggy's ``hook`` relay), with every loadable plugin registered."""
        if self._deferred:
            self._load_deferred()
        return self._hook_relay

    @hook.setter
    def hook(self, relay: pluggy.HookRelay) -> None:
        self._hook_relay = relay

    def get_plugin(self, name: str) -> Any | None:
        """The plugin registered as ``name``, or ``None`` (also answers :meth:`has_plugin`)."""
        if self._deferred:
            self._load_deferred()
        return super().get_plugin(name)

    def get_plugins(self) -> set[Any]:
        """Every registered plugin object."""
        if self._deferred:
            self._load_deferred()
        return super().get_plugins()

    def list_name_plugin(self) -> list[tuple[str, Any]]:
        """``(name, plugin)`` for every registered plugin."""
        if self._deferred:
            self._load_deferred()
        return super().list_name_plugin()

    def list_plugin_distinfo(self) -> list[tuple[Any, Any]]:
        """``(plugin, distribution)`` for every plugin loaded from an entry point."""
        if self._deferred:
            self._load_deferred()
        return super().list_plugin_distinfo()

    def _load_deferred(self) -> None:
        """Load the deferred entry points whose module has finished importing."""
        if self._settling:
            return
        ready = [entry_point for entry_point in self._deferred if not _being_imported(entry_point)]
        if not ready:
            return
        self._deferred = [entry_point for entry_point in self._deferred if entry_point not in ready]
        self._settling = True
        try:
            for entry_point in ready:
                if not self.is_blocked(entry_point.name) and super().get_plugin(entry_point.name) is None:
                    self._load_one(entry_point)
        finally:
            self._settling = False

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """Register ``plugin`` (Pluggy's :meth:`~pluggy.PluginManager.register`)."""
        if self._deferred:
            self._load_deferred()
        self._direct.clear()
        return super().register(plugin, name)

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any:
        """Unregister a plugin by object or name (Pluggy's :meth:`~pluggy.PluginManager.unregister`)."""
        self._direct.clear()
        return super().unregister(plugin, name)

    def add_hookspecs(self, module_or_class: Any) -> None:
        """Add the hook specifications of ``module_or_class``."""
        self._direct.clear()
        super().add_hookspecs(module_or_class)

    def add_hookcall_monitoring(self, before: Callable[..., None], after: Callable[..., None]) -> Callable[[], None]:
        """Call ``before`` and ``after`` around every hook call (from now on, every call goes through Pluggy)."""
        self._monitored = True
        self._direct.clear()
        return super().add_hookcall_monitoring(before, after)

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        """Pluggy's hook-implementation check, skipping dunder attributes (never hooks)."""
        if name.startswith("__") and name.endswith("__"):
            return None
        return super().parse_hookimpl_opts(plugin, name)  # type: ignore[arg-type]

    def disabled_plugin_names(self) -> set[str]:
        """Names listed in ``JAC_DISABLED_PLUGINS`` (comma separated)."""
        raw = os.environ.get("JAC_DISABLED_PLUGINS", "")
        return {name.strip() for name in raw.split(",") if name.strip()}

    def load_setuptools_entrypoints(self, group: str, name: str | None = None) -> int:
        """Load every plugin of an entry-point group; return how many were loaded.

        Plugins named in ``JAC_DISABLED_PLUGINS`` are blocked before import; an
        entry-point name already taken by another distribution is refused.
        """
        from jaclang.runtimelib.entry_points import group_entry_points

        for blocked_name in self.disabled_plugin_names():
            if not self.is_blocked(blocked_name):
                self.set_blocked(blocked_name)
        count = 0
        for entry_point in group_entry_points(group):
            if name is not None and entry_point.name != name:
                continue
            if self.is_blocked(entry_point.name):
                continue
            if self.has_plugin(entry_point.name):
                owner = self.plugin_sources.get(entry_point.name, ("", ""))[0]
                if owner and owner != entry_point.distribution:
                    self._report_failure(
                        entry_point,
                        f"the name is already taken by {owner}'s plugin; rename the entry point",
                    )
                continue
            if self._load_one(entry_point):
                count += 1
        return count

    def _load_one(self, entry_point: PluginEntryPoint) -> bool:
        """Import and register one entry point; report it (and keep going) if that fails.

        An entry point whose module is being imported right now (it imported this
        machine, which loads the plugins) is deferred, not reported: it is
        registered as soon as the plugin manager is next used.
        """
        if _being_imported(entry_point):
            self._deferred.append(entry_point)
            return False
        try:
            plugin = entry_point.load()
        except BaseException as error:  # third-party import code may raise anything, even SystemExit
            self._report_failure(entry_point, f"{type(error).__name__}: {error}")
            return False
        if self.is_registered(plugin):  # registered by hand already (by its own module, say)
            return False
        try:
            self.register(plugin, name=entry_point.name)
        except Exception as error:  # pluggy.PluginValidationError and friends
            if self.is_registered(plugin):
                self.unregister(plugin)
            self._report_failure(entry_point, str(error))
            return False
        self.plugin_sources[entry_point.name] = (entry_point.distribution, entry_point.version)
        # Pluggy's own bookkeeping (``list_plugin_distinfo``), as its loader would record it.
        self._plugin_distinfo.append((plugin, entry_point.distribution_record()))  # type: ignore[arg-type]
        if debug_enabled():
            print(
                f"[jac] loaded plugin {entry_point.name!r} ({entry_point.value}) "
                f"from {entry_point.distribution} {entry_point.version}",
                file=sys.stderr,
            )
        return True

    def _report_failure(self, entry_point: PluginEntryPoint, reason: str) -> None:
        if entry_point.name in self.failed_plugins:
            return
        reason = "; ".join(line.strip() for line in reason.splitlines() if line.strip())
        self.failed_plugins[entry_point.name] = reason
        print(
            f"warning: jac plugin {entry_point.name!r} from {entry_point.distribution} "
            f"failed to load ({reason}); skipped",
            file=sys.stderr,
        )

    def unknown_hooks(self) -> list[str]:
        """One message per hook implementation that no specification declares (a misspelling)."""
        known = [name for name in vars(self.hook) if not name.startswith("_") and getattr(self.hook, name).has_spec()]
        messages = []
        for name, caller in vars(self.hook).items():
            if name.startswith("_") or caller.has_spec():
                continue
            for implementation in caller.get_hookimpls():
                if implementation.optionalhook:
                    continue
                import difflib  # only when a hook name is wrong

                close = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; the hooks are: {', '.join(sorted(known))}"
                messages.append(f"plugin {implementation.plugin_name!r} implements an unknown hook {name!r}{hint}")
        return messages


def _being_imported(entry_point: PluginEntryPoint) -> bool:
    """Whether the module of ``entry_point`` has started importing and not finished yet."""
    module = sys.modules.get(entry_point.value.partition(":")[0].strip())
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


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


def new_plugin_manager() -> JacPluginManager:
    """A plugin manager with every hook specification added and no plugin registered.

    Tests use this for a fresh manager per test; :data:`plugin_manager` is the
    process-wide one.
    """
    from jaclang.runtimelib.entry_points import group_entry_points

    manager = JacPluginManager()
    manager.add_hookspecs(JacMachineSpec)
    for entry_point in group_entry_points(HOOKSPEC_GROUP):
        if manager.is_blocked(entry_point.name):
            continue
        try:
            manager.add_hookspecs(entry_point.load())
        except Exception as error:  # a broken package must not stop jac itself
            print(
                f"warning: hook specifications {entry_point.name!r} from {entry_point.distribution} "
                f"failed to load ({type(error).__name__}: {error}); skipped",
                file=sys.stderr,
            )
    if debug_enabled():
        _trace_hook_calls(manager)
    return manager


def load_plugins(manager: JacPluginManager | None = None) -> JacPluginManager:
    """Load the ``jac`` entry-point plugins into ``manager`` (the global one by default), once.

    Calling it again loads only plugins installed since. Unknown hook names are
    reported as warnings naming the plugin and the closest valid hook.
    """
    manager = plugin_manager if manager is None else manager
    manager.load_setuptools_entrypoints(PLUGIN_GROUP)
    for message in manager.unknown_hooks():
        if message not in manager.warnings:
            manager.warnings.append(message)
            print(f"warning: {message}", file=sys.stderr)
    return manager


plugin_manager: JacPluginManager = new_plugin_manager()
# Importing the machine loads the installed plugins: `from jaclang.runtimelib.machine import
# plugin_manager` lists them, as the spec's example shows. Everything a plugin module imports
# from here is defined above.
load_plugins()


def call_llm(model: Any, caller: Callable, args: dict[str | int, object]) -> object:
    """Run the ``call_llm`` hook: the path every ``by llm()`` call takes."""
    manager = plugin_manager
    direct = manager.direct_implementation("call_llm")
    if direct is not None:
        result = direct(model, caller, args)
    else:
        result = manager.hook.call_llm(model=model, caller=caller, args=args)
    if result is None and not _has_answering_plugin(manager):
        raise RuntimeError(missing_answer_message(manager))
    return result


def missing_answer_message(manager: JacPluginManager) -> str:
    """Why no plugin answered a ``by llm()`` call, and what to do about it."""
    if manager.is_blocked("byllm"):
        return (
            "no plugin answers by llm() calls: byllm's plugin is installed but blocked by "
            "JAC_DISABLED_PLUGINS; remove 'byllm' from it or register a plugin implementing call_llm"
        )
    if "byllm" in manager.failed_plugins:
        return f"no plugin answers by llm() calls: byllm's plugin failed to load ({manager.failed_plugins['byllm']})"
    return (
        "no plugin answers by llm() calls: install byllm, or register a plugin implementing call_llm "
        "with plugin_manager.register(...)"
    )


def _has_answering_plugin(manager: JacPluginManager) -> bool:
    """Whether a non-wrapper plugin implements ``call_llm`` (wrappers only observe)."""
    return any(not (impl.wrapper or impl.hookwrapper) for impl in manager.hook.call_llm.get_hookimpls())


def plugin_hooks(plugin: object) -> list[str]:
    """Names of the hooks a registered plugin implements."""
    callers = plugin_manager.get_hookcallers(plugin) or []
    return sorted(caller.name for caller in callers)
