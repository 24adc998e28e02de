"""Benchmark: build a 100,000-node tree (fan-out 10) under root and walk it, persistence on.

Two real runs, each its own process, as with ``jac run``: run 1 builds the tree
under ``root``, walks it with a walker that visits every node once, and commits
the graph to its SQLite file; run 2 loads that file and walks the loaded tree.
Reported: nodes built/s, nodes visited/s, load and commit times, file bytes per
node. The same Jac program then runs on upstream jaclang 0.16.7 when its ``jac``
is given (``--upstream``, default ``/tmp/upstream-jac/bin/jac``; make it with a
Python 3.12 venv and ``pip install jaclang==0.16.7``).

Our side drives the OSP runtime from Python exactly as compiled code calls it
(``__jac__.connect`` / ``spawn`` / ``visit`` / ``edge_ref``), because the
compiler does not lower OSP syntax yet; ``WALKER_PROGRAM`` below is the Jac
program both sides implement.

    python bench/bench_walker.py [--nodes N] [--upstream PATH | --no-upstream]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

WALKER_PROGRAM = """\
import sys;
import time;

node Item { has number: int = 0; }

walker Counter {
    has visited: int = 0;
    can start with Root entry { visit [-->]; }
    can step with Item entry { self.visited += 1; visit [-->]; }
}

