"""Per-call overhead of ``by llm()`` and the start-up cost of ``import jaclang, byllm``.

Call overhead: µs per call of a ``@by(llm)`` function returning a 5-field
dataclass, answered by the mock model through the full hook path
(``call_llm`` -> byllm -> prompt -> ``llm_complete`` -> mock provider -> typed
reply), next to a baseline of a plain function call plus Pydantic
``TypeAdapter`` validation of the same JSON. The difference is what byllm adds.

Start-up: wall time of a fresh ``python -c "import jaclang, byllm"`` (median of
N runs, after warm-up runs that fill jac's plugin-list cache), next to
``python -c pass``.

Run: ``python bench/bench_call.py`` (``--calls``, ``--repeats``, ``--imports``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Callable

REPLY = json.dumps({"name": "Ada Lovelace", "age": 36, "email": "ada@example.org", "score": 9.5, "active": True})

# Set in the child process that measures byllm with no optional plugin loaded.
CHILD_FLAG = "--child-calls"


@dataclass
class Profile:
    """The 5-field return type of the benchmarked function."""

    name: str
    age: int
    email: str
    score: float
    active: bool


def per_call_microseconds(run_batch: Callable[[int], None], calls: int, repeats: int) -> tuple[float, float, float]:
    """Best and median wall-clock µs per call, and best CPU µs per call, over ``repeats`` batches.

    CPU time (this process only) is what to compare on a busy machine: other
    jobs' preemptions inflate wall time, not it.
    """
    wall_samples = []
    cpu_samples = []
    for _ in range(repeats):
        wall_started = time.perf_counter()
        cpu_started = time.process_time()
        run_batch(calls)
        cpu_samples.append((time.process_time() - cpu_started) / calls * 1e6)
        wall_samples.append((time.perf_counter() - wall_started) / calls * 1e6)
    return min(wall_samples), statistics.median(wall_samples), min(cpu_samples)


def baseline_batch() -> Callable[[int], None]:
    """A plain typed function call plus TypeAdapter validation of the reply JSON."""
    from pydantic import TypeAdapter

    adapter = TypeAdapter(Profile)

    def describe(description: str) -> str:
        return REPLY

    def run(calls: int) -> None:
        for _ in range(calls):
            adapter.validate_json(describe("a mathematician"))

    return run


def by_llm_batch(calls: int, repeats: int) -> Callable[[int], None]:
    """``by llm()`` calls answered by the mock model (one output per call)."""
    from byllm.lib import Model, by

    model = Model("mockllm", outputs=[REPLY] * (calls * (repeats + 1) + 1))

    @by(model)
    def describe_person(description: str) -> Profile:
        """Describe the person."""

    expected = Profile("Ada Lovelace", 36, "ada@example.org", 9.5, True)
    assert describe_person("a mathematician") == expected

    def run(batch: int) -> None:
        for _ in range(batch):
            describe_person("a mathematician")

    return run


def streamed_batch(calls: int, repeats: int, chunks: int) -> Callable[[int], None]:
    """Streamed ``by llm(stream=True)`` calls whose mock reply arrives in ``chunks`` pieces, read to the end."""
    from byllm.lib import Model, by

    reply = " ".join(["word"] * chunks)
    model = Model("mockllm", outputs=[reply] * (calls * (repeats + 1) + 1))

    @by(model(stream=True))
    def tell(topic: str) -> str:
        """Tell something about the topic."""

    assert "".join(tell("cats")) == reply

    def run(batch: int) -> None:
        for _ in range(batch):
            for _chunk in tell("cats"):
                pass

    return run


def text_baseline_batch(chunks: int) -> Callable[[int], None]:
    """A plain call returning the same chunks, read to the end."""
    pieces = ["word"] + [" word"] * (chunks - 1)

    def tell(topic: str) -> list[str]:
        return pieces

    def run(calls: int) -> None:
        for _ in range(calls):
            for _chunk in tell("cats"):
                pass

    return run


STREAM_CHUNKS = (10, 100)


def measure_calls(calls: int, repeats: int) -> dict[str, tuple[float, float, float]]:
    """Timings of the baseline and of ``by llm()`` calls (plain and streamed) in this process."""
    by_llm = by_llm_batch(calls, repeats)
    baseline = baseline_batch()
    by_llm(calls)  # warm caches (function meaning, prompt skeleton, provider)
    baseline(calls)
    timings = {
        "baseline": per_call_microseconds(baseline, calls, repeats),
        "by_llm": per_call_microseconds(by_llm, calls, repeats),
    }
    for chunks in STREAM_CHUNKS:
        streamed = streamed_batch(calls, repeats, chunks)
        plain = text_baseline_batch(chunks)
        streamed(calls)
        timings[f"stream_{chunks}"] = per_call_microseconds(streamed, calls, repeats)
        timings[f"stream_baseline_{chunks}"] = per_call_microseconds(plain, calls, repeats)
    return timings


def stream_overheads(timings: dict[str, tuple[float, float, float]]) -> tuple[float, float]:
    """CPU µs of a streamed call over reading the same chunks from a list: per call, and per chunk."""
    low, high = STREAM_CHUNKS
    over = {
        chunks: timings[f"stream_{chunks}"][2] - timings[f"stream_baseline_{chunks}"][2] for chunks in STREAM_CHUNKS
    }
    per_chunk = (over[high] - over[low]) / (high - low)
    return over[low] - per_chunk * low, per_chunk


def optional_plugin_names() -> list[str]:
    """Every ``jac`` plugin loaded in this process except byllm's own."""
    from jaclang.runtimelib.machine import plugin_manager

    return sorted(name for name in plugin_manager.plugin_sources if name != "byllm")


