"""Make ``.jac`` files importable: a meta path finder, its loader, and ``run_jac_file``.

After :func:`install` (done by ``import jaclang``), ``import mymod`` finds
``mymod.jac`` (or a package ``mymod/__init__.jac``) on ``sys.path`` or in a
package's ``__path__``, compiles it (through the on-disk cache) and runs it.
The finder runs before Python's own path finder (so a directory holding an
``__init__.jac`` is a Jac package, not a namespace package), but within each
``sys.path`` entry a Python module of the same name wins.
"""

from __future__ import annotations

import os
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Sequence

JAC_SUFFIX = ".jac"


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

    def get_source(self, fullname: str | None = None) -> str:
        """The Jac source text (used by ``inspect`` and ``linecache``)."""
        with open(self.path, encoding="utf-8-sig") as handle:
            return handle.read()


class JacFinder:
    """A ``sys.meta_path`` finder for ``.jac`` modules and packages."""

    @classmethod
    def find_spec(
        cls, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        """A spec for ``fullname`` when a matching ``.jac`` file exists, else ``None``."""
        name = fullname.rpartition(".")[2]
        for entry in path if path is not None else sys.path:
            directory = entry or os.getcwd()
            if not isinstance(directory, str):
                continue
            if _python_module_exists(directory, name):
                return None
            module_file = os.path.join(directory, name + JAC_SUFFIX)
            if os.path.isfile(module_file):
                return cls._spec(fullname, module_file, package_dir=None)
            package_init = os.path.join(directory, name, "__init__" + JAC_SUFFIX)
            if os.path.isfile(package_init):
                return cls._spec(fullname, package_init, package_dir=os.path.join(directory, name))
        return None

    @staticmethod
    def _spec(fullname: str, file: str, package_dir: str | None) -> ModuleSpec:
        spec = ModuleSpec(fullname, JacLoader(fullname, file), origin=file, is_package=package_dir is not None)
        if package_dir is not None:
            spec.submodule_search_locations = [package_dir]
        spec.has_location = True
        return spec

    @classmethod
    def invalidate_caches(cls) -> None:
        """Nothing is cached between lookups."""


def _python_module_exists(directory: str, name: str) -> bool:
    """Whether Python's path finder would find module ``name`` in ``directory``."""
    join = os.path.join
    return (
        os.path.isfile(join(directory, name + ".py"))
        or os.path.isfile(join(directory, name, "__init__.py"))
        or os.path.isfile(join(directory, name + ".pyc"))
    )


def install() -> None:
    """Register the ``.jac`` finder just before Python's path finder; safe to call twice."""
    if any(finder is JacFinder for finder in sys.meta_path):
        return
    from importlib.machinery import PathFinder

    position = next((index for index, finder in enumerate(sys.meta_path) if finder is PathFinder), len(sys.meta_path))
    sys.meta_path.insert(position, JacFinder)


def run_jac_file(path: str, module_name: str = "__main__") -> ModuleType:
    """Run a ``.jac`` file as module ``module_name`` (registered in ``sys.modules``) and return it.

    Its directory goes first on ``sys.path`` so it can import its neighbours,
    as ``python file.py`` does.
    """
    from jaclang.compiler.cache import load_code

    absolute = os.path.abspath(path)
    code = load_code(absolute)
    directory = os.path.dirname(absolute)
    if not sys.path or sys.path[0] != directory:
        sys.path.insert(0, directory)
    module = ModuleType(module_name)
    module.__file__ = absolute
    module.__loader__ = JacLoader(module_name, absolute)  # type: ignore[assignment]
    module.__spec__ = None
    sys.modules[module_name] = module
    exec(code, module.__dict__)
    return module
