"""What every ``jac`` command shares about its arguments: usage errors and finding Jac files.

One wording and one exit-status scheme for all commands (docs/cli.md):
a usage error prints ``jac COMMAND: what is wrong; what to do`` on one line to
stderr and exits with :data:`USAGE_ERROR` (2); a program or test that fails
exits 1.
"""

from __future__ import annotations

import os
import sys

SUCCESS = 0
FAILURE = 1  # the program raised, a test failed, a check found problems
USAGE_ERROR = 2  # bad arguments, a missing or unreadable file, a program that does not compile
NO_TESTS = 5  # jac test found nothing to run (as pytest)
INTERRUPTED = 130  # Ctrl-C

# Folders never searched for Jac files: tool state, environments, generated code.
SKIPPED_FOLDERS = frozenset({".jac", ".git", ".venv", "venv", "node_modules", "__pycache__", "__jac_gen__", "build", "dist"})
ANNEX_SUFFIX = ".impl.jac"


class UsageError(Exception):
    """A command line a command cannot act on; its message is the one line shown to the user."""


def report_usage_error(command: str, error: UsageError) -> int:
    """Print a usage error as ``jac COMMAND: message`` and return its exit status."""
    print(f"jac {command}: {error}", file=sys.stderr)
    return USAGE_ERROR


def resolve_jac_file(argument: str) -> str:
    """The ``.jac`` file a command-line argument names: as given, or with ``.jac`` added.

    Raises :class:`UsageError` for Python files, folders and missing files, saying
    what was looked for.
    """
    if argument.endswith(".py"):
        raise UsageError(
            f"{argument} is a Python file; jac runs .jac programs (run Python with: python {argument})"
        )
    if os.path.isdir(argument):
        raise UsageError(f"{argument} is a folder; name a .jac file in it")
    if os.path.isfile(argument):
        return argument
    if not argument.endswith(".jac") and os.path.isfile(argument + ".jac"):
        return argument + ".jac"
    if argument.endswith(".jac"):
        raise UsageError(f"no such file: {argument}")
    raise UsageError(f"no such file: {argument} (also looked for {argument}.jac)")


def main_file_of(folder: str) -> str:
    """The program a folder stands for: its ``main.jac``."""
    candidate = os.path.join(folder, "main.jac")
    if os.path.isfile(candidate):
        return candidate
    raise UsageError(f"no main.jac in {folder} (looked for {candidate}); name the program: {os.path.join(folder, 'FILE.jac')}")


def jac_files_under(folder: str) -> list[str]:
    """Every ``.jac`` file under ``folder`` (annex ``.impl.jac`` files and tool folders left out), sorted."""
    found = []
    for directory, subfolders, files in os.walk(folder):
        subfolders[:] = sorted(name for name in subfolders if name not in SKIPPED_FOLDERS and not name.startswith("."))
        found.extend(
            os.path.join(directory, name) for name in files if name.endswith(".jac") and not name.endswith(ANNEX_SUFFIX)
        )
    return sorted(found)
