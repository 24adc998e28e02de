"""Every Jac program in ``examples/`` runs with ``jac run`` and prints exactly its ``.expected`` output."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jac_support import EXAMPLES

JAC = [sys.executable, "-m", "jaclang.cli"]
CUSTOM_PROVIDER_DIR = EXAMPLES / "plugins" / "custom-provider-plugin"
# Programs whose models are served by the custom-provider example plugin.
NEEDS_CUSTOM_PROVIDER = {"spec_plugin_legacy.jac", "spec_plugin_current.jac"}
# Run this program with the custom-provider plugin registered, as if it were installed.
RUN_WITH_CUSTOM_PROVIDER = (
    "import sys; sys.path.insert(0, sys.argv[1]);"
    "import jaclang;"
    "from custom_provider_plugin.plugin import CustomProviderMachine;"
    "jaclang.plugin_manager.register(CustomProviderMachine, name='custom-provider');"
    "from jaclang.cli import main; sys.exit(main(['run', sys.argv[2]]))"
)

PROGRAMS = sorted(path.name for path in EXAMPLES.glob("*.jac") if path.with_suffix(".expected").exists())


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(command, cwd=EXAMPLES, capture_output=True, text=True, env=env, timeout=120)


def test_there_are_at_least_twelve_example_programs() -> None:
    assert len(PROGRAMS) >= 12


@pytest.mark.parametrize("program", PROGRAMS)
def test_example_prints_its_expected_output(program: str) -> None:
    if program in NEEDS_CUSTOM_PROVIDER:
        completed = run([sys.executable, "-c", RUN_WITH_CUSTOM_PROVIDER, str(CUSTOM_PROVIDER_DIR), program])
    else:
        completed = run([*JAC, "run", program])
    expected = (EXAMPLES / program).with_suffix(".expected").read_text(encoding="utf-8")
    assert completed.stderr == ""
    assert completed.stdout == expected
    assert completed.returncode == 0


def test_example_test_blocks_pass_under_jac_test() -> None:
    completed = run([*JAC, "test", "unit_tests.jac"])
    lines = completed.stdout.splitlines()
    assert lines[:3] == [
        "unit_tests.jac::mock outputs consumed in order PASSED",
        "unit_tests.jac::fibonacci PASSED",
        "unit_tests.jac::pipes and lambdas PASSED",
    ]
    assert re.fullmatch(r"=+ 3 passed in \d+\.\d\ds =+", lines[3])
    assert len(lines) == 4
    assert completed.returncode == 0


def test_python_imports_a_jac_example_module() -> None:
    code = "import jaclang, geometry; print(geometry.Point(3.0, 4.0).distance_to(geometry.origin()))"
    completed = run([sys.executable, "-c", code])
    assert completed.stdout == "5.0\n", completed.stderr


def test_every_example_passes_jac_check(capsys: pytest.CaptureFixture[str]) -> None:
    from jaclang.cli import main

    programs = sorted(str(path) for path in EXAMPLES.glob("*.jac"))
    assert main(["check", *programs]) == 0
    assert capsys.readouterr().out == "".join(f"{program}: ok\n" for program in programs)
