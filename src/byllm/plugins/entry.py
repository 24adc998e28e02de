"""The entry-point classes of byllm's built-in plugins: what every ``jac`` start registers.

Every ``jac`` start imports the module of each ``jac`` entry point, so these
classes carry only what must always be registered: the ``jac cache`` and
``jac logs`` commands (their code is imported when the command line is built)
and the usage count of every finished call. The hooks that do a feature's work
(cache, call log, tracing, rate limit) live in the feature's own module and are
registered by :mod:`byllm.plugins.activation` when the settings, a model or a
call ask for the feature, so an entry point blocked with ``JAC_DISABLED_PLUGINS``
keeps its feature's module from being imported at all.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from jaclang.runtimelib.machine import hookimpl

if TYPE_CHECKING:
    import argparse

    from byllm.call import CallRecord
    from byllm.plugins.usage import UsageLedger


class CachePlugin:
    """The ``byllm-cache`` entry point: ``jac cache``; the cache's hooks are registered while a cache is in use."""

    @staticmethod
    @hookimpl
    def add_cli_commands(subparsers: argparse._SubParsersAction) -> None:
        """Add ``jac cache stats | clear``."""
        from byllm.plugins.cli import add_cache_command

        add_cache_command(subparsers)


class CallLogPlugin:
    """The ``byllm-log`` entry point: ``jac logs``; the log's hook is registered while a log is in use."""

    @staticmethod
    @hookimpl
    def add_cli_commands(subparsers: argparse._SubParsersAction) -> None:
        """Add ``jac logs [show ID] [--json]``."""
        from byllm.plugins.cli import add_logs_command

        add_logs_command(subparsers)


class UsagePlugin:
    """The ``byllm-usage`` entry point (on by default): counts every finished call."""

    @staticmethod
    @hookimpl
    def llm_call_finished(record: CallRecord) -> None:
        """Add the call's totals to the run (:mod:`byllm.plugins.usage`)."""
        usage_ledger().add(record)


@functools.cache
def usage_ledger() -> UsageLedger:
    """The run's usage ledger, imported on the first finished call (an import per call costs microseconds)."""
    from byllm.plugins.usage import ledger

    return ledger


class TracingPlugin:
    """The ``byllm-tracing`` entry point: the span hooks are registered while tracing is active."""


class RateLimitPlugin:
    """The ``byllm-ratelimit`` entry point: the rate limit's hooks are registered while a limit is configured."""
