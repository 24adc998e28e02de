"""The call log plugin: one SQLite row per ``by llm()`` call, read back by ``jac logs``.

A row holds the time, function, model, parameters, the exact messages sent
last (retry turns included), every completion (text, tool calls, usage,
latency, cached or not, error), the tool turns, the value or the error, tokens,
cost, latency, retries and whether the call streamed: all of it read from the
finished :class:`~byllm.call.CallRecord`. Credentials are masked
(:mod:`byllm.redact`) before anything is written; a failing log never fails
a call. Off unless configured (``BYLLM_LOG``, the config file, ``Model(log=...)``).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jaclang.runtimelib.machine import hookimpl
from byllm.plugins.activation import features
from byllm.plugins.entry import CallLogPlugin  # noqa: F401  (the entry point, for registering by hand)
from byllm.settings import get_settings, parse_log_target

if TYPE_CHECKING:
    from byllm.call import Attempt, CallRecord
    from byllm.llm import Model

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, function TEXT NOT NULL, model TEXT NOT NULL,
    params TEXT NOT NULL, messages TEXT NOT NULL, replies TEXT NOT NULL, tool_turns TEXT NOT NULL,
    value TEXT, error TEXT, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cost REAL,
    latency_ms REAL NOT NULL, retries INTEGER NOT NULL, completions INTEGER NOT NULL,
    cached_completions INTEGER NOT NULL, streamed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_by_time ON calls (time);
"""
COLUMNS = (
    "id", "time", "function", "model", "params", "messages", "replies", "tool_turns", "value", "error",
    "input_tokens", "output_tokens", "cost", "latency_ms", "retries", "completions", "cached_completions", "streamed",
)
JSON_COLUMNS = frozenset({"params", "messages", "replies", "tool_turns", "value"})


