"""The call log's working parts: the SQLite database, building rows and :class:`CallLogHooks`.

Imported when the log is first switched on or read (see :mod:`byllm.plugins.calllog`,
the light ``byllm-log`` entry point, which also re-exports every name here).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generator

from jaclang.runtimelib.machine import hookimpl
import byllm.hooks  # noqa: F401  (the llm_complete hook specs)
from byllm.errors import ConfigurationError
from byllm.plugins.calls import CallContext, CallTracker, CompletionEvent, observe_completion, when_settled
from byllm.plugins.records import NotStorable, function_name, reply_to_data, scrub_secrets, to_json_value
from byllm.plugins.usage_totals import usage_of_completions
from byllm.providers.base import CompletionReply, CompletionRequest
from byllm.settings import get_settings, parse_log_target

if TYPE_CHECKING:
    from byllm.llm import Model

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    function TEXT NOT NULL,
    model TEXT NOT NULL,
    params TEXT NOT NULL,
    messages TEXT NOT NULL,
    replies TEXT NOT NULL,
    value TEXT,
    error TEXT,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost REAL,
    latency_ms REAL NOT NULL,
    retries INTEGER NOT NULL,
    completions INTEGER NOT NULL,
    cached_completions INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_by_time ON calls (time);
"""

COLUMNS = (
    "id",
    "time",
    "function",
    "model",
    "params",
    "messages",
    "replies",
    "value",
    "error",
    "input_tokens",
    "output_tokens",
    "cost",
    "latency_ms",
    "retries",
    "completions",
    "cached_completions",
)
JSON_COLUMNS = frozenset({"params", "messages", "replies", "value"})


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
    value: Any
    error: str | None
    input_tokens: int
    output_tokens: int
    cost: float | None
    latency_ms: float
    retries: int
    completions: int
    cached_completions: int

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON-ready data."""
        return {column: getattr(self, column) for column in COLUMNS}


class CallLog:
    """The call log database at one path."""

    def __init__(self, path: Path) -> None:
        from byllm.plugins.sqlite_files import SqliteFile  # sqlite3 only once a log is used

        self.path = Path(path)
        self._file = SqliteFile(self.path, SCHEMA, "call log")

    def add(self, row: dict[str, Any]) -> int:
        """Append one call; return its id."""
        values = [json.dumps(row[column], ensure_ascii=False) if column in JSON_COLUMNS else row[column] for column in COLUMNS[1:]]
        placeholders = ", ".join("?" for _ in values)
        cursor = self._file.connection().execute(
            f"INSERT INTO calls ({', '.join(COLUMNS[1:])}) VALUES ({placeholders})", values
        )
        return int(cursor.lastrowid or 0)

    def recent(self, limit: int = 20) -> list[LoggedCall]:
        """The latest calls, newest first."""
        rows = self._file.connection().execute(
            f"SELECT {', '.join(COLUMNS)} FROM calls ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [_logged_call(row) for row in rows]

    def get(self, call_id: int) -> LoggedCall | None:
        """One call by id."""
        row = self._file.connection().execute(f"SELECT {', '.join(COLUMNS)} FROM calls WHERE id = ?", (call_id,)).fetchone()
        return None if row is None else _logged_call(row)

    def count(self) -> int:
        """How many calls are logged."""
        return int(self._file.connection().execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def clear(self) -> int:
        """Delete every logged call; return how many."""
        return self._file.connection().execute("DELETE FROM calls").rowcount

    def close(self) -> None:
        """Close this thread's connection."""
        self._file.close()


def _logged_call(row: tuple) -> LoggedCall:
    data = {column: json.loads(value) if column in JSON_COLUMNS and value is not None else value for column, value in zip(COLUMNS, row)}
    return LoggedCall(**data)


_logs: dict[Path, CallLog] = {}
_logs_lock = threading.Lock()


def open_log(path: Path) -> CallLog:
    """The call log at ``path``, opened once per process."""
    log = _logs.get(path)
    if log is None:
        with _logs_lock:
            log = _logs.setdefault(path, CallLog(path))
    return log


def close_logs() -> None:
    """Close and forget every open log (tests, or after changing locations)."""
    with _logs_lock:
        for log in _logs.values():
            log.close()
        _logs.clear()


def log_path(model: Model | None = None) -> Path | None:
    """Where ``model``'s calls are logged (call > model > env > file), or ``None`` for off."""
    setting = None if model is None else model.param("log")
    if setting is None:
        return get_settings().log
    return parse_log_target(setting, "log=")


def _json_or_repr(value: Any) -> Any:
    try:
        return to_json_value(value)
    except NotStorable:
        return repr(value)


