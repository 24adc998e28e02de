"""Benchmark: ``jac run hello.jac`` cold (no cache) and warm, next to ``python -c pass``.

Also times a program making one mock ``by llm()`` call. Plain script: prints a
small table of the median wall time over several runs of each command.

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
import time
from pathlib import Path
from typing import Callable

HELLO = 'with entry {\n    print("Hello, world!");\n}\n'
ONE_LLM_CALL = (
    "import from byllm.lib { Model }\n"
    'glob llm = Model(model_name="mockllm", outputs=["Bonjour"]);\n'
    'def translate(text: str, lang: str = "French") -> str by llm();\n'
    'with entry { print(translate("Hello")); }\n'
)


def time_command(
    command: list[str], env: dict[str, str], cwd: Path, before: Callable[[], None] | None = None
) -> tuple[float, float]:
    """``(wall, cpu)`` seconds of one run of ``command`` (after ``before`` if given).

    CPU time (user + system of the child) is reported too: it is steadier than
    wall time when other work shares the machine.
    """
    if before is not None:
        before()
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    usage_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{completed.stderr}")
    cpu = (usage_after.ru_utime - usage_before.ru_utime) + (usage_after.ru_stime - usage_before.ru_stime)
    return elapsed, cpu


def median_ms(samples: list[float]) -> float:
    """Median of ``samples`` in milliseconds."""
    return statistics.median(samples) * 1000


def main() -> None:
    """Run every case and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    jac = [sys.executable, "-m", "jaclang.cli"]
    with tempfile.TemporaryDirectory(prefix="jac-bench-") as scratch:
        work = Path(scratch)
        (work / "hello.jac").write_text(HELLO)
        (work / "one_llm_call.jac").write_text(ONE_LLM_CALL)
        cache_dir = work / "cache"
        env = {**os.environ, "JAC_CACHE_DIR": str(cache_dir)}
        env.pop("JAC_NO_CACHE", None)

        def clear_cache() -> None:
            # Compiled programs only: the parser's grammar cache is part of the install, like .pyc files.
            for entry in cache_dir.glob("*.jacc"):
                entry.unlink()

        cases = [
            ("python -c pass", [sys.executable, "-c", "pass"], None),
            ("python -c 'import jaclang, byllm'", [sys.executable, "-c", "import jaclang, byllm"], None),
            ("jac run hello.jac (cold, no cache)", [*jac, "run", "hello.jac"], clear_cache),
            ("jac run hello.jac (warm)", [*jac, "run", "hello.jac"], None),
            ("jac run one_llm_call.jac (warm, mock)", [*jac, "run", "one_llm_call.jac"], None),
        ]
        subprocess.run([*jac, "run", "one_llm_call.jac"], env=env, cwd=work, capture_output=True)
        results = []
        for label, command, before in cases:
            samples = [time_command(command, env, work, before) for _ in range(runs)]
            wall = median_ms([sample[0] for sample in samples])
            cpu = median_ms([sample[1] for sample in samples])
            results.append((label, wall, cpu))
    wall_baseline, cpu_baseline = results[0][1], results[0][2]
    width = max(len(label) for label, *_ in results)
    header = f"{'case':<{width}}  {'wall ms':>9}  {'vs python':>9}  {'cpu ms':>9}  {'vs python':>9}"
    print(header)
    print("-" * len(header))
    for label, wall, cpu in results:
        print(f"{label:<{width}}  {wall:>9.1f}  {wall - wall_baseline:>+9.1f}  {cpu:>9.1f}  {cpu - cpu_baseline:>+9.1f}")
    print(f"\n{runs} runs each, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
