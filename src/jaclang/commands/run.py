"""``jac run [--fresh] FILE.jac [ARGS...]``: run a Jac program; exit with its status.

The graph reachable from the program's ``root`` is kept between runs in
``.jac/data/<name>.db`` beside the program (``$JAC_DATA_DIR`` overrides the
folder); ``jac run --fresh`` or ``JAC_FRESH=1`` starts from an empty graph.
"""

from __future__ import annotations

import argparse
import os
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run`` sub-command."""
    parser = subparsers.add_parser("run", help="run a Jac program", description="Run a Jac program.")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="start from an empty graph: discard the stored graph of root (also JAC_FRESH=1)",
    )
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
    fresh = options.fresh or os.environ.get("JAC_FRESH", "").lower() in ("1", "true", "yes", "on")
    return run_program(path, persist=True, fresh=fresh)


def run_program(path: str, persist: bool = False, fresh: bool = False) -> int:
    """Run a Jac file as the main program and turn its outcome into an exit status.

    With ``persist``, the graph under ``root`` is loaded from the program's graph
    file when first used, and committed in one transaction when the program ends,
    whether it returns, exits or raises (as upstream ``jac run`` does). It is not
    committed when the program is interrupted (Ctrl-C) or killed, or did not
    compile: the stored graph then stays as it was.
    """
    if not persist:
        return _run_main(path)[0]
    from jaclang.runtimelib.osp import context

    context.use_graph_file(context.graph_file_for(path), fresh=fresh)
    status, ended = _run_main(path)
    try:
        if ended:
            context.finish_run()
        else:
            context.abandon_run()
    except Exception as error:  # the graph could not be saved: say where and why
        print(f"jac run: the graph of {path} was not saved: {error}", file=sys.stderr)
        return status or 1
    return status


def _run_main(path: str) -> tuple[int, bool]:
    """Run the program; its exit status, and whether it ran to an end (not a syntax error or Ctrl-C)."""
    from jaclang.compiler.errors import JacSyntaxError
    from jaclang.runtimelib.importer import run_jac_file

    try:
        run_jac_file(path, "__main__")
    except JacSyntaxError as error:
        if error.filename == os.path.abspath(path):
            error.filename = path  # report the main file as the user named it
        print(error.format(), file=sys.stderr)
        return 2, False
    except SystemExit as exit_request:
        return exit_status(exit_request), True
    except KeyboardInterrupt:
        print("KeyboardInterrupt", file=sys.stderr)
        return 130, False
    except BaseException as error:  # report any uncaught error of the user's program
        from jaclang.runtimelib.tracebacks import format_user_traceback

        sys.stdout.flush()
        print(format_user_traceback(error), file=sys.stderr, end="")
        return 1, True
    finally:
        sys.stdout.flush()
    return 0, True


def exit_status(exit_request: SystemExit) -> int:
    """The status ``sys.exit(code)`` asks for (a message means status 1, as in Python)."""
    code = exit_request.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
