"""``jac run FILE.jac [ARGS...]``: run a Jac program; exit with its status."""

from __future__ import annotations

import argparse
import os
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run`` sub-command."""
    parser = subparsers.add_parser("run", help="run a Jac program", description="Run a Jac program.")
    parser.add_argument("file", help="the .jac file to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the program (sys.argv[1:])")
    parser.set_defaults(handler=run_command)


def run_command(options: argparse.Namespace) -> int:
    """Run ``options.file`` as ``__main__``; syntax errors exit 2, uncaught errors 1."""
    path = options.file
    if not os.path.isfile(path):
        print(f"jac run: {path}: no such file", file=sys.stderr)
        return 2
    sys.argv = [path, *options.args]
    return run_program(path)


def run_program(path: str) -> int:
    """Run a Jac file as the main program and turn its outcome into an exit status."""
    from jaclang.compiler.errors import JacSyntaxError
    from jaclang.runtimelib.importer import run_jac_file

    try:
        run_jac_file(path, "__main__")
    except JacSyntaxError as error:
        if error.filename == os.path.abspath(path):
            error.filename = path  # report the main file as the user named it
        print(error.format(), file=sys.stderr)
        return 2
    except SystemExit as exit_request:
        return exit_status(exit_request)
    except KeyboardInterrupt:
        print("KeyboardInterrupt", file=sys.stderr)
        return 130
    except BaseException as error:  # report any uncaught error of the user's program
        from jaclang.runtimelib.tracebacks import format_user_traceback

        sys.stdout.flush()
        print(format_user_traceback(error), file=sys.stderr, end="")
        return 1
    finally:
        sys.stdout.flush()
    return 0


def exit_status(exit_request: SystemExit) -> int:
    """The status ``sys.exit(code)`` asks for (a message means status 1, as in Python)."""
    code = exit_request.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
