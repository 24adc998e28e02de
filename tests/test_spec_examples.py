"""Every Python code block of the plugin spec runs unchanged against this install.

The blocks are read from the spec at test time: the vendored copy
``docs/spec/byllm-plugins.md`` and, when it exists, the team's shared copy
``../shared/spec/byllm-plugins.md`` (tests are parametrized over the copies
present, so none skips in a fresh clone). Each block is compiled exactly as written
and run as module code; plugin classes are registered on the real plugin
manager and answer ``by llm()`` calls made with the mock model. Snippets that
use names without importing them (``@hookimpl def call_llm(...)``, the
``ConfigurableMachine`` class, ``plugin_manager.load_setuptools_entrypoints``)
run in a namespace holding only the names the spec's full examples import.
Blocks that need the installed ``my_byllm_plugin`` package run in the plugin
venv of ``tests/plugin_packages``.
"""

from __future__ import annotations

import contextlib
import re
import types
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from byllm.errors import MockExhaustedError
from byllm.lib import Model, by
from byllm.plugin import ByllmMachine
from jaclang.runtimelib import machine as jac_machine
from jaclang.runtimelib.machine import JacMachineSpec, JacPluginManager, hookimpl
from plugin_packages.spec_document import VENDORED_SPEC, CodeBlock, code_blocks, spec_copies, spec_copy_id
from plugin_packages.venvs import EXAMPLE_PLUGINS, PluginVenv, examples_venv

# The names the spec's complete examples import; the short snippets assume them.
SNIPPET_NAMES: dict[str, Any] = {"hookimpl": hookimpl, "Model": Model, "Callable": Callable}

# Each Python block of the spec, by the heading it sits under.
STEP_2 = "Step 2: Define Your Plugin Class"
CACHING = "Example 1: Caching Plugin"
LOGGING = "Example 2: Logging Plugin"
CUSTOM_PROVIDER = "Example 3: Custom Model Provider"
HOOK_REFERENCE = "call_llm Hook"
HANDLE_ERRORS = "1. Handle Errors Gracefully"
PRESERVE = "2. Preserve Original Functionality"
CONFIGURATION = "Use Configuration"
TESTING = "4. Testing Your Plugin"
DISCOVERY = "Plugin Discovery and Loading"
VERIFY = "Verify Plugin Registration"
CHECKED_HEADINGS = {
    STEP_2, CACHING, LOGGING, CUSTOM_PROVIDER, HOOK_REFERENCE, HANDLE_ERRORS,
    PRESERVE, CONFIGURATION, TESTING, DISCOVERY, VERIFY,
}  # fmt: skip


@pytest.fixture(params=spec_copies(), ids=spec_copy_id)
def spec_path(request: pytest.FixtureRequest) -> Path:
    """The spec copy under test: the vendored one, and the shared one where it exists (nothing skips)."""
    return request.param


@pytest.fixture(scope="module")
def plugins_venv(tmp_path_factory: pytest.TempPathFactory) -> PluginVenv:
    """The venv with every example plugin package installed (shared with tests/plugin_packages)."""
    return examples_venv(tmp_path_factory)


def spec_block(path: Path, heading: str) -> CodeBlock:
    """The one Python block under ``heading`` in the spec at ``path``."""
    blocks = [block for block in code_blocks(path.read_text(), "python") if block.heading == heading]
    assert len(blocks) == 1, f"expected one python block under {heading!r} in {path}, found {len(blocks)}"
    return blocks[0]


def run_block(path: Path, heading: str, names: dict[str, Any] | None = None) -> types.ModuleType:
    """Run the block under ``heading`` unchanged as the body of a new module."""
    block = spec_block(path, heading)
    module = types.ModuleType(f"spec_line_{block.line}")
    module.__dict__.update(names or {})
    exec(compile(block.code, f"{path}:{block.line}", "exec"), module.__dict__)
    return module


