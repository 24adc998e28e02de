"""`jac plugins`: every loaded plugin with its distribution, version and hooks; blocked and failed ones marked."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jaclang.cli import main as jac
from jaclang.runtimelib.machine import hookimpl

# The cache, the log and tracing are off here: their working hooks are not registered
# (see test_plugin_switches.py), so they add nothing to a call.
BUILT_INS = {
    "byllm": ["call_llm", "llm_acomplete", "llm_complete", "llm_provider"],
    "byllm-cache": ["add_cli_commands"],
    "byllm-log": ["add_cli_commands"],
    "byllm-usage": ["llm_call_finished"],
    "byllm-tracing": [],
}


@pytest.fixture
def plugin_manager():
    """The process-wide manager, as installed: `jac plugins` reports its entry-point bookkeeping."""
    from jaclang.runtimelib import machine

    return machine.plugin_manager


# The distribution installing byllm (its name follows pyproject.toml).
DISTRIBUTION = importlib.metadata.packages_distributions()["byllm"][0]


def run_jac(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("BYLLM_", "JAC_"))}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "jaclang.cli", *args], capture_output=True, text=True, env=environment, cwd=tmp_path
    )


def test_jac_plugins_lists_built_in_plugins_with_their_hooks(capsys) -> None:
    assert jac(["plugins"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "DISTRIBUTION", "VERSION", "HOOKS"]
    rows = {line.split()[0]: line for line in lines[1:]}
    for name, hooks in BUILT_INS.items():
        assert rows[name].split()[1:4] == ["loaded", DISTRIBUTION, "0.1.0"]
        assert rows[name].endswith(", ".join(hooks))


def test_jac_plugins_json_includes_plugins_registered_in_code(plugin_manager, capsys) -> None:
    class ShoutingMachine:
        @staticmethod
        @hookimpl
        def call_llm(model, caller, args):
            return None

    plugin_manager.register(ShoutingMachine, name="shouting")
    try:
        assert jac(["plugins", "--json"]) == 0
    finally:
        plugin_manager.unregister(ShoutingMachine)
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["shouting"]["distribution"] == "(registered in code)"
    assert rows["shouting"]["hooks"] == ["call_llm"]
    assert rows["byllm-log"]["object"] == "byllm.plugins.entry:CallLogPlugin"


def test_disabled_plugins_show_as_blocked_and_broken_ones_as_failed(tmp_path: Path) -> None:
    site = tmp_path / "site"
    dist_info = site / "broken_plugin-1.2.3.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.2.3\n")
    (dist_info / "entry_points.txt").write_text("[jac]\nbroken = no_such_module.plugin:Machine\n")
    result = run_jac(
        ["plugins", "--json"], tmp_path, PYTHONPATH=str(site), JAC_DISABLED_PLUGINS="byllm-cache,byllm-tracing"
    )
    assert result.returncode == 0, result.stderr
    assert "jac plugin 'broken' from broken-plugin failed to load" in result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["byllm-cache"]["status"] == "blocked" and rows["byllm-cache"]["hooks"] == []
    assert rows["byllm-tracing"]["status"] == "blocked"
    assert rows["byllm-log"]["status"] == "loaded"
    broken = rows["broken"]
    assert (broken["status"], broken["distribution"], broken["version"]) == ("failed", "broken-plugin", "1.2.3")
    assert "ModuleNotFoundError" in broken["error"]


def test_disabling_the_cache_plugin_removes_its_command(tmp_path: Path) -> None:
    result = run_jac(["cache", "stats"], tmp_path, JAC_DISABLED_PLUGINS="byllm-cache")
    assert result.returncode == 2
    assert "'cache'" in result.stderr and "Traceback" not in result.stderr
