"""The ``jac`` command line: ``jac run | py | check | test | plugins ...``.

Each sub-command lives in its own module under :mod:`jaclang.commands` and adds
itself through ``register(subparsers)``; plugins add more through the
``add_cli_commands`` hook.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Sub-command modules of jaclang itself, by command name, in the order ``jac --help`` lists them.
BUILTIN_COMMANDS = {
    "run": "jaclang.commands.run",
    "py": "jaclang.commands.py",
    "check": "jaclang.commands.check",
    "test": "jaclang.commands.test",
    "plugins": "jaclang.commands.plugins",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every built-in and plugin sub-command.

    With ``only`` naming a built-in command, just that one is set up: plugins'
    commands are not needed (and not imported) to run ``jac run``.
    """
    import jaclang
    from jaclang.runtimelib.machine import plugin_manager

    parser = argparse.ArgumentParser(prog="jac", description="Run and inspect Jac programs.")
    parser.add_argument("--version", action="version", version=f"jac {jaclang.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command, module_name in BUILTIN_COMMANDS.items():
        if only is None or command == only:
            importlib.import_module(module_name).register(subparsers)
    if only is None:
        plugin_manager.hook.add_cli_commands(subparsers=subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``jac`` console script; returns the exit status."""
    arguments = sys.argv[1:] if argv is None else argv
    command = arguments[0] if arguments else None
    parser = build_parser(only=command if command in BUILTIN_COMMANDS else None)
    options = parser.parse_args(arguments)
    handler = getattr(options, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(options) or 0)
    except BrokenPipeError:  # `jac plugins | head`: the reader left; not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
