"""The call log plugin: every ``by llm()`` call kept in a SQLite database for ``jac logs``.

One row per call: time, function, model, parameters, the exact messages sent
(retry turns included), every reply, the parsed value or the error, tokens,
cost when the price is known, latency and retries. Credentials are never
stored: parameters are scrubbed of anything named like a key or a token.
The log is off unless configured (``BYLLM_LOG``, the config file, or
``Model(..., log=...)``).

This module is the ``byllm-log`` entry point and stays light, since every
``jac`` start-up loads it: the database and the hooks writing it live in
:mod:`byllm.plugins.calllog_hooks`, imported when the log is first switched on
or read. Every one of their names can still be imported from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jaclang.runtimelib.machine import hookimpl
import byllm.hooks  # noqa: F401  (the llm_complete hook specs)
from byllm.plugins.switches import HookSwitch, add_switch

if TYPE_CHECKING:
    import argparse

    from byllm.settings import Settings


class CallLogPlugin:
    """The ``byllm-log`` plugin: ``jac logs``, and :class:`CallLogHooks` while a log is in use.

    Off (no log configured, no model asking for one) it adds no hook to any call.
    """

    @staticmethod
    @hookimpl
    def add_cli_commands(subparsers: argparse._SubParsersAction) -> None:
        """Add ``jac logs [show ID] [--json]``."""
        from byllm.plugins.cli import add_logs_command

        add_logs_command(subparsers)


def _log_configured(settings: Settings) -> bool:
    return settings.log is not None


switch = add_switch(
    HookSwitch(CallLogPlugin, "byllm.plugins.calllog_hooks:CallLogHooks", "byllm-log:hooks", "log", _log_configured)
)


def close_logs() -> None:
    """Close and forget every open log (tests, or after changing locations)."""
    import sys

    # Nothing can be open before the database module was imported: do not import it to find out.
    hooks = sys.modules.get("byllm.plugins.calllog_hooks")
    if hooks is not None:
        hooks.close_logs()


def __getattr__(name: str) -> Any:
    """The log's working parts (``open_log``, ``log_path``, ``CallLog``, ...), imported on first use."""
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from byllm.plugins import calllog_hooks

    try:
        return getattr(calllog_hooks, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
