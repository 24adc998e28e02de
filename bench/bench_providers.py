"""Provider path benchmarks against the fake OpenAI-compatible server on 127.0.0.1.

1. Overhead per call: a ``@by(llm)`` call through the real ``openai`` SDK, next
   to calling ``client.chat.completions.create`` directly with the same
   messages, against the same loopback server (no added latency). Rounds
   alternate between the two; medians of per-round means are compared. Also
   shown: byllm's in-process cost with a provider that answers without HTTP,
   which isolates the framework from network noise.
2. Throughput: 1,000 calls against the server with 100 ms latency per reply at
   concurrency 64 (``byllm.map`` on threads, and ``byllm.amap`` on the async
   client), next to the ideal ``calls x 0.1 s / concurrency``. Concurrency 1 is
   measured on 100 calls and scaled to 1,000 (the ideal alone would be 100 s).

The server runs in its own process so it does not share the client's GIL. The
optional ``jac`` plugins (cache, call log, tracing, ...) are disabled so the
numbers are the provider path's own (``--with-plugins`` keeps them).
Run: ``python bench/bench_providers.py`` (``--quick`` for a short smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "providers"))

LATENCY = 0.1
KEY = "sk-bench-0123456789"


def _serve(latency: float, ready: Any, stop: Any) -> None:
    """Child process: a fake server answering every request with a short text reply."""
    from fake_server import FakeLLMServer, openai_text

    reply = openai_text("ok")
    server = FakeLLMServer(latency=latency, responder=lambda request: reply, record=False).start()
    ready.put(server.openai_url)
    stop.wait()
    server.stop()


class ServerProcess:
    """The fake server in a child process, for ``with`` blocks."""

    def __init__(self, latency: float) -> None:
        context = multiprocessing.get_context("spawn")
        self._ready = context.Queue()
        self._stop = context.Event()
        self._process = context.Process(target=_serve, args=(latency, self._ready, self._stop), daemon=True)

    def __enter__(self) -> str:
        self._process.start()
        return self._ready.get(timeout=60)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(timeout=10)


def _timed_mean(function: Callable[[], Any], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - started) / calls


def _cpu_mean(function: Callable[[], Any], calls: int) -> float:
    """Client-process CPU seconds per call: unlike wall time, not inflated by other load on the machine."""
    started = time.process_time()
    for _ in range(calls):
        function()
    return (time.process_time() - started) / calls


def measure_overhead(rounds: int, calls: int) -> dict[str, float]:
    """Median seconds per call: direct SDK, byllm over HTTP, byllm without HTTP."""
    import openai

    from byllm.call import TypedCall
    from byllm.lib import Model, by
    from byllm.providers.base import CompletionReply, CompletionRequest

    with ServerProcess(latency=0.0) as url:
        llm = Model("gpt-4o-mini", base_url=url, api_key=KEY, max_retries=0)

        @by(llm)
        def echo(text: str) -> str:
            """Echo the text."""

        messages = TypedCall(llm, echo, {"text": "hello"}).request.messages
        client = openai.OpenAI(base_url=url, api_key=KEY, max_retries=0)

        def direct() -> Any:
            return client.chat.completions.create(model="gpt-4o-mini", messages=messages).choices[0].message.content

        def through_byllm() -> Any:
            return echo("hello")

        for function in (direct, through_byllm):  # warm up connections, caches and imports
            _timed_mean(function, 50)
        direct_means, byllm_means, direct_cpu, byllm_cpu = [], [], [], []
        for _ in range(rounds):
            direct_means.append(_timed_mean(direct, calls))
            byllm_means.append(_timed_mean(through_byllm, calls))
            direct_cpu.append(_cpu_mean(direct, calls))
            byllm_cpu.append(_cpu_mean(through_byllm, calls))

    class CannedProvider:
        """Answers at once: byllm's own cost without any transport."""

        name = "canned"

        def complete(self, request: CompletionRequest) -> CompletionReply:
            return CompletionReply(text="ok")

    canned = Model("canned", provider=CannedProvider())

    @by(canned)
    def echo_canned(text: str) -> str:
        """Echo the text."""

    _timed_mean(lambda: echo_canned("hello"), 200)
    in_process = statistics.median(_timed_mean(lambda: echo_canned("hello"), calls) for _ in range(rounds))
    return {
        "direct": statistics.median(direct_means),
        "byllm": statistics.median(byllm_means),
        "in_process": in_process,
        "direct_cpu": statistics.median(direct_cpu),
        "byllm_cpu": statistics.median(byllm_cpu),
    }


