"""Start-up weight: ``import jaclang`` loads only the light entry modules of the plugins that are off.

The check is on which modules get imported (a fresh interpreter per case), never
on timings; the timings are in ``bench/jac_startup.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jaclang.runtimelib import entry_points
from jaclang.runtimelib.entry_points import PluginEntryPoint, group_entry_points

# What the off-by-default plugins need only once they are switched on or read.
HEAVY_MODULES = (
    "byllm.plugins.cache_hooks",
    "byllm.plugins.cache_backend",
    "byllm.plugins.calllog_hooks",
    "byllm.plugins.records",
    "byllm.plugins.calls",
    "byllm.plugins.usage_totals",
    "byllm.providers.base",
    "byllm.providers.mock",
    "sqlite3",
    "logging",
    "json",
    "dataclasses",
    "pathlib",
    "threading",
)

# Prints the names found loaded, comma separated (json itself is one of the modules checked).
PROBE = (
    "import sys\n"
    "import jaclang, byllm\n"
    "print(','.join(name for name in sys.argv[1:] if name in sys.modules))\n"
)


def loaded_after_import(tmp_path: Path, modules: tuple[str, ...], **extra_env: str) -> dict[str, bool]:
    """Which of ``modules`` a fresh ``import jaclang, byllm`` loads (no BYLLM_* settings, empty cwd)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("BYLLM_", "JAC_", "OTEL_"))}
    env["JAC_CACHE_DIR"] = str(tmp_path / "jac-cache")
    env.update(extra_env)
    # The first run scans the installed distributions (importlib.metadata and all
    # it imports) to fill the entry-point cache; the second shows a usual start-up.
    for _ in range(2):
        completed = subprocess.run(
            [sys.executable, "-c", PROBE, *modules], env=env, cwd=tmp_path, capture_output=True, text=True, check=True
        )
    found = set(filter(None, completed.stdout.strip().split(",")))
    return {name: name in found for name in modules}


def test_import_jaclang_leaves_the_heavy_plugin_modules_unimported(tmp_path: Path) -> None:
    loaded = loaded_after_import(tmp_path, HEAVY_MODULES)
    assert [name for name, present in loaded.items() if present] == []


def test_the_plugins_are_still_registered_and_the_hooks_of_the_off_ones_are_not(tmp_path: Path) -> None:
    probe = (
        "import json, jaclang\n"
        "from byllm.plugins import cache, calllog, tracing\n"
        "names = sorted(name for name, _ in jaclang.plugin_manager.list_name_plugin())\n"
        "print(json.dumps([names, cache.switch.active, calllog.switch.active, tracing.switch.active]))\n"
    )
    env = {name: value for name, value in os.environ.items() if not name.startswith(("BYLLM_", "JAC_", "OTEL_"))}
    env["JAC_CACHE_DIR"] = str(tmp_path / "jac-cache")
    completed = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    names, cache_on, log_on, tracing_on = json.loads(completed.stdout)
    assert names == ["byllm", "byllm-cache", "byllm-log", "byllm-tracing", "byllm-usage"]
    assert (cache_on, log_on, tracing_on) == (False, False, False)


def test_switching_the_cache_on_imports_and_registers_its_hooks(tmp_path: Path) -> None:
    probe = (
        "import json, sys\n"
        "from byllm import Model\n"
        "from byllm.plugins import cache\n"
        "before = 'byllm.plugins.cache_hooks' in sys.modules\n"
        "Model('mockllm', outputs=['a'], cache=True)\n"
        "print(json.dumps([before, 'byllm.plugins.cache_hooks' in sys.modules, cache.switch.active,"
        " cache.switch.hooks is cache.CacheHooks]))\n"
    )
    env = {name: value for name, value in os.environ.items() if not name.startswith(("BYLLM_", "JAC_", "OTEL_"))}
    env["JAC_CACHE_DIR"] = str(tmp_path / "jac-cache")
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg-cache")
    completed = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert json.loads(completed.stdout) == [False, True, True, True]


def test_a_configured_log_is_switched_on_when_the_settings_load(tmp_path: Path) -> None:
    log_file = tmp_path / "calls.db"
    probe = (
        "import json\n"
        "from byllm.plugins import calllog\n"
        "from byllm.settings import get_settings\n"
        "get_settings()\n"
        "print(json.dumps([calllog.switch.active, str(calllog.log_path())]))\n"
    )
    env = {name: value for name, value in os.environ.items() if not name.startswith(("BYLLM_", "JAC_", "OTEL_"))}
    env["BYLLM_LOG"] = str(log_file)
    env["JAC_CACHE_DIR"] = str(tmp_path / "jac-cache")
    completed = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert json.loads(completed.stdout) == [True, str(log_file)]


