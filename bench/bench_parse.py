"""Reply parsing: time to parse 10 MB replies of hostile shapes, memory for a 50 MB list.

Each row parses one generated reply with ``byllm.output`` (as a typed call does:
the fast whole-reply path, then the bounded search of ``byllm.reply_json``) and
reports the wall time; the reply either fits or raises ``ReplyMismatch``. Memory
is measured in a fresh process (peak RSS over the interpreter with byllm imported)
parsing a valid 50 MB ``list[int]`` and ``list[str]`` reply.

Run: ``python bench/bench_parse.py`` (``--megabytes``, ``--list-megabytes``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class Item:
    """A small record, for the list-of-objects shapes."""

    name: str
    score: float


def hostile_replies(size: int) -> dict[str, tuple[Any, str]]:
    """Name -> (return type, reply of about ``size`` characters)."""

    def repeat(unit: str) -> str:
        return unit * (size // len(unit))

    items = json.dumps([{"name": f"n{i}", "score": i / 2} for i in range(size // 34)])
    return {
        "`[` x N (int)": (int, repeat("[")),
        "`{\"a\":` x N (Item)": (Item, repeat('{"a":')),
        "`[}` x N (list[int])": (list[int], repeat("[}")),
        "`[]` x N (list[int] of 3)": (tuple[int, int, int], repeat("[]")),
        "`\"` x N (Enum-like Literal)": (Any, repeat('"')),
        "`[\"\\\"` x N (list[str])": (list[str], repeat('["\\"')),
        "prose `a` x N (float)": (float, repeat("a")),
        "fences x N (int)": (int, repeat("```json\n[1]\n```")),
        "valid list of objects (list[Item])": (list[Item], items),
        "truncated list of objects (list[Item])": (list[Item], items[: len(items) // 2]),
        "list of objects after prose (list[Item])": (list[Item], "Here it is:\n" + items),
        "valid list, wrong item type (list[int])": (list[int], json.dumps(["x"] * (size // 6))),
    }


def time_parse(annotation: Any, reply: str) -> tuple[float, float, str]:
    """Wall and CPU seconds to parse ``reply`` as ``annotation``, and whether it fit."""
    from byllm.output import ReplyMismatch, output_type

    parser = output_type(annotation)
    started, started_cpu = time.perf_counter(), time.process_time()
    try:
        parser.parse(reply)
        outcome = "fits"
    except ReplyMismatch:
        outcome = "mismatch"
    return time.perf_counter() - started, time.process_time() - started_cpu, outcome


def write_list_reply(kind: str, megabytes: int, path: str) -> None:
    """Write a valid JSON list of about ``megabytes`` MB to ``path``."""
    count = megabytes * 1_000_000 // (6 if kind == "int" else 10)
    with open(path, "w", encoding="utf-8") as file:
        file.write("[")
        for number in range(count):
            file.write(f"{number % 100_000}," if kind == "int" else f'"word{number % 1000}",')
        file.write("0]" if kind == "int" else '"end"]')


def peak_memory_child(kind: str, path: str) -> None:
    """In a child process: print the peak RSS (MB) added by parsing the list reply in ``path``."""
    from byllm.output import output_type

    with open(path, encoding="utf-8") as file:
        reply = file.read()
    parser = output_type(list[int] if kind == "int" else list[str])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    value = parser.parse(reply)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {"chars": len(reply), "items": len(value), "seconds": elapsed, "added_mb": (after - before) / 1024, "peak_mb": after / 1024}
        )
    )


def measure_memory(kind: str, megabytes: int) -> dict[str, float]:
    """Run :func:`peak_memory_child` in a fresh interpreter."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "reply.json")
        write_list_reply(kind, megabytes, path)
        output = subprocess.run(
            [sys.executable, __file__, "--memory-child", kind, "--reply-file", path],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    """Print the Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=int, default=10)
    parser.add_argument("--list-megabytes", type=int, default=50)
    parser.add_argument("--memory-child", choices=["int", "str"])
    parser.add_argument("--reply-file")
    options = parser.parse_args()
    if options.memory_child:
        peak_memory_child(options.memory_child, options.reply_file)
        return

    size = options.megabytes * 1_000_000
    print(f"## Reply parsing ({options.megabytes} MB replies)\n")
    print("| reply shape (return type) | wall s | CPU s | outcome |")
    print("| --- | ---: | ---: | --- |")
    worst = 0.0
    for name, (annotation, reply) in hostile_replies(size).items():
        seconds, cpu_seconds, outcome = time_parse(annotation, reply)
        worst = max(worst, seconds)
        print(f"| {name} | {seconds:.2f} | {cpu_seconds:.2f} | {outcome} |")
    print()
    print(f"Slowest: {worst:.2f} s wall. Aim: every {options.megabytes} MB reply under 2 s.\n")
    print(f"| valid {options.list_megabytes} MB reply | characters | items | seconds | added by parsing (MB) | process peak (MB) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for kind in ("int", "str"):
        result = measure_memory(kind, options.list_megabytes)
        print(
            f"| list[{kind}] | {result['chars']:,} | {result['items']:,} | {result['seconds']:.2f} | "
            f"{result['added_mb']:.0f} | {result['peak_mb']:.0f} |"
        )
    print()
    print("Aim: under 1 GB.")


if __name__ == "__main__":
    main()
