"""Scale-out benchmarks: the shared rate limit across processes, Ray Data and Dask throughput, a 10,000-item batch job.

Everything runs against the loopback fake OpenAI server (tests/providers/fake_server.py):

0. Choosing the limiter: byllm's GCRA Lua script beside the ``limits`` library's window
   strategies on one Redis (cost per admission, burst admitted at once), when ``limits`` is installed.
1. 4 worker processes x 250 calls against a quota of 600 requests/min per key
   (enforced per second, as providers do): with the shared limiter (a real
   redis-server) the server must count 0 requests over quota and the
   throughput be within 10 % of the quota; without it, the 429s are counted.
2. 10,000 items against a server answering in 10 ms: items/s through
   ``byllm.amap`` in one process, Dask (LocalCluster, 2 worker processes) and
   Ray Data (local instance, 2 actors).
3. A batch job of 10,000 items against the fake Batch API, submit to results:
   nothing lost, results in order.

Run: ``python bench/bench_scale.py`` (``--only choice,limit,engines,batch``; the limit part takes ~2 minutes).
Prints a Markdown section.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "providers"), str(Path(__file__).resolve().parent)]

from fake_server import FakeBatchServer, FakeLLMServer, QuotaResponder, RecordedRequest, Scripted, openai_text  # noqa: E402

KEY = "sk-bench-scale"
QUOTA_PER_MINUTE = 600
WORKERS = 4
CALLS_PER_WORKER = 250
ENGINE_ITEMS = 10_000
BATCH_ITEMS = 10_000


def echo(request: RecordedRequest) -> Scripted:
    """Answer with the input word upper-cased."""
    prompt = request.body["messages"][-1]["content"]
    return openai_text(prompt.split('= "', 1)[1].split('"', 1)[0].upper())


# -- 1. the shared rate limit --------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_redis(folder: str) -> tuple[subprocess.Popen, str]:
    """A redis-server on a free loopback port."""
    import redis

    executable = shutil.which("redis-server")
    if executable is None:
        raise SystemExit("redis-server is needed for the shared rate limit benchmark")
    port = _free_port()
    process = subprocess.Popen([executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", folder], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            return process, url
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def worker_calls(url: str, count: int, offset: int) -> list[str]:
    """In a worker process: ``count`` calls, 8 at a time (settings from the environment)."""
    import jaclang  # noqa: F401

    import byllm
    from byllm.lib import Model, by

    @by(Model("gpt-4o-mini", base_url=url, api_key=KEY))
    def shout(word: str) -> str:
        """Shout the word."""

    return byllm.map(shout, [f"w{offset + index}" for index in range(count)], concurrency=8)


def _warm_worker() -> None:
    """Start a worker process and import byllm and the SDK there, before the clock starts."""
    import jaclang  # noqa: F401
    import openai  # noqa: F401

    time.sleep(1.0)  # keeps this process busy, so each warm-up lands in a different one


def run_workers(server: FakeLLMServer, environment: dict[str, str]) -> tuple[list, float]:
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        with ProcessPoolExecutor(max_workers=WORKERS, mp_context=multiprocessing.get_context("spawn")) as pool:
            for ready in [pool.submit(_warm_worker) for _ in range(WORKERS)]:  # every process up and importing
                ready.result()
            started = time.perf_counter()
            futures = [pool.submit(worker_calls, server.openai_url, CALLS_PER_WORKER, worker * CALLS_PER_WORKER)
                       for worker in range(WORKERS)]
            results = [value for future in futures for value in future.result()]
            return results, time.perf_counter() - started
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def bench_limit() -> list[str]:
    lines = ["### Shared rate limit: 4 processes x 250 calls, quota 600 requests/min per key", "",
             "| limiter | calls ok | failed | 429s sent by the server | admitted rate (req/min) | calls/min end to end |"
             " wall time |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as folder:
        redis_process, redis_url = start_redis(folder)
        try:
            for label, environment in (
                ("none (transport retries honour Retry-After)", {"BYLLM_RATE_LIMIT": "off"}),
                ("shared, Redis", {"BYLLM_RATE_LIMIT": redis_url, "BYLLM_RATE_LIMIT_RPM": str(QUOTA_PER_MINUTE)}),
            ):
                quota = QuotaResponder(echo, requests_per_minute=QUOTA_PER_MINUTE, burst=QUOTA_PER_MINUTE // 60)
                server = FakeLLMServer(responder=quota, record=False).start()
                try:
                    results, elapsed = run_workers(server, environment)
                finally:
                    server.stop()
                failed = sum(isinstance(result, BaseException) for result in results)
                admitted = quota.admitted_at
                rate = (len(admitted) - 1) / (admitted[-1] - admitted[0]) * 60 if len(admitted) > 1 else 0.0
                lines.append(f"| {label} | {len(results) - failed} | {failed} | {quota.total_over_quota} | "
                             f"{rate:.0f} | {(len(results) - failed) / elapsed * 60:.0f} | {elapsed:.1f} s |")
        finally:
            redis_process.terminate()
            redis_process.wait(timeout=10)
    return lines


def bench_limiter_choice() -> list[str]:
    """byllm's GCRA Lua script beside the ``limits`` library (if installed) on one Redis: cost and burst."""
    from byllm.ratelimit import Limits, RedisStore

    lines = ["### Choosing the limiter: one Redis, 2,000 admissions each, then 100 callers at once at 600/min", "",
             "| limiter | µs per admission | admitted of 100 at once | tokens (weighted, refunded) | pause |",
             "|---|---:|---:|---|---|"]
    with tempfile.TemporaryDirectory() as folder:
        redis_process, url = start_redis(folder)
        try:
            store = RedisStore(url)
            lines.append(_limiter_row("byllm GCRA (Lua script)", lambda bucket: store.acquire(
                bucket, Limits(requests_per_minute=1e9), 0) == 0, lambda bucket: store.acquire(
                bucket, Limits(requests_per_minute=600), 0) == 0, "yes, yes", "yes"))
            try:
                import limits
                import limits.storage
                import limits.strategies
            except ImportError:
                lines.append("| limits (library) | not installed (pip install 'limits[redis]') | | | |")
            else:
                storage = limits.storage.storage_from_string(url)
                for name in ("MovingWindowRateLimiter", "SlidingWindowCounterRateLimiter"):
                    strategy = getattr(limits.strategies, name, None)
                    if strategy is None:
                        continue
                    limiter = strategy(storage)
                    lines.append(_limiter_row(
                        f"limits {limits.__version__} {name}", lambda bucket: limiter.hit(
                            limits.parse("1000000000/minute"), bucket), lambda bucket: limiter.hit(
                            limits.parse("600/minute"), bucket), "weighted, no refund", "no"))
        finally:
            redis_process.terminate()
            redis_process.wait(timeout=10)
    return lines


