"""``jac cache stats | clear`` and ``jac logs [show ID] [--json]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from byllm.errors import ByLLMError


def add_cache_command(subparsers: argparse._SubParsersAction) -> None:
    """Register ``jac cache``."""
    parser = subparsers.add_parser("cache", help="inspect or clear byllm's persistent cache")
    actions = parser.add_subparsers(dest="cache_action", metavar="ACTION", required=True)
    for name, help_text in (("stats", "show what the cache holds"), ("clear", "remove every cached reply")):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("--url", help="cache to use (default: BYLLM_CACHE or the config file's cache)")
        action.add_argument("--json", action="store_true", help="print JSON")
        if name == "clear":
            action.add_argument("--expired", action="store_true", help="remove only entries past their TTL")
    parser.set_defaults(handler=run_cache_command)


def add_logs_command(subparsers: argparse._SubParsersAction) -> None:
    """Register ``jac logs``."""
    parser = subparsers.add_parser("logs", help="list or show calls recorded by byllm's call log")
    parser.add_argument("action", nargs="?", choices=("list", "show", "clear"), default="list")
    parser.add_argument("call_id", nargs="?", type=int, help="the call to show")
    parser.add_argument("-n", "--limit", type=int, default=20, help="how many recent calls to list (default 20)")
    parser.add_argument("--path", help="log database (default: BYLLM_LOG or the config file's log)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run_logs_command)


def _cache_url(options: argparse.Namespace) -> str | None:
    from byllm.settings import get_settings, parse_cache_target

    if options.url:
        return parse_cache_target(options.url, "--url")
    return get_settings().cache


def run_cache_command(options: argparse.Namespace) -> int:
    """Handle ``jac cache stats`` and ``jac cache clear``."""
    from byllm.plugins.cache_backend import open_backend
    from byllm.settings import sqlite_path

    try:
        url = _cache_url(options)
        if url is None:
            print(
                "the byllm cache is off: set BYLLM_CACHE (e.g. sqlite:///path/cache.db or redis://host:6379/0) "
                "or `cache = true` in jac.toml [byllm], or pass --url",
                file=sys.stderr,
            )
            return 1
        if url.startswith("sqlite:") and not sqlite_path(url).exists():
            # Do not create an empty database just to report on it.
            empty = {"backend": "sqlite", "location": str(sqlite_path(url)), "entries": 0, "expired": 0, "size_bytes": 0}
            if options.cache_action == "clear":
                _print({"location": url, "removed": 0}, options.json, f"nothing to clear: {sqlite_path(url)} does not exist")
            else:
                _print(empty, options.json, "\n".join(f"{key:<10} {value}" for key, value in empty.items()))
            return 0
        backend = open_backend(url)
        if options.cache_action == "clear":
            removed = backend.purge_expired() if options.expired else backend.clear()
            kind = "expired " if options.expired else ""
            noun = "reply" if removed == 1 else "replies"
            _print({"location": url, "removed": removed}, options.json, f"removed {removed} {kind}cached {noun} from {url}")
            return 0
        stats = backend.stats()
        data = {
            "backend": stats.backend,
            "location": stats.location,
            "entries": stats.entries,
            "expired": stats.expired,
            "size_bytes": stats.size_bytes,
        }
        text = "\n".join(f"{key:<10} {value}" for key, value in data.items())
        _print(data, options.json, text)
        return 0
    except ByLLMError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # a backend outage: say which and why, no traceback
        print(f"error: cache {options.url or 'from settings'} unavailable: {type(error).__name__}: {error}", file=sys.stderr)
        return 1


def _log_path(options: argparse.Namespace) -> Path | None:
    from byllm.settings import get_settings, parse_log_target

    if options.path:
        return parse_log_target(options.path, "--path")
    return get_settings().log


def run_logs_command(options: argparse.Namespace) -> int:
    """Handle ``jac logs``, ``jac logs show ID`` and ``jac logs clear``."""
    from byllm.plugins.calllog import open_log

    try:
        path = _log_path(options)
        if path is None:
            print(
                "the byllm call log is off: set BYLLM_LOG=1 (or a path) or `log = true` in jac.toml [byllm], "
                "or pass --path",
                file=sys.stderr,
            )
            return 1
        if not path.exists():
            print(f"no calls logged yet ({path} does not exist)", file=sys.stderr)
            return 0 if options.action == "list" else 1
        log = open_log(path)
        if options.action == "show":
            if options.call_id is None:
                print("error: jac logs show needs a call id (see `jac logs`)", file=sys.stderr)
                return 2
            call = log.get(options.call_id)
            if call is None:
                print(f"error: no call {options.call_id} in {path}", file=sys.stderr)
                return 1
            if options.json:
                print(json.dumps(call.as_dict(), indent=2, ensure_ascii=False))
            else:
                print(format_call(call.as_dict()))
            return 0
        if options.action == "clear":
            removed = log.clear()
            _print({"location": str(path), "removed": removed}, options.json, f"removed {removed} logged call(s) from {path}")
            return 0
        calls = [call.as_dict() for call in log.recent(options.limit)]
        if options.json:
            print(json.dumps(calls, indent=2, ensure_ascii=False))
        else:
            print(format_call_table(calls))
        return 0
    except ByLLMError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _print(data: Any, as_json: bool, text: str) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False) if as_json else text)


def _cost(cost: float | None) -> str:
    return "?" if cost is None else f"${cost:.6f}"


def format_call_table(calls: list[dict[str, Any]]) -> str:
    """Recent calls as an aligned table, newest first."""
    header = ("ID", "TIME", "FUNCTION", "MODEL", "TOKENS", "COST", "LATENCY", "RETRIES", "STATUS")
    rows = [header]
    for call in calls:
        status = "error" if call["error"] else ("cached" if call["cached_completions"] and call["cached_completions"] == call["completions"] else "ok")
        rows.append(
            (
                str(call["id"]),
                call["time"][:19].replace("T", " "),
                call["function"],
                call["model"],
                f"{call['input_tokens']}/{call['output_tokens']}",
                _cost(call["cost"]),
                f"{call['latency_ms']:.0f} ms",
                str(call["retries"]),
                status,
            )
        )
    if len(rows) == 1:
        return "no calls logged yet"
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part.get("text", f"<{part.get('type', 'part')}>") if isinstance(part, dict) else str(part) for part in content)
    return json.dumps(content, ensure_ascii=False)


def format_call(call: dict[str, Any]) -> str:
    """One call with its whole prompt, replies and outcome."""
    lines = [
        f"call {call['id']}  {call['time']}",
        f"function   {call['function']}",
        f"model      {call['model']}",
        f"params     {json.dumps(call['params'], ensure_ascii=False)}",
        f"tokens     {call['input_tokens']} in / {call['output_tokens']} out",
        f"cost       {_cost(call['cost'])}",
        f"latency    {call['latency_ms']:.1f} ms",
        f"retries    {call['retries']}  (completions {call['completions']}, from cache {call['cached_completions']})",
        "",
        "=== messages ===",
    ]
    for message in call["messages"]:
        lines.append(f"--- {message.get('role', '?')} ---")
        lines.append(_content_text(message.get("content")))
        for tool_call in message.get("tool_calls", []) or []:
            lines.append(f"[tool call] {json.dumps(tool_call, ensure_ascii=False)}")
    lines.append("")
    lines.append("=== replies ===")
    for index, reply in enumerate(call["replies"], start=1):
        if "error" in reply and "text" not in reply:
            lines.append(f"[{index}] error: {reply['error']}")
            continue
        marker = " (cache)" if reply.get("cached") else ""
        lines.append(f"[{index}]{marker} {reply.get('text', '')}")
        for tool_call in reply.get("tool_calls", []):
            lines.append(f"    tool call {tool_call['name']}({json.dumps(tool_call['arguments'], ensure_ascii=False)})")
    lines.append("")
    if call["error"]:
        lines.append(f"error: {call['error']}")
    else:
        lines.append(f"value: {json.dumps(call['value'], ensure_ascii=False)}")
    return "\n".join(lines)
