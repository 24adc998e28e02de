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
