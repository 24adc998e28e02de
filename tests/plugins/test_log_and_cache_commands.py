"""`jac logs` and `jac cache` find the default databases a program wrote, and `jac logs` filters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROGRAM = """
from byllm.lib import Model, by

llm = Model("mockllm", outputs=["Bonjour", "7", "Hola"], log=True, cache=True)


@by(llm)
def translate(text: str, lang: str) -> str: ...


@by(llm)
def count(word: str) -> int: ...


translate("Hello", "French")
count("letters")
translate("Hello", "Spanish")
"""


@pytest.fixture()
def home(tmp_path: Path) -> dict[str, str]:
    """An environment whose default byllm folders are empty temporary ones, no BYLLM_* set."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BYLLM_")}
    environment.update(XDG_DATA_HOME=str(tmp_path / "data"), XDG_CACHE_HOME=str(tmp_path / "cache"),
                       BYLLM_CACHE_MOCK="1", JAC_CACHE_DIR=str(tmp_path / "jac"))
    return environment


def jac(environment: dict[str, str], *arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jaclang.cli", *arguments], capture_output=True, text=True,
                          env=environment, cwd=cwd, timeout=120)


def test_logs_and_cache_commands_find_what_a_program_wrote(home: dict[str, str], tmp_path: Path) -> None:
    before = jac(home, "logs", cwd=tmp_path)
    assert before.returncode == 0 and "looked for" in before.stderr and "logs.db" in before.stderr
    program = tmp_path / "program.py"
    program.write_text(PROGRAM)
    subprocess.run([sys.executable, str(program)], check=True, env=home, cwd=tmp_path, timeout=120)

    listed = json.loads(jac(home, "logs", "--json", cwd=tmp_path).stdout)
    assert [call["function"] for call in listed] == ["translate", "count", "translate"]
    only = json.loads(jac(home, "logs", "--json", "--function", "count", cwd=tmp_path).stdout)
    assert [call["value"] for call in only] == [7]
    recent = json.loads(jac(home, "logs", "--json", "--since", "1h", "--status", "ok", "--model", "mockllm",
                            cwd=tmp_path).stdout)
    assert len(recent) == 3
    assert json.loads(jac(home, "logs", "--json", "--status", "error", cwd=tmp_path).stdout) == []
    assert json.loads(jac(home, "logs", "--json", "--since", "2999-01-01", cwd=tmp_path).stdout) == []
    bad = jac(home, "logs", "--since", "yesterday", cwd=tmp_path)
    assert bad.returncode == 1 and "ISO date" in bad.stderr

    stats = json.loads(jac(home, "cache", "stats", "--json", cwd=tmp_path).stdout)
    assert stats["entries"] == 3 and stats["location"].endswith("cache.db")


def test_cache_command_says_where_it_looked(home: dict[str, str], tmp_path: Path) -> None:
    result = jac(home, "cache", "stats", cwd=tmp_path)
    assert result.returncode == 0
    assert "looked for" in result.stderr and "cache.db" in result.stderr
