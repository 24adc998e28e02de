"""Misbehaving plugins are isolated: reported once, by name, with the reason; the others and jac keep working."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from jaclang.runtimelib import entry_points, machine
from jaclang.runtimelib.entry_points import PluginEntryPoint

PLUGINS = {
    "exits_at_import": "import sys\nsys.exit(3)\n",
    "interrupted_at_import": "raise KeyboardInterrupt\n",
    "broken_import": "import no_such_module_anywhere\n",
    "wrong_call_llm": """
        from jaclang.runtimelib.machine import hookimpl
        class Plugin:
            @staticmethod
            @hookimpl
            def call_llm(model, caller, args, surprise):
                return None
    """,
    "wrong_llm_complete": """
        from jaclang.runtimelib.machine import hookimpl
        class Plugin:
            @staticmethod
            @hookimpl
            def llm_complete(model, request, surprise):
                return None
    """,
    "misspelled": """
        from jaclang.runtimelib.machine import hookimpl
        class Plugin:
            @staticmethod
            @hookimpl
            def call_lm(model, caller, args):
                return None
    """,
    "impostor": """
        from jaclang.runtimelib.machine import hookimpl
        class Plugin:
            @staticmethod
            @hookimpl
            def llm_call_finished(record):
                raise AssertionError("an impostor must never load")
    """,
    "good": """
        from jaclang.runtimelib.machine import hookimpl
        seen = []
        class Plugin:
            @staticmethod
            @hookimpl
            def llm_call_finished(record):
                seen.append(record.function)
    """,
}


@pytest.fixture()
def manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> machine.JacPluginManager:
    """A fresh manager whose `jac` entry points are byllm's own plus the misbehaving ones above."""
    for name, source in PLUGINS.items():
        (tmp_path / f"isolation_{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    installed = [point for point in entry_points.group_entry_points("jac") if point.name in ("byllm", "byllm-usage")]
    ours = [
        PluginEntryPoint(name if name != "impostor" else "byllm-usage", f"isolation_{name}"
                         + (":Plugin" if "class Plugin" in source else ""), "misbehaving-dist", "6.6.6")
        for name, source in PLUGINS.items()
    ]
    real_scan = entry_points.group_entry_points
    monkeypatch.setattr(entry_points, "group_entry_points",
                        lambda group: installed + ours if group == "jac" else real_scan(group))
    fresh = machine.new_plugin_manager()
    monkeypatch.setattr(machine, "plugin_manager", fresh)
    yield fresh
    for name in PLUGINS:
        sys.modules.pop(f"isolation_{name}", None)


def test_each_misbehaving_plugin_is_reported_once_and_the_others_load(manager, capsys) -> None:
    machine.load_plugins(manager)
    machine.load_plugins(manager)  # idempotent: nothing reported twice
    failed = manager.failed_plugins
    assert set(failed) == {"exits_at_import", "interrupted_at_import", "broken_import", "wrong_call_llm",
                           "wrong_llm_complete", "byllm-usage"}
    assert "SystemExit" in failed["exits_at_import"] and "KeyboardInterrupt" in failed["interrupted_at_import"]
    assert "ModuleNotFoundError" in failed["broken_import"]
    assert "surprise" in failed["wrong_call_llm"] and "surprise" in failed["wrong_llm_complete"]
    assert "already taken" in failed["byllm-usage"]
    for name in ("byllm", "byllm-usage", "good", "misspelled"):
        assert manager.has_plugin(name)
    assert "isolation_impostor" not in sys.modules  # refused before it was even imported
    err = capsys.readouterr().err
    assert err.count("'exits_at_import'") == 1
    assert all(line.startswith("warning: ") for line in err.splitlines())  # one line per report
    assert "plugin 'misspelled' implements an unknown hook 'call_lm'; did you mean 'call_llm'?" in err
    assert err.count("call_lm") == 1


def test_the_calls_still_work_with_the_misbehaving_plugins_installed(manager) -> None:
    machine.load_plugins(manager)
    from byllm.lib import Model, by

    @by(Model("mockllm", outputs=["Bonjour"]))
    def translate(text: str) -> str: ...

    assert translate("Hello") == "Bonjour"
    assert sys.modules["isolation_good"].seen == ["test_the_calls_still_work_with_the_misbehaving_plugins_installed.<locals>.translate"]


def test_an_llm_complete_answering_with_a_string_is_a_clear_error(manager) -> None:
    machine.load_plugins(manager)
    from byllm.errors import ConfigurationError
    from byllm.lib import Model, by

    class Sloppy:
        @staticmethod
        @machine.hookimpl(tryfirst=True)
        def llm_complete(model, request):
            return "a bare string"

    manager.register(Sloppy, name="sloppy")

    @by(Model("mockllm", outputs=["x"]))
    def letter(n: int) -> str: ...

    with pytest.raises(ConfigurationError, match="not a CompletionReply"):
        letter(1)
