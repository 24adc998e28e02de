"""``jac test [PATH...]``: run the ``test`` blocks of Jac files with a pytest-like report.

A path is a ``.jac`` file or a folder; a folder (the current one when no path is
given) stands for every ``*.jac`` file under it that declares a ``test`` block.
A failing ``assert a == b`` shows both values, as pytest does.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import sys
import time
from types import ModuleType
from typing import Any, Callable

from jaclang.commands.arguments import (
    FAILURE,
    NO_TESTS,
    SUCCESS,
    USAGE_ERROR,
    UsageError,
    jac_files_under,
    report_usage_error,
    resolve_jac_file,
)

EXPLAIN_NAME = "__jac_explain_assert__"  # the helper rewritten asserts call, put in each test module
# A `test` block at the start of a line: `test "name" {`, `test name {` or `test {`.
TEST_BLOCK = re.compile(r'^[ \t]*test\b[ \t]*("[^"\n]*"|\w+)?[ \t]*\{', re.MULTILINE)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``test`` sub-command."""
    parser = subparsers.add_parser(
        "test",
        help="run the test blocks of Jac files",
        description="Run the test blocks of Jac files: the files named, or every *.jac file with tests "
        "under the folders named (the current folder when none is).",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help=".jac files or folders (default: the current folder)")
    parser.add_argument("-k", dest="filter", default=None, help="only run tests whose name contains this text")
    parser.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    parser.set_defaults(handler=test_command)


def test_command(options: argparse.Namespace) -> int:
    """Run the tests; exit 0 when all pass, 1 on failures, 2 on usage or syntax errors, 5 when none ran."""
    from jaclang.compiler.errors import JacSyntaxError
    from jaclang.runtimelib.tracebacks import format_user_traceback

    try:
        files = test_files(options.paths or ["."])
    except UsageError as error:
        return report_usage_error("test", error)
    if not files:
        print(f"no tests found: no .jac file with a test block in {', '.join(options.paths or ['.'])}")
        return NO_TESTS
    started = time.perf_counter()
    passed = 0
    failures: list[tuple[str, str]] = []
    for path in files:
        label = os.path.relpath(path) if len(files) > 1 else os.path.basename(path)
        module_name = os.path.splitext(os.path.basename(path))[0]
        try:
            module = load_test_module(path, module_name)
        except JacSyntaxError as error:
            print(error.format(), file=sys.stderr)
            return USAGE_ERROR
        except Exception as error:  # the module itself failed while loading
            failures.append((f"{label} (loading)", format_user_traceback(error)))
            print(f"{label} ERROR")
            continue
        tests: list[tuple[str, Callable[[], object]]] = module.__dict__.get("__jac_tests__", [])
        for name, function in tests:
            if options.filter and options.filter not in name:
                continue
            outcome = run_one(function)
            print(f"{label}::{name} {'PASSED' if outcome is None else 'FAILED'}")
            if outcome is None:
                passed += 1
            else:
                failures.append((f"{label}::{name}", outcome))
                if options.exitfirst:
                    break
        if failures and options.exitfirst:
            break
    print_summary(passed, failures, time.perf_counter() - started)
    if failures:
        return FAILURE
    return SUCCESS if passed else NO_TESTS


def test_files(paths: list[str]) -> list[str]:
    """The files to test: each file named, and the ``.jac`` files with tests under each folder named."""
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            files.extend(found for found in jac_files_under(path) if has_test_blocks(found))
        else:
            files.append(resolve_jac_file(path))
    return list(dict.fromkeys(files))


def has_test_blocks(path: str) -> bool:
    """Whether a ``.jac`` file declares a ``test`` block (a cheap text search; nothing is compiled)."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return TEST_BLOCK.search(handle.read()) is not None
    except (OSError, UnicodeDecodeError):
        return False


def load_test_module(path: str, module_name: str) -> ModuleType:
    """Compile and run a ``.jac`` file as ``run_jac_file`` does, with its test asserts rewritten to show values."""
    from jaclang.compiler import compile_jac, jac_to_ast
    from jaclang.compiler.annexes import annex_paths
    from jaclang.runtimelib.importer import run_code

    absolute = os.path.abspath(path)
    source = read_source(absolute)
    annexes = [(annex, read_source(annex)) for annex in annex_paths(absolute)]
    tree = AssertRewriter().visit(jac_to_ast(source, absolute, annexes))
    ast.fix_missing_locations(tree)
    try:
        code = compile(tree, absolute, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, TypeError):
        code = compile_jac(source, absolute, annexes)  # raises the compiler's own located error
    return run_code(code, absolute, module_name, {EXPLAIN_NAME: explain_failed_comparison})


def read_source(path: str) -> str:
    """A source file's text (a UTF-8 byte-order mark is dropped)."""
    with open(path, encoding="utf-8-sig") as handle:
        return handle.read()


