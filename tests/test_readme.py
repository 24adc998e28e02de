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
    assert len(programs) == 3
    for index, program in enumerate(programs):
        source = tmp_path / f"readme_{index}.jac"
        source.write_text(program)
        expected = [line.split("# ", 1)[1].strip() for line in program.splitlines() if "print(" in line and "# " in line]
        result = subprocess.run(
            [sys.executable, "-m", "jaclang.cli", "run", str(source)], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == expected


# -- every block of the testing guide, and the README's testing section ---------------------

TESTING_GUIDE = README.parent / "docs" / "testing.md"


def fenced_blocks(text: str, language: str) -> list[tuple[str, str | None]]:
    """Each ``language`` block with the reason it is not run (``None`` for blocks that run)."""
    blocks = []
    for match in re.finditer(rf"(<!-- not run: (?P<reason>[^>]+?) -->\n)?```{language}\n(?P<code>.*?)```", text, re.DOTALL):
        blocks.append((match.group("code"), match.group("reason")))
    return blocks


def commented_output(code: str) -> list[str]:
    """What the block says it prints: the ``# ...`` comment of each ``print(...)`` line."""
    return [
        line.split("# ", 1)[1].strip()
        for line in code.splitlines()
        if line.lstrip().startswith("print(") and "# " in line
    ]


def run_python_block(code: str, tmp_path: Path, index: int) -> None:
    """A pytest block runs under pytest; any other block runs as a script printing what its comments say."""
    if "\ndef test_" in code:
        test_file = tmp_path / f"test_block_{index}.py"
        test_file.write_text(code)
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--byllm-block-network", str(test_file)],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, f"block {index}:\n{code}\n{result.stdout}{result.stderr}"
        return
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, f"block {index}:\n{code}\n{result.stderr}"
    assert result.stdout.splitlines() == commented_output(code), f"block {index}"


def test_every_python_block_of_the_testing_guide_runs(tmp_path: Path) -> None:
    blocks = fenced_blocks(TESTING_GUIDE.read_text(), "python")
    assert len(blocks) >= 6
    for index, (code, reason) in enumerate(blocks):
        if reason is not None:
            compile(code, f"docs/testing.md block {index}", "exec")  # not run, but it must be valid Python
            continue
        run_python_block(code, tmp_path, index)


def test_the_testing_guide_jac_block_passes_jac_test(tmp_path: Path) -> None:
    ((program, _),) = fenced_blocks(TESTING_GUIDE.read_text(), "jac")
    source = tmp_path / "guide.jac"
    source.write_text(program)
    result = subprocess.run(
        [sys.executable, "-m", "jaclang.cli", "test", str(source)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_readme_testing_section_blocks_run(tmp_path: Path) -> None:
    text = README.read_text()
    section = text[text.index("## Testing your programs") : text.index("## Benchmarks")]
    blocks = fenced_blocks(section, "python")
    assert len(blocks) == 2
    for index, (code, _) in enumerate(blocks):
        run_python_block(code, tmp_path, index)


# -- every other Python block of the README ------------------------------------------------

CONTINUES = re.compile(r"<!-- continues the (first program|previous block) -->\n```python\n")


def readme_programs() -> list[tuple[str, str]]:
    """The README's Python blocks outside the testing section, as runnable programs.

    A block marked ``<!-- continues the first program -->`` (or ``previous block``)
    runs after the code it continues; the expected output is every block's comments.
    """
    text = README.read_text()
    text = text[: text.index("## Testing your programs")] + text[text.index("## Benchmarks") :]
    programs: list[tuple[str, str]] = []
    first = previous = ""
    for match in re.finditer(r"(<!-- (?P<mark>[^>]+) -->\n)?```python\n(?P<code>.*?)```", text, re.DOTALL):
        code, mark = match.group("code"), match.group("mark") or ""
        if mark.startswith("not run:"):
            compile(code, "README.md", "exec")
            continue
        if mark == "continues the first program":
            code = first + "\n" + code
        elif mark == "continues the previous block":
            code = previous + "\n" + code
        first = first or code
        previous = code
        programs.append((code, mark))
    return programs


def test_every_readme_python_block_runs_and_prints_what_it_says(tmp_path: Path) -> None:
    programs = readme_programs()
    assert len(programs) >= 5
    for index, (code, _mark) in enumerate(programs):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert result.returncode == 0, f"README block {index}:\n{code}\n{result.stderr}"
        assert result.stdout.splitlines() == commented_output(code), f"README block {index}"
