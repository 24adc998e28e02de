"""The Python examples of docs/plugins.md's built-in plugin sections run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
# The sections this suite owns: from the top to the pytest plugin (the hook guide has its own test).
SECTIONS = DOC.read_text().split("### The pytest plugin")[0]
BLOCKS = re.findall(r"```python\n(.*?)```", SECTIONS, re.DOTALL)


def test_the_sections_have_examples() -> None:
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{index}" for index in range(len(BLOCKS))])
def test_example_runs(block: str, tmp_path: Path) -> None:
    """Each block in a fresh process (the installed entry points, no BYLLM_* variables)."""
    if "opentelemetry" in block:
        pytest.importorskip("opentelemetry.sdk")
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache"),
                   "XDG_DATA_HOME": str(tmp_path / "data")}
    if "PYTHONPATH" in os.environ:
        environment["PYTHONPATH"] = os.environ["PYTHONPATH"]
    result = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, env=environment, cwd=tmp_path,
                            timeout=120)
    assert result.returncode == 0, result.stderr