def _limiter_row(label: str, admit_unlimited, admit_at_quota, tokens: str, pause: str) -> str:
    started = time.perf_counter()
    for _ in range(2000):
        admit_unlimited(f"cost-{label}")
    per_call = (time.perf_counter() - started) / 2000 * 1e6
    admitted = sum(bool(admit_at_quota(f"burst-{label}")) for _ in range(100))
    return f"| {label} | {per_call:.0f} | {admitted} | {tokens} | {pause} |"


# -- 2. engines --------------------------------------------------------------------------
def bench_engines() -> list[str]:
    lines = ["### 10,000 items, server latency 10 ms (2 cores shared by engine, workers and server)", "",
             "| engine | set-up | items/s | errors |", "|---|---:|---:|---:|"]
    server = FakeLLMServer(latency=0.010, responder=echo, record=False).start()
    os.environ["BYLLM_SCALE_BENCH_URL"] = server.openai_url  # read by the workers' import of the functions
    os.environ["PYTHONPATH"] = os.pathsep.join(sys.path[:2])
    import _scale_bench_functions as functions
    words = [f"w{index}" for index in range(ENGINE_ITEMS)]
    try:
        import byllm

        started = time.perf_counter()
        results = asyncio.run(byllm.amap(functions.ashout, words, concurrency=64, progress=False))
        lines.append(_engine_row("byllm.amap, one process, concurrency 64", 0.0, started, results, words))
        lines.append(_dask_row(functions, words))
        lines.append(_ray_row(functions, words))
    finally:
        server.stop()
    return lines


