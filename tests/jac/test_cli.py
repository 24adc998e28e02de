"""The ``jac`` command line: run, py, check, test, their usage errors and exit statuses, and ``jac models``."""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

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


# -- finding the program, usage errors and exit statuses (docs/cli.md) ------------------------

HELLO = 'with entry { print("hello from jac"); }\n'


def jac(*args: str, cwd: Path, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    """Run the ``jac`` command line in a fresh process (``jac run`` replaces ``__main__``)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("BYLLM_", "JAC_"))}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "jaclang.cli", *args], capture_output=True, text=True, cwd=cwd, env=environment,
        input=stdin, timeout=120,
    )  # fmt: skip


def test_jac_run_of_a_python_file_says_jac_runs_jac_files(tmp_path: Path) -> None:
    write(tmp_path, "first.py", "from dataclasses import dataclass\nprint(1)\n")
    result = jac("run", "first.py", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "jac run: first.py is a Python file; jac runs .jac programs (run Python with: python first.py)\n"


def test_jac_run_finds_the_file_without_its_extension(tmp_path: Path) -> None:
    write(tmp_path, "hello.jac", HELLO)
    result = jac("run", "hello", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "hello from jac\n"), result.stderr


def test_jac_run_of_a_folder_runs_its_main_jac(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    write(tmp_path / "app", "main.jac", HELLO)
    result = jac("run", "app", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "hello from jac\n"), result.stderr


def test_jac_run_of_a_folder_without_main_jac_says_what_it_looked_for(tmp_path: Path) -> None:
    result = jac("run", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "jac run: no main.jac in . (looked for ./main.jac); name the program: ./FILE.jac\n"


def test_jac_run_dash_reads_the_program_from_stdin(tmp_path: Path) -> None:
    result = jac("run", "-", "one", cwd=tmp_path, stdin='import sys;\nwith entry { print("stdin", sys.argv); }\n')
    assert (result.returncode, result.stdout) == (0, "stdin ['-', 'one']\n"), result.stderr


def test_jac_run_from_stdin_reports_errors_with_the_source_line(tmp_path: Path) -> None:
    result = jac("run", "-", cwd=tmp_path, stdin='with entry {\n    x = 1 / 0;\n}\n')
    assert result.returncode == 1
    assert 'File "<stdin>", line 2' in result.stderr and "x = 1 / 0;" in result.stderr
    assert result.stderr.endswith("ZeroDivisionError: division by zero\n")


def test_jac_run_without_a_program_prints_one_usage_line(tmp_path: Path) -> None:
    result = jac("run", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "jac run: no program given; usage: jac run [--fresh] [--verbose] [--usage] [--model NAME] "
        "FILE.jac|FOLDER|- [ARGS...]\n"
    )


@pytest.mark.parametrize(
    "arguments",
    [
        ["hello.jac"],
        ["hello"],
        ["app", "one", "two"],
        ["hello.jac", "--fresh", "--model", "x"],
        ["hello.jac", "--help"],
        ["hello.jac", "-x", "--version", "-"],
        ["hello.jac", "", " -y", "a b"],
        ["run", "run"],
        [""],
    ],
)
def test_jac_run_reads_a_plain_command_line_as_its_parser_does(arguments: list[str]) -> None:
    from jaclang.commands.parser import parse_command_line
    from jaclang.commands.run import plain_options

    quick = plain_options(arguments)
    assert quick is not None
    assert vars(quick) == vars(parse_command_line(["run", *arguments]))


@pytest.mark.parametrize(
    "arguments",
    [[], ["--fresh", "hello.jac"], ["-"], ["--", "hello.jac"], ["hello.jac", "--", "a"], ["-h"], ["--bogus", "x.jac"]],
)
def test_jac_run_leaves_options_dashes_and_stdin_to_its_parser(arguments: list[str]) -> None:
    from jaclang.commands.run import plain_options

    assert plain_options(arguments) is None


def test_jac_run_passes_every_argument_after_the_program_to_it(tmp_path: Path) -> None:
    write(tmp_path, "args.jac", 'import sys;\nwith entry { print(sys.argv); }\n')
    result = jac("run", "args.jac", "--fresh", "-x", "", "--help", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "['args.jac', '--fresh', '-x', '', '--help']\n"), result.stderr
    result = jac("run", "--fresh", "args.jac", "--", "a", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "['args.jac', 'a']\n"), result.stderr


@pytest.mark.parametrize("command", ["run", "py", "check", "test"])
def test_a_missing_file_is_the_same_usage_error_for_every_command(command: str, tmp_path: Path) -> None:
    result = jac(command, "nope.jac", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"jac {command}: no such file: nope.jac\n"
    result = jac(command, "nope", cwd=tmp_path)
    assert result.stderr == f"jac {command}: no such file: nope (also looked for nope.jac)\n"


@pytest.mark.parametrize("command", ["run", "py", "check", "test"])
def test_an_unknown_option_is_a_usage_error_of_the_command(command: str, tmp_path: Path) -> None:
    result = jac(command, "--bogus", "x.jac", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.endswith(f"jac {command}: unrecognized arguments: --bogus; see 'jac {command} --help'\n")


def test_a_program_failure_exits_1_and_a_syntax_error_2(tmp_path: Path) -> None:
    write(tmp_path, "fails.jac", "with entry { raise ValueError('no'); }\n")
    write(tmp_path, "broken.jac", "with entry { print(1) }\n")
    assert jac("run", "fails.jac", cwd=tmp_path).returncode == 1
    assert jac("run", "broken.jac", cwd=tmp_path).returncode == 2


def test_every_command_has_a_description_in_help(tmp_path: Path) -> None:
    result = jac("--help", cwd=tmp_path)
    assert result.returncode == 0
    listing = result.stdout.split("COMMAND\n", 2)[-1].split("\n\n")[0].splitlines()
    commands = {line.split()[0]: line.split(None, 1)[1:] for line in listing}
    assert {"run", "py", "check", "test", "plugins", "models"} <= set(commands)
    assert all(description for description in commands.values()), result.stdout


def test_unknown_command_suggests_the_closest(tmp_path: Path) -> None:
    result = jac("rn", "hello.jac", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (2, "jac: unknown command 'rn'; did you mean 'jac run'?\n")


# -- jac run --verbose | --usage | --model ------------------------------------------------------

MOCK_PROGRAM = """import from byllm.lib { Model }
glob llm = Model(model_name="mockllm", outputs=["Bonjour"]);
\"\"\"Translate the text into the language.\"\"\"
def translate(text: str, lang: str = "French") -> str by llm();
with entry { print(translate("Hello")); }
"""


def test_jac_run_model_replaces_every_model_of_the_run(tmp_path: Path) -> None:
    write(tmp_path, "which.jac", 'import from byllm.lib { Model }\nwith entry { print(Model(model_name="gpt-4o").model_name); }\n')
    assert jac("run", "which.jac", cwd=tmp_path).stdout == "gpt-4o\n"
    result = jac("run", "--model", "mockllm", "which.jac", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "mockllm\n"), result.stderr


def test_jac_run_verbose_prints_each_calls_prompts_and_replies(tmp_path: Path) -> None:
    write(tmp_path, "hello.jac", MOCK_PROGRAM)
    quiet = jac("run", "hello.jac", cwd=tmp_path)
    assert (quiet.stdout, "translate" in quiet.stderr) == ("Bonjour\n", False)
    result = jac("run", "--verbose", "hello.jac", cwd=tmp_path)
    assert result.stdout == "Bonjour\n"
    assert "translate" in result.stderr and 'text = "Hello"' in result.stderr and "Bonjour" in result.stderr


@pytest.mark.parametrize("disabled", ["", "byllm-usage"])
def test_jac_run_usage_prints_the_runs_calls_at_exit(disabled: str, tmp_path: Path) -> None:
    write(tmp_path, "hello.jac", MOCK_PROGRAM)
    result = jac("run", "--usage", "hello.jac", cwd=tmp_path, JAC_DISABLED_PLUGINS=disabled)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-1].startswith("usage: 1 call, 0 tokens in, 0 out, ")


# -- jac test: discovery, usage errors, assertion values ------------------------------------


def test_jac_test_of_a_missing_file_is_a_usage_error_not_a_failed_test(tmp_path: Path) -> None:
    result = jac("test", "nope.jac", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")


def test_jac_test_discovers_jac_files_with_tests_in_a_folder(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "deep").mkdir(parents=True)
    (tmp_path / "pkg" / ".jac").mkdir()
    write(tmp_path / "pkg", "a.jac", 'test "a" { assert 1 + 1 == 2; }\n')
    write(tmp_path / "pkg" / "deep", "b.jac", 'test b { assert True; }\n')
    write(tmp_path / "pkg", "main.jac", 'with entry { raise RuntimeError("programs without tests are not run"); }\n')
    write(tmp_path / "pkg" / ".jac", "hidden.jac", 'test "hidden" { assert False; }\n')
    for arguments, cwd in ((["pkg"], tmp_path), ([], tmp_path / "pkg"), (["."], tmp_path / "pkg")):
        result = jac("test", *arguments, cwd=cwd)
        assert result.returncode == 0, result.stdout + result.stderr
        assert sorted(result.stdout.splitlines()[:2]) == sorted([
            os.path.join(os.path.relpath(tmp_path / "pkg", cwd), "a.jac::a PASSED").removeprefix("./"),
            os.path.join(os.path.relpath(tmp_path / "pkg", cwd), "deep", "b.jac::b PASSED").removeprefix("./"),
        ])  # fmt: skip


def test_jac_test_in_a_folder_without_tests_says_so(tmp_path: Path) -> None:
    write(tmp_path, "main.jac", HELLO)
    result = jac("test", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (5, "no tests found: no .jac file with a test block in .\n")


def test_a_failed_comparison_shows_both_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "values.jac", 'def double(x: int) -> int { return x * 2; }\n'
                 'test "double" {\n    n = 3;\n    assert double(n) == 7;\n}\n'
                 'test "message" { assert [1, 2] == [1, 3], "lists differ"; }\n'
                 'test "membership" { assert "z" in "abc"; }\n'
                 'test "once" { calls = []; assert calls.append(1) is None; assert len(calls) == 2; }\n')
    assert main(["test", path]) == 1
    output = capsys.readouterr().out
    assert "AssertionError: assert 6 == 7\n  left:  double(n) = 6\n" in output
    assert "AssertionError: lists differ\nassert [1, 2] == [1, 3]\n" in output
    assert "AssertionError: assert 'z' in 'abc'\n" in output
    assert "AssertionError: assert 1 == 2\n  left:  len(calls) = 1\n" in output  # each side evaluated once
    assert "    assert double(n) == 7;\n" in output  # the Jac line, as before


# -- jac models --------------------------------------------------------------------------------


class ModelListHandler(http.server.BaseHTTPRequestHandler):
    """A local server's ``GET /v1/models``."""

    def do_GET(self) -> None:
        body = json.dumps({"data": [{"id": "llama3.2"}, {"id": "qwen2.5"}]}).encode()
        self.send_response(200 if self.path == "/v1/models" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def model_server() -> Iterator[str]:
    """An OpenAI-style model list on 127.0.0.1 (a free port); its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ModelListHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_jac_models_reports_names_keys_and_local_servers(tmp_path: Path, model_server: str) -> None:
    result = jac("models", "--json", cwd=tmp_path, OPENAI_API_KEY="sk-do-not-print", ANTHROPIC_API_KEY="",
                 OLLAMA_BASE_URL=model_server, VLLM_BASE_URL="http://10.0.0.1:8000/v1",
                 LMSTUDIO_BASE_URL="http://127.0.0.1:9/v1", LLAMACPP_BASE_URL="http://127.0.0.1:9/v1")
    assert result.returncode == 0, result.stderr
    assert "sk-do-not-print" not in result.stdout
    report = json.loads(result.stdout)
    assert report["api_keys"]["OPENAI_API_KEY"] is True and report["api_keys"]["ANTHROPIC_API_KEY"] is False
    names = {rule["names"]: rule for rule in report["names"]}
    assert names["claude-*, anthropic/<model>"]["provider"] == "Anthropic"
    assert {"ollama/<model>", "groq/<model>", "litellm/<provider>/<model>", "local/<file.gguf or name>"} <= set(names)
    servers = {server["name"]: server for server in report["local_servers"]}
    assert servers["ollama"]["answers"] is True and servers["ollama"]["models"] == ["llama3.2", "qwen2.5"]
    assert servers["vllm"] == {"name": "vllm", "url": "http://10.0.0.1:8000/v1", "answers": False, "models": [],
                               "problem": "not probed: 10.0.0.1 is not a loopback address"}
    assert servers["lmstudio"]["answers"] is False and servers["lmstudio"]["problem"].startswith("no answer")


def test_jac_models_text_report(tmp_path: Path, model_server: str) -> None:
    result = jac("models", cwd=tmp_path, OPENAI_API_KEY="sk-do-not-print", OLLAMA_BASE_URL=model_server)
    assert result.returncode == 0, result.stderr
    assert "sk-do-not-print" not in result.stdout
    assert "  OPENAI_API_KEY         set\n" in result.stdout
    assert f"  ollama     {model_server.ljust(28)} answers; models: llama3.2, qwen2.5\n" in result.stdout