def measure_throughput(calls_at_64: int, calls_at_1: int) -> list[tuple[str, int, int, float]]:
    """(runner, concurrency, calls, seconds) rows against the server with 100 ms latency."""
    import byllm
    from byllm.call import TypedCall
    from byllm.lib import Model, by

    rows = []
    with ServerProcess(latency=LATENCY) as url:
        llm = Model("gpt-4o-mini", base_url=url, api_key=KEY, max_retries=0)

        @by(llm)
        def echo(text: str) -> str:
            """Echo the text."""

        @by(llm)
        async def aecho(text: str) -> str:
            """Echo the text."""

        byllm.map(echo, ["warm"] * 64, concurrency=64, progress=False)
        for concurrency, calls in ((1, calls_at_1), (64, calls_at_64)):
            words = [f"w{index}" for index in range(calls)]
            started = time.perf_counter()
            results = byllm.map(echo, words, concurrency=concurrency, progress=False)
            rows.append(("byllm.map (threads)", concurrency, calls, time.perf_counter() - started))
            assert results == ["ok"] * calls, "every call must succeed"

        async def run_async(calls: int) -> float:
            await byllm.amap(aecho, ["warm"] * 64, concurrency=64, progress=False)
            started = time.perf_counter()
            results = await byllm.amap(aecho, [f"w{index}" for index in range(calls)], concurrency=64, progress=False)
            assert results == ["ok"] * calls, "every call must succeed"
            return time.perf_counter() - started

        rows.append(("byllm.amap (async client)", 64, calls_at_64, asyncio.run(run_async(calls_at_64))))
        rows.extend(sdk_reference_rows(url, TypedCall(llm, echo, {"text": "w"}).request.messages, calls_at_64))
    return rows


def sdk_reference_rows(url: str, messages: list[dict[str, Any]], calls: int) -> list[tuple[str, int, int, float]]:
    """The same load sent with the bare ``openai`` SDK: the ceiling the client library itself sets."""
    from concurrent.futures import ThreadPoolExecutor

    import openai

    client = openai.OpenAI(base_url=url, api_key=KEY, max_retries=0)

    def one(_: int) -> str:
        return client.chat.completions.create(model="gpt-4o-mini", messages=messages).choices[0].message.content

    with ThreadPoolExecutor(max_workers=64) as pool:
        list(pool.map(one, range(64)))
        started = time.perf_counter()
        list(pool.map(one, range(calls)))
        threads = time.perf_counter() - started

    async def run_async() -> float:
        async_client = openai.AsyncOpenAI(base_url=url, api_key=KEY, max_retries=0)
        limit = asyncio.Semaphore(64)

        async def call(_: int) -> str:
            async with limit:
                reply = await async_client.chat.completions.create(model="gpt-4o-mini", messages=messages)
                return reply.choices[0].message.content

        await asyncio.gather(*(call(index) for index in range(64)))
        started = time.perf_counter()
        await asyncio.gather(*(call(index) for index in range(calls)))
        return time.perf_counter() - started

    return [("`openai` SDK alone, 64 threads (reference)", 64, calls, threads),
            ("`openai` SDK alone, AsyncOpenAI (reference)", 64, calls, asyncio.run(run_async()))]


def disable_optional_plugins() -> None:
    """Measure the provider path alone: every ``jac`` plugin but byllm's own is disabled."""
    from importlib.metadata import entry_points

    names = sorted({entry.name for entry in entry_points(group="jac")} - {"byllm"})
    if names and "jaclang" not in sys.modules:
        os.environ["JAC_DISABLED_PLUGINS"] = ",".join(names)


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks and print a Markdown section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls, for a smoke run")
    parser.add_argument("--with-plugins", action="store_true",
                        help="keep the optional jac plugins (cache, log, tracing, ...) loaded")
    options = parser.parse_args(argv)
    if not options.with_plugins:
        disable_optional_plugins()
    rounds, calls = (5, 20) if options.quick else (100, 30)
    calls_at_64, calls_at_1 = (128, 10) if options.quick else (1000, 100)

    overhead = measure_overhead(rounds, calls)
    rows = measure_throughput(calls_at_64, calls_at_1)

    micro = 1e6
    print("## bench_providers.py\n")
    print(f"Per-call cost against the loopback fake server (median of {rounds} rounds x {calls} calls):\n")
    print("| path | wall µs per call | client CPU µs per call |")
    print("| --- | ---: | ---: |")
    print(f"| `openai` SDK directly | {overhead['direct'] * micro:,.0f} | {overhead['direct_cpu'] * micro:,.0f} |")
    print(f"| `by llm()` through byllm + the same SDK | {overhead['byllm'] * micro:,.0f} | "
          f"{overhead['byllm_cpu'] * micro:,.0f} |")
    print(f"| **overhead over the SDK** | **{(overhead['byllm'] - overhead['direct']) * micro:,.0f}** | "
          f"**{(overhead['byllm_cpu'] - overhead['direct_cpu']) * micro:,.0f}** |")
    print(f"| byllm alone, provider answering without HTTP | {overhead['in_process'] * micro:,.1f} | - |")
    print(f"\nThroughput against the server with {LATENCY * 1000:.0f} ms latency per reply "
          f"(ideal = calls x {LATENCY} s / concurrency):\n")
    print("| runner | concurrency | calls | wall s | ideal s | vs ideal | scaled to 1,000 calls |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for runner, concurrency, count, seconds in rows:
        ideal = count * LATENCY / concurrency
        scaled = f"{seconds * 1000 / count:.1f} s" if count != 1000 else "-"
        print(f"| {runner} | {concurrency} | {count} | {seconds:.2f} | {ideal:.2f} | "
              f"{(seconds / ideal - 1) * 100:+.1f} % | {scaled} |")
    if calls_at_1 != 1000:
        print(f"\nConcurrency 1 runs {calls_at_1} calls (the 1,000-call ideal is "
              f"{1000 * LATENCY:.0f} s); its last column scales the measured time to 1,000 calls.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
