"""Provider path benchmarks against the fake OpenAI-compatible server on 127.0.0.1.

1. Overhead per call (no added latency): a typed ``by llm()`` call returning a
   dataclass through byllm's own transport (HTTP/1.1 on httptools: async calls
   on an asyncio protocol, sync calls on a socket pool), next to the same request sent
   with a bare aiohttp session, its body serialized per call with ``json.dumps``
   (a client sending different messages must) and the reply's content validated
   with Pydantic ``TypeAdapter.validate_json``: async on one event loop, and sync
   (the baseline submits its coroutine to a loop thread with
   ``asyncio.run_coroutine_threadsafe``, as a hand-written client would; byllm's
   sync calls no longer take that hop, so its sync overhead comes out negative). Rounds
   alternate between the paths; medians of per-round means. Client CPU time per
   call is reported beside wall time: other jobs on a shared machine inflate
   wall time far more than CPU time. The must-hold (issue 14): a typed call costs
   at most 40 µs of client CPU over the raw path. Reference rows: the raw path
   sending bytes encoded once (the floor of the wire alone) and the bare
   ``openai`` SDK.
2. Throughput: 1,000 calls against the server with 100 ms latency per reply at
   concurrency 64, ideal ``ceil(1000 / 64) x 0.1 s``: ``byllm.amap`` on
   ``async def`` functions, ``byllm.map`` on threads, plain sync functions in 64
   threads, a Jac program awaiting ``async def ... by llm()`` functions (run
   with ``jac run``), and as reference rows a bare aiohttp session, a bare
   asyncio protocol on httptools (the floor of byllm's own layer), the
   ``openai`` SDK (``AsyncOpenAI``, and 64 threads) and ``httpx.AsyncClient``. Best wall time of ``--repeats`` runs;
   client CPU per call from the best run; the client's run-queue wait (time its
   threads were ready but had no CPU, from ``/proc/self/task/*/schedstat``) shows
   how much of the wall time the machine's other load took. The must-holds
   (issue 14): >= 85 % of ideal and <= 0.4 ms client CPU per call for ``amap``,
   ``map``, sync functions in threads and async Jac.
3. Start-up: from process start to the first request of a program making one
   call, per transport, next to ``python -c pass``.

The server runs in its own process so it does not share the client's GIL. The
optional ``jac`` plugins (cache, call log, tracing, ...) are disabled so the
numbers are the provider path's own (``--with-plugins`` keeps them). The load
average of the machine is printed with the tables.
Run: ``python bench/bench_providers.py`` (``--quick`` for a short smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "providers"))

LATENCY = 0.1
CONCURRENCY = 64
# The must-holds of issue 14.
MAX_OVERHEAD = 40e-6  # client CPU seconds a typed call may add to raw HTTP + validate_json
MIN_SHARE_OF_IDEAL = 0.85
MAX_CPU_PER_CALL = 0.4e-3
KEY = "sk-bench-0123456789"
PERSON_JSON = '{"name": "Ada Lovelace", "born": 1815}'

JAC_PROGRAM = '''"""1,000 async by-llm calls at concurrency 64 against BENCH_URL; prints wall and CPU seconds."""
import asyncio;
import os;
import time;
import from byllm.lib { Model }

glob llm = Model(model_name="gpt-4o-mini", base_url=os.environ["BENCH_URL"], api_key="sk-bench-0123456789",
                 max_retries=0);

"""Echo the text."""
async def echo(text: str) -> str by llm();

async def bounded(limit: asyncio.Semaphore, text: str) -> str {
    async with limit {
        return await echo(text);
    }
}

async def run(count: int) -> list {
    limit = asyncio.Semaphore(64);
    return await asyncio.gather(*[bounded(limit, f"w{index}") for index in range(count)]);
}

with entry {
    asyncio.run(run(64));
    for repeat in range(int(os.environ["BENCH_REPEATS"])) {
        started = time.perf_counter();
        cpu = time.process_time();
        answers = asyncio.run(run(int(os.environ["BENCH_CALLS"])));
        print(time.perf_counter() - started, time.process_time() - cpu, answers.count("ok"));
    }
}
'''


@dataclass
class Person:
    name: str
    born: int


def _serve(latency: float, ready: Any, stop: Any) -> None:
    """Child process: a fake server answering every request with the same reply."""
    from fake_server import FakeLLMServer, openai_text

    reply = openai_text(PERSON_JSON) if latency == 0 else openai_text("ok")
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


# -- 1. overhead per call -------------------------------------------------------------------
def _per_call(function: Callable[[], Any], calls: int) -> tuple[float, float]:
    """Mean (wall, CPU) seconds per call of ``function``."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        function()
    return (time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls


async def _aper_call(function: Callable[[], Awaitable[Any]], calls: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        await function()
    return (time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls


def _medians(samples: dict[str, list[tuple[float, float]]]) -> dict[str, tuple[float, float]]:
    return {name: (statistics.median(s[0] for s in rows), statistics.median(s[1] for s in rows))
            for name, rows in samples.items()}


RAW_ASYNC = "raw aiohttp + `json.dumps` + validate_json (async)"
TYPED_ASYNC = "typed `by llm()` call (async)"
RAW_SYNC = "raw aiohttp + `json.dumps` + validate_json (sync, loop thread)"
TYPED_SYNC = "typed `by llm()` call (sync)"


def measure_overhead(rounds: int, calls: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds per call of each path on the loopback server without latency."""
    import aiohttp
    import pydantic

    from byllm.call import TypedCall
    from byllm.lib import Model, by
    from byllm.providers.chat_completions import encode_body, request_headers

    samples: dict[str, list[tuple[float, float]]] = {}
    with ServerProcess(latency=0.0) as url:
        llm = Model("gpt-4o-mini", base_url=url, api_key=KEY, max_retries=0, json_mode=True)

        def born(field: str) -> Person:
            """A famous scientist of the field."""

        typed = by(llm)(born)

        async def aborn(field: str) -> Person:
            """A famous scientist of the field."""

        atyped = by(llm)(aborn)
        call = TypedCall(llm, born, {"field": "maths"})
        provider = llm.provider
        payload = json.loads(encode_body(provider.wire_body(call.request, stream=False)))
        encoded = json.dumps(payload).encode()
        headers = request_headers(provider.connection())
        adapter = pydantic.TypeAdapter(Person)
        endpoint = url + "/chat/completions"

        async def raw_once(session: aiohttp.ClientSession, body: bytes | None = None) -> Person:
            data = json.dumps(payload).encode() if body is None else body
            async with session.post(endpoint, data=data, headers=headers) as response:
                reply = json.loads(await response.read())
            return adapter.validate_json(reply["choices"][0]["message"]["content"])

        async def async_rounds() -> None:
            async with aiohttp.ClientSession() as session:
                paths = {RAW_ASYNC: lambda: raw_once(session),
                         TYPED_ASYNC: lambda: atyped("maths"),
                         "raw aiohttp, body encoded once (async, reference)": lambda: raw_once(session, encoded)}
                for path in paths.values():
                    await _aper_call(path, 50)  # warm up connections, caches and imports
                for _ in range(rounds):
                    for name, path in paths.items():
                        samples.setdefault(name, []).append(await _aper_call(path, calls))

        asyncio.run(async_rounds())

        # Sync: the baseline hands its coroutine to a loop thread, as byllm's sync path does.
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        session = asyncio.run_coroutine_threadsafe(_session(), loop).result()

        def raw_sync() -> Person:
            return asyncio.run_coroutine_threadsafe(raw_once(session), loop).result()

        import openai

        client = openai.OpenAI(base_url=url, api_key=KEY, max_retries=0)
        messages, response_format = call.request.messages, provider.wire_body(call.request, stream=False)[
            "response_format"]

        def sdk() -> Person:
            reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                                   response_format=response_format)
            return adapter.validate_json(reply.choices[0].message.content)

        paths = {RAW_SYNC: raw_sync,
                 TYPED_SYNC: lambda: typed("maths"),
                 "`openai` SDK + validate_json (sync, reference)": sdk}
        for path in paths.values():
            _per_call(path, 50)
        for _ in range(rounds):
            for name, path in paths.items():
                samples.setdefault(name, []).append(_per_call(path, calls))
        asyncio.run_coroutine_threadsafe(session.close(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
    return _medians(samples)


async def _session() -> Any:
    import aiohttp

    return aiohttp.ClientSession()


# -- 3. start-up to the first request ----------------------------------------------------------
ONE_CALL_PROGRAM = """
import os
from byllm.lib import Model, by

llm = Model("gpt-4o-mini", base_url=os.environ["BENCH_URL"], api_key="sk-bench-0123456789", max_retries=0)


@by(llm)
def echo(text: str) -> str:
    \"\"\"Echo the text.\"\"\"


echo("x")
"""


def measure_startup(runs: int) -> dict[str, float]:
    """Median seconds from starting a process to its first request reaching the server, per transport.

    The server runs in this process and notes ``time.monotonic()`` (one clock for
    every process on Linux) when each request arrives; ``python -c pass`` is the
    floor. The optional plugins' choice is inherited from this process.
    """
    from fake_server import FakeLLMServer, openai_text

    arrivals: list[float] = []

    def answer(request: Any) -> Any:
        arrivals.append(time.monotonic())
        return openai_text("ok")

    results: dict[str, list[float]] = {}
    with FakeLLMServer(responder=answer, record=False) as server:
        cases = {"python -c pass": ("pass", {}),
                 "one call, byllm's transport": (ONE_CALL_PROGRAM, {"BYLLM_TRANSPORT": "byllm"}),
                 "one call, `openai` SDK transport": (ONE_CALL_PROGRAM, {"BYLLM_TRANSPORT": "sdk"})}
        for _ in range(runs + 1):  # the first round warms caches (compiled files, the plugin list)
            for name, (code, extra) in cases.items():
                env = {**os.environ, "BENCH_URL": server.openai_url, **extra}
                arrivals.clear()
                started = time.monotonic()
                subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
                ended = time.monotonic()
                results.setdefault(name, []).append((arrivals[0] if arrivals else ended) - started)
    return {name: statistics.median(samples[1:]) for name, samples in results.items()}


# -- 2. throughput ---------------------------------------------------------------------------
@dataclass
class Row:
    """One throughput measurement: best wall time of the repeats, and the client CPU of that run."""

    runner: str
    calls: int
    wall: float
    cpu: float
    waited: float | None
    reference: bool = False


def _best(runs: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    return min(runs)


def runqueue_seconds() -> dict[str, float]:
    """Per live thread of this process: seconds spent ready to run but waiting for a CPU (Linux schedstat)."""
    waits = {}
    for task in Path("/proc/self/task").glob("*"):
        try:
            waits[task.name] = int((task / "schedstat").read_text().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            continue
    return waits


def _timed(run: Callable[[], list[Any]], calls: int) -> tuple[float, float, float]:
    """(wall, CPU, run-queue wait) seconds of ``run``; threads that end during it are missing from the wait."""
    waits_before, wall, cpu = runqueue_seconds(), time.perf_counter(), time.process_time()
    results = run()
    elapsed, used, waits_after = time.perf_counter() - wall, time.process_time() - cpu, runqueue_seconds()
    assert len(results) == calls and all(result == "ok" for result in results), "every call must succeed"
    waited = sum(wait - waits_before.get(thread, 0.0) for thread, wait in waits_after.items())
    return elapsed, used, waited


def measure_throughput(calls: int, repeats: int, with_httpx: bool) -> list[Row]:
    """Rows for every runner against the server with 100 ms latency."""
    import byllm
    from byllm.lib import Model, by

    rows: list[Row] = []
    words = [f"w{index}" for index in range(calls)]
    with ServerProcess(latency=LATENCY) as url:
        llm = Model("gpt-4o-mini", base_url=url, api_key=KEY, max_retries=0)

        @by(llm)
        def echo(text: str) -> str:
            """Echo the text."""

        @by(llm)
        async def aecho(text: str) -> str:
            """Echo the text."""

        async def amap_run(count: int) -> list[Any]:
            return await byllm.amap(aecho, words[:count], concurrency=CONCURRENCY, progress=False)

        asyncio.run(amap_run(CONCURRENCY))
        rows.append(Row("`byllm.amap` (async def)", calls, *_best(
            [_timed(lambda: asyncio.run(amap_run(calls)), calls) for _ in range(repeats)])))
        byllm.map(echo, words[:CONCURRENCY], concurrency=CONCURRENCY, progress=False)
        rows.append(Row("`byllm.map` (threads)", calls, *_best(
            [_timed(lambda: byllm.map(echo, words, concurrency=CONCURRENCY, progress=False), calls)
             for _ in range(repeats)])))
        with ThreadPoolExecutor(CONCURRENCY) as threads:
            rows.append(Row(f"sync `by llm()` functions in {CONCURRENCY} threads", calls, *_best(
                [_timed(lambda: list(threads.map(echo, words)), calls) for _ in range(repeats)])))
        rows.append(Row("Jac `async def ... by llm()`, `jac run`", calls, *jac_async_run(url, calls, repeats)))
        messages = _messages(llm, echo)
        rows.append(Row("raw aiohttp + `json` + `validate_python`", calls, *_best(
            [_timed(lambda: asyncio.run(raw_aiohttp_run(url, messages, calls)), calls) for _ in range(repeats)]),
            reference=True))
        rows.append(Row("raw httptools protocol + `json` + `validate_python`", calls, *_best(
            [_timed(lambda: asyncio.run(raw_httptools_run(url, messages, calls)), calls) for _ in range(repeats)]),
            reference=True))
        rows.extend(sdk_rows(url, messages, calls, repeats))
        if with_httpx:
            rows.append(Row("raw `httpx.AsyncClient` (64-connection pool)", calls,
                            *_timed(lambda: asyncio.run(httpx_run(url, messages, calls)), calls), reference=True))
    return rows


def _messages(llm: Any, echo: Callable[..., Any]) -> list[dict[str, Any]]:
    from byllm.call import TypedCall

    return TypedCall(llm, echo, {"text": "w"}).request.messages


def jac_async_run(url: str, calls: int, repeats: int) -> tuple[float, float, None]:
    """(wall, CPU) of the best run of the Jac program, as it measures itself."""
    with tempfile.TemporaryDirectory(prefix="bench-jac-") as scratch:
        program = Path(scratch) / "async_echo.jac"
        program.write_text(JAC_PROGRAM)
        env = {**os.environ, "BENCH_URL": url, "BENCH_CALLS": str(calls), "BENCH_REPEATS": str(repeats)}
        done = subprocess.run([sys.executable, "-m", "jaclang.cli", "run", str(program)], env=env,
                              capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"the Jac program failed:\n{done.stderr}")
    runs = []
    for line in done.stdout.split("\n"):
        if line.strip():
            wall, cpu, succeeded = line.split()
            assert int(succeeded) == calls, "every call must succeed"
            runs.append((float(wall), float(cpu)))
    return (*min(runs), None)


async def raw_aiohttp_run(url: str, messages: list[dict[str, Any]], calls: int) -> list[Any]:
    """The same requests through a bare aiohttp session, each body serialized per call: the floor for a Python client."""
    import aiohttp
    import pydantic

    adapter = pydantic.TypeAdapter(str)
    payload = {"model": "gpt-4o-mini", "messages": messages}
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    limit = asyncio.Semaphore(CONCURRENCY)

    async with aiohttp.ClientSession() as session:
        async def one() -> Any:
            async with limit, session.post(url + "/chat/completions", data=json.dumps(payload).encode(),
                                           headers=headers) as response:
                reply = json.loads(await response.read())
            return adapter.validate_python(reply["choices"][0]["message"]["content"])

        return await asyncio.gather(*(one() for _ in range(calls)))


async def raw_httptools_run(url: str, messages: list[dict[str, Any]], calls: int) -> list[Any]:
    """The same requests over a bare asyncio protocol parsing replies with httptools: no pool rules, no timeouts."""
    import httptools
    import pydantic
    from urllib.parse import urlsplit

    class Replies(asyncio.Protocol):
        def __init__(self) -> None:
            self.parser = httptools.HttpResponseParser(self)
            self.body: list[bytes] = []
            self.done: asyncio.Future[bytes] | None = None

        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.parser.feed_data(data)

        def on_body(self, piece: bytes) -> None:
            self.body.append(piece)

        def on_message_complete(self) -> None:
            body, self.body = b"".join(self.body), []
            if self.done is not None:
                self.done.set_result(body)

    parts = urlsplit(url)
    head = (f"POST {parts.path}/chat/completions HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {KEY}"
            "\r\nContent-Type: application/json\r\nContent-Length: ").encode()
    adapter = pydantic.TypeAdapter(str)
    payload = {"model": "gpt-4o-mini", "messages": messages}
    loop = asyncio.get_running_loop()
    idle: list[Replies] = []
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one() -> Any:
        async with limit:
            if idle:
                connection = idle.pop()
            else:
                _, connection = await loop.create_connection(Replies, parts.hostname, parts.port)
            body = json.dumps(payload).encode()
            connection.done = loop.create_future()
            connection.transport.write(head + b"%d\r\n\r\n" % len(body) + body)
            reply = json.loads(await connection.done)
            idle.append(connection)
        return adapter.validate_python(reply["choices"][0]["message"]["content"])

    try:
        return await asyncio.gather(*(one() for _ in range(calls)))
    finally:
        for connection in idle:
            connection.transport.close()


async def httpx_run(url: str, messages: list[dict[str, Any]], calls: int) -> list[Any]:
    """The same requests through ``httpx.AsyncClient`` with a 64-connection pool."""
    import httpx

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    payload = {"model": "gpt-4o-mini", "messages": messages}
    async with httpx.AsyncClient(limits=limits, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as client:
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one() -> Any:
            async with limit:
                reply = await client.post(url + "/chat/completions", json=payload)
            return reply.json()["choices"][0]["message"]["content"]

        return await asyncio.gather(*(one() for _ in range(calls)))


def sdk_rows(url: str, messages: list[dict[str, Any]], calls: int, repeats: int) -> list[Row]:
    """The same load sent with the bare ``openai`` SDK."""
    import openai

    client = openai.OpenAI(base_url=url, api_key=KEY, max_retries=0)

    def one(_: int) -> str:
        return client.chat.completions.create(model="gpt-4o-mini", messages=messages).choices[0].message.content

    async def run_async(count: int) -> list[Any]:
        async_client = openai.AsyncOpenAI(base_url=url, api_key=KEY, max_retries=0)
        limit = asyncio.Semaphore(CONCURRENCY)

        async def call(_: int) -> str:
            async with limit:
                reply = await async_client.chat.completions.create(model="gpt-4o-mini", messages=messages)
                return reply.choices[0].message.content

        await asyncio.gather(*(call(index) for index in range(CONCURRENCY)))  # warm: open the connections
        try:
            return await asyncio.gather(*(call(index) for index in range(count)))
        finally:
            await async_client.close()

    rows = [Row("`openai.AsyncOpenAI`", calls, *_best(
        [_timed(lambda: asyncio.run(run_async(calls)), calls) for _ in range(repeats)]), reference=True)]
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        list(pool.map(one, range(CONCURRENCY)))
        rows.append(Row("`openai.OpenAI`, 64 threads", calls, *_best(
            [_timed(lambda: list(pool.map(one, range(calls))), calls) for _ in range(repeats)]), reference=True))
    return rows


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
    parser.add_argument("--repeats", type=int, default=3, help="throughput runs per row (best wall time kept)")
    parser.add_argument("--no-httpx", action="store_true", help="skip the slow httpx reference row")
    parser.add_argument("--with-plugins", action="store_true",
                        help="keep the optional jac plugins (cache, log, tracing, ...) loaded")
    options = parser.parse_args(argv)
    if not options.with_plugins:
        disable_optional_plugins()
    rounds, calls = (3, 20) if options.quick else (15, 200)
    throughput_calls = 128 if options.quick else 1000
    load_before = os.getloadavg()

    startup = measure_startup(3 if options.quick else 9)
    overhead = measure_overhead(rounds, calls)
    rows = measure_throughput(throughput_calls, 1 if options.quick else options.repeats, not options.no_httpx)

    micro = 1e6
    print("## bench_providers.py\n")
    print(f"Machine: {os.cpu_count()} CPUs; load average {load_before[0]:.1f} before the run, "
          f"{os.getloadavg()[0]:.1f} after (1 minute).\n")
    print(f"Per-call cost against the loopback fake server, a typed call returning a dataclass "
          f"(median of {rounds} rounds x {calls} calls):\n")
    print("| path | wall µs per call | client CPU µs per call |")
    print("| --- | ---: | ---: |")
    for name, (wall, cpu) in overhead.items():
        print(f"| {name} | {wall * micro:,.0f} | {cpu * micro:,.0f} |")
    verdicts = []
    for mode, raw, ours in (("async", RAW_ASYNC, TYPED_ASYNC), ("sync", RAW_SYNC, TYPED_SYNC)):
        extra_cpu = overhead[ours][1] - overhead[raw][1]
        print(f"| **byllm's overhead, {mode}** | **{(overhead[ours][0] - overhead[raw][0]) * micro:,.0f}** | "
              f"**{extra_cpu * micro:,.0f}** |")
        verdicts.append(f"typed-call overhead {mode} {extra_cpu * micro:,.0f} µs CPU per call (<= "
                        f"{MAX_OVERHEAD * micro:.0f} µs): {_verdict(extra_cpu <= MAX_OVERHEAD)}")
    floor = startup["python -c pass"]
    print("\nStart-up: a Python program making one call to the loopback server, from process start to the "
          "request reaching the server (median; `python -c pass` runs to its end):\n")
    print("| program | ms | ms over `python -c pass` |")
    print("| --- | ---: | ---: |")
    for name, seconds in startup.items():
        print(f"| {name} | {seconds * 1000:.0f} | {(seconds - floor) * 1000:.0f} |")
    ideal = math.ceil(throughput_calls / CONCURRENCY) * LATENCY
    print(f"\nThroughput: {throughput_calls:,} calls at concurrency {CONCURRENCY}, {LATENCY * 1000:.0f} ms latency "
          f"per reply; ideal ceil({throughput_calls} / {CONCURRENCY}) x {LATENCY} s = {ideal:.1f} s; "
          f"best of {1 if options.quick else options.repeats} runs:\n")
    print("| client | wall s | % of ideal | client CPU ms per call | client CPU s | run-queue wait s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        name = f"{row.runner} (reference)" if row.reference else row.runner
        waited = "-" if row.waited is None else f"{row.waited:.2f}"
        print(f"| {name} | {row.wall:.2f} | {ideal / row.wall * 100:.0f} % | {row.cpu / row.calls * 1000:.2f} | "
              f"{row.cpu:.2f} | {waited} |")
        if not row.reference:
            share, per_call = ideal / row.wall, row.cpu / row.calls
            verdicts.append(f"{row.runner}: {share * 100:.0f} % of ideal (>= {MIN_SHARE_OF_IDEAL * 100:.0f} %): "
                            f"{_verdict(share >= MIN_SHARE_OF_IDEAL)}; {per_call * 1000:.2f} ms client CPU per call "
                            f"(<= {MAX_CPU_PER_CALL * 1000:.1f} ms): {_verdict(per_call <= MAX_CPU_PER_CALL)}")
    print("\nRun-queue wait: time the client's threads were ready to run but the machine had no CPU free "
          "(summed over the threads alive at the end: `byllm.map`'s pool threads have ended by then, so its figure "
          "counts the main thread only).")
    print(f"\nMust-holds of issue 14 (this run, load average {os.getloadavg()[0]:.1f}):\n")
    for verdict in verdicts:
        print(f"- {verdict}")
    return 0


def _verdict(held: bool) -> str:
    return "**met**" if held else "**not met**"


if __name__ == "__main__":
    sys.exit(main())
