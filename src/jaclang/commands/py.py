"""``jac py FILE.jac``: print the Python the compiler generates."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``py`` sub-command."""
    parser = subparsers.add_parser(
        "py", help="print the generated Python for a Jac file", description="Print the Python generated for a Jac file."
    )
    parser.add_argument("file", help="the .jac file to translate")
    parser.set_defaults(handler=py_command)


def py_command(options: argparse.Namespace) -> int:
    """Print the generated Python; syntax errors exit 2."""
    from jaclang.compiler import jac_to_python
    from jaclang.compiler.errors import JacSyntaxError

    try:
        with open(options.file, encoding="utf-8-sig") as handle:
            source = handle.read()
    except OSError as error:
        print(f"jac py: {options.file}: {error.strerror}", file=sys.stderr)
        return 2
    try:
        print(jac_to_python(source, options.file))
    except JacSyntaxError as error:
        print(error.format(), file=sys.stderr)
        return 2
    return 0
