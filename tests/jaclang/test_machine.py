"""The plugin machine: Pluggy markers, firstresult call_llm, wrappers, registration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pluggy
import pytest

from byllm.lib import Model, by
from jaclang.runtimelib import machine
from jaclang.runtimelib.machine import hookimpl, hookspec, plugin_manager


@pytest.fixture
def registered(register_plugin: Callable[[object], object]) -> Callable[[object], object]:
    """Register plugins on this test's fresh plugin manager (tests/conftest.py)."""
    return register_plugin


def make_function(outputs: list[str]) -> Callable[..., str]:
    llm = Model("mockllm", outputs=outputs)

    @by(llm)
    def get_answer(question: str) -> str: ...

    return get_answer


def test_markers_and_manager_are_real_pluggy_objects() -> None:
    assert isinstance(plugin_manager, pluggy.PluginManager)
    assert isinstance(hookimpl, pluggy.HookimplMarker)
    assert isinstance(hookspec, pluggy.HookspecMarker)
    assert plugin_manager.project_name == "jac"
    byllm_plugin = plugin_manager.get_plugin("byllm")
    assert byllm_plugin is not None
    assert machine.plugin_hooks(byllm_plugin) == ["call_llm", "llm_acomplete", "llm_complete", "llm_provider"]
    assert machine.plugin_manager.plugin_sources["byllm"] == ("jaclang", "0.1.0")


def test_call_llm_hook_receives_model_caller_and_args(registered) -> None:
    seen = []

    class Recorder:
        @staticmethod
        @hookimpl
        def call_llm(model: Model, caller: Callable, args: dict[str | int, object]) -> object:
            seen.append((model.model_name, caller.__name__, args))
            return model.invoke(caller, args)

    registered(Recorder)
    get_answer = make_function(["4"])
    assert get_answer("What is 2+2?") == "4"
    assert seen == [("mockllm", "get_answer", {"question": "What is 2+2?"})]


def test_first_result_wins_so_two_delegating_plugins_do_not_both_run(registered) -> None:
    ran = []

    class First:
        @staticmethod
        @hookimpl
        def call_llm(model, caller, args):  # type: ignore[no-untyped-def]
            ran.append("first")
            return model.invoke(caller, args)

    class Second:
        @staticmethod
        @hookimpl
        def call_llm(model, caller, args):  # type: ignore[no-untyped-def]
            ran.append("second")
            return model.invoke(caller, args)

    registered(First)
    registered(Second)
    assert make_function(["ok"])("q") == "ok"
    assert ran == ["second"]  # Pluggy calls the most recently registered plugin first


def test_wrappers_compose_around_any_plugin(registered) -> None:
    events = []

    class Logging:
        @hookimpl(wrapper=True)
        def call_llm(self, model, caller, args):  # type: ignore[no-untyped-def]
            events.append("log before")
            result = yield
            events.append(f"log after {result}")
            return result

    class Upper:
        @hookimpl(wrapper=True)
        def call_llm(self, model, caller, args):  # type: ignore[no-untyped-def]
            result = yield
            return result.upper()

    class Provider:
        @staticmethod
        @hookimpl
        def call_llm(model, caller, args):  # type: ignore[no-untyped-def]
            events.append("provider")
            return f"echo: {args['question']}"

    registered(Provider)
    registered(Upper())
    registered(Logging())
    assert make_function([])("hi") == "ECHO: HI"
    assert events == ["log before", "provider", "log after ECHO: HI"]


def test_instance_plugins_keep_their_configuration(registered) -> None:
    class ConfigurableMachine:
        def __init__(self, enabled: bool) -> None:
            self.enabled = enabled

        @hookimpl
        def call_llm(self, model, caller, args):  # type: ignore[no-untyped-def]
            if not self.enabled:
                return model.invoke(caller, args)
            return "configured"

    registered(ConfigurableMachine(enabled=True))
    assert make_function(["from model"])("q") == "configured"


def test_no_call_llm_implementation_gives_a_clear_error(jac_plugin_manager) -> None:
    jac_plugin_manager.unregister(name="byllm")
    with pytest.raises(RuntimeError, match="no plugin answers by llm\\(\\) calls: install byllm"):
        make_function(["x"])("q")