def test_a_blocked_cache_plugin_never_imports_its_hooks(tmp_path: Path) -> None:
    loaded = loaded_after_import(
        tmp_path, ("byllm.plugins.cache", "byllm.plugins.cache_hooks"), JAC_DISABLED_PLUGINS="byllm-cache"
    )
    assert loaded == {"byllm.plugins.cache": False, "byllm.plugins.cache_hooks": False}


def test_the_old_module_paths_still_serve_every_name() -> None:
    from byllm.plugins import cache, calllog, usage
    from byllm.plugins.cache_hooks import CacheHooks, counters
    from byllm.plugins.calllog_hooks import CallLogHooks, open_log
    from byllm.plugins.usage_totals import CallUsage, RunUsage, usage_of_completions

    assert (cache.CacheHooks, cache.counters) == (CacheHooks, counters)
    assert (calllog.CallLogHooks, calllog.open_log) == (CallLogHooks, open_log)
    assert (usage.CallUsage, usage.RunUsage, usage.usage_of_completions) == (CallUsage, RunUsage, usage_of_completions)
    with pytest.raises(AttributeError, match="no_such_name"):
        cache.no_such_name  # noqa: B018
    with pytest.raises(AttributeError, match="no_such_name"):
        usage.no_such_name  # noqa: B018


# -- the entry-point cache ------------------------------------------------------------
def test_entry_points_are_read_back_from_the_cache_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAC_NO_PLUGIN_CACHE", raising=False)
    monkeypatch.setenv("JAC_CACHE_DIR", str(tmp_path))
    scanned = group_entry_points("jac")
    files = list(tmp_path.glob("entry-points-jac-*.txt"))
    assert len(files) == 1
    # Served from the file now: a scan would not return this marker.
    marker = PluginEntryPoint("marker", "marker_module:Plugin", "marker-dist", "9.9")
    text = files[0].read_text(encoding="utf-8")
    files[0].write_text(text + "\t".join(("marker", "marker_module:Plugin", "marker-dist", "9.9")) + "\n", encoding="utf-8")
    assert group_entry_points("jac") == [*scanned, marker]
    assert {item.name for item in scanned} >= {"byllm", "byllm-cache", "byllm-log", "byllm-usage", "byllm-tracing"}


def test_a_damaged_cache_file_is_rescanned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAC_NO_PLUGIN_CACHE", raising=False)
    monkeypatch.setenv("JAC_CACHE_DIR", str(tmp_path))
    scanned = group_entry_points("jac")
    (cache_file,) = tmp_path.glob("entry-points-jac-*.txt")
    cache_file.write_text(cache_file.read_text(encoding="utf-8") + "only\ttwo\n", encoding="utf-8")
    assert group_entry_points("jac") == scanned
    cache_file.write_text("format 1\n", encoding="utf-8")
    assert group_entry_points("jac") == scanned


def test_each_sys_path_keeps_its_own_cache_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAC_NO_PLUGIN_CACHE", raising=False)
    monkeypatch.setenv("JAC_CACHE_DIR", str(tmp_path / "cache"))
    first = group_entry_points("jac")
    extra = tmp_path / "extra-site"
    extra.mkdir()
    monkeypatch.syspath_prepend(str(extra))
    assert group_entry_points("jac") == first
    assert len(list((tmp_path / "cache").glob("entry-points-jac-*.txt"))) == 2


def test_only_the_most_recent_cache_files_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAC_NO_PLUGIN_CACHE", raising=False)
    monkeypatch.setenv("JAC_CACHE_DIR", str(tmp_path / "cache"))
    for index in range(entry_points.KEPT_CACHE_FILES + 3):
        extra = tmp_path / f"site-{index}"
        extra.mkdir()
        monkeypatch.syspath_prepend(str(extra))
        group_entry_points("jac")
    assert len(list((tmp_path / "cache").glob("entry-points-jac-*.txt"))) == entry_points.KEPT_CACHE_FILES


def test_entry_point_records_are_immutable_values() -> None:
    item = PluginEntryPoint("a", "m:C", "dist", "1.0")
    assert item == PluginEntryPoint("a", "m:C", "dist", "1.0")
    assert hash(item) == hash(PluginEntryPoint("a", "m:C", "dist", "1.0"))
    with pytest.raises(AttributeError):
        item.name = "b"  # type: ignore[misc]
