"""The ``jac`` command line: ``jac run | py | check | test | plugins ...``.

Each sub-command lives in its own module under :mod:`jaclang.commands` and adds
itself through ``register(subparsers)``; plugins add more through the
``add_cli_commands`` hook.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Sub-command modules of jaclang itself, in the order ``jac --help`` lists them.
BUILTIN_COMMAND_MODULES = (
    "jaclang.commands.run",
    "jaclang.commands.py",
    "jaclang.commands.check",
    "jaclang.commands.test",
    "jaclang.commands.plugins",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every built-in and plugin sub-command."""
    import jaclang
    from jaclang.runtimelib.machine import plugin_manager

    parser = argparse.ArgumentParser(prog="jac", description="Run and inspect Jac programs.")
    parser.add_argument("--version", action="version", version=f"jac {jaclang.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in BUILTIN_COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        module.register(subparsers)
    plugin_manager.hook.add_cli_commands(subparsers=subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``jac`` console script; returns the exit status."""
    parser = build_parser()
    options = parser.parse_args(argv)
    handler = getattr(options, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    return int(handler(options) or 0)


if __name__ == "__main__":
    sys.exit(main())
