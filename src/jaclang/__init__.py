"""Jac: a language and runtime with meaning-typed ``by llm()`` functions.

Importing :mod:`jaclang` installs the ``.jac`` module importer. The plugins
registered under the ``jac`` entry-point group are loaded when the plugin
machine (:mod:`jaclang.runtimelib.machine`) is first imported: by the first
``by llm()`` function, by ``jac`` commands that list or run plugins, or by
``jaclang.plugin_manager``. A program that never asks for them does not pay for
importing Pluggy and every plugin.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's own constant, without importing typing at every start
if TYPE_CHECKING:
    from typing import Any

    from jaclang.runtimelib.machine import JacPluginManager

    plugin_manager: JacPluginManager

__version__ = "0.1.0"

__all__ = ["plugin_manager", "__version__"]


def __getattr__(name: str) -> Any:
    """``jaclang.plugin_manager``: the plugin machine's manager (imported, and plugins loaded, on first use)."""
    if name == "plugin_manager":
        from jaclang.runtimelib.machine import plugin_manager

        return plugin_manager
    raise AttributeError(f"module 'jaclang' has no attribute {name!r}")


def _install_jac_importer() -> None:
    """Make ``.jac`` files importable (a no-op until the compiler is present)."""
    try:
        from jaclang.runtimelib.importer import install
    except ImportError:
        return
    install()


_install_jac_importer()
