"""``jac test FILE.jac``: run the file's ``test`` blocks with a pytest-like report."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``test`` sub-command."""
    parser = subparsers.add_parser("test", help="run the test blocks of Jac files", description="Run test blocks.")
    parser.add_argument("files", nargs="+", help=".jac files whose tests to run")
    parser.add_argument("-k", dest="filter", default=None, help="only run tests whose name contains this text")
    parser.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    parser.set_defaults(handler=test_command)


def test_command(options: argparse.Namespace) -> int:
    """Run the tests; exit 0 when all pass, 1 on failures, 2 on syntax errors, 5 when none ran."""
    from jaclang.compiler.errors import JacSyntaxError
    from jaclang.runtimelib.importer import run_jac_file
    from jaclang.runtimelib.tracebacks import format_user_traceback

    started = time.perf_counter()
    passed = 0
    failures: list[tuple[str, str]] = []
    for path in options.files:
        label = os.path.basename(path)
        module_name = os.path.splitext(label)[0]
        try:
            module = run_jac_file(path, module_name)
        except JacSyntaxError as error:
            print(error.format(), file=sys.stderr)
            return 2
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
        return 1
    return 0 if passed else 5


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