def _engine_row(label: str, setup: float, started: float, results: list, words: list[str]) -> str:
    elapsed = time.perf_counter() - started
    errors = sum(result != word.upper() for result, word in zip(results, words)) + abs(len(results) - len(words))
    return f"| {label} | {setup:.1f} s | {len(words) / elapsed:.0f} | {errors} |"


def _dask_row(functions, words: list[str]) -> str:
    try:
        import dask.bag
        import distributed
    except ImportError:
        return "| Dask | not installed (pip install '.[dask]') | | |"
    from byllm.scale.dask import ByLLMPartitionMapper

    started = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        client.run(lambda: __import__("_scale_bench_functions"))  # workers import byllm, the SDK and the function
        setup = time.perf_counter() - started
        started = time.perf_counter()
        results = dask.bag.from_sequence(words, npartitions=8).map_partitions(
            ByLLMPartitionMapper(functions.shout, concurrency=64)).compute()
        return _engine_row("Dask bag, 2 worker processes, 8 partitions, concurrency 64", setup, started, results, words)
    finally:
        client.close()
        cluster.close()


def _ray_row(functions, words: list[str]) -> str:
    try:
        import ray
        import ray.data
    except ImportError:
        return "| Ray Data | not installed (pip install '.[ray]') | | |"
    from byllm.scale.ray import map_dataset

    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"BYLLM_SCALE_BENCH_URL": os.environ["BYLLM_SCALE_BENCH_URL"],
                                       "PYTHONPATH": os.pathsep.join(sys.path[:2])}})
    try:
        setup = time.perf_counter() - started
        started = time.perf_counter()
        rows = map_dataset(ray.data.from_items([{"item": word} for word in words]), functions.shout, actors=2,
                           batch_size=1250, concurrency=64).take_all()
        order = {word: index for index, word in enumerate(words)}
        results = [row["result"] for row in sorted(rows, key=lambda row: order[row["item"]])]
        return _engine_row("Ray Data map_batches, 2 actors, batches of 1,250, concurrency 64", setup, started,
                           results, words)
    finally:
        ray.shutdown()


# -- 3. a batch job ----------------------------------------------------------------------
def bench_batch() -> list[str]:
    import byllm.batch
    from byllm.lib import Model, by

    server = FakeBatchServer(responder=echo).start()
    data_home = tempfile.mkdtemp()
    os.environ["XDG_DATA_HOME"] = data_home
    try:
        @by(Model("gpt-4o-mini", base_url=server.openai_url, api_key=KEY))
        def shout(word: str) -> str:
            """Shout the word."""

        words = [f"w{index}" for index in range(BATCH_ITEMS)]
        started = time.perf_counter()
        job = byllm.batch.submit(shout, words, poll_interval=0.05)
        submitted = time.perf_counter() - started
        results = job.results()
        total = time.perf_counter() - started
    finally:
        server.stop()
        shutil.rmtree(data_home, ignore_errors=True)
    lost = sum(result != word.upper() for result, word in zip(results, words)) + abs(len(results) - len(words))
    return ["### A batch job of 10,000 items (fake Batch API)", "",
            "| items | submit (build + upload + create) | submit to results | wrong, lost or out of order |",
            "|---:|---:|---:|---:|",
            f"| {len(words):,} | {submitted:.1f} s | {total:.1f} s | {lost} |"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="choice,limit,engines,batch",
                        help="comma-separated: choice, limit, engines, batch")
    chosen = parser.parse_args().only.split(",")
    import jaclang  # noqa: F401

    print("## Scale-out (bench/bench_scale.py)\n")
    for name, run in (("choice", bench_limiter_choice), ("limit", bench_limit), ("engines", bench_engines),
                      ("batch", bench_batch)):
        if name in chosen:
            print("\n".join(run()) + "\n", flush=True)


if __name__ == "__main__":
    main()
