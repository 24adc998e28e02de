"""The argument parser of the ``jac`` command line: the built-in sub-commands and those plugins add.

Each built-in command's module adds itself through ``register(subparsers)``;
plugins add theirs through the ``add_cli_commands`` hook. Usage errors take the
one-line form of :mod:`jaclang.commands.arguments`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from jaclang.commands.arguments import USAGE_ERROR

# Sub-command modules of jaclang itself, by command name, in the order ``jac --help`` lists them.
BUILTIN_COMMANDS = {
    "run": "jaclang.commands.run",
    "py": "jaclang.commands.py",
    "check": "jaclang.commands.check",
    "test": "jaclang.commands.test",
    "plugins": "jaclang.commands.plugins",
}


class JacArgumentParser(argparse.ArgumentParser):
    """An argument parser whose errors use the one-line ``jac COMMAND: ...`` form and exit 2."""

    def error(self, message: str) -> NoReturn:
        """Report a bad command line on one line and exit with the usage-error status."""
        self.exit(USAGE_ERROR, f"{self.prog}: {message}; see '{self.prog} --help'\n")


def parse_command_line(arguments: list[str]) -> argparse.Namespace | None:
    """The options of a ``jac`` command line, ``handler`` among them; ``None`` when there is no command to run.

    An unknown command, or none, is reported here (``None`` then means exit status 2);
    other usage errors exit with status 2, as argparse does.
    """
    command = arguments[0] if arguments else None
    parser = build_parser(only=command if command in BUILTIN_COMMANDS else None)
    if command is not None and not command.startswith("-"):
        commands = _command_names(parser)
        if command not in commands:
            print(unknown_command_message(command, commands), file=sys.stderr)
            return None
    options, unknown = parser.parse_known_args(arguments)
    if unknown:  # say it as the sub-command's error: "jac run: unrecognized arguments: ..."
        command_parser = _command_parser(parser, getattr(options, "command", None)) or parser
        command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if getattr(options, "handler", None) is None:
        parser.print_help()
        return None
    return options


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every built-in and plugin sub-command.

    With ``only`` naming a built-in command, just that one is set up: plugins'
    commands are not needed (and not imported) to run ``jac run``.
    """
    import jaclang

    parser = JacArgumentParser(
        prog="jac",
        description="Run and inspect Jac programs.",
        epilog="Exit status: 0 success, 1 the program or a test failed, 2 a usage error "
        "(bad arguments, a missing file, a syntax error), 5 no tests found. See docs/cli.md.",
    )
    parser.add_argument("--version", action="version", version=f"jac {jaclang.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command, module_name in BUILTIN_COMMANDS.items():
        if only is None or command == only:
            importlib.import_module(module_name).register(subparsers)
    if only is None:
        add_plugin_commands(subparsers)
        list_every_command(subparsers)
    return parser


def add_plugin_commands(subparsers: argparse._SubParsersAction) -> None:
    """Let each plugin add its commands; one that fails is reported by name and skipped."""
    from jaclang.runtimelib.machine import plugin_manager

    for implementation in plugin_manager.hook.add_cli_commands.get_hookimpls():
        known = set(subparsers.choices)
        try:
            implementation.function(*[{"subparsers": subparsers}[name] for name in implementation.argnames])
        except Exception as error:  # a plugin's bug must not take the whole command line down
            for name in set(subparsers.choices) - known:  # drop what it added half-way
                del subparsers.choices[name]
            print(
                f"warning: jac plugin {implementation.plugin_name!r} could not add its commands "
                f"({type(error).__name__}: {error}); skipped",
                file=sys.stderr,
            )


def list_every_command(subparsers: argparse._SubParsersAction) -> None:
    """Give each command ``jac --help`` would leave out (added without ``help=``) a line: its description."""
    listed = {action.dest for action in subparsers._choices_actions}  # argparse keeps the help lines here
    for name, command_parser in subparsers.choices.items():
        if name in listed:
            continue
        summary = (command_parser.description or "").strip().split("\n")[0] or "(no description)"
        subparsers._choices_actions.append(subparsers._ChoicesPseudoAction(name, (), summary))


def unknown_command_message(command: str, known: list[str]) -> str:
    """What ``jac`` says about a command it does not know, with the closest one."""
    import difflib

    close = difflib.get_close_matches(command, known, n=1)
    hint = f"did you mean 'jac {close[0]}'?" if close else "see 'jac --help' for the commands"
    return f"jac: unknown command {command!r}; {hint}"


def _command_names(parser: argparse.ArgumentParser) -> list[str]:
    for action in parser._subparsers._group_actions if parser._subparsers else []:  # argparse keeps them here
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


def _command_parser(parser: argparse.ArgumentParser, command: str | None) -> argparse.ArgumentParser | None:
    for action in parser._subparsers._group_actions if parser._subparsers else []:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command]
    return None
