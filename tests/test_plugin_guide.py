"""docs/plugin-guide.md runs as written: its Python blocks, in order, as one program."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugin-guide.md"


def test_plugin_guide_snippets_run_in_order(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.DOTALL)
    assert len(blocks) >= 6
    program = tmp_path / "guide.py"
    program.write_text("\n\n".join(blocks))
    result = subprocess.run([sys.executable, str(program)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["hello Ada"]
