"""Cache-hit latency (SQLite and Redis) and the overhead the call log adds per call.

Cache hit: µs for one completion answered from the cache through the full
``llm_complete`` hook path (key of the exact request, backend read, JSON
decode, every loaded wrapper), next to the backend's raw ``get``. A whole
``by llm()`` call answered from the cache (prompt building and typed parsing
included) is shown too. Redis runs against a ``redis-server`` started on a free
loopback port (skipped when none is installed).

Log overhead: µs per ``by llm()`` call answered by the mock model with the call
log on, minus the same call with it off.

Run: ``python bench/bench_cache.py`` (``--repeats``, ``--calls``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

for name in list(os.environ):
    if name.startswith("BYLLM_"):
        del os.environ[name]
os.environ["BYLLM_TRACING"] = "off"  # measure the cache, not an exporter-less tracer

from jaclang.runtimelib.machine import hookimpl, plugin_manager  # noqa: E402
from byllm.lib import Model, by  # noqa: E402
from byllm.plugins.cache import close_backends, open_backend  # noqa: E402
from byllm.providers.base import CompletionReply, CompletionRequest, Usage  # noqa: E402
from byllm.plugins.cache.keys import cache_key  # noqa: E402


class InstantProvider:
    """A provider that answers at once, so only byllm's own work is timed."""

    name = "bench"

    def complete(self, request: CompletionRequest) -> CompletionReply:
        """Answer at once."""
        return CompletionReply(text='"sunny and mild"', usage=Usage(120, 8), model=request.model)


class InstantProviderPlugin:
    """Serves ``bench/...`` model names with :class:`InstantProvider`."""

    @staticmethod
    @hookimpl
    def llm_provider(model_name: str, config: dict[str, Any]) -> Any:
        """The instant provider for ``bench/`` names."""
        return InstantProvider() if model_name.startswith("bench/") else None


def per_call_us(action: Callable[[], Any], calls: int, repeats: int) -> float:
    """Best of ``repeats`` runs of the mean µs per ``action()`` (the least disturbed by other load)."""
    for _ in range(min(calls, 200)):
        action()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(calls):
            action()
        samples.append((time.perf_counter_ns() - start) / calls / 1000)
    return min(samples)


def sample_request() -> CompletionRequest:
    """A request the size of a typical small ``by llm()`` prompt."""
    messages = [
        {"role": "system", "content": "You carry out a function whose body is written in plain language. " * 3},
        {"role": "user", "content": "Function: forecast\nInputs:\n- city (str) = \"Paris\"\nOutput type: str\n" * 4},
    ]
    return CompletionRequest(model="m", messages=messages, output_schema={"type": "string"}, params={"temperature": 0.2})


def measure_cache(url: str, calls: int, repeats: int) -> dict[str, float]:
    """Raw get, hook-path hit, and full-call hit for one backend URL."""
    model = Model("bench/m", cache=url)
    request = sample_request()
    model.complete(request)  # store the entry
    backend = open_backend(url)
    key = cache_key(model, request)
    assert backend.get(key) is not None

    @by(model)
    def forecast(city: str) -> str:
        """Tomorrow's weather in the city."""

    forecast("Paris")
    return {
        "backend get": per_call_us(lambda: backend.get(key), calls, repeats),
        "hit via llm_complete": per_call_us(lambda: model.complete(request), calls, repeats),
        "by llm() call, hit": per_call_us(lambda: forecast("Paris"), calls, repeats),
    }


def free_port() -> int:
    """A TCP port free on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_redis(folder: Path) -> tuple[subprocess.Popen, str] | None:
    """A redis-server on a free loopback port, or ``None`` when none is installed."""
    executable = shutil.which("redis-server")
    if executable is None:
        return None
    import redis

    port = free_port()
    process = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            return process, url
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                process.kill()
                return None
            time.sleep(0.01)


def measure_log_overhead(folder: Path, calls: int, repeats: int) -> dict[str, float]:
    """µs per mock call with the log off and on."""
    outputs = ['"fine"'] * (calls * (repeats + 1) + 400)
    plain = Model("mockllm", outputs=list(outputs))
    logged = Model("mockllm", outputs=list(outputs), log=str(folder / "bench-log.db"))

    @by(plain)
    def mood_plain(day: str) -> str:
        """The mood of the day."""

    @by(logged)
    def mood_logged(day: str) -> str:
        """The mood of the day."""

    off = per_call_us(lambda: mood_plain("Monday"), calls, repeats)
    on = per_call_us(lambda: mood_logged("Monday"), calls, repeats)
    return {"log off": off, "log on": on, "overhead": on - off}


def main() -> None:
    """Run the benchmark and print a Markdown report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    settings = parser.parse_args()
    plugin_manager.register(InstantProviderPlugin, name="bench-provider")
    with tempfile.TemporaryDirectory(prefix="byllm-bench-") as temporary:
        folder = Path(temporary)
        os.chdir(folder)  # no project config file is picked up
        rows = [("SQLite", measure_cache(f"sqlite:///{folder / 'cache.db'}", settings.calls, settings.repeats))]
        redis_server = start_redis(folder)
        if redis_server is not None:
            process, url = redis_server
            try:
                rows.append(("Redis (loopback)", measure_cache(url, settings.calls, settings.repeats)))
            finally:
                close_backends()
                process.terminate()
                process.wait(timeout=10)
        log = measure_log_overhead(folder, settings.calls // 4 or 1, settings.repeats)
        close_backends()

    print("## Cache hits and call-log overhead\n")
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
        f"mean µs per operation, best of {settings.repeats} runs of {settings.calls}.\n"
    )
    print("| backend | raw get | hit via `llm_complete` | whole `by llm()` call from cache |")
    print("| --- | ---: | ---: | ---: |")
    for name, values in rows:
        print(f"| {name} | {values['backend get']:.1f} | {values['hit via llm_complete']:.1f} | {values['by llm() call, hit']:.1f} |")
    if redis_server is None:
        print("| Redis | not measured: redis-server is not installed | | |")
    print()
    print("| mock `by llm()` call | µs per call |")
    print("| --- | ---: |")
    print(f"| call log off | {log['log off']:.1f} |")
    print(f"| call log on (SQLite, one row per call) | {log['log on']:.1f} |")
    print(f"| overhead of the log | {log['overhead']:.1f} |")
    print()
    print("Target: a SQLite cache hit under 100 µs through `llm_complete`.")


if __name__ == "__main__":
    main()
