"""Make ``.jac`` files importable: a path hook, the ``.jac`` loader, and ``run_jac_file``.

After :func:`install` (done by ``import jaclang``), ``import mymod`` finds
``mymod.jac`` (or a package directory with ``__init__.jac``) on ``sys.path`` or
in a package's ``__path__``, compiles it (through the on-disk cache) and runs
it. The finder is Python's own ``FileFinder`` with ``.jac`` added after the
Python suffixes, so directory listings are cached as usual and a Python module
of the same name in the same directory wins.
"""

from __future__ import annotations

import os
import sys
from importlib.machinery import FileFinder, ModuleSpec
from types import CodeType, ModuleType

JAC_SUFFIX = ".jac"

_installed_hook: object | None = None


class JacLoader:
    """Loads one ``.jac`` file as a module."""

    def __init__(self, fullname: str, path: str) -> None:
        self.name = fullname
        self.path = path

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        """Use the default module creation."""
        return None

    def exec_module(self, module: ModuleType) -> None:
        """Compile (or load from the cache) and run the module's code in its namespace."""
        from jaclang.compiler.cache import load_code

        code = load_code(self.path)
        module.__file__ = self.path
        exec(code, module.__dict__)

    def get_filename(self, fullname: str | None = None) -> str:
        """The ``.jac`` file this loader reads."""
        return self.path

    def is_package(self, fullname: str | None = None) -> bool:
        """Whether this file is a package's ``__init__.jac``."""
        return os.path.basename(self.path) == "__init__" + JAC_SUFFIX

    def get_source(self, fullname: str | None = None) -> str:
        """The Jac source text (used by ``inspect`` and ``linecache``)."""
        with open(self.path, encoding="utf-8-sig") as handle:
            return handle.read()


def install() -> None:
    """Let every ``sys.path`` directory hold ``.jac`` modules; safe to call twice."""
    global _installed_hook
    if _installed_hook is not None and _installed_hook in sys.path_hooks:
        return
    from importlib._bootstrap_external import _get_supported_file_loaders  # the loaders FileFinder uses

    loaders = [*_get_supported_file_loaders(), (JacLoader, [JAC_SUFFIX])]
    _installed_hook = FileFinder.path_hook(*loaders)
    sys.path_hooks.insert(0, _installed_hook)
    # Finders created before now do not know the .jac suffix.
    sys.path_importer_cache.clear()


def run_jac_file(path: str, module_name: str = "__main__") -> ModuleType:
    """Run a ``.jac`` file as module ``module_name`` (registered in ``sys.modules``) and return it.

    Its directory goes first on ``sys.path`` so it can import its neighbours,
    as ``python file.py`` does; for a symbolic link that is the real file's
    directory (as Python does), followed by the link's own.
    """
    from jaclang.compiler.cache import load_code

    absolute = os.path.abspath(path)
    return run_code(load_code(absolute), absolute, module_name)


def run_code(code: CodeType, absolute: str, module_name: str, names: dict[str, object] | None = None) -> ModuleType:
    """Run the compiled ``code`` of the file at ``absolute`` as module ``module_name``, ``names`` predefined."""
    for directory in dict.fromkeys([os.path.dirname(absolute), os.path.dirname(os.path.realpath(absolute))]):
        if not sys.path or sys.path[0] != directory:
            sys.path.insert(0, directory)
    module = ModuleType(module_name)
    module.__file__ = absolute
    module.__loader__ = JacLoader(module_name, absolute)  # type: ignore[assignment]
    module.__spec__ = None
    module.__dict__.update(names or {})
    sys.modules[module_name] = module
    exec(code, module.__dict__)
    return module
