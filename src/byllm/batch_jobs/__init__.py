"""Provider batch jobs: many ``by llm()`` calls as one job at the provider's batch price.

:mod:`byllm.batch_jobs.jobs` submits, checks and reads jobs (``byllm.batch.submit``
is the entry for users); :mod:`byllm.batch_jobs.cli` is ``jac batch``. This module
is the ``byllm-batch`` entry point and only registers the command, so ``jac``
start-up does not load the rest.
"""

from __future__ import annotations

from typing import Any

from jaclang.runtimelib.machine import hookimpl

DEFAULT_POLL_INTERVAL = 30.0  # seconds between checks while waiting (byllm.batch_jobs.jobs uses the same)


class BatchCommand:
    """The ``byllm-batch`` entry point: adds ``jac batch``."""

    @staticmethod
    @hookimpl
    def add_cli_commands(subparsers: Any) -> None:
        """Register ``jac batch list | status ID | results ID``."""
        parser = subparsers.add_parser("batch", help="provider batch jobs submitted with byllm.batch.submit")
        actions = parser.add_subparsers(dest="batch_action", metavar="ACTION", required=True)
        actions.add_parser("list", help="the jobs submitted from this machine, newest first")
        for name, help_text in (("status", "ask the provider where a job stands"),
                                ("results", "wait for a job and print each item's value or error")):
            action = actions.add_parser(name, help=help_text)
            action.add_argument("job_id", help="the job's id (see `jac batch list`)")
            action.add_argument("--json", action="store_true", help="print JSON")
            if name == "results":
                action.add_argument("--poll", type=float, default=DEFAULT_POLL_INTERVAL,
                                    help=f"seconds between checks while waiting (default {DEFAULT_POLL_INTERVAL:.0f})")
        parser.set_defaults(handler=_run)


def _run(options: Any) -> int:
    from byllm.batch_jobs.cli import run_batch_command

    return run_batch_command(options)
