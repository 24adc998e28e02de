"""``jac run`` of the spec's test program with the example plugins installed.

Skipped, with the reason, only while the Jac compiler is not there yet
(no ``jaclang.compiler.codegen`` or no ``jac run`` command); once it is, these
run for real.
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from typing import Iterable, Mapping

import pytest

from plugin_packages.spec_document import spec_test_program
from plugin_packages.venvs import assert_logged_answer, PluginVenv


def _missing_compiler_part() -> str | None:
    for module in ("jaclang.compiler.codegen", "jaclang.commands.run"):
        try:
            if importlib.util.find_spec(module) is None:
                return module
        except ImportError:
            return module
    return None


_MISSING = _missing_compiler_part()
pytestmark = pytest.mark.skipif(
    _MISSING is not None,
    reason=f"the Jac compiler cannot compile yet ({_MISSING} is not importable); `jac run` tests wait for it",
)


def jac_run(
    venv: PluginVenv,
    directory: Path,
    model: str,
    enabled: Iterable[str],
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Write the spec's test program with ``model`` and ``jac run test.jac`` it in ``venv``."""
    program = directory / "test.jac"
    program.write_text(spec_test_program(model))
    return venv.run_command([venv.jac, "run", program.name], cwd=directory, enabled=enabled, env=env)


def test_jac_run_hello_world_works_in_the_plugin_venv(plugins_venv: PluginVenv, tmp_path: Path) -> None:
    (tmp_path / "hello.jac").write_text('with entry {\n    print("hello");\n}\n')
    completed = plugins_venv.run_command([plugins_venv.jac, "run", "hello.jac"], cwd=tmp_path, enabled=set())
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "hello\n"


def test_spec_program_answered_by_the_custom_provider_plugin(plugins_venv: PluginVenv, tmp_path: Path) -> None:
    completed = jac_run(plugins_venv, tmp_path, 'Model(model_name="custom://echo")', enabled={"custom-provider"})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "Echo: What is 2+2?\n"


def test_spec_program_intercepted_by_my_byllm_plugin(plugins_venv: PluginVenv, tmp_path: Path) -> None:
    completed = jac_run(
        plugins_venv, tmp_path, 'Model(model_name="mockllm", outputs=["4"])', enabled={"my-byllm-plugin"}
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == (
        "Custom plugin intercepted call to: get_answer\n"
        "Arguments: {'question': 'What is 2+2?'}\n"
        "Result: 4\n"
        "4\n"
    )


def test_spec_program_logged_by_the_logging_plugin(plugins_venv: PluginVenv, tmp_path: Path) -> None:
    completed = jac_run(plugins_venv, tmp_path, 'Model(model_name="mockllm", outputs=["4"])', enabled={"logging"})
    assert completed.returncode == 0, completed.stderr
    assert_logged_answer(completed.stdout)


def test_spec_program_cached_by_the_caching_plugin(plugins_venv: PluginVenv, tmp_path: Path) -> None:
    completed = jac_run(plugins_venv, tmp_path, 'Model(model_name="mockllm", outputs=["4"])', enabled={"caching"})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "Cached result for get_answer\n4\n"


def test_spec_program_with_wrapper_plugins_and_the_custom_provider(plugins_venv: PluginVenv, tmp_path: Path) -> None:
    completed = jac_run(
        plugins_venv,
        tmp_path,
        'Model(model_name="custom://echo")',
        enabled={"custom-provider", "logging-wrapper", "caching-wrapper"},
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == (
        "[log] get_answer({'question': 'What is 2+2?'}) with custom://echo\n"
        "[cache] stored get_answer\n"
        "[log] get_answer -> 'Echo: What is 2+2?'\n"
        "Echo: What is 2+2?\n"
    )


def test_jac_debug_shows_plugin_loads_under_jac_run(plugins_venv: PluginVenv, tmp_path: Path) -> None:
    completed = jac_run(
        plugins_venv, tmp_path, 'Model(model_name="custom://echo")', enabled={"custom-provider"}, env={"JAC_DEBUG": "1"}
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "Echo: What is 2+2?\n"
    lines = completed.stderr.splitlines()
    assert (
        "[jac] loaded plugin 'custom-provider' (custom_provider_plugin.plugin:CustomProviderMachine) "
        "from custom-provider-plugin 0.1.0"
    ) in lines
    assert any(line.startswith("[jac] hook call_llm -> ") for line in lines)
