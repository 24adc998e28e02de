"""Pydantic plugins keep working although byllm spares Pydantic its plugin scan when none is installed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

PROGRAM = textwrap.dedent(
    """
    from dataclasses import dataclass

    from byllm.lib import Model, by
    from pydantic.plugin import _loader


    @dataclass
    class Person:
        name: str


    llm = Model(model_name="mockllm", outputs=['{"name": "Ada"}'])


    @by(llm)
    def famous_person() -> Person: ...


    print(famous_person())
    print("plugins:", sorted(type(plugin).__name__ for plugin in _loader.get_plugins()))
    """
)

RECORDING_PLUGIN = textwrap.dedent(
    """
    import sys


    class RecordingPlugin:
        def new_schema_validator(self, schema, schema_type, schema_type_path, schema_kind, config, plugin_settings):
            print(f"plugin saw a {schema_kind} for {schema_type_path.name}", file=sys.stderr)
            return None, None, None


    plugin = RecordingPlugin()
    """
)


def run_program(tmp_path: Path, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run :data:`PROGRAM` in a fresh interpreter with its own jac cache (and ``extra_path`` on ``sys.path``)."""
    env = {**os.environ, "JAC_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("PYDANTIC_DISABLE_PLUGINS", None)
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(extra_path), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-c", PROGRAM], env=env, cwd=tmp_path, capture_output=True, text=True)


def install_recording_plugin(site: Path) -> None:
    """An installed distribution declaring a ``pydantic`` entry point, as ``pip install`` would leave it."""
    dist_info = site / "recording_plugin-0.1.dist-info"
    dist_info.mkdir(parents=True)
    (site / "recording_plugin.py").write_text(RECORDING_PLUGIN)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: recording-plugin\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text("[pydantic]\nrecorder = recording_plugin:plugin\n")


def test_installed_pydantic_plugin_sees_the_validators_of_typed_calls(tmp_path: Path) -> None:
    site = tmp_path / "site"
    install_recording_plugin(site)
    for _ in range(2):  # the second run reads jac's cached entry-point list
        completed = run_program(tmp_path, extra_path=site)
        assert completed.returncode == 0, completed.stderr
        assert completed.stdout.splitlines() == ["Person(name='Ada')", "plugins: ['RecordingPlugin']"]
        assert "plugin saw a TypeAdapter for " in completed.stderr


def test_without_pydantic_plugins_typed_calls_work_and_pydantic_has_none(tmp_path: Path) -> None:
    for _ in range(2):
        completed = run_program(tmp_path)
        assert completed.returncode == 0, completed.stderr
        assert completed.stdout.splitlines() == ["Person(name='Ada')", "plugins: []"]
