"""Throw-away virtual environments with plugin packages pip-installed into them.

A venv is made without pip (fast, offline); a ``.pth`` file adds the running
interpreter's site-packages through ``site.addsitedir`` so jaclang, byllm,
pluggy, pip, setuptools and poetry-core are importable (and the editable
install of this project keeps working). Packages are then installed with the
venv's own interpreter: ``python -m pip install --no-deps --no-build-isolation``,
so their entry points are real installed metadata, discovered the way a user's
plugins are.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sysconfig
import textwrap
import tomllib
import venv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PLUGINS = REPO_ROOT / "examples" / "plugins"
TEST_PLUGINS = Path(__file__).resolve().parent

# Example packages installed in the shared venv, and which one goes in editable
# ("development") mode as the spec's step 4 shows (`pip install -e .`).
EXAMPLE_PACKAGES = (
    "my-byllm-plugin",
    "custom-provider-plugin",
    "caching-plugin",
    "logging-plugin",
    "configurable-plugin",
    "composing-plugins",
)
EDITABLE_PACKAGES = frozenset({"my-byllm-plugin"})

# Environment variables that change plugin loading; tests set them explicitly.
PLUGIN_ENVIRONMENT = ("JAC_DEBUG", "JAC_DISABLED_PLUGINS")

PROCESS_TIMEOUT = 120


def parent_site_packages() -> list[str]:
    """The running interpreter's site-packages directories (pure and platform)."""
    paths = sysconfig.get_paths()
    found: list[str] = []
    for key in ("purelib", "platlib"):
        directory = paths[key]
        if directory not in found and Path(directory).is_dir():
            found.append(directory)
    return found


def jac_entry_points(package_dir: Path) -> dict[str, str]:
    """The ``jac`` entry points a package's ``pyproject.toml`` declares (PEP 621 or Poetry)."""
    project = tomllib.loads((package_dir / "pyproject.toml").read_text())
    pep621 = project.get("project", {}).get("entry-points", {}).get("jac", {})
    poetry = project.get("tool", {}).get("poetry", {}).get("plugins", {}).get("jac", {})
    return {**pep621, **poetry}


def example_plugin_names() -> frozenset[str]:
    """Entry-point names of every example plugin package."""
    names: set[str] = set()
    for package in EXAMPLE_PACKAGES:
        names.update(jac_entry_points(EXAMPLE_PLUGINS / package))
    return frozenset(names)


@dataclass
class PluginVenv:
    """A venv with some plugin packages installed, and a way to run programs in it."""

    root: Path
    plugin_names: frozenset[str] = field(default_factory=frozenset)

    @property
    def python(self) -> Path:
        """The venv's interpreter."""
        return self.root / "bin" / "python"

    @property
    def jac(self) -> Path:
        """The venv's ``jac`` console script."""
        return self.root / "bin" / "jac"

    def environment(self, enabled: Iterable[str] | None, extra: Mapping[str, str] | None) -> dict[str, str]:
        """A process environment where only the ``enabled`` plugins of this venv load."""
        environment = {key: value for key, value in os.environ.items() if key not in PLUGIN_ENVIRONMENT}
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        environment["PYTHONIOENCODING"] = "utf-8"
        # Keep jac's per-user caches (plugin lists, ...) inside the throw-away venv.
        environment["JAC_CACHE_DIR"] = str(self.root / "jac-cache")
        if enabled is not None:
            disabled = sorted(self.plugin_names - set(enabled))
            if disabled:
                environment["JAC_DISABLED_PLUGINS"] = ",".join(disabled)
        environment.update(extra or {})
        return environment

    def run_command(
        self,
        command: list[str | Path],
        *,
        enabled: Iterable[str] | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command of this venv; ``enabled`` lists the plugins allowed to load."""
        return subprocess.run(
            [str(part) for part in command],
            capture_output=True,
            text=True,
            env=self.environment(enabled, env),
            cwd=cwd,
            timeout=PROCESS_TIMEOUT,
            check=False,
        )

    def run_python(
        self,
        code: str,
        *,
        enabled: Iterable[str] | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a Python program (given as source text) with this venv's interpreter."""
        return self.run_command(
            [self.python, "-c", textwrap.dedent(code)], enabled=enabled, env=env, cwd=cwd
        )


def create_plugin_venv(root: Path, packages: Iterable[Path], editable: Iterable[Path] = ()) -> PluginVenv:
    """Make a venv at ``root`` and pip-install ``packages`` (``editable`` ones with ``-e``).

    Sources are copied first because building a setuptools package in place
    leaves ``build/`` and ``*.egg-info`` directories in the source tree.
    """
    venv.EnvBuilder(with_pip=False, symlinks=True).create(root)
    site_packages = Path(
        sysconfig.get_path("purelib", vars={"base": str(root), "platbase": str(root)})
    )
    lines = [f"import site; site.addsitedir({directory!r})" for directory in parent_site_packages()]
    (site_packages / "_parent_site_packages.pth").write_text("\n".join(lines) + "\n")
    _write_console_script(root, "jac", "jaclang.cli", "main")

    sources = root / "sources"
    sources.mkdir()
    install_arguments: list[str] = []
    plugin_names: set[str] = set()
    editable_dirs = {Path(path) for path in editable}
    for package in [*packages, *editable_dirs]:
        package = Path(package)
        copy = sources / package.name
        if copy.exists():
            continue
        shutil.copytree(package, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        install_arguments += ["-e", str(copy)] if package in editable_dirs else [str(copy)]
        plugin_names.update(jac_entry_points(package))
    if install_arguments:
        completed = subprocess.run(
            [
                str(root / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-index",
                "--no-deps",
                "--no-build-isolation",
                "--disable-pip-version-check",
                *install_arguments,
            ],
            capture_output=True,
            text=True,
            timeout=PROCESS_TIMEOUT * 2,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"pip install of {install_arguments} failed:\n{completed.stdout}\n{completed.stderr}")
    return PluginVenv(root=root, plugin_names=frozenset(plugin_names))


def _write_console_script(root: Path, name: str, module: str, function: str) -> None:
    """A console script like the one pip writes for ``[project.scripts]``."""
    script = root / "bin" / name
    script.write_text(
        f"#!{root / 'bin' / 'python'}\n"
        "import sys\n"
        f"from {module} import {function}\n"
        f"sys.exit({function}())\n"
    )
    script.chmod(0o755)


_shared_venvs: dict[str, PluginVenv] = {}


def examples_venv(tmp_path_factory: pytest.TempPathFactory) -> PluginVenv:
    """The session's venv with every example plugin package installed (built once)."""
    if "examples" not in _shared_venvs:
        root = tmp_path_factory.mktemp("examples-venv")
        _shared_venvs["examples"] = create_plugin_venv(
            root / "venv",
            [EXAMPLE_PLUGINS / name for name in EXAMPLE_PACKAGES if name not in EDITABLE_PACKAGES],
            editable=[EXAMPLE_PLUGINS / name for name in EDITABLE_PACKAGES],
        )
    return _shared_venvs["examples"]


def assert_logged_answer(stdout: str) -> None:
    """``stdout`` is the spec's logging plugin reporting one ``get_answer`` call answered ``4``, then the answer."""
    lines = stdout.splitlines()
    assert lines[:3] == [
        "[LLM CALL] Starting: get_answer",
        "[LLM CALL] Model: mockllm",
        "[LLM CALL] Args: {'question': 'What is 2+2?'}",
    ]
    assert re.fullmatch(r"\[LLM CALL\] Completed: get_answer in \d+\.\d\ds", lines[3])
    assert lines[4:] == ["[LLM CALL] Result: 4", "4"]
