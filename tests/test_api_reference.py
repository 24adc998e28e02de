"""The API reference (``make docs``) builds from the docstrings with pdoc and covers the public surface."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def api_modules() -> list[str]:
    makefile = (ROOT / "Makefile").read_text()
    return re.search(r"^API_MODULES = (.*)$", makefile, re.MULTILINE).group(1).split()


def test_api_reference_builds_and_documents_the_public_objects(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pdoc", "-o", str(tmp_path), *api_modules()], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    pages = {path.relative_to(tmp_path).as_posix(): path.read_text() for path in tmp_path.rglob("*.html")}
    assert "byllm/llm.html" in pages and "byllm/hookspecs.html" in pages
    assert "Model" in pages["byllm/llm.html"] and "excl_info" in pages["byllm/llm.html"]
    assert "llm_call_finished" in pages["byllm/hookspecs.html"]
    assert "CallRecord" in pages["byllm/call.html"]
