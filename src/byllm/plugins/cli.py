"""``jac cache stats | clear`` and ``jac logs [list | show ID | clear]``, added by the cache and call-log plugins."""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict
from typing import Any, Callable

from byllm.errors import ByLLMError
from byllm.plugins import describe_error
from byllm.redact import redact_url

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with control characters (terminal escape sequences) shown as ``\\x..`` escapes."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match[0]):02x}", text)


def reporting_errors(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``command`` with a failure told in one line on stderr (exit status 1), not a traceback."""

    def run(options: argparse.Namespace) -> int:
        try:
            return command(options)
        except ByLLMError as error:
            print(f"error: {error}", file=sys.stderr)
        except Exception as error:  # a backend outage or an unreadable file: say which and why
            print(f"error: jac {options.command} failed: {describe_error(error)}", file=sys.stderr)
        return 1

    return run


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
    parser.set_defaults(handler=reporting_errors(run_cache_command))


def add_logs_command(subparsers: argparse._SubParsersAction) -> None:
    """Register ``jac logs``."""
    parser = subparsers.add_parser("logs", help="list or show calls recorded by byllm's call log")
    parser.add_argument("action", nargs="?", choices=("list", "show", "clear"), default="list")
    parser.add_argument("call_id", nargs="?", type=int, help="the call to show")
    parser.add_argument("-n", "--limit", type=int, default=20, help="how many recent calls to list (default 20)")
    parser.add_argument("--path", help="log database (default: BYLLM_LOG, the config file's log, else byllm's default file)")
    parser.add_argument("--function", help="only calls of this function (name or qualified name)")
    parser.add_argument("--model", help="only calls of this model")
    parser.add_argument("--status", choices=("ok", "error"), help="only successful or only failed calls")
    parser.add_argument("--since", help="only calls from this time on: an ISO date/time, or an age such as 30m, 2h, 7d")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=reporting_errors(run_logs_command))


def _print(data: Any, as_json: bool, text: str) -> None:
    print(json.dumps(data, indent=2) if as_json else printable(text))


def run_cache_command(options: argparse.Namespace) -> int:
    """Handle ``jac cache stats`` and ``jac cache clear [--expired]``."""
    from byllm.plugins.cache import open_backend
    from byllm.settings import default_cache_url, get_settings, parse_cache_target, sqlite_path

    url = parse_cache_target(options.url, "--url") if options.url else get_settings().cache
    if url is None:  # the cache is off now, but a program may have switched it on (Model(..., cache=True))
        url = default_cache_url()
        if not sqlite_path(url).exists():
            print(f"no cache found: looked for {sqlite_path(url)} (byllm's default). Switch the cache on with "
                  "BYLLM_CACHE=on, `cache = true` in jac.toml [byllm] or Model(..., cache=True); pass --url "
                  "for a cache elsewhere (sqlite:///path.db, redis://host:6379/0)", file=sys.stderr)
            return 0
    backend = open_backend(url)
    if options.cache_action == "clear":
        removed = backend.clear(expired_only=options.expired)
        noun = "reply" if removed == 1 else "replies"
        text = f"removed {removed} {'expired ' if options.expired else ''}cached {noun} from {redact_url(url)}"
        _print({"location": redact_url(url), "removed": removed}, options.json, text)
        return 0
    stats = asdict(backend.stats())
    stats["location"] = redact_url(stats["location"])
    _print(stats, options.json, "\n".join(f"{key:<10} {value}" for key, value in stats.items()))
    return 0


def run_logs_command(options: argparse.Namespace) -> int:
    """Handle ``jac logs [list]``, ``jac logs show ID`` and ``jac logs clear``."""
    from byllm.plugins.calllog import open_log
    from byllm.settings import default_log_path, get_settings, parse_log_target

    path = parse_log_target(options.path, "--path") if options.path else get_settings().log or default_log_path()
    if not path.exists():  # the log may be off now, while a program switched it on (Model(..., log=True))
        print(f"no call log found: looked for {path}. Switch the log on with BYLLM_LOG=1, `log = true` in jac.toml "
              "[byllm] or Model(..., log=True); pass --path for a log elsewhere", file=sys.stderr)
        return 0 if options.action == "list" else 1
    log = open_log(path)
    if options.action == "clear":
        removed = log.clear()
        _print({"location": str(path), "removed": removed}, options.json, f"removed {removed} logged call(s) from {path}")
    elif options.action == "list":
        failed = None if options.status is None else options.status == "error"
        found = log.recent(options.limit, function=options.function, model=options.model, failed=failed,
                           since=since_time(options.since))
        calls = [asdict(call) for call in found]
        _print(calls, options.json, format_call_table(calls))
    elif options.call_id is None:
        print("error: jac logs show needs a call id (see `jac logs`)", file=sys.stderr)
        return 2
    else:
        call = log.get(options.call_id)
        if call is None:
            print(f"error: no call {options.call_id} in {path}", file=sys.stderr)
            return 1
        _print(asdict(call), options.json, format_call(asdict(call)))
    return 0


def since_time(text: str | None) -> str | None:
    """``--since`` as an ISO time: an age (``30m``, ``2h``, ``7d``) counts back from now; anything else is a time."""
    from datetime import datetime, timedelta, timezone

    if not text:
        return None
    age = re.fullmatch(r"(\d+)\s*([smhd])", text.strip())
    if age is not None:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[age.group(2)]
        moment = datetime.now(timezone.utc) - timedelta(**{unit: int(age.group(1))})
    else:
        try:
            moment = datetime.fromisoformat(text.strip()).astimezone()  # a naive time is local
        except ValueError:
            raise ByLLMError(f"--since {text!r}: use an ISO date or time (2026-11-30, 2026-11-30T10:00) or an age "
                             "such as 30m, 2h, 7d") from None
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _status(call: dict[str, Any]) -> str:
    if call["error"]:
        return "error"
    if call["completions"] and call["cached_completions"] == call["completions"]:
        return "cached"
    return "streamed" if call["streamed"] else "ok"


def format_call_table(calls: list[dict[str, Any]]) -> str:
    """Recent calls as an aligned table, newest first."""
    from byllm.plugins.usage import format_cost

    if not calls:
        return "no calls logged yet"
    rows = [("ID", "TIME", "FUNCTION", "MODEL", "TOKENS", "COST", "LATENCY", "RETRIES", "STATUS")]
    for call in calls:
        tokens = f"{call['input_tokens']}/{call['output_tokens']}"
        rows.append((str(call["id"]), call["time"][:19].replace("T", " "), call["function"], call["model"], tokens,
                     format_cost(call["cost"]), f"{call['latency_ms']:.0f} ms", str(call["retries"]), _status(call)))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part.get("text", f"<{part.get('type', 'part')}>") if isinstance(part, dict) else str(part)
                         for part in content)
    return json.dumps(content)


def format_call(call: dict[str, Any]) -> str:
    """One call with its whole prompt, replies, tool turns and outcome."""
    from byllm.plugins.usage import format_cost

    lines = [
        f"call {call['id']}  {call['time']}",
        f"function   {call['function']}",
        f"model      {call['model']}",
        f"params     {json.dumps(call['params'])}",
        f"tokens     {call['input_tokens']} in / {call['output_tokens']} out",
        f"cost       {format_cost(call['cost'])}",
        f"latency    {call['latency_ms']:.1f} ms",
        f"retries    {call['retries']}  (completions {call['completions']}, from cache {call['cached_completions']})",
        f"streamed   {'yes' if call['streamed'] else 'no'}",
        "",
        "=== messages ===",
    ]
    for message in call["messages"]:
        lines += [f"--- {message.get('role', '?')} ---", _content_text(message.get("content"))]
        lines += [f"[tool call] {json.dumps(tool_call)}" for tool_call in message.get("tool_calls") or []]
    lines += ["", "=== replies ==="]
    for index, reply in enumerate(call["replies"], start=1):
        if reply.get("error"):
            lines.append(f"[{index}] error: {reply['error']}")
            continue
        lines.append(f"[{index}]{' (cache)' if reply.get('cached') else ''} {reply.get('text') or ''}")
        lines += [f"    tool call {tool['name']}({json.dumps(tool['arguments'])})" for tool in reply.get("tool_calls", [])]
    if call["tool_turns"]:
        lines += ["", "=== tool turns ==="]
        lines += [f"{turn['name']}({json.dumps(turn['arguments'])}) -> {turn['result']}" for turn in call["tool_turns"]]
    lines += ["", f"error: {call['error']}" if call["error"] else f"value: {json.dumps(call['value'])}"]
    return "\n".join(lines)
