"""Syntax errors (location, caret, expectations, exit 2) and runtime tracebacks in .jac lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jaclang.compiler import compile_jac
from jaclang.compiler.errors import JacSyntaxError

JAC = [sys.executable, "-m", "jaclang.cli"]


def jac(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*JAC, *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=dict(os.environ))


def syntax_error(source: str) -> JacSyntaxError:
    with pytest.raises(JacSyntaxError) as caught:
        compile_jac(source, "prog.jac")
    return caught.value


def test_missing_semicolon_points_after_the_previous_token() -> None:
    error = syntax_error("with entry {\n    x = 1\n    print(x);\n}\n")
    assert error.format() == (
        "prog.jac:2:10: missing ';' after number 1\n"
        "        x = 1\n"
        "             ^\n"
        "expected one of: ';'"
    )


def test_unexpected_token_lists_what_was_expected() -> None:
    error = syntax_error("def f() {\n    return (1 + ;\n}\n")
    assert (error.line, error.column, error.message) == (2, 17, "unexpected ';'")
    assert "'('" in error.expected and "a name" in error.expected
    assert error.format().splitlines()[1:3] == ["        return (1 + ;", "                    ^"]


def test_unterminated_string_and_bad_character() -> None:
    assert str(syntax_error('with entry { print("abc); }')) == "prog.jac:1:20: unterminated string literal"
    assert str(syntax_error("with entry { x = $; }")) == "prog.jac:1:18: unexpected character '$'"


def test_unexpected_end_of_file() -> None:
    error = syntax_error("with entry {\n  print(1);\n")
    assert (error.line, error.column, error.message) == (1, 12, "'{' opened at 1:12 was never closed")


def test_errors_python_reports_after_translation_are_jac_syntax_errors() -> None:
    assert str(syntax_error("with entry { return 1; }")) == "prog.jac:1:14: 'return' outside function"
    assert str(syntax_error("with entry { f() = 1; }")) == "prog.jac:1:14: cannot assign to a function call"
    assert str(syntax_error("def f(a: int = 1, b: int) { }")) == (
        "prog.jac:1:19: parameter 'b' without a default follows one with a default"
    )
    assert "outside loop" in syntax_error("def f() { break; }").message


def test_jac_run_reports_a_syntax_error_with_exit_status_2_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "bad.jac").write_text("obj A {\n  has x: int\n}\n")
    completed = jac(["run", "bad.jac"], tmp_path)
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert "Traceback" not in completed.stderr
    assert completed.stderr == (
        "bad.jac:2:13: missing ';' after name 'int'\n      has x: int\n                ^\nexpected one of: ';'\n"
    )


def test_runtime_error_traceback_shows_jac_lines_without_compiler_frames(tmp_path: Path) -> None:
    (tmp_path / "boom.jac").write_text(
        "def f(x: int) -> int {\n    return x / 0;\n}\nwith entry {\n    print(f(1));\n}\n"
    )
    completed = jac(["run", "boom.jac"], tmp_path)
    assert completed.returncode == 1
    program = str(tmp_path / "boom.jac")
    lines = completed.stderr.splitlines()
    # Caret lines mark the failing expression; their exact marks differ between Python versions.
    carets = [line for line in lines if set(line.strip()) <= {"^", "~"}]
    assert [line.index(line.strip()) for line in carets] == [10, 11]
    assert [line for line in lines if line not in carets] == [
        "Traceback (most recent call last):",
        f'  File "{program}", line 5, in <module>',
        "    print(f(1));",
        f'  File "{program}", line 2, in f',
        "    return x / 0;",
        "ZeroDivisionError: division by zero",
    ]


def test_uncaught_error_in_an_imported_jac_module_is_reported_in_its_lines(tmp_path: Path) -> None:
    (tmp_path / "helper.jac").write_text("def explode() {\n    raise RuntimeError('bad helper');\n}\n")
    (tmp_path / "main.jac").write_text("import helper;\nwith entry {\n    helper.explode();\n}\n")
    completed = jac(["run", "main.jac"], tmp_path)
    assert completed.returncode == 1
    assert "jaclang" not in completed.stderr and "importlib" not in completed.stderr
    assert 'helper.jac", line 2, in explode' in completed.stderr
    assert completed.stderr.endswith("RuntimeError: bad helper\n")


def test_sys_exit_status_becomes_the_exit_status_of_jac_run(tmp_path: Path) -> None:
    (tmp_path / "quit.jac").write_text("import sys;\nwith entry {\n    print(sys.argv[1:]);\n    sys.exit(3);\n}\n")
    completed = jac(["run", "quit.jac", "a", "--flag"], tmp_path)
    assert (completed.returncode, completed.stdout, completed.stderr) == (3, "['a', '--flag']\n", "")


def test_byllm_errors_show_only_the_program_frames(tmp_path: Path) -> None:
    (tmp_path / "exhausted.jac").write_text(
        "import from byllm.lib { Model }\n"
        'glob llm = Model(model_name="mockllm", outputs=[]);\n'
        "def translate(text: str) -> str by llm();\n"
        "with entry {\n"
        '    print(translate("Hello"));\n'
        "}\n"
    )
    completed = jac(["run", "exhausted.jac"], tmp_path)
    assert completed.returncode == 1
    lines = completed.stderr.splitlines()
    assert lines[:3] == [
        "Traceback (most recent call last):",
        f'  File "{tmp_path / "exhausted.jac"}", line 5, in <module>',
        '    print(translate("Hello"));',
    ]
    assert set(lines[3].strip()) <= {"^", "~"}  # the caret line; its marks differ between Python versions
    assert len(lines) == 5 and lines[4].startswith("byllm.errors.MockExhaustedError: the mock model has no output left")


def test_not_is_only_allowed_where_python_allows_it() -> None:
    assert syntax_error("with entry { x = 1 == not 2; }").message.startswith("'not' must start an operand of 'and'/'or'")
    assert syntax_error("with entry { x = -not 2; }").line == 1
    assert isinstance(compile_jac("with entry { x = not 1 == 2 or not 3; }", "ok.jac"), type(compile_jac.__code__))


def test_error_source_line_counts_only_newlines_as_line_breaks() -> None:
    """A form feed or U+2028 inside a line does not shift the quoted source line."""
    source = 'with entry {\n    x = "a\u2028b" ;\x0c y = 1;\n    z = = 2;\n}\n'
    with pytest.raises(JacSyntaxError) as error:
        compile_jac(source, "lines.jac")
    assert (error.value.line, error.value.column) == (3, 9)
    assert error.value.source_line == "    z = = 2;"
