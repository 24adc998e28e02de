"""The ``jac py``, ``jac check`` and ``jac test`` commands (``jac run`` is covered with the examples)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jaclang.cli import main


def write(directory: Path, name: str, text: str) -> str:
    path = directory / name
    path.write_text(text)
    return str(path)


def test_jac_py_prints_the_generated_python(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "p.jac", "import:py from byllm, Model;\nglob llm = Model();\n"
                 "def f(x: int) -> str by llm(temperature=0.2);\nwith entry { print(f(1)); }\n")
    assert main(["py", path]) == 0
    assert capsys.readouterr().out == (
        "import jaclang.runtimelib.builtins as __jac__\n"
        "from byllm import Model\n"
        "llm = Model()\n\n"
        "@__jac__.llm_function(lambda: llm(temperature=0.2), lazy=True)\n"
        "def f(x: int) -> str:\n"
        "    ...\n"
        "print(f(1))\n"
    )


def test_jac_py_reports_syntax_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "bad.jac", "glob x = ;\n")
    assert main(["py", path]) == 2
    assert capsys.readouterr().err.startswith(f"{path}:1:10: unexpected ';'")


def test_jac_check_passes_a_clean_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "ok.jac", "import os;\nobj A { has x: int = 1; def get() -> int { return self.x; } }\n"
                 "def f(y: int) -> int { z = y + 1; return [z for z in range(z)][0]; }\n"
                 "with entry { print(A().get(), f(1), os.sep); }\n")
    assert main(["check", path]) == 0
    assert capsys.readouterr().out == f"{path}: ok\n"


def test_jac_check_reports_undefined_names_with_their_location(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "names.jac", "def f() -> int {\n    return undefined_thing + 1;\n}\n"
                 "with entry {\n    print(f(), also_missing);\n}\n")
    assert main(["check", path]) == 1
    assert capsys.readouterr().out == (
        f"{path}:2:12: undefined name 'undefined_thing'\n"
        f"{path}:5:16: undefined name 'also_missing'\n"
    )


def test_jac_check_reports_syntax_errors_with_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, "good.jac", "with entry { print(1); }\n")
    bad = write(tmp_path, "bad.jac", "with entry { print(1) }\n")
    assert main(["check", good, bad]) == 2
    output = capsys.readouterr().out
    assert output == f"{good}: ok\n{bad}:1:22: missing ';' after ')'\n    with entry {{ print(1) }}\n" + " " * 25 + "^\nexpected one of: ';'\n"


def test_jac_test_reports_failures_and_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "t.jac", 'test "passes" { assert 1 == 1; }\n'
                 'test "fails" {\n    assert 1 == 2, "one is not two";\n}\n')
    assert main(["test", path]) == 1
    output = capsys.readouterr().out
    lines = output.splitlines()
    assert lines[:2] == ["t.jac::passes PASSED", "t.jac::fails FAILED"]
    assert 'line 3, in __jac_test_2\n    assert 1 == 2, "one is not two";\n' in output
    assert "AssertionError: one is not two" in output
    assert re.fullmatch(r"=+ 1 failed, 1 passed in \d+\.\d\ds =+", lines[-1])


def test_jac_test_filter_and_no_tests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "t.jac", 'test "alpha" { assert True; }\ntest "beta" { assert False; }\n')
    assert main(["test", "-k", "alph", path]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "t.jac::alpha PASSED"
    empty = write(tmp_path, "none.jac", "glob x = 1;\n")
    assert main(["test", empty]) == 5


@pytest.mark.parametrize("program", sorted(path.name for path in Path(__file__).resolve().parents[2].joinpath("examples").glob("*.jac")))
def test_generated_python_of_every_example_is_valid_python(program: str) -> None:
    from jaclang.compiler import jac_to_python

    path = Path(__file__).resolve().parents[2] / "examples" / program
    python_source = jac_to_python(path.read_text(encoding="utf-8"), str(path))
    compile(python_source, f"{program}.py", "exec")