@dataclass
class LoggedCall:
    """One row of the call log."""

    id: int
    time: str
    function: str
    model: str
    params: dict[str, Any]
    messages: list[dict[str, Any]]
    replies: list[dict[str, Any]]
    tool_turns: list[dict[str, Any]]
    value: Any
    error: str | None
    input_tokens: int
    output_tokens: int
    cost: float | None
    latency_ms: float
    retries: int
    completions: int
    cached_completions: int
    streamed: bool

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON-ready data."""
        return {column: getattr(self, column) for column in COLUMNS}


class CallLog:
    """The call log database at one path."""

    def __init__(self, path: Path) -> None:
        from byllm.plugins.cache.sqlite import SqliteFile

        self.path = Path(path)
        self._file = SqliteFile(self.path, SCHEMA)

    def add(self, row: dict[str, Any]) -> int:
        """Append one call; return its id."""
        values = [json.dumps(row[column]) if column in JSON_COLUMNS else row[column] for column in COLUMNS[1:]]
        sql = f"INSERT INTO calls ({', '.join(COLUMNS[1:])}) VALUES ({', '.join('?' * len(values))})"
        return int(self._file.connection().execute(sql, values).lastrowid or 0)

    def _select(self, where: str, arguments: tuple[Any, ...]) -> list[LoggedCall]:
        rows = self._file.connection().execute(f"SELECT {', '.join(COLUMNS)} FROM calls {where}", arguments)
        return [
            LoggedCall(**{
                column: json.loads(value) if column in JSON_COLUMNS and value is not None else value
                for column, value in zip(COLUMNS, row)
            })
            for row in rows
        ]

    def recent(
        self,
        limit: int = 20,
        *,
        function: str | None = None,
        model: str | None = None,
        failed: bool | None = None,
        since: str | None = None,
    ) -> list[LoggedCall]:
        """The latest calls, newest first; optionally only one function's (name or qualified-name suffix),
        one model's, the failed (or the successful) ones, or those from ``since`` (an ISO time) on."""
        conditions: list[str] = []
        arguments: list[Any] = []
        if function:
            conditions.append("(function = ? OR function LIKE ?)")
            arguments += [function, f"%.{function}"]
        if model:
            conditions.append("model = ?")
            arguments.append(model)
        if failed is not None:
            conditions.append("error IS NOT NULL" if failed else "error IS NULL")
        if since:
            conditions.append("time >= ?")
            arguments.append(since)
        where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
        return self._select(f"{where}ORDER BY id DESC LIMIT ?", (*arguments, limit))

    def get(self, call_id: int) -> LoggedCall | None:
        """One call by id."""
        found = self._select("WHERE id = ?", (call_id,))
        return found[0] if found else None

    def count(self) -> int:
        """How many calls are logged."""
        return int(self._file.connection().execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def clear(self) -> int:
        """Delete every logged call; return how many."""
        return self._file.connection().execute("DELETE FROM calls").rowcount

    def close(self) -> None:
        """Close this thread's connection."""
        self._file.close()


_logs: dict[Path, CallLog] = {}
_lock = threading.Lock()


def open_log(path: Path) -> CallLog:
    """The call log at ``path``, opened once per process."""
    with _lock:
        log = _logs.get(path)
        if log is None:
            log = _logs[path] = CallLog(path)
    return log


def close_logs() -> None:
    """Close and forget every open log (tests, or after changing locations)."""
    with _lock:
        for log in _logs.values():
            log.close()
        _logs.clear()


def log_path(model: Model | None = None) -> Path | None:
    """Where ``model``'s calls are logged (call > model > environment > file), or ``None`` for off."""
    setting = None if model is None else model.param("log")
    if setting is None:
        return get_settings().log
    return parse_log_target(setting, "log=")


def _json_data(value: Any) -> Any:
    from byllm.plugins.cache.keys import NotStorable, to_json_value

    try:
        return to_json_value(value)
    except NotStorable:
        return repr(value)


def _error_text(error: BaseException | None, secrets: list[str]) -> str | None:
    from byllm.redact import redact

    return None if error is None else redact(f"{type(error).__name__}: {error}", secrets)


def _attempt_data(attempt: Attempt, secrets: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "text": attempt.reply,
        "tool_calls": [{"id": call.id, "name": call.name, "arguments": call.arguments} for call in attempt.tool_calls],
        "usage": None if attempt.usage is None else [attempt.usage.input_tokens, attempt.usage.output_tokens],
        "cached": attempt.cached,
        "seconds": round(attempt.latency, 6),
    }
    if attempt.chunks is not None:
        data["chunks"] = len(attempt.chunks)
    if attempt.error is not None:
        data["error"] = _error_text(attempt.error, secrets)
    return data


def _secrets(record: CallRecord) -> list[str]:
    model = getattr(record, "model", None)
    try:
        provider_secrets = getattr(model.provider, "secrets", None) if model is not None else None
        return list(provider_secrets()) if callable(provider_secrets) else []
    except Exception:  # a provider that cannot be built has no secrets to mask
        return []


def build_row(record: CallRecord) -> dict[str, Any]:
    """The log row for a finished call, credentials masked."""
    from datetime import datetime, timezone

    from byllm.redact import redact, redact_mapping

    secrets = _secrets(record)
    return {
        "time": datetime.fromtimestamp(record.started_at, tz=timezone.utc).isoformat(timespec="milliseconds"),
        "function": record.function,
        "model": record.model_name,
        "params": redact_mapping(_json_data(record.params), secrets),
        "messages": redact(_json_data(record.messages), secrets),
        "replies": redact([_attempt_data(attempt, secrets) for attempt in record.attempts], secrets),
        "tool_turns": redact(_json_data([{"name": t.name, "arguments": t.arguments, "result": t.result} for t in record.tool_turns]), secrets),
        "value": None if record.error is not None else redact(_json_data(record.value), secrets),
        "error": _error_text(record.error, secrets),
        "input_tokens": record.usage.input_tokens,
        "output_tokens": record.usage.output_tokens,
        "cost": record.cost,
        "latency_ms": round(record.duration * 1000, 3),
        "retries": record.retries,
        "completions": len(record.attempts),
        "cached_completions": sum(attempt.cached for attempt in record.attempts),
        "streamed": record.streamed,
    }


class CallLogHooks:
    """Writes one row per finished call; registered only while a log is configured or asked for."""

    @staticmethod
    @hookimpl
    def llm_call_finished(record: CallRecord) -> None:
        """Log the call if its model (or the settings) says so."""
        model = getattr(record, "model", None)
        path = log_path(model)
        if path is None:
            return
        try:
            open_log(path).add(build_row(record))
        except Exception as problem:  # the log is an observer: report, never break the program
            from byllm.redact import redact

            logger.warning("byllm call log %s not written: %s", path, redact(f"{type(problem).__name__}: {problem}"))


# CallLogHooks are registered by byllm.plugins.activation while a log is configured or asked for.
feature = features["byllm-log:hooks"]
