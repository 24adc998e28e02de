"""The ``jac`` command line: ``jac run | py | check | test | plugins ...``.

Each sub-command lives in its own module under :mod:`jaclang.commands`; the
argument parser (:mod:`jaclang.commands.parser`) is built from them and from
the commands plugins add through the ``add_cli_commands`` hook.

``jac run PROGRAM [ARGS...]``, the command line that starts every program, is
read by the ``run`` command itself, without the parser: building the parser
imports argparse, ``re`` and ``shutil`` (50 M instructions, twice what the rest
of a warm ``jac run hello.jac`` costs over ``python -c pass``; bench/jac_startup.py).
"""

from __future__ import annotations

import os
import sys

from jaclang.commands.arguments import USAGE_ERROR


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``jac`` console script; returns the exit status."""
    arguments = sys.argv[1:] if argv is None else argv
    options = None
    if arguments[:1] == ["run"]:
        from jaclang.commands.run import plain_options

        options = plain_options(arguments[1:])
    if options is None:
        from jaclang.commands.parser import parse_command_line

        options = parse_command_line(arguments)
        if options is None:  # no command, or an unknown one: already reported
            return USAGE_ERROR
    try:
        return int(options.handler(options) or 0)
    except BrokenPipeError:  # `jac plugins | head`: the reader left; not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
