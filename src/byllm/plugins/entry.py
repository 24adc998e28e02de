"""The entry-point classes of byllm's built-in plugins: all that a ``jac`` start imports of them.

They carry only what is always registered: the ``jac cache`` and ``jac logs`` commands and
the usage count. A feature's working hooks are registered by :mod:`byllm.plugins.activation`
while it is wanted, so a feature that is off, or blocked, imports nothing more.
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
    """``byllm-cache``: ``jac cache``; the cache's hooks are registered while a cache is in use."""

    @staticmethod
    @hookimpl
    def add_cli_commands(subparsers: argparse._SubParsersAction) -> None:
        """Add ``jac cache stats | clear``."""
        from byllm.plugins.cli import add_cache_command

        add_cache_command(subparsers)


class CallLogPlugin:
    """``byllm-log``: ``jac logs``; the log's hook is registered while a log is in use."""

    @staticmethod
    @hookimpl
    def add_cli_commands(subparsers: argparse._SubParsersAction) -> None:
        """Add ``jac logs [list | show ID | clear]``."""
        from byllm.plugins.cli import add_logs_command

        add_logs_command(subparsers)


class UsagePlugin:
    """``byllm-usage`` (on by default): counts every finished call."""

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
    """``byllm-tracing``: the span hooks are registered while tracing is active."""


class RateLimitPlugin:
    """``byllm-ratelimit``: the rate limit's hooks are registered while a limit is configured."""