def build_row(context: CallContext, value: Any, error: BaseException | None, latency: float) -> dict[str, Any]:
    """The log row for a finished call."""
    from datetime import datetime, timezone

    model = context.model
    events = context.completions
    last_request = events[-1].request if events else None
    usage = usage_of_completions(context.function, model.model_name, events)
    params = last_request.params if last_request is not None else model.sampling_params()
    return {
        "time": datetime.fromtimestamp(context.started, tz=timezone.utc).isoformat(timespec="milliseconds"),
        "function": context.function,
        "model": model.model_name,
        "params": scrub_secrets(_json_or_repr(params)),
        "messages": _json_or_repr(last_request.messages) if last_request is not None else [],
        "replies": [_event_data(event) for event in events],
        "value": None if error is not None else _json_or_repr(value),
        "error": None if error is None else f"{type(error).__name__}: {error}",
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cost": usage.cost,
        "latency_ms": round(latency * 1000, 3),
        "retries": usage.retries,
        "completions": usage.completions,
        "cached_completions": usage.cached_completions,
    }


def _event_data(event: CompletionEvent) -> dict[str, Any]:
    if event.reply is None:
        return {"error": f"{type(event.error).__name__}: {event.error}", "seconds": round(event.seconds, 6)}
    try:
        data = reply_to_data(event.reply)
    except NotStorable:
        data = {"text": event.reply.text, "value": repr(event.reply.value)}
    data["cached"] = event.cached
    data["seconds"] = round(event.seconds, 6)
    return data


def write_call(path: Path, context: CallContext, value: Any, error: BaseException | None) -> None:
    """Append a finished call to the log at ``path``; a failing log never fails the call."""
    latency = time.perf_counter() - context.clock
    try:
        open_log(path).add(build_row(context, value, error, latency))
    except ConfigurationError as problem:
        logger.warning("byllm call log not written: %s", problem)
    except Exception as problem:  # the log is an observer: report, never break the program
        logger.warning("byllm call log %s not written: %s", path, problem)


tracker = CallTracker("log")


async def _observe_async(pending: Any, record: Callable[[Any, BaseException | None], None]) -> CompletionReply:
    try:
        reply = await pending
    except BaseException as error:
        record(None, error)
        raise
    record(reply, None)
    return reply


class CallLogHooks:
    """Writes one log row per ``by llm()`` call (or per completion made outside one).

    Registered only while a log is configured or a model asks for one.
    """

    @staticmethod
    @hookimpl(wrapper=True)
    def call_llm(model: Model, caller: Callable, args: dict[str | int, object]) -> Generator[None, Any, Any]:
        """Time the call, gather its completions and log it when it settles."""
        path = log_path(model)
        # Opened even when this call is not logged, so a nested call's completions
        # never count toward an enclosing call that is.
        context = CallContext(function=function_name(caller), model=model)
        token = tracker.enter(context)
        try:
            result = yield
        except BaseException as error:
            if path is not None:
                write_call(path, context, None, error)
            raise
        finally:
            tracker.leave(token)
        if path is None:
            return result
        return when_settled(result, lambda value, error: write_call(path, context, value, error))

    @staticmethod
    @hookimpl(wrapper=True)
    def llm_complete(model: Model, request: CompletionRequest) -> Generator[None, CompletionReply, CompletionReply]:
        """Add one completion to the current call (or log it alone)."""
        if tracker.current() is None:
            path = log_path(model)
            if path is None:
                return (yield)
            context = CallContext(function="-", model=model)
            token = tracker.enter(context)
            try:
                reply = yield
            except BaseException as error:
                context.completions.append(CompletionEvent(request=request, error=error, seconds=time.perf_counter() - context.clock))
                write_call(path, context, None, error)
                raise
            finally:
                tracker.leave(token)
            context.completions.append(CompletionEvent(request=request, reply=reply, seconds=time.perf_counter() - context.clock))
            write_call(path, context, reply.text, None)
            return reply
        record = observe_completion(tracker, request, time.perf_counter())
        try:
            reply = yield
        except BaseException as error:
            record(None, error)
            raise
        record(reply, None)
        return reply

    @staticmethod
    @hookimpl(wrapper=True)
    def llm_acomplete(model: Model, request: CompletionRequest) -> Generator[None, Any, Any]:
        """Async form: add the completion once its reply arrives."""
        pending = yield
        if tracker.current() is None:
            path = log_path(model)
            if path is None:
                return pending
            context = CallContext(function="-", model=model)

            def record_alone(reply: Any, error: BaseException | None) -> None:
                context.completions.append(
                    CompletionEvent(request=request, reply=reply, error=error, seconds=time.perf_counter() - context.clock)
                )
                write_call(path, context, None if reply is None else reply.text, error)

            return _observe_async(pending, record_alone)
        observe = observe_completion(tracker, request, time.perf_counter())
        return _observe_async(pending, lambda reply, error: observe(reply, error) and None)
