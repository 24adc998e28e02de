"""The call log plugin: one SQLite row per finished ``by llm()`` call, credentials masked, read by ``jac logs``."""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jaclang.runtimelib.machine import hookimpl
from byllm.plugins import describe_error
from byllm.plugins.cache.backends import SqliteFile
from byllm.settings import get_settings, parse_log_target

if TYPE_CHECKING:
    from byllm.call import Attempt, CallRecord
    from byllm.llm import Model

logger = logging.getLogger(__name__)


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


COLUMNS = tuple(column.name for column in fields(LoggedCall))
JSON_COLUMNS = frozenset({"params", "messages", "replies", "tool_turns", "value"})
# The columns are LoggedCall's fields; SQLite keeps each value's own type, so none is declared.
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS calls (id INTEGER PRIMARY KEY AUTOINCREMENT, {', '.join(COLUMNS[1:])});
CREATE INDEX IF NOT EXISTS calls_by_time ON calls (time);
"""


class CallLog(SqliteFile):
    """The call log database at one path."""

    schema = SCHEMA

    def add(self, row: dict[str, Any]) -> int:
        """Append one call (a :func:`build_row`); return its id."""
        values = [json.dumps(row[column]) if column in JSON_COLUMNS else row[column] for column in COLUMNS[1:]]
        sql = f"INSERT INTO calls ({', '.join(COLUMNS[1:])}) VALUES ({', '.join('?' * len(values))})"
        return int(self.execute(sql, values).lastrowid or 0)

    def _select(self, where: str, arguments: tuple[Any, ...]) -> list[LoggedCall]:
        rows = self.execute(f"SELECT {', '.join(COLUMNS)} FROM calls {where}", arguments)
        # add() wrote every JSON column as JSON text ("null" for None)
        return [LoggedCall(**{column: json.loads(value) if column in JSON_COLUMNS else value
                              for column, value in zip(COLUMNS, row)}) for row in rows]

    def recent(
        self,
        limit: int = 20,
        *,
        function: str | None = None,
        model: str | None = None,
        failed: bool | None = None,
        since: str | None = None,
    ) -> list[LoggedCall]:
        """The latest calls, newest first: only one function's (name or qualified-name suffix),
        one model's, the failed (or successful) ones, or those from ``since`` (an ISO time) on, if given."""
        conditions = ["1"]
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
        return self._select(f"WHERE {' AND '.join(conditions)} ORDER BY id DESC LIMIT ?", (*arguments, limit))

    def get(self, call_id: int) -> LoggedCall | None:
        """One call by id."""
        found = self._select("WHERE id = ?", (call_id,))
        return found[0] if found else None

    def clear(self) -> int:
        """Delete every logged call; return how many."""
        return self.execute("DELETE FROM calls").rowcount


@functools.cache
def open_log(path: Path) -> CallLog:
    """The call log at ``path``, opened once per process (``open_log.cache_clear()`` forgets them)."""
    return CallLog(path)


def log_path(model: Model | None = None) -> Path | None:
    """Where ``model``'s calls are logged (call > model > environment > file), or ``None`` for off."""
    setting = None if model is None else model.param("log")
    return get_settings().log if setting is None else parse_log_target(setting, "log=")


def _attempt_data(attempt: Attempt) -> dict[str, Any]:
    data: dict[str, Any] = {
        "text": attempt.reply,
        "tool_calls": attempt.tool_calls,  # ToolCalls: build_row makes every dataclass JSON
        "usage": None if attempt.usage is None else [attempt.usage.input_tokens, attempt.usage.output_tokens],
        "cached": attempt.cached,
        "seconds": round(attempt.latency, 6),
    }
    if attempt.chunks is not None:
        data["chunks"] = len(attempt.chunks)
    if attempt.error is not None:
        data["error"] = describe_error(attempt.error)
    return data


def build_row(record: CallRecord) -> dict[str, Any]:
    """The log row for a finished call: JSON data (``repr`` for what has no JSON form), credentials masked."""
    from datetime import datetime, timezone

    from pydantic_core import to_jsonable_python

    from byllm.redact import redact

    row = {
        "time": datetime.fromtimestamp(record.started_at, tz=timezone.utc).isoformat(timespec="milliseconds"),
        "function": record.function,
        "model": record.model_name,
        "params": record.params,
        "messages": record.messages,
        "replies": [_attempt_data(attempt) for attempt in record.attempts],
        "tool_turns": record.tool_turns,
        "value": None if record.error is not None else record.value,
        "error": None if record.error is None else describe_error(record.error),
        "input_tokens": record.usage.input_tokens,
        "output_tokens": record.usage.output_tokens,
        "cost": record.cost,
        "latency_ms": round(record.duration * 1000, 3),
        "retries": record.retries,
        "completions": len(record.attempts),
        "cached_completions": record.cached_completions,
        "streamed": record.streamed,
    }
    try:  # the provider's own credentials are masked wherever they appear
        secrets = list(record.model.provider.secrets()) if record.model is not None else []
    except Exception:  # a provider that cannot be built, or keeps no credentials, has none to mask
        secrets = []
    return redact(to_jsonable_python(row, fallback=repr, bytes_mode="base64"), secrets)


class CallLogHooks:
    """Writes one row per finished call; registered only while a log is configured or asked for."""

    @staticmethod
    @hookimpl
    def llm_call_finished(record: CallRecord) -> None:
        """Log the call if its model (or the settings) says so."""
        path = log_path(record.model)
        if path is None:
            return
        try:
            open_log(path).add(build_row(record))
        except Exception as problem:  # the log is an observer: report, never break the program
            logger.warning("byllm call log %s not written: %s", path, describe_error(problem))
