"""Plugins that are off sit in no hook call; using a feature registers its working hooks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jaclang.runtimelib.machine import plugin_manager
from byllm.lib import Model, by
from byllm.plugins import cache, calllog, tracing
from byllm.settings import reload_settings


def hook_plugins(hook_name: str) -> list[str]:
    """Names of the plugins implementing a hook, in call order."""
    return [impl.plugin_name for impl in getattr(plugin_manager.hook, hook_name).get_hookimpls()]


def run_python(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        **env,
    }
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, cwd=tmp_path)


DEFAULT_HOOKS = """
from byllm.lib import Model, by
from jaclang.runtimelib.machine import plugin_manager

@by(Model("mockllm", outputs=["a"]))
def shout(word: str) -> str:
    '''Echo.'''

assert shout("x") == "a"
for name in ("call_llm", "llm_complete", "llm_acomplete"):
    print(name, sorted(impl.plugin_name for impl in getattr(plugin_manager.hook, name).get_hookimpls()))
"""


def test_default_install_adds_only_usage(tmp_path: Path) -> None:
    result = run_python(DEFAULT_HOOKS, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "call_llm ['byllm', 'byllm-usage']",
        "llm_complete ['byllm', 'byllm-usage']",
        "llm_acomplete ['byllm', 'byllm-usage']",
    ]


def test_settings_switch_the_cache_and_log_hooks_on_at_start(tmp_path: Path) -> None:
    result = run_python(DEFAULT_HOOKS, tmp_path, BYLLM_CACHE="on", BYLLM_LOG="on")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "'byllm-log:hooks'" in lines[0]
    assert "'byllm-cache:hooks'" in lines[1] and "'byllm-log:hooks'" in lines[1]


def test_a_disabled_plugin_stays_out_even_when_a_model_asks_for_it(tmp_path: Path) -> None:
    code = DEFAULT_HOOKS.replace('Model("mockllm", outputs=["a"])', 'Model("mockllm", outputs=["a"], cache=True)')
    result = run_python(code, tmp_path, JAC_DISABLED_PLUGINS="byllm-cache")
    assert result.returncode == 0, result.stderr
    assert "byllm-cache" not in result.stdout


def test_cache_and_log_hooks_are_registered_only_while_wanted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert "byllm-cache:hooks" not in hook_plugins("llm_complete")
    assert "byllm-log:hooks" not in hook_plugins("call_llm")
    monkeypatch.setenv("BYLLM_LOG", str(tmp_path / "log.db"))
    reload_settings()
    assert calllog.switch.active and "byllm-log:hooks" in hook_plugins("call_llm")
    monkeypatch.delenv("BYLLM_LOG")
    reload_settings()
    assert not calllog.switch.active


def test_a_model_or_a_call_asking_for_a_feature_switches_it_on(tmp_path: Path, provider) -> None:
    assert not cache.switch.active and not calllog.switch.active
    model = Model("test/m", cache=f"sqlite:///{tmp_path}/c.db")
    assert cache.switch.active

    @by(model(log=str(tmp_path / "log.db")))
    def shout(word: str) -> str:
        """Echo."""

    assert calllog.switch.active
    shout("a")
    shout("a")
    assert provider.calls == 1  # the second answer came from the cache
    assert calllog.open_log(tmp_path / "log.db").count() == 2
    reload_settings()  # the settings still say off, but the model asked: the hooks stay
    assert cache.switch.active and calllog.switch.active


def test_span_hooks_are_registered_only_while_tracing_is_on(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider

    assert "byllm-tracing:hooks" not in hook_plugins("call_llm")
    tracer_provider = TracerProvider()
    tracing.use_tracer_provider(tracer_provider)
    try:
        assert "byllm-tracing:hooks" in hook_plugins("call_llm")
        assert "byllm-tracing:hooks" in hook_plugins("llm_complete")
        monkeypatch.setenv("BYLLM_TRACING", "off")
        reload_settings()
        assert "byllm-tracing:hooks" not in hook_plugins("llm_complete")
    finally:
        tracing.use_tracer_provider(None)
        tracer_provider.shutdown()
    assert "byllm-tracing:hooks" not in hook_plugins("call_llm")


GLOBAL_PROVIDER_SET_LATE = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from byllm.lib import Model, by
from byllm.settings import reload_settings

@by(Model("mockllm", outputs=["a", "b"]))
def shout(word: str) -> str:
    '''Echo.'''

shout("x")  # no provider yet: no spans, no tracing hooks
exporter = InMemorySpanExporter()
tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(tracer_provider)
reload_settings()  # the model was made before the provider: tell byllm to look again
shout("y")
print(sorted(span.name for span in exporter.get_finished_spans()))
"""


def test_a_global_provider_set_after_the_models_is_picked_up_on_reload(tmp_path: Path) -> None:
    pytest.importorskip("opentelemetry.sdk")
    result = run_python(GLOBAL_PROVIDER_SET_LATE, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['by_llm shout', 'chat mockllm']"
