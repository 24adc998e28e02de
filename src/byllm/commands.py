"""byllm's ``jac`` sub-commands, kept light: each command's module is imported only when it runs.

Every ``jac`` start loads the entry points of the ``jac`` group, so the classes
here define arguments only; the work lives in :mod:`byllm.models_command`.
"""

from __future__ import annotations

from typing import Any

from jaclang.runtimelib.machine import hookimpl


class ModelsCommand:
    """The ``byllm-models`` entry point: adds ``jac models``."""

    @staticmethod
    @hookimpl
    def add_cli_commands(subparsers: Any) -> None:
        """Add ``jac models [--json] [--no-probe]``."""
        parser = subparsers.add_parser(
            "models",
            help="list model names byllm accepts, the API keys set and the local servers answering",
            description="List the model names and prefixes byllm accepts (and the provider each selects), "
            "which API keys are set (names only, never values) and whether each local server answers "
            "(a quick probe of its loopback URL).",
        )
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument("--no-probe", action="store_true", help="do not contact the local servers")
        parser.set_defaults(handler=_run_models)


def _run_models(options: Any) -> int:
    from byllm.models_command import models_command

    return models_command(options)
