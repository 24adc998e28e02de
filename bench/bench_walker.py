"""Benchmark: build a 100,000-node tree (fan-out 10) under root and walk it, persistence on.

``WALKER_PROGRAM`` runs twice with ``jac run``, each run its own process: run 1
builds the tree under ``root``, walks it with a walker that visits every node
once, and commits the graph to its file when the program ends; run 2 loads that
file and walks the loaded tree. The program prints its own timings (wall and
CPU seconds of the first use of ``root``, the build, the walk, and the clocks at
its end); the commit happens after the program, so it is the process's CPU time
(from ``wait4``) after the program's last line, which also holds interpreter
exit. Reported: nodes built/s with and without the commit, nodes visited/s in
both runs, load and commit times, file bytes per node and edge. The same program
runs on upstream jaclang 0.16.7 side by side (``--upstream``, default
``/tmp/upstream-jac/bin/jac``; made with a Python 3.12 venv and
``pip install jaclang==0.16.7`` when missing, unless ``--no-upstream``).

    python bench/bench_walker.py [--nodes N] [--upstream PATH | --no-upstream]
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
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
    existing = [root -->];
    print("LOAD", len(existing), time.perf_counter() - started, time.process_time() - cpu_started);
    if not existing {
        started = time.perf_counter();
        cpu_started = time.process_time();
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
    print("END", 0, time.perf_counter(), time.process_time());
}
"""

UPSTREAM_VERSION = "0.16.7"


def run_program(jac: str | None, program: Path, total: int) -> dict[str, float]:
    """One ``jac run`` of the program (``jac`` None: ours, with the commit timed): its timings.

    ``time.perf_counter`` is the system-wide monotonic clock on Linux, so the
    program's clock at its end and ours when the process is reaped compare.
    """
    command = [jac, "run"] if jac else [sys.executable, __file__, "--timed-run"]
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen([*command, str(program), str(total)], stdout=subprocess.PIPE, stderr=errors, text=True, cwd=program.parent)
        assert process.stdout is not None
        output = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        ended = time.perf_counter()
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"{jac} run failed ({process.returncode}): {errors.read().decode(errors='replace')[-800:]}")
    result: dict[str, float] = {"process": ended - started, "process_cpu": usage.ru_utime + usage.ru_stime}
    for line in output.splitlines():
        word, count, seconds, cpu_seconds = line.split()
        name = word.lower()
        if name == "end":
            result["after"] = ended - float(seconds)
            result["after_cpu"] = result["process_cpu"] - float(cpu_seconds)
        else:
            result[name], result[name + "_cpu"], result[name + "_count"] = float(seconds), float(cpu_seconds), float(count)
    return result


def timed_run(program: str, total: str) -> int:
    """``jac run program total`` in this process, as the ``jac`` command runs it, with the
    commit (``finish_run``, after the program's last line) timed and printed."""
    from jaclang import cli
    from jaclang.runtimelib.osp import context

    finish_run = context.finish_run

    def timed_finish_run() -> None:
        started, cpu_started = time.perf_counter(), time.process_time()
        finish_run()
        print("COMMIT", 0, time.perf_counter() - started, time.process_time() - cpu_started, flush=True)

    context.finish_run = timed_finish_run  # type: ignore[assignment]
    return cli.main(["run", program, total])


def run_both(jac: str | None, total: int, directory: Path) -> dict[str, dict[str, float]]:
    """Run 1 (build, walk, commit) and run 2 (load, walk) in a fresh folder; the graph file's size."""
    program = directory / "bench_walker.jac"
    program.write_text(WALKER_PROGRAM, encoding="utf-8")
    results = {"build": run_program(jac, program, total), "walk": run_program(jac, program, total)}
    data_files = glob.glob(str(directory / ".jac" / "data" / "**" / "*"), recursive=True)
    results["file_bytes"] = {"size": float(sum(os.path.getsize(path) for path in data_files if os.path.isfile(path)))}
    return results


