"""Every code block of the docs without a runner of their own runs as written (or says why not).

Files with a dedicated runner are left to it: README.md and docs/testing.md
(tests/test_readme.py), docs/plugin-guide.md (tests/test_plugin_guide.py), docs/scaling.md
(tests/scale/test_scaling_doc.py),
docs/prompts.md (tests/test_prompts_doc.py), docs/parameters.md
(tests/byllm/test_parameters_doc.py), docs/plugins.md
(tests/plugins/test_plugins_doc.py) and the spec under docs/spec
(tests/test_spec_examples.py). For every other ``docs/*.md``:

- ``python`` blocks run in order as one program, in a fresh process per file, in
  an empty folder with no API keys (so a snippet needing a real model must be marked);
- ``jac`` blocks run with ``jac run`` when they have an entry block, else pass ``jac check``;
- ``bash`` blocks pass ``bash -n``, ``toml`` blocks parse;
- ``text`` and untagged blocks are shown output or layout, not code.

A block preceded by ``<!-- not run: REASON -->`` is only checked for syntax
(Python compiles, TOML parses, bash passes ``bash -n``); the reason must be given.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEDICATED_RUNNERS = {"testing.md", "plugin-guide.md", "prompts.md", "parameters.md", "plugins.md", "scaling.md"}
DOC_FILES = sorted(path for path in (ROOT / "docs").glob("*.md") if path.name not in DEDICATED_RUNNERS)
RUN_KINDS = {"python", "jac", "bash", "sh", "toml"}
SHOWN_KINDS = {"", "text", "console", "output"}

_BLOCK = re.compile(
    r"(?:<!--\s*not run:\s*(?P<reason>[^>]*?)\s*-->\s*\n)?"
    r"^(?P<indent>[ \t]*)```(?P<kind>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class Block:
    """One fenced block: its kind, code (dedented), the line it starts on, why it is not run (if it is not)."""

    kind: str
    code: str
    line: int
    not_run: str | None


def blocks_of(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file, in order."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in _BLOCK.finditer(text):
        indent = match["indent"]
        code = "".join(line[len(indent) :] if line.startswith(indent) else line for line in match["body"].splitlines(True))
        line = text.count("\n", 0, match.start("indent")) + 1
        found.append(Block(match["kind"].lower(), code, line, match["reason"]))
    return found


def clean_environment(home: Path) -> dict[str, str]:
    """No API keys, no byllm/jac switches, a private home: what a new user's shell has."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BYLLM_", "JAC_")) and not key.endswith(("_API_KEY", "_BASE_URL"))
    }
    environment.update(HOME=str(home), XDG_CACHE_HOME=str(home / "cache"), XDG_DATA_HOME=str(home / "data"))
    return environment


def file_id(path: Path) -> str:
    return path.name


def test_the_runner_sees_the_docs() -> None:
    assert {"providers.md", "jac-language.md", "plugin-examples.md", "cli.md"} <= {path.name for path in DOC_FILES}


@pytest.mark.parametrize("path", DOC_FILES, ids=file_id)
def test_every_block_has_a_known_kind_and_marks_give_reasons(path: Path) -> None:
    for block in blocks_of(path):
        assert block.kind in RUN_KINDS | SHOWN_KINDS, f"{path.name}:{block.line}: unknown block kind {block.kind!r}"
        if block.not_run is not None:
            assert block.not_run.strip(), f"{path.name}:{block.line}: say why the block is not run"


@pytest.mark.parametrize("path", DOC_FILES, ids=file_id)
def test_python_blocks_run_in_order(path: Path, tmp_path: Path) -> None:
    blocks = [block for block in blocks_of(path) if block.kind == "python"]
    program = []
    for block in blocks:
        compile(block.code, f"{path.name}:{block.line}", "exec")  # every block, run or not, is valid Python
        if block.not_run is None:
            program.append(f"# {path.name}:{block.line}\n{block.code}")
    if not program:
        return
    script = tmp_path / "doc_program.py"
    script.write_text("\n\n".join(program))
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
        env=clean_environment(tmp_path), timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, f"{path.name}: its python blocks failed:\n{result.stdout}\n{result.stderr}"


def jac_block_cases() -> list[tuple[Path, Block]]:
    return [(path, block) for path in DOC_FILES for block in blocks_of(path) if block.kind == "jac"]


@pytest.mark.parametrize(
    ("path", "block"), jac_block_cases(), ids=[f"{path.name}:{block.line}" for path, block in jac_block_cases()]
)
def test_jac_blocks_run_or_check(path: Path, block: Block, tmp_path: Path) -> None:
    if block.not_run is not None:
        return
    program = tmp_path / "doc_block.jac"
    program.write_text(block.code)
    command = "run" if re.search(r"^\s*with\s+entry\b", block.code, re.MULTILINE) else "check"
    result = subprocess.run(
        [sys.executable, "-m", "jaclang.cli", command, str(program)], capture_output=True, text=True, cwd=tmp_path,
        env=clean_environment(tmp_path), timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, f"{path.name}:{block.line}: jac {command} failed:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("path", DOC_FILES, ids=file_id)
def test_shell_and_toml_blocks_are_valid(path: Path, tmp_path: Path) -> None:
    for block in blocks_of(path):
        if block.kind in ("bash", "sh"):
            script = tmp_path / "block.sh"
            script.write_text(block.code)
            result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
            assert result.returncode == 0, f"{path.name}:{block.line}: {result.stderr}"
        elif block.kind == "toml":
            try:
                tomllib.loads(block.code)
            except tomllib.TOMLDecodeError as error:
                pytest.fail(f"{path.name}:{block.line}: {error}")
