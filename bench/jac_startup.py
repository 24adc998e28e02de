"""Benchmark: the three start-up must-holds of ``jac``, side by side with ``python -c pass``.

1. warm ``jac run hello.jac``: within 40 ms of ``python -c pass`` (issue #8);
2. a program making one mock ``by llm()`` call: at most 150 ms wall (issue #14);
3. a program making one real call to an OpenAI-compatible server on 127.0.0.1
   (started here): at most 150 ms over ``python -c pass`` from the start of the
   process to the moment the server receives the request (issue #14).

"Warm" means every cache a second run finds is filled: compiled ``.jac``
programs, jac's plugin-list cache and Python's ``.pyc`` files (the children run
with ``PYTHONDONTWRITEBYTECODE`` removed, after warm-up runs). Each case prints
the median wall and CPU (user + system of the child) time over ``--runs`` runs;
CPU time is steadier when other work shares the machine. The load average is
printed with the table: compare rows of one run, not numbers across runs.

    python bench/jac_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HELLO = 'with entry {\n    print("Hello, world!");\n}\n'
TRANSLATE = (
    "import from byllm.lib {{ Model }}\n"
    "glob llm = Model({model});\n"
    'def translate(text: str, lang: str = "French") -> str by llm();\n'
    'with entry {{ print(translate("Hello")); }}\n'
)
MOCK_MODEL = 'model_name="mockllm", outputs=["Bonjour"]'
REPLY = (
    b'{"id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",'
    b' "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Bonjour"}}],'
    b' "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}'
)

HELLO_AIM_OVER_PYTHON_MS = 40.0
MOCK_AIM_WALL_MS = 150.0
LOOPBACK_AIM_OVER_PYTHON_MS = 150.0


class LoopbackServer:
    """An OpenAI-compatible chat endpoint on 127.0.0.1 noting when each request arrives (``time.perf_counter``)."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _ChatHandler)
        self._server.daemon_threads = True
        self._server.arrivals = self.arrivals  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        """The base URL a model is given (``http://127.0.0.1:<port>/v1``)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _ChatHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002  (keep the table clean)
        pass

    def do_POST(self) -> None:  # noqa: N802  (http.server naming)
        self.server.arrivals.append(time.perf_counter())  # type: ignore[attr-defined]
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(REPLY)))
        self.end_headers()
        self.wfile.write(REPLY)


@dataclass
class Case:
    """One command, timed ``runs`` times; ``first_request`` holds start-to-request times when a server is used."""

    label: str
    command: list[str]
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    first_request: list[float] = field(default_factory=list)


def run_once(case: Case, env: dict[str, str], cwd: Path, server: LoopbackServer | None) -> None:
    """Run the case's command once and record its times."""
    arrivals_before = len(server.arrivals) if server else 0
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(case.command, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    usage_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(case.command)} failed:\n{completed.stderr}")
    case.wall.append(elapsed)
    case.cpu.append(
        (usage_after.ru_utime - usage_before.ru_utime) + (usage_after.ru_stime - usage_before.ru_stime)
    )
    if server is not None:
        if len(server.arrivals) != arrivals_before + 1:
            raise SystemExit(f"{' '.join(case.command)} did not send exactly one request to the server")
        case.first_request.append(server.arrivals[-1] - started)


def median_ms(samples: list[float]) -> float:
    """Median of ``samples`` in milliseconds."""
    return statistics.median(samples) * 1000


def jac_command() -> list[str]:
    """The ``jac`` console script of this interpreter's environment (``python -m jaclang.cli`` without one)."""
    script = Path(sys.executable).parent / "jac"
    return [str(script)] if script.exists() else [sys.executable, "-m", "jaclang.cli"]


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages, as ``uptime`` prints them."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    """Time every case (interleaved, so load changes hit them alike) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    jac = jac_command()
    with tempfile.TemporaryDirectory(prefix="jac-bench-") as scratch, LoopbackServer() as server:
        work = Path(scratch)
        loopback_model = f'model_name="gpt-4o-mini", base_url="{server.url}", api_key="unused", max_retries=0'
        (work / "hello.jac").write_text(HELLO)
        (work / "mock_call.jac").write_text(TRANSLATE.format(model=MOCK_MODEL))
        (work / "loopback_call.jac").write_text(TRANSLATE.format(model=loopback_model))
        env = {**os.environ, "JAC_CACHE_DIR": str(work / "cache")}
        for name in ("JAC_NO_CACHE", "JAC_NO_PLUGIN_CACHE", "PYTHONDONTWRITEBYTECODE", "BYLLM_MODEL"):
            env.pop(name, None)
        baseline = Case("python -c pass", [sys.executable, "-c", "pass"])
        hello = Case("jac run hello.jac (warm)", [*jac, "run", "hello.jac"])
        mock = Case("one mock by llm() call", [*jac, "run", "mock_call.jac"])
        loopback = Case("one loopback call", [*jac, "run", "loopback_call.jac"])
        cases = [baseline, hello, mock, loopback]
        for case in cases:  # warm-up: compile the programs, fill the plugin-list cache, write .pyc files
            for _ in range(2):
                run_once(Case(case.label, case.command), env, work, server if case is loopback else None)
        load_before = load_average()
        for _ in range(runs):
            for case in cases:
                run_once(case, env, work, server if case is loopback else None)
        load_after = load_average()
    print_table(baseline, hello, mock, loopback)
    print(f"\n{runs} runs each (median), Python {sys.version.split()[0]}, {' '.join(jac)}")
    print(f"load average before: {load_before}; after: {load_after}")


def print_table(baseline: Case, hello: Case, mock: Case, loopback: Case) -> None:
    """The must-holds: each measured value, its aim, and whether it holds."""
    wall_base, cpu_base = median_ms(baseline.wall), median_ms(baseline.cpu)
    rows = [
        (baseline.label, median_ms(baseline.wall), median_ms(baseline.cpu), "", "", ""),
        must_hold(hello.label, hello, wall_base, cpu_base, "wall - python",
                  median_ms(hello.wall) - wall_base, HELLO_AIM_OVER_PYTHON_MS),
        must_hold(mock.label, mock, wall_base, cpu_base, "wall", median_ms(mock.wall), MOCK_AIM_WALL_MS),
        must_hold(loopback.label + ": start to request", loopback, wall_base, cpu_base, "request - python",
                  median_ms(loopback.first_request) - wall_base, LOOPBACK_AIM_OVER_PYTHON_MS),
    ]
    header = ("case", "wall ms", "cpu ms", "measure", "value ms", "aim ms")
    width = max(len(row[0]) for row in rows)
    line = f"{header[0]:<{width}}  {header[1]:>8}  {header[2]:>8}  {header[3]:>16}  {header[4]:>8}  {header[5]:>8}"
    print(line)
    print("-" * len(line))
    for label, wall, cpu, measure, value, aim in rows:
        print(f"{label:<{width}}  {wall:>8.1f}  {cpu:>8.1f}  {measure:>16}  {value:>8}  {aim:>8}")
    print(f"\n(one loopback call, whole run: {median_ms(loopback.wall):.1f} ms wall)")


def must_hold(
    label: str, case: Case, wall_base: float, cpu_base: float, measure: str, value: float, aim: float
) -> tuple[str, float, float, str, str, str]:
    """One row: the case's medians, the measured value and its aim, ``(fails)`` marked."""
    verdict = "" if value <= aim else " (fails)"
    return (label, median_ms(case.wall), median_ms(case.cpu), measure, f"{value:.1f}", f"<= {aim:.0f}{verdict}")


if __name__ == "__main__":
    main()
