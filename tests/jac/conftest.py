"""Fixtures for the Jac language tests: run Jac source in-process, record ``by llm()`` calls."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

import jaclang  # noqa: F401  (installs the .jac importer and loads plugins)
from jaclang.runtimelib.importer import run_jac_file
from jaclang.runtimelib.machine import plugin_manager
from jac_support import RecordingPlugin

_module_numbers = itertools.count(1)


@pytest.fixture
def run_jac(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Compile and run Jac source in this process; return what it printed."""
    monkeypatch.setattr(sys, "path", list(sys.path))

    def run(source: str, name: str | None = None) -> str:
        module_name = name or f"jac_case_{next(_module_numbers)}"
        path = tmp_path / f"{module_name}.jac"
        path.write_text(source, encoding="utf-8")
        capsys.readouterr()
        try:
            run_jac_file(str(path), module_name)
        finally:
            sys.modules.pop(module_name, None)
        return capsys.readouterr().out

    return run


@pytest.fixture
def llm_plugin() -> Iterator[RecordingPlugin]:
    """A recording plugin registered for one test (it answers before byllm's own)."""
    plugin = RecordingPlugin()
    plugin_manager.register(plugin, name=f"jac-test-recorder-{id(plugin)}")
    try:
        yield plugin
    finally:
        plugin_manager.unregister(plugin)