def upstream_jac(path: str) -> tuple[str | None, str]:
    """Upstream's ``jac`` at ``path``, made there (a Python 3.12 venv) when missing; else why not."""
    if os.path.exists(path):
        return path, ""
    venv = Path(path).parent.parent
    pythons = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python"))) or [shutil.which("python3.12") or ""]
    if not pythons[-1]:
        return None, "no Python 3.12 to make its venv with"
    for command in ([pythons[-1], "-m", "venv", str(venv)], [str(venv / "bin" / "pip"), "install", "-q", f"jaclang=={UPSTREAM_VERSION}"]):
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            return None, f"`{' '.join(command)}` failed: {completed.stderr.strip()[-300:]}"
    return (path, "") if os.path.exists(path) else (None, f"no {path} after installing jaclang=={UPSTREAM_VERSION}")


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
    sides = [("this runtime", ours)] + ([(f"upstream {UPSTREAM_VERSION}", upstream)] if isinstance(upstream, dict) else [])
    rows = [
        ("nodes built/s (run 1, building)", lambda r: rates(total, r["build"], "build")),
        ("nodes built/s including the commit", lambda r: rates(total, r["build"], "build", "commit" if "commit" in r["build"] else "after")),
        ("commit at the end of run 1 (s)", lambda r: seconds(r["build"], "commit")),
        ("everything after run 1's program: commit and exit (s)", lambda r: seconds(r["build"], "after")),
        ("nodes visited/s (run 1, the built graph)", lambda r: rates(r["build"]["walk_count"], r["build"], "walk")),
        ("first use of root in run 2, the load (s)", lambda r: seconds(r["walk"], "load")),
        ("nodes visited/s (run 2, the loaded graph)", lambda r: rates(r["walk"]["walk_count"], r["walk"], "walk")),
        ("commit at the end of run 2, nothing changed (s)", lambda r: seconds(r["walk"], "commit")),
        ("everything after run 2's program: commit and exit (s)", lambda r: seconds(r["walk"], "after")),
        ("process run 1 / run 2, wall (CPU) s", lambda r: f"{r['build']['process']:.1f} ({r['build']['process_cpu']:.1f}) / {r['walk']['process']:.1f} ({r['walk']['process_cpu']:.1f})"),
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
    lines.append(
        "Both sides run the same Jac program with their own `jac run`. Rates are per second of wall time, with per "
        "second of the process's CPU time in brackets (steadier when other work shares the machine). The commit "
        "happens after the program's last line: ours is timed around it (the bench runs `jac run` in-process with "
        "`finish_run` wrapped); upstream's cannot be told apart from its exit, so built/s including the commit counts "
        "everything after its program for upstream. The interpreter's exit, after our commit, is mostly the final garbage "
        "collection freeing the graph. Upstream loads nodes lazily, so its run 2 load is spread over the walk."
    )
    if isinstance(upstream, str):
        lines.append(f"Upstream: not measured: {upstream}")
    elif upstream is None:
        lines.append("Upstream: not run (`--no-upstream`).")
    return "\n".join(lines)


def main() -> None:
    """Parse arguments; run the program on our runtime and on upstream's; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--timed-run", nargs=2, metavar=("PROGRAM", "NODES"), help=argparse.SUPPRESS)
    parser.add_argument("--upstream", default="/tmp/upstream-jac/bin/jac", help=f"upstream jaclang {UPSTREAM_VERSION}'s jac command")
    parser.add_argument("--no-upstream", action="store_true")
    options = parser.parse_args()
    if options.timed_run:
        sys.exit(timed_run(*options.timed_run))
    with tempfile.TemporaryDirectory(prefix="bench-walker-") as ours_dir, tempfile.TemporaryDirectory(prefix="bench-walker-up-") as up_dir:
        ours = run_both(None, options.nodes, Path(ours_dir))
        upstream: dict | str | None = None
        if not options.no_upstream:
            jac, reason = upstream_jac(options.upstream)
            try:
                upstream = run_both(jac, options.nodes, Path(up_dir)) if jac else reason
            except RuntimeError as error:
                upstream = str(error)
        print(report(options.nodes, ours, upstream))


if __name__ == "__main__":
    main()