def measure_calls_in_child(calls: int, repeats: int, disabled: list[str]) -> dict[str, tuple[float, float, float]]:
    """The same timings in a child process where the ``disabled`` plugins are not loaded."""
    environment = {**os.environ, "JAC_DISABLED_PLUGINS": ",".join(disabled)}
    command = [sys.executable, __file__, CHILD_FLAG, "--calls", str(calls), "--repeats", str(repeats)]
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, check=True)
    return {key: tuple(value) for key, value in json.loads(completed.stdout).items()}


def median_process_milliseconds(code: str, runs: int, environment: dict[str, str]) -> tuple[float, float]:
    """Median wall and CPU (user + system) ms of ``python -c code`` in fresh processes.

    Two warm-up runs first (they fill jac's plugin-list cache and the OS file cache).
    """
    command = [sys.executable, "-c", code]
    for _ in range(2):
        subprocess.run(command, check=True, env=environment)
    wall_samples = []
    cpu_samples = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, check=True, env=environment)
        wall_samples.append((time.perf_counter() - started) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_samples.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
    return statistics.median(wall_samples), statistics.median(cpu_samples)


def measure_imports(runs: int) -> dict[str, tuple[float, float]]:
    """Start-up of a bare interpreter and of ``import jaclang, byllm``."""
    with tempfile.TemporaryDirectory() as cache:
        environment = {**os.environ, "JAC_CACHE_DIR": cache}
        environment.pop("JAC_DEBUG", None)
        return {
            "pass": median_process_milliseconds("pass", runs, environment),
            "import jaclang, byllm": median_process_milliseconds("import jaclang, byllm", runs, environment),
        }


def call_row(label: str, timings: dict[str, tuple[float, float, float]]) -> str:
    """One table row: wall and CPU µs per call, and the CPU overhead over that process's baseline."""
    best, median, cpu = timings["by_llm"]
    return f"| {label} | {best:.1f} | {median:.1f} | {cpu:.1f} | {cpu - timings['baseline'][2]:.1f} |"


def report(
    variants: list[tuple[str, dict[str, tuple[float, float, float]]]],
    imports: dict[str, tuple[float, float]],
    settings: argparse.Namespace,
) -> str:
    """The results as a Markdown section."""
    base_best, base_median, base_cpu = variants[0][1]["baseline"]
    lines = [
        "## by llm() call overhead (bench_call.py)",
        "",
        f"{settings.repeats} batches of {settings.calls} calls; mock model, function returning a 5-field "
        "dataclass; each row's overhead is over the baseline measured in the same process. "
        "CPU time is this process's only, so other jobs on the machine do not inflate it.",
        "",
        "| path | best wall µs/call | median wall µs/call | best CPU µs/call | CPU overhead over baseline |",
        "|---|---:|---:|---:|---:|",
        f"| baseline: plain call + TypeAdapter.validate_json | {base_best:.1f} | {base_median:.1f} | {base_cpu:.1f} | - |",
    ]
    lines += [call_row(label, timings) for label, timings in variants]
    per_call, per_chunk = stream_overheads(variants[0][1])
    lines += [
        "",
        "Aim: at most 25 µs per call over the baseline, every built-in plugin installed in its default configuration.",
        "",
        f"Streamed calls (`by llm(stream=True)`, read to the end, {variants[0][0]}): {per_call:.1f} µs per call "
        f"plus {per_chunk:.2f} µs per chunk (CPU) over reading the same chunks from a list "
        "(from calls of 10 and 100 chunks). Aim: at most 40 µs per call plus 1 µs per chunk.",
        "",
        "## Start-up (bench_call.py)",
        "",
        f"Median wall time of {settings.imports} fresh processes (after 2 warm-up runs).",
        "",
        "| command | median wall ms | median CPU ms |",
        "|---|---:|---:|",
    ]
    for code, (wall, cpu) in imports.items():
        lines.append(f"| `python -c \"{code}\"` | {wall:.1f} | {cpu:.1f} |")
    added = imports["import jaclang, byllm"][0] - imports["pass"][0]
    lines += ["", f"`import jaclang, byllm` adds {added:.1f} ms (wall) to a bare interpreter. Aim: under 80 ms in total."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a Markdown report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per timed batch")
    parser.add_argument("--repeats", type=int, default=7, help="timed batches (best and median reported)")
    parser.add_argument("--imports", type=int, default=15, help="fresh processes per start-up timing")
    parser.add_argument("--no-per-plugin", dest="per_plugin", action="store_false",
                        help="skip the rows that add one optional plugin at a time")
    parser.add_argument(CHILD_FLAG, action="store_true", help=argparse.SUPPRESS)
    settings = parser.parse_args(argv)
    if settings.child_calls:
        print(json.dumps(measure_calls(settings.calls, settings.repeats)))
        return 0
    plugins = optional_plugin_names()
    variants = [(f"`@by(llm)`, all installed plugins (byllm, {', '.join(plugins) or '-'})", measure_calls(settings.calls, settings.repeats))]
    if plugins:
        variants.append(("`@by(llm)`, byllm plugin only", measure_calls_in_child(settings.calls, settings.repeats, plugins)))
        if settings.per_plugin:
            for plugin in plugins:
                others = [name for name in plugins if name != plugin]
                timings = measure_calls_in_child(settings.calls, settings.repeats, others)
                variants.append((f"`@by(llm)`, byllm + {plugin}", timings))
    imports = measure_imports(settings.imports)
    print(report(variants, imports, settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