@pytest.fixture(autouse=True)
def fresh_manager(jac_plugin_manager: JacPluginManager) -> JacPluginManager:
    """Every test runs on a fresh plugin manager holding byllm's plugin (the byllm pytest plugin's fixture)."""
    return jac_plugin_manager


@contextlib.contextmanager
def registered(plugin: object) -> Iterator[object]:
    """Register ``plugin`` on the test's plugin manager for the duration of a ``with`` block."""
    manager = jac_machine.plugin_manager
    manager.register(plugin, name=f"spec-example-{id(plugin)}")
    try:
        yield plugin
    finally:
        manager.unregister(plugin)


def answer_function(model: Model) -> Callable[[str], str]:
    """A ``by llm()`` function like the spec's ``get_answer``, answered by ``model``."""

    @by(model)
    def get_answer(question: str) -> str:
        """Answer the question."""

    return get_answer


def test_every_python_block_of_the_spec_has_a_check(spec_path: Path) -> None:
    headings = [block.heading for block in code_blocks(spec_path.read_text(), "python")]
    assert sorted(headings) == sorted(CHECKED_HEADINGS)


@pytest.mark.parametrize("copy", spec_copies(), ids=spec_copy_id)
def test_every_spec_copy_is_the_vendored_spec(copy: Path) -> None:
    assert copy.read_text() == VENDORED_SPEC.read_text(), "refresh docs/spec/byllm-plugins.md"


# -- the full plugin examples ---------------------------------------------------------


