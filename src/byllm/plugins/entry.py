"""The entry-point classes of byllm's built-in plugins: all that a ``jac`` start imports of them.

They carry only what is always registered: the ``jac cache`` and ``jac logs`` commands and the
usage count. The working hooks of the cache, the call log, tracing and the rate limit are
registered by :mod:`byllm.plugins.activation` while wanted, so a feature that is off imports nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jaclang.runtimelib.machine import hookimpl

if TYPE_CHECKING:
    import argparse

    from byllm.call import CallRecord
    from byllm.plugins.usage import UsageLedger


class CachePlugin:
    """``byllm-cache``: ``jac cache stats | clear``."""

    @staticmethod
    @hookimpl
    def add_cli_commands(subparsers: argparse._SubParsersAction) -> None:
        """Add ``jac cache``."""
        from byllm.plugins.cli import add_cache_command

        add_cache_command(subparsers)


class CallLogPlugin:
    """``byllm-log``: ``jac logs [list | show ID | clear]``."""

    @staticmethod
    @hookimpl
    def add_cli_commands(subparsers: argparse._SubParsersAction) -> None:
        """Add ``jac logs``."""
        from byllm.plugins.cli import add_logs_command

        add_logs_command(subparsers)


class UsagePlugin:
    """``byllm-usage`` (on by default): counts every finished call."""

    @staticmethod
    @hookimpl
    def llm_call_finished(record: CallRecord) -> None:
        """Add the call's totals to the run's (:mod:`byllm.plugins.usage`, imported on the first call)."""
        global _ledger
        if _ledger is None:  # an import statement per call would cost microseconds
            from byllm.plugins.usage import ledger as _ledger
        _ledger.add(record)


_ledger: UsageLedger | None = None


class TracingPlugin:
    """``byllm-tracing``: no hook of its own (see :mod:`byllm.plugins.activation`)."""


class RateLimitPlugin:
    """``byllm-ratelimit``: no hook of its own (see :mod:`byllm.plugins.activation`)."""
