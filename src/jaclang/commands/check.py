"""``jac check FILE...``: report syntax errors and undefined names without running anything."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from jaclang.commands.arguments import (
    FAILURE,
    SUCCESS,
    USAGE_ERROR,
    UsageError,
    jac_files_under,
    report_usage_error,
    resolve_jac_file,
)

if TYPE_CHECKING:
    import ast


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``check`` sub-command."""
    parser = subparsers.add_parser(
        "check", help="check Jac files for syntax errors and undefined names",
        description="Check Jac files for syntax errors and undefined names without running them; "
        "a folder stands for every .jac file under it.",
    )
    parser.add_argument("files", nargs="+", metavar="PATH", help=".jac files or folders to check")
    parser.set_defaults(handler=check_command)


def check_command(options: argparse.Namespace) -> int:
    """Check every file; exit 2 on a usage or syntax error, 1 on undefined names, else 0."""
    try:
        paths = files_to_check(options.files)
    except UsageError as error:
        return report_usage_error("check", error)
    status = SUCCESS
    for path in paths:
        status = max(status, check_file(path))
    return status


def files_to_check(arguments: list[str]) -> list[str]:
    """The files the arguments name: each file, and every ``.jac`` file under each folder."""
    paths: list[str] = []
    for argument in arguments:
        if os.path.isdir(argument):
            found = jac_files_under(argument)
            if not found:
                raise UsageError(f"no .jac files in {argument}")
            paths.extend(found)
        else:
            paths.append(resolve_jac_file(argument))
    return list(dict.fromkeys(paths))


def check_file(path: str) -> int:
    """Check one file and print its problems; return its exit status."""
    from jaclang.commands.py import read_program
    from jaclang.compiler import compile_jac, jac_to_ast
    from jaclang.compiler.annexes import annex_paths
    from jaclang.compiler.errors import JacSyntaxError

    try:
        source = read_program(path)
    except UsageError as error:
        return report_usage_error("check", error)
    try:
        annexes = [(annex, read_program(annex)) for annex in annex_paths(path)]
        compile_jac(source, path, annexes)
        module = jac_to_ast(source, path, annexes)
    except UsageError as error:
        return report_usage_error("check", error)
    except JacSyntaxError as error:
        print(error.format())
        return USAGE_ERROR
    problems = undefined_names(module, path)
    for line, column, name in problems:
        print(f"{path}:{line}:{column}: undefined name {name!r}")
    if problems:
        return FAILURE
    print(f"{path}: ok")
    return SUCCESS


def undefined_names(module: "ast.Module", filename: str) -> list[tuple[int, int, str]]:
    """``(line, column, name)`` of each name read somewhere but bound nowhere (1-based columns)."""
    import ast
    import builtins
    import symtable

    if any(isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names) for node in ast.walk(module)):
        return []  # names from `include` / star imports are unknown here
    table = symtable.symtable(ast.unparse(module), filename, "exec")
    bound = set(dir(builtins)) | {"__name__", "__file__", "__doc__", "__builtins__", "__spec__", "__loader__"}
    referenced: set[str] = set()
    tables = [table]
    while tables:
        scope = tables.pop()
        tables.extend(scope.get_children())
        is_module = scope.get_type() == "module"
        for symbol in scope.get_symbols():
            name = symbol.get_name()
            if is_module and (symbol.is_assigned() or symbol.is_imported() or symbol.is_namespace()):
                bound.add(name)
            if symbol.is_declared_global() and symbol.is_assigned():
                bound.add(name)
            if symbol.is_referenced() and (is_module or symbol.is_global()):
                referenced.add(name)
    missing = referenced - bound
    problems = []
    for name in sorted(missing):
        node = next(
            (n for n in ast.walk(module) if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)),
            None,
        )
        line = getattr(node, "lineno", 1)
        column = getattr(node, "col_offset", 0) + 1
        problems.append((line, column, name))
    return sorted(problems)
