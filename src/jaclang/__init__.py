"""Jac: a language and runtime with meaning-typed ``by llm()`` functions.

Importing :mod:`jaclang` installs the ``.jac`` module importer and loads every
plugin registered under the ``jac`` entry-point group.
"""

from __future__ import annotations

from jaclang.runtimelib.machine import load_plugins, plugin_manager

__version__ = "0.1.0"

__all__ = ["plugin_manager", "__version__"]


def _install_jac_importer() -> None:
    """Make ``.jac`` files importable (a no-op until the compiler is present)."""
    try:
        from jaclang.runtimelib.importer import install
    except ImportError:
        return
    install()


# Plugins first: their imports then use the path finders Python already has,
# before the .jac importer resets them.
load_plugins()
_install_jac_importer()