def test_the_fresh_manager_fixture_holds_only_byllm_and_replaces_the_global_one(jac_plugin_manager) -> None:
    assert machine.plugin_manager is jac_plugin_manager is not plugin_manager
    assert [name for name, _ in jac_plugin_manager.list_name_plugin()] == ["byllm"]
    assert jac_plugin_manager.hook.llm_complete.has_spec() and jac_plugin_manager.hook.call_llm.has_spec()


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )


def test_disabled_plugins_are_blocked_before_import() -> None:
    result = run_python(
        "import jaclang\n"
        "from jaclang.runtimelib.machine import plugin_manager\n"
        "import sys\n"
        "print(plugin_manager.get_plugin('byllm'), plugin_manager.is_blocked('byllm'), 'byllm.plugin' in sys.modules)",
        JAC_DISABLED_PLUGINS="byllm, other",
    )
    assert result.stdout == "None True False\n"


def test_debug_logs_plugin_loads_and_hook_calls() -> None:
    result = run_python(
        "from byllm.lib import Model, by\n"
        "@by(Model('mockllm', outputs=['hi']))\n"
        "def greet(name: str) -> str: ...\n"
        "print(greet('Ada'))",
        JAC_DEBUG="1",
    )
    assert result.stdout == "hi\n"
    assert "[jac] loaded plugin 'byllm' (byllm.plugin:ByllmMachine) from jaclang 0.1.0" in result.stderr
    hook_lines = [line for line in result.stderr.splitlines() if line.startswith("[jac] hook ")]
    assert any(line.startswith("[jac] hook call_llm -> [") and "'byllm'" in line for line in hook_lines)
    assert any(line.startswith("[jac] hook llm_complete -> [") and "'byllm'" in line for line in hook_lines)
    assert "[jac] hook call_llm returned" in hook_lines


PLUGIN_MODULE = """
from jaclang.runtimelib.machine import hookimpl, plugin_manager

class Machine:
    @staticmethod
    @hookimpl
    def call_llm(model, caller, args):
        print("plugin saw", caller.__name__)
        return model.invoke(caller, args)
{registration}
"""

CALL_ONCE = (
    "from byllm.lib import Model, by\n"
    "@by(Model('mockllm', outputs=['hi']))\n"
    "def greet(name: str) -> str: ...\n"
    "print(greet('Ada'))\n"
)


def installed_plugin(folder: Path, registration: str = "") -> Path:
    """A distribution ``early-plugin`` on ``folder`` whose `jac` entry point is ``early_plugin:Machine``."""
    (folder / "early_plugin.py").write_text(PLUGIN_MODULE.format(registration=registration))
    dist_info = folder / "early_plugin-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: early-plugin\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text("[jac]\nearly-plugin = early_plugin:Machine\n")
    return folder


def test_a_plugin_module_imported_before_the_machine_still_loads_by_its_entry_point(tmp_path: Path) -> None:
    # Its module imports the machine, which loads the plugins while that module is half done:
    # the entry point is registered once the module has finished, not reported as broken.
    folder = installed_plugin(tmp_path)
    result = run_python(
        "import early_plugin\n"
        "from jaclang.runtimelib.machine import plugin_manager\n"
        "print(plugin_manager.has_plugin('early-plugin'), plugin_manager.failed_plugins)\n" + CALL_ONCE,
        PYTHONPATH=str(folder), JAC_CACHE_DIR=str(tmp_path / "cache"),
    )
    assert result.stderr == ""
    assert result.stdout == "True {}\nplugin saw greet\nhi\n"


def test_a_plugin_registering_itself_and_installed_by_entry_point_is_registered_once(tmp_path: Path) -> None:
    folder = installed_plugin(tmp_path, registration="plugin_manager.register(Machine)")
    for first in ("import early_plugin", "import jaclang.runtimelib.machine"):
        result = run_python(
            first + "\nfrom jaclang.runtimelib.machine import plugin_manager\n"
            "import early_plugin\n"
            "print(sum(plugin is early_plugin.Machine for plugin in plugin_manager.get_plugins()))\n" + CALL_ONCE,
            PYTHONPATH=str(folder), JAC_CACHE_DIR=str(tmp_path / "cache"),
        )
        assert result.stderr == ""
        assert result.stdout == "1\nplugin saw greet\nhi\n"
