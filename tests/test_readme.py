"""The README's Python examples run as written and print what it says they print."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)


def test_first_python_program_prints_the_commented_results() -> None:
    block = python_blocks()[0]
    expected = [line.split("# ", 1)[1] for line in block.splitlines() if line.startswith("print(") and "# " in line]
    result = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == expected


def test_offline_jac_programs_print_the_commented_results(tmp_path: Path) -> None:
    programs = [block for block in re.findall(r"```jac\n(.*?)```", README.read_text(), re.DOTALL) if "mockllm" in block]
    assert len(programs) == 2
    for index, program in enumerate(programs):
        source = tmp_path / f"readme_{index}.jac"
        source.write_text(program)
        expected = [line.split("# ", 1)[1].strip() for line in program.splitlines() if "print(" in line and "# " in line]
        result = subprocess.run(
            [sys.executable, "-m", "jaclang.cli", "run", str(source)], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == expected
