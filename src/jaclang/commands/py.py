"""``jac py FILE.jac``: print the Python the compiler generates."""

from __future__ import annotations

import argparse
import sys

from jaclang.commands.arguments import SUCCESS, USAGE_ERROR, UsageError, report_usage_error, resolve_jac_file


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``py`` sub-command."""
    parser = subparsers.add_parser(
        "py", help="print the generated Python for a Jac file", description="Print the Python generated for a Jac file."
    )
    parser.add_argument("file", help="the .jac file to translate (the .jac may be left out)")
    parser.set_defaults(handler=py_command)


def py_command(options: argparse.Namespace) -> int:
    """Print the generated Python; usage errors and syntax errors exit 2."""
    from jaclang.compiler import jac_to_python
    from jaclang.compiler.errors import JacSyntaxError

    try:
        path = resolve_jac_file(options.file)
        source = read_program(path)
    except UsageError as error:
        return report_usage_error("py", error)
    try:
        print(jac_to_python(source, path))
    except JacSyntaxError as error:
        print(error.format(), file=sys.stderr)
        return USAGE_ERROR
    return SUCCESS


def read_program(path: str) -> str:
    """A Jac file's text; a :class:`UsageError` when it cannot be read."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return handle.read()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"cannot read {path}: it is not UTF-8 text") from None
