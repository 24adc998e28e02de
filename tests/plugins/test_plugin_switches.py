"""Plugins that are off sit in no hook call; using a feature registers its working hooks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jaclang.runtimelib import machine
from byllm.lib import Model
from byllm.plugins import calllog, tracing
from byllm.settings import reload_settings


def active(feature: str) -> bool:
    """Whether a feature's working hooks (``byllm-<feature>:hooks``) are registered."""
    return machine.plugin_manager.has_plugin(f"byllm-{feature}:hooks")


def hook_plugins(manager, hook_name: str) -> list[str]:
    """Names of the plugins implementing a hook."""
    return sorted(impl.plugin_name for impl in getattr(manager.hook, hook_name).get_hookimpls())


def test_defaults_add_only_usage_to_a_call(plugin_manager) -> None:
    assert hook_plugins(plugin_manager, "call_llm") == ["byllm"]
    assert hook_plugins(plugin_manager, "llm_complete") == ["byllm"]
    assert hook_plugins(plugin_manager, "llm_acomplete") == ["byllm"]
    assert hook_plugins(plugin_manager, "llm_call_finished") == ["byllm-usage"]


def test_settings_switch_the_cache_and_log_hooks_on_and_off(plugin_manager, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BYLLM_CACHE", "on")
    monkeypatch.setenv("BYLLM_LOG", str(tmp_path / "log.db"))
    reload_settings()
    assert active("cache") and active("log")
    assert hook_plugins(plugin_manager, "llm_complete") == ["byllm", "byllm-cache:hooks", "byllm-cache:hooks"]
    assert hook_plugins(plugin_manager, "llm_call_finished") == ["byllm-log:hooks", "byllm-usage"]
    monkeypatch.delenv("BYLLM_CACHE")
    monkeypatch.delenv("BYLLM_LOG")
    reload_settings()
    assert not active("cache") and not active("log")


def test_a_model_or_a_call_asking_for_a_feature_switches_it_on(tmp_path: Path, provider, shout_with) -> None:
    assert not active("cache") and not active("log")
    model = Model("test/m", cache=f"sqlite:///{tmp_path}/c.db")
    assert active("cache")
    shout = shout_with(model(log=str(tmp_path / "log.db")))
    assert active("log")
    shout("a")
    shout("a")
    assert provider.calls == 1
    assert len(calllog.open_log(tmp_path / "log.db").recent()) == 2
    reload_settings()  # the settings still say off, but a model asked: the hooks stay
    assert active("cache") and active("log")


def test_a_blocked_plugin_stays_off_even_when_a_model_asks(plugin_manager) -> None:
    plugin_manager.unregister(name="byllm-cache")  # what JAC_DISABLED_PLUGINS=byllm-cache leaves
    Model("test/m", cache=True)
    assert not active("cache")
    assert hook_plugins(plugin_manager, "llm_complete") == ["byllm"]


def test_span_hooks_are_registered_only_while_tracing_is_on(plugin_manager, monkeypatch) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider

    assert not active("tracing")
    tracer_provider = TracerProvider()
    tracing.use_tracer_provider(tracer_provider)
    assert hook_plugins(plugin_manager, "llm_call_finished") == ["byllm-tracing:hooks", "byllm-usage"]
    monkeypatch.setenv("BYLLM_TRACING", "off")
    reload_settings()
    assert not active("tracing")
    tracing.use_tracer_provider(None)
    tracer_provider.shutdown()


DEFAULT_HOOKS = """
from jaclang.runtimelib.machine import plugin_manager
from byllm.lib import Model, by

@by(Model("mockllm", outputs=["a"]))
def shout(word: str) -> str:
    '''Echo.'''

assert shout("x") == "a"
BUILT_IN = ("byllm", "byllm-cache", "byllm-log", "byllm-usage", "byllm-tracing")
for name in ("call_llm", "llm_complete", "llm_call_finished"):
    implementations = getattr(plugin_manager.hook, name).get_hookimpls()
    print(name, sorted(impl.plugin_name for impl in implementations if impl.plugin_name.split(":")[0] in BUILT_IN))
"""


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ["call_llm ['byllm']", "llm_complete ['byllm']", "llm_call_finished ['byllm-usage']"]),
        ({"BYLLM_CACHE": "on", "BYLLM_LOG": "on", "JAC_DISABLED_PLUGINS": "byllm-cache"},
         ["call_llm ['byllm']", "llm_complete ['byllm']", "llm_call_finished ['byllm-log:hooks', 'byllm-usage']"]),
    ],
)
def test_installed_entry_points_in_a_fresh_process(tmp_path: Path, env: dict[str, str], expected: list[str]) -> None:
    """The entry points as installed (the process boundary is the point: start-up loading)."""
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "c"),
                   "XDG_DATA_HOME": str(tmp_path / "d"), **env}
    import os

    if "PYTHONPATH" in os.environ:
        environment["PYTHONPATH"] = os.environ["PYTHONPATH"]
    result = subprocess.run([sys.executable, "-c", DEFAULT_HOOKS], capture_output=True, text=True, env=environment,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == expected
