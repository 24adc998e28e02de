"""Importing .jac modules: from Python after ``import jaclang``, and from other Jac modules."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

from jaclang.runtimelib import importer


@pytest.fixture
def on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        sys.modules.pop(name, None)
    importlib.invalidate_caches()


def test_install_is_idempotent_and_registered_by_import_jaclang() -> None:
    importer.install()
    importer.install()
    assert sum(hook is importer._installed_hook for hook in sys.path_hooks) == 1


def test_python_imports_a_jac_module(on_path: Path) -> None:
    (on_path / "shapes_mod.jac").write_text("obj Sq { has s: int; def area() -> int { return self.s ** 2; } }\n")
    module = importlib.import_module("shapes_mod")
    assert module.Sq(3).area() == 9
    assert module.__file__ == str(on_path / "shapes_mod.jac")


def test_jac_packages_and_submodules(on_path: Path) -> None:
    package = on_path / "jacpkg"
    package.mkdir()
    (package / "__init__.jac").write_text("glob NAME = 'pkg';\n")
    (package / "util.jac").write_text("import from . { NAME }\ndef shout() -> str { return NAME.upper(); }\n")
    module = importlib.import_module("jacpkg.util")
    assert module.shout() == "PKG"


def test_jac_module_in_a_plain_directory_package(on_path: Path) -> None:
    (on_path / "plaindir").mkdir()
    (on_path / "plaindir" / "leaf.jac").write_text("glob VALUE = 42;\n")
    assert importlib.import_module("plaindir.leaf").VALUE == 42


def test_jac_modules_import_each_other(on_path: Path, run_jac: Callable[..., str]) -> None:
    (on_path / "mathy.jac").write_text("def double(x: int) -> int { return 2 * x; }\n")
    output = run_jac("import mathy;\nimport:jac mathy as m;\nimport from mathy { double }\n"
                     "with entry { print(mathy.double(2), m.double(3), double(4)); }")
    assert output == "4 6 8\n"


def test_python_module_wins_over_a_jac_module_of_the_same_name(on_path: Path) -> None:
    (on_path / "twin.py").write_text("KIND = 'python'\n")
    (on_path / "twin.jac").write_text("glob KIND = 'jac';\n")
    assert importlib.import_module("twin").KIND == "python"


def test_a_syntax_error_in_an_imported_module_is_a_jac_syntax_error(on_path: Path) -> None:
    from jaclang.compiler.errors import JacSyntaxError

    (on_path / "broken_mod.jac").write_text("with entry { x = ; }\n")
    with pytest.raises(JacSyntaxError) as caught:
        importlib.import_module("broken_mod")
    assert (caught.value.line, caught.value.column) == (1, 18)


def test_a_symlinked_entry_file_imports_the_real_files_neighbours(tmp_path: Path) -> None:
    import subprocess

    real, elsewhere = tmp_path / "real", tmp_path / "elsewhere"
    real.mkdir()
    elsewhere.mkdir()
    (real / "helper.jac").write_text('def greet(name: str) -> str { return f"hello {name}"; }\n')
    (real / "prog.jac").write_text('import helper;\nwith entry { print(helper.greet("link")); }\n')
    (elsewhere / "local_helper.jac").write_text('glob where = "beside the link";\n')
    (elsewhere / "prog.jac").symlink_to(real / "prog.jac")
    result = subprocess.run([sys.executable, "-m", "jaclang.cli", "run", str(elsewhere / "prog.jac")],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello link\n"
    (real / "prog.jac").write_text('import helper, local_helper;\nwith entry { print(local_helper.where); }\n')
    beside = subprocess.run([sys.executable, "-m", "jaclang.cli", "run", str(elsewhere / "prog.jac")],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert beside.stdout == "beside the link\n", beside.stderr