def test_step_2_plugin_intercepts_and_delegates(spec_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = run_block(spec_path, STEP_2)
    get_answer = answer_function(Model("mockllm", outputs=["4"]))
    with registered(module.MybyllmMachine):
        assert get_answer("What is 2+2?") == "4"
    assert capsys.readouterr().out == (
        "Custom plugin intercepted call to: get_answer\nArguments: {'question': 'What is 2+2?'}\nResult: 4\n"
    )


def test_step_2_plugin_called_directly_as_the_testing_section_does(spec_path: Path) -> None:
    module = run_block(spec_path, STEP_2)
    machine = module.MybyllmMachine()
    model = Model("mockllm", outputs=["test response"])

    def test_function(x: str) -> str:
        """Test function."""

    assert machine.call_llm(model, test_function, {"x": "test input"}) == "test response"
    user_message = model.provider.requests[0].messages[1]["content"]
    assert '- x = "test input"' in user_message


def test_caching_example_answers_a_repeat_from_its_cache(spec_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = run_block(spec_path, CACHING)
    get_answer = answer_function(Model("mockllm", outputs=["4"]))  # one output: the repeat is cached
    with registered(module.CachingbyllmMachine):
        assert [get_answer("What is 2+2?"), get_answer("What is 2+2?")] == ["4", "4"]
    assert capsys.readouterr().out == "Cached result for get_answer\nCache hit for get_answer\n"


def test_logging_example_logs_a_call(spec_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = run_block(spec_path, LOGGING)
    get_answer = answer_function(Model("mockllm", outputs=["4"]))
    with registered(module.LoggingbyllmMachine):
        assert get_answer("What is 2+2?") == "4"
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [
        "[LLM CALL] Starting: get_answer",
        "[LLM CALL] Model: mockllm",
        "[LLM CALL] Args: {'question': 'What is 2+2?'}",
    ]
    assert re.fullmatch(r"\[LLM CALL\] Completed: get_answer in \d+\.\d\ds", lines[3])
    assert lines[4:] == ["[LLM CALL] Result: 4"]


def test_logging_example_logs_and_reraises_a_failure(spec_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = run_block(spec_path, LOGGING)
    get_answer = answer_function(Model("mockllm", outputs=[]))
    with registered(module.LoggingbyllmMachine), pytest.raises(MockExhaustedError):
        get_answer("What is 2+2?")
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"\[LLM CALL\] Failed: get_answer after \d+\.\d\ds", lines[3])
    assert lines[4].startswith("[LLM CALL] Error: the mock model has no output left for call 1")


def test_custom_provider_example_serves_custom_models(spec_path: Path) -> None:
    module = run_block(spec_path, CUSTOM_PROVIDER)
    with registered(module.CustomProviderMachine):
        assert answer_function(Model("custom://echo"))("What is 2+2?") == "Echo: What is 2+2?"
        assert answer_function(Model("custom://random"))("Will it rain?") in {"Yes", "No", "Maybe", "I don't know"}
        with pytest.raises(ValueError, match="^Unknown custom model: nope$"):
            answer_function(Model("custom://nope"))("What is 2+2?")
        assert answer_function(Model("mockllm", outputs=["4"]))("What is 2+2?") == "4"


# -- the short snippets ---------------------------------------------------------------


def test_hook_reference_snippet_is_a_hook_implementation_that_defers(spec_path: Path) -> None:
    module = run_block(spec_path, HOOK_REFERENCE, SNIPPET_NAMES)
    assert module.call_llm.__doc__.strip().startswith("Called when Jaclang executes a 'by llm()' statement.")
    with registered(module):
        assert jac_machine.plugin_hooks(module) == ["call_llm"]
        # Its body is only a docstring: it returns None, so byllm's default answers.
        assert answer_function(Model("mockllm", outputs=["4"]))("What is 2+2?") == "4"


def test_handle_errors_snippet_turns_a_failure_into_a_fallback(
    spec_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = run_block(spec_path, HANDLE_ERRORS, SNIPPET_NAMES)
    with registered(module):
        assert answer_function(Model("mockllm", outputs=["4"]))("What is 2+2?") == "4"
        assert answer_function(Model("mockllm", outputs=[]))("What is 2+2?") == "Error: Unable to process request"
    assert capsys.readouterr().out == (
        "LLM call failed: the mock model has no output left for call 1: it was given 0 output(s); "
        "add more to Model('mockllm', outputs=[...])\n"
    )


def test_preserve_functionality_snippet_delegates_to_the_typed_call(spec_path: Path) -> None:
    module = run_block(spec_path, PRESERVE, SNIPPET_NAMES)

    @by(Model("mockllm", outputs=["4"]))
    def add(a: int, b: int) -> int:
        """Add two numbers."""

    with registered(module):
        assert add(2, 2) == 4


def test_configurable_machine_registered_as_an_instance(spec_path: Path) -> None:
    module = run_block(spec_path, CONFIGURATION, SNIPPET_NAMES)
    machine = module.ConfigurableMachine()
    assert machine.config == {"enabled": True, "log_level": "INFO"}
    model = Model("mockllm", outputs=["4", "5"])
    get_answer = answer_function(model)
    with registered(machine):
        assert jac_machine.plugin_hooks(machine) == ["call_llm"]
        # Enabled, its (unfinished) plugin logic returns None and byllm answers.
        assert machine.call_llm(model, get_answer, {"question": "What is 2+2?"}) is None
        assert get_answer("What is 2+2?") == "4"
        machine.config["enabled"] = False
        assert get_answer("What is 2+2?") == "5"


# -- blocks that need the installed example packages ----------------------------------


def test_testing_section_runs_as_a_pytest_test_against_the_installed_package(
    spec_path: Path, plugins_venv: PluginVenv, tmp_path: Path
) -> None:
    block = spec_block(spec_path, TESTING)
    (tmp_path / "test_plugin.py").write_text(block.code)
    completed = plugins_venv.run_command(
        [plugins_venv.python, "-m", "pytest", "-s", "-p", "no:cacheprovider", "--rootdir", tmp_path, "test_plugin.py"],
        cwd=tmp_path,
        # The block needs no third-party pytest plugin; autoloading them (hypothesis) costs seconds.
        env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert (
        "Custom plugin intercepted call to: test_function\n"
        "Arguments: {'x': 'test input'}\n"
        "Result: test response\n"
    ) in completed.stdout
    assert re.search(r"^=+ 1 passed in [\d.]+s =+$", completed.stdout, re.M)


def test_discovery_snippet_loads_every_installed_plugin(spec_path: Path, plugins_venv: PluginVenv) -> None:
    block = spec_block(spec_path, DISCOVERY)
    # A fresh manager, so the block's own call does the loading.
    program = f"""
from importlib import metadata
from jaclang.runtimelib.machine import JacMachineSpec, JacPluginManager
plugin_manager = JacPluginManager()
plugin_manager.add_hookspecs(JacMachineSpec)
exec(compile({block.code!r}, "spec", "exec"), {{"plugin_manager": plugin_manager}})
print(sorted(plugin_manager.plugin_sources))
print(sorted(entry.name for entry in metadata.entry_points(group="jac") if entry.name != "caching"))
"""
    completed = plugins_venv.run_python(program, env={"JAC_DISABLED_PLUGINS": "caching"})
    assert completed.returncode == 0, completed.stderr
    loaded, installed = completed.stdout.splitlines()
    assert loaded == installed
    for name in ("byllm", "my-byllm-plugin", "custom-provider", "logging", "configurable"):
        assert repr(name) in loaded


def test_discovery_snippet_loads_each_plugin_once_in_process(spec_path: Path) -> None:
    manager = JacPluginManager()
    manager.add_hookspecs(JacMachineSpec)
    run_block(spec_path, DISCOVERY, {"plugin_manager": manager})
    loaded = manager.get_plugins()
    assert manager.get_plugin("byllm") is ByllmMachine
    assert manager.plugin_sources["byllm"] == ("jaclang", metadata.version("jaclang"))
    run_block(spec_path, DISCOVERY, {"plugin_manager": manager})
    assert manager.get_plugins() == loaded


def test_verify_registration_snippet_lists_the_loaded_plugins(spec_path: Path, plugins_venv: PluginVenv) -> None:
    block = spec_block(spec_path, VERIFY)
    completed = plugins_venv.run_python(block.code, enabled={"my-byllm-plugin", "configurable"})
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert "Loaded plugin: <class 'my_byllm_plugin.plugin.MybyllmMachine'>" in lines
    assert "Loaded plugin: <class 'byllm.plugin.ByllmMachine'>" in lines
    assert any(
        re.fullmatch(r"Loaded plugin: <configurable_plugin\.plugin\.ConfigurableMachine object at 0x[0-9a-f]+>", line)
        for line in lines
    )
    assert all(line.startswith("Loaded plugin: ") for line in lines)
    assert not any("caching_plugin" in line or "logging_plugin" in line for line in lines)


def test_verify_registration_snippet_runs_in_process(spec_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_block(spec_path, VERIFY)
    lines = capsys.readouterr().out.splitlines()
    assert "Loaded plugin: <class 'byllm.plugin.ByllmMachine'>" in lines
    assert len(lines) == len(jac_machine.plugin_manager.get_plugins())


# -- the example packages carry the spec's code ----------------------------------------

PACKAGED_BLOCKS = {
    STEP_2: "my-byllm-plugin/my_byllm_plugin/plugin.py",
    CACHING: "caching-plugin/caching_plugin/plugin.py",
    LOGGING: "logging-plugin/logging_plugin/plugin.py",
    CUSTOM_PROVIDER: "custom-provider-plugin/custom_provider_plugin/plugin.py",
    CONFIGURATION: "configurable-plugin/configurable_plugin/plugin.py",
}


@pytest.mark.parametrize("heading", sorted(PACKAGED_BLOCKS))
def test_example_package_contains_the_spec_code_unchanged(spec_path: Path, heading: str) -> None:
    source = (EXAMPLE_PLUGINS / PACKAGED_BLOCKS[heading]).read_text()
    assert spec_block(spec_path, heading).code in source


def test_my_byllm_plugin_pyproject_is_the_spec_toml(spec_path: Path) -> None:
    (toml,) = [block.code for block in code_blocks(spec_path.read_text(), "toml")]
    assert (EXAMPLE_PLUGINS / "my-byllm-plugin" / "pyproject.toml").read_text() == toml