class AssertRewriter(ast.NodeTransformer):
    """Rewrite ``assert LEFT OP RIGHT, MESSAGE`` in test blocks so a failure shows both values.

    Each side is evaluated once, as before, and kept in a local name:
    ``assert (_l := LEFT) OP (_r := RIGHT), __jac_explain_assert__(MESSAGE, 'LEFT', 'OP', 'RIGHT', _l, _r)``;
    the message is only built when the assertion fails, as Python does.
    Only the bodies of test functions are rewritten, not functions nested in them.
    """

    OPERATORS: dict[type, str] = {
        ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
        ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
    }  # fmt: skip

    def __init__(self) -> None:
        self.in_test = False
        self.count = 0

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        """Enter test functions (``__jac_test_N``); leave every other function as it is."""
        if self.in_test or not node.name.startswith("__jac_test_"):
            return node
        self.in_test = True
        try:
            self.generic_visit(node)
        finally:
            self.in_test = False
        return node

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        """Nested async functions are left as they are."""
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        """Classes (and their methods) are left as they are."""
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        """Lambdas hold no statements."""
        return node

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        """Rewrite a single comparison; any other assertion stays as written."""
        test = node.test
        if not self.in_test or not isinstance(test, ast.Compare) or len(test.ops) != 1:
            return node
        operator = self.OPERATORS.get(type(test.ops[0]))
        if operator is None:
            return node
        self.count += 1
        left_name, right_name = f"__jac_left_{self.count}", f"__jac_right_{self.count}"
        left, right = test.left, test.comparators[0]
        new_test = ast.Compare(
            left=ast.copy_location(ast.NamedExpr(target=ast.Name(left_name, ast.Store()), value=left), left),
            ops=test.ops,
            comparators=[ast.copy_location(ast.NamedExpr(target=ast.Name(right_name, ast.Store()), value=right), right)],
        )
        message = ast.Call(
            func=ast.Name(EXPLAIN_NAME, ast.Load()),
            args=[
                node.msg or ast.Constant(None),
                ast.Constant(ast.unparse(left)),
                ast.Constant(operator),
                ast.Constant(ast.unparse(right)),
                ast.Name(left_name, ast.Load()),
                ast.Name(right_name, ast.Load()),
            ],
            keywords=[],
        )
        rewritten = ast.Assert(test=ast.copy_location(new_test, test), msg=ast.copy_location(message, node))
        return ast.copy_location(rewritten, node)


def explain_failed_comparison(
    message: Any, left_source: str, operator: str, right_source: str, left: Any, right: Any
) -> str:
    """The text of a failed comparison: the user's message, then ``assert LEFT OP RIGHT`` with values."""
    lines = [] if message is None else [str(message)]
    lines.append(f"assert {_short_repr(left)} {operator} {_short_repr(right)}")
    for label, source, value in (("left", left_source, left), ("right", right_source, right)):
        if source != repr(value):
            lines.append(f"  {label}:  {source} = {_short_repr(value)}")
    return "\n".join(lines)


def _short_repr(value: Any, limit: int = 400) -> str:
    try:
        text = repr(value)
    except Exception as error:  # a broken __repr__ must not hide the failure
        text = f"<{type(value).__name__} whose repr raised {type(error).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_one(function: Callable[[], object]) -> str | None:
    """Run one test; ``None`` when it passes, else its report."""
    from jaclang.runtimelib.tracebacks import format_user_traceback

    try:
        function()
    except Exception as error:  # a failing test may raise anything
        return format_user_traceback(error)
    return None


def print_summary(passed: int, failures: list[tuple[str, str]], seconds: float) -> None:
    """The failure details and the ``N passed, M failed in Xs`` line."""
    if failures:
        print(" FAILURES ".center(60, "="))
        for name, report in failures:
            print(f" {name} ".center(60, "_"))
            print(report, end="" if report.endswith("\n") else "\n")
    parts = []
    if failures:
        parts.append(f"{len(failures)} failed")
    parts.append(f"{passed} passed")
    print(f" {', '.join(parts)} in {seconds:.2f}s ".center(60, "="))