with entry {
    total = int(sys.argv[1]);
    started = time.perf_counter();
    cpu_started = time.process_time();
    if not [root -->] {
        level = [root];
        made = 0;
        while made < total {
            next_level = [];
            for parent in level {
                if made >= total { break; }
                children = [Item(number=made + k) for k in range(min(10, total - made))];
                made += len(children);
                parent ++> children;
                next_level.extend(children);
            }
            level = next_level;
        }
        print("BUILD", made, time.perf_counter() - started, time.process_time() - cpu_started);
    }
    started = time.perf_counter();
    cpu_started = time.process_time();
    walker_done = Counter() spawn root;
    print("WALK", walker_done.visited, time.perf_counter() - started, time.process_time() - cpu_started);
}
"""


def our_run(phase: str, graph_file: str, total: int) -> None:
    """One run of the program on our runtime, reporting its timings as JSON on stdout."""
    from jaclang.runtimelib import osp
    from jaclang.runtimelib.osp import context

    @dataclass(eq=False)
    class Item(osp.Node):
        number: int = 0

    @dataclass(eq=False)
    class Counter(osp.Walker):
        visited: int = 0

        @osp.on_entry(osp.Root)
        def start(self) -> None:
            osp.visit(osp.edge_ref(osp.here()))

        @osp.on_entry(Item)
        def step(self) -> None:
            self.visited += 1
            osp.visit(osp.edge_ref(osp.here()))

    Item.__qualname__ = "Item"  # found again by the second run as __main__.Item
    globals()["Item"] = Item
    timings: dict[str, float] = {}

    def measure(name: str, wall_started: float, cpu_started: float) -> None:
        timings[name] = time.perf_counter() - wall_started
        timings[name + "_cpu"] = time.process_time() - cpu_started

    context.use_graph_file(graph_file, fresh=phase == "build")
    started, cpu = time.perf_counter(), time.process_time()
    root = osp.root()
    measure("load", started, cpu)
    if phase == "build":
        started, cpu = time.perf_counter(), time.process_time()
        level = [root]
        made = 0
        while made < total:
            next_level = []
            for parent in level:
                if made >= total:
                    break
                children = [Item(number=made + k) for k in range(min(10, total - made))]
                made += len(children)
                osp.connect(parent, children)
                next_level.extend(children)
            level = next_level
        measure("build", started, cpu)
    started, cpu = time.perf_counter(), time.process_time()
    walker = osp.spawn(Counter(), root)
    measure("walk", started, cpu)
    timings["visited"] = walker.visited
    started, cpu = time.perf_counter(), time.process_time()
    context.finish_run()
    measure("commit", started, cpu)
    print(json.dumps(timings))


def run_ours(total: int, directory: Path) -> dict[str, dict[str, float]]:
    """Both runs on our runtime, each in a fresh process."""
    graph_file = str(directory / "bench_walker.db")
    results = {}
    for phase in ("build", "walk"):
        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, __file__, "--phase", phase, "--graph-file", graph_file, "--nodes", str(total)],
            capture_output=True, text=True, check=False,
        )
        if completed.returncode != 0:
            raise SystemExit(f"our {phase} run failed:\n{completed.stderr}")
        results[phase] = json.loads(completed.stdout.strip().splitlines()[-1])
        results[phase]["process"] = time.perf_counter() - started
    results["file_bytes"] = {"size": float(sum(p.stat().st_size for p in directory.glob("bench_walker.db*")))}
    return results


def run_upstream(jac: str, total: int, directory: Path) -> dict[str, dict[str, float]] | str:
    """The Jac program, twice, on upstream jaclang (its graph file under ``.jac/data``)."""
    program = directory / "bench_walker.jac"
    program.write_text(WALKER_PROGRAM, encoding="utf-8")
    results: dict[str, dict[str, float]] = {}
    for phase in ("build", "walk"):
        started = time.perf_counter()
        completed = subprocess.run([jac, "run", str(program), str(total)], capture_output=True, text=True, cwd=directory)
        if completed.returncode != 0:
            return f"upstream {phase} run failed: {completed.stderr[-500:]}"
        result: dict[str, float] = {"process": time.perf_counter() - started}
        for line in completed.stdout.splitlines():
            word, count, seconds, cpu_seconds = line.split()
            result[word.lower()] = float(seconds)
            result[word.lower() + "_cpu"] = float(cpu_seconds)
            if word == "WALK":
                result["visited"] = float(count)
        results[phase] = result
    results["file_bytes"] = {"size": float(sum(p.stat().st_size for p in directory.glob(".jac/data/*")))}
    return results


def rate(count: float, seconds: float | None) -> str:
    """``count`` per second, readable."""
    return f"{count / seconds:,.0f}" if seconds else "n/a"


def rates(count: float, result: dict[str, float], *names: str) -> str:
    """Per second of wall time (and of CPU time, steadier on a shared machine)."""
    if not all(name in result for name in names):
        return "n/a"
    wall = sum(result[name] for name in names)
    cpu = sum(result.get(name + "_cpu", 0.0) for name in names)
    return f"{rate(count, wall)} ({rate(count, cpu)} CPU)" if cpu else rate(count, wall)


def seconds(result: dict[str, float], name: str) -> str:
    """Wall (CPU) seconds of one step."""
    if name not in result:
        return "n/a"
    cpu = result.get(name + "_cpu")
    return f"{result[name]:.2f} ({cpu:.2f} CPU)" if cpu is not None else f"{result[name]:.2f}"


def report(total: int, ours: dict, upstream: dict | str | None) -> str:
    """The Markdown table: our runtime and upstream side by side."""
    sides = [("this runtime", ours)] + ([("upstream 0.16.7", upstream)] if isinstance(upstream, dict) else [])
    rows = [
        ("nodes built/s (run 1, building)", lambda r: rates(total, r["build"], "build")),
        ("nodes built/s incl. the commit to SQLite", lambda r: rates(total, r["build"], "build", "commit")),
        ("commit at the end of run 1 (s)", lambda r: seconds(r["build"], "commit")),
        ("nodes visited/s (run 1, the built graph)", lambda r: rates(r["build"]["visited"], r["build"], "walk")),
        ("load at the start of run 2 (s)", lambda r: seconds(r["walk"], "load")),
        ("nodes visited/s (run 2, the loaded graph)", lambda r: rates(r["walk"]["visited"], r["walk"], "walk")),
        ("process wall time run 1 / run 2 (s)", lambda r: f"{r['build']['process']:.1f} / {r['walk']['process']:.1f}"),
        ("graph file bytes per node", lambda r: f"{r['file_bytes']['size'] / total:,.0f}"),
        ("graph file bytes per node and edge", lambda r: f"{r['file_bytes']['size'] / (2 * total):,.0f}"),
    ]
    lines = [
        f"## OSP walker: {total:,}-node tree (fan-out 10) under root, persistence on",
        "",
        "| measurement | " + " | ".join(name for name, _ in sides) + " |",
        "|---|" + "---:|" * len(sides),
    ]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(result) for _, result in sides) + " |")
    lines.append("")
    lines.append("Rates are per second of wall time, with per second of the process's CPU time in brackets (steadier when other work shares the machine). Upstream's commit happens inside its process after the program ends, so it shows only in the process wall time.")
    lines.append("Our side drives the runtime from Python the way compiled code calls it (the compiler does not lower OSP syntax yet); upstream runs the same program as a .jac file.")
    if isinstance(upstream, str):
        lines.append(f"Upstream: {upstream}")
    elif upstream is None:
        lines.append("Upstream: not run (`--no-upstream`, or no upstream `jac` at the `--upstream` path).")
    return "\n".join(lines)


def main() -> None:
    """Parse arguments; run one phase (internal) or the whole comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--upstream", default="/tmp/upstream-jac/bin/jac", help="upstream jaclang 0.16.7's jac command")
    parser.add_argument("--no-upstream", action="store_true")
    parser.add_argument("--phase", choices=("build", "walk"), help=argparse.SUPPRESS)
    parser.add_argument("--graph-file", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.phase:
        our_run(options.phase, options.graph_file, options.nodes)
        return
    with tempfile.TemporaryDirectory(prefix="bench-walker-") as ours_dir, tempfile.TemporaryDirectory(prefix="bench-walker-up-") as up_dir:
        ours = run_ours(options.nodes, Path(ours_dir))
        upstream = None
        if not options.no_upstream and os.path.exists(options.upstream):
            upstream = run_upstream(options.upstream, options.nodes, Path(up_dir))
        print(report(options.nodes, ours, upstream))


if __name__ == "__main__":
    main()
