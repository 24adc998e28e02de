"""The shared rate limit: per process without Redis, across processes through a real redis-server, global pauses."""

from __future__ import annotations

import multiprocessing
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Iterator

import pytest

import byllm
from jaclang.runtimelib import machine
from byllm import ratelimit
from byllm.errors import RateLimitError
from byllm.lib import Model, by
from byllm.plugin import ByllmMachine
from byllm.plugins.activation import forget_requests
from byllm.providers.clients import clear_clients
from byllm.settings import ENVIRONMENT_VARIABLES, forget_settings, reload_settings
from fake_server import FakeLLMServer, QuotaResponder, openai_text, quota_exceeded

from scale_support import word_responder

KEY = "sk-quota-test-key"


@pytest.fixture
def limited(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """A fresh plugin manager with byllm and byllm-ratelimit, no BYLLM_* settings; set them, then reload."""
    manager = machine.new_plugin_manager()
    manager.register(ByllmMachine, name="byllm")
    manager.register(ratelimit.RateLimitPlugin, name="byllm-ratelimit")
    monkeypatch.setattr(machine, "plugin_manager", manager)
    for name in ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    ratelimit.forget_stores()
    yield monkeypatch
    monkeypatch.undo()
    forget_settings()
    forget_requests()
    ratelimit.forget_stores()
    clear_clients()


def quota_server(requests_per_minute: float) -> tuple[FakeLLMServer, QuotaResponder]:
    """A server admitting ``requests_per_minute`` per key, enforced per second (as providers quantize limits)."""
    quota = QuotaResponder(word_responder, requests_per_minute=requests_per_minute,
                           burst=round(requests_per_minute / 60))
    return FakeLLMServer(responder=quota, record=False).start(), quota


def shouter(server: FakeLLMServer, **config: object):
    llm = Model("gpt-4o-mini", base_url=server.openai_url, api_key=KEY, max_retries=0, **config)

    @by(llm)
    def shout(word: str) -> str:
        """Shout the word."""

    @by(llm)
    async def ashout(word: str) -> str:
        """Shout the word."""

    return shout, ashout


def test_without_a_limit_a_burst_meets_429s(limited) -> None:
    reload_settings()
    server, quota = quota_server(requests_per_minute=600)
    try:
        shout, _ = shouter(server)
        results = byllm.map(shout, [f"w{index}" for index in range(12)], concurrency=12)
    finally:
        server.stop()
    assert quota.total_over_quota > 0
    assert any(isinstance(result, RateLimitError) for result in results)


def test_the_per_process_limit_keeps_threads_and_tasks_within_the_quota(limited) -> None:
    limited.setenv("BYLLM_RATE_LIMIT_RPM", "1200")
    reload_settings()
    server, quota = quota_server(requests_per_minute=1200)
    try:
        shout, ashout = shouter(server)
        words = [f"w{index}" for index in range(10)]
        assert byllm.map(shout, words, concurrency=10) == [word.upper() for word in words]
        assert byllm.map(ashout, words, concurrency=10) == [word.upper() for word in words]
    finally:
        server.stop()
    assert quota.total_over_quota == 0
    assert sum(quota.admitted.values()) == 20


def test_mock_models_and_cache_hits_spend_no_budget(limited, tmp_path: Path) -> None:
    from byllm.plugins.cache import CachePlugin, close_backends

    limited.setenv("BYLLM_RATE_LIMIT_RPM", "6")  # one request every 10 s: a second reservation would show
    limited.setenv("BYLLM_CACHE", f"sqlite:///{tmp_path / 'cache.db'}")
    machine.plugin_manager.register(CachePlugin, name="byllm-cache")
    reload_settings()
    reservations: list[str] = []
    store = ratelimit.open_store("memory")
    original = store.acquire
    limited.setattr(store, "acquire", lambda bucket, limits, tokens: reservations.append(bucket) or original(
        bucket, limits, tokens))
    server, _ = quota_server(requests_per_minute=600)
    try:
        shout, _ = shouter(server)
        assert [shout("hi"), shout("hi"), shout("hi")] == ["HI", "HI", "HI"]

        @by(Model("mockllm", outputs=["one", "two"]))
        def mocked(word: str) -> str:
            """Say it."""

        assert [mocked("a"), mocked("b")] == ["one", "two"]
    finally:
        server.stop()
        close_backends()
    assert len(reservations) == 1 and reservations[0].startswith(f"openai|{server.openai_url}|")


def test_a_published_pause_holds_back_every_caller_of_the_bucket(limited) -> None:
    limited.setenv("BYLLM_RATE_LIMIT", "memory")
    reload_settings()
    received: list[float] = []

    def timed(request):
        received.append(time.monotonic())
        return word_responder(request)

    server = FakeLLMServer(responder=timed, record=False).start()
    try:
        shout, ashout = shouter(server)
        assert shout("a") == "A"
        bucket = ratelimit.bucket_of(Model("gpt-4o-mini", base_url=server.openai_url, api_key=KEY))
        paused_at = time.monotonic()
        ratelimit.publish_pause(bucket, 0.3)
        assert byllm.map(shout, ["b", "c"]) == ["B", "C"]
        assert byllm.map(ashout, ["d"]) == ["D"]
    finally:
        server.stop()
    assert all(moment >= paused_at + 0.3 for moment in received[1:])


def test_token_budget_is_reserved_before_and_settled_with_the_real_usage() -> None:
    store = ratelimit.MemoryStore()
    limits = ratelimit.Limits(tokens_per_minute=6000)  # 100 tokens a second, 100 may go at once
    assert store.acquire("b", limits, 50) == 0
    assert store.acquire("b", limits, 40) == 0
    assert store.acquire("b", limits, 100) == pytest.approx(0.9, abs=0.05)  # this second's budget is spent
    store.settle("b", limits, -90)  # the replies used 90 tokens fewer than reserved
    assert store.acquire("b", limits, 100) == 0


# -- across processes, through Redis ------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port for this module."""
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.skip("redis-server is not installed; the shared rate limit tests need it")
    import redis

    port = _free_port()
    process = subprocess.Popen([executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(tmp_path_factory.mktemp("redis"))],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.02)
    try:
        yield url
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


def _shout_many(url: str, count: int) -> list[str]:
    """In a worker process: ``count`` calls at once against the quota server (settings from the environment)."""
    import jaclang  # noqa: F401

    import byllm
    from byllm.lib import Model, by

    @by(Model("gpt-4o-mini", base_url=url, api_key=KEY, max_retries=0))
    def shout(word: str) -> str:
        """Shout the word."""

    return byllm.map(shout, [f"w{index}" for index in range(count)], concurrency=count)


def test_processes_sharing_redis_stay_within_one_quota(limited, redis_url: str) -> None:
    limited.setenv("BYLLM_RATE_LIMIT", redis_url)
    limited.setenv("BYLLM_RATE_LIMIT_RPM", "1200")
    server, quota = quota_server(requests_per_minute=1200)
    try:
        with ProcessPoolExecutor(max_workers=3, mp_context=multiprocessing.get_context("spawn")) as pool:
            outcomes = [future.result() for future in [pool.submit(_shout_many, server.openai_url, 8)
                                                       for _ in range(3)]]
    finally:
        server.stop()
    assert outcomes == [[f"W{index}" for index in range(8)]] * 3
    assert quota.total_over_quota == 0


def test_a_pause_published_through_redis_reaches_another_process(limited, redis_url: str) -> None:
    limited.setenv("BYLLM_RATE_LIMIT", redis_url)
    reload_settings()
    received: list[float] = []

    def timed(request):
        received.append(time.monotonic())
        return openai_text("OK")

    server = FakeLLMServer(responder=timed, record=False).start()
    try:
        model = Model("gpt-4o-mini", base_url=server.openai_url, api_key=KEY)
        paused_at = time.monotonic()
        ratelimit.publish_pause(ratelimit.bucket_of(model), 0.5)
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            assert pool.submit(_shout_many, server.openai_url, 2).result() == ["OK", "OK"]
    finally:
        server.stop()
    assert len(received) == 2 and min(received) >= paused_at + 0.5


def test_a_failing_redis_falls_back_to_the_per_process_limit(limited) -> None:
    limited.setenv("BYLLM_RATE_LIMIT", f"redis://127.0.0.1:{_free_port()}/0")  # nothing listens there
    limited.setenv("BYLLM_RATE_LIMIT_RPM", "1200")
    reload_settings()
    server, quota = quota_server(requests_per_minute=1200)
    try:
        shout, _ = shouter(server)
        assert byllm.map(shout, ["a", "b", "c"], concurrency=3) == ["A", "B", "C"]
    finally:
        server.stop()
    assert quota.total_over_quota == 0


def test_a_429_retried_inside_the_provider_pauses_every_caller_of_the_key(limited) -> None:
    import threading

    limited.setenv("BYLLM_RATE_LIMIT", "memory")
    reload_settings()
    received: list[tuple[float, str]] = []
    limited_once = threading.Event()

    def limit_b_once(request):
        word = request.body["messages"][-1]["content"].split('= "')[1].split('"')[0]
        received.append((time.monotonic(), word))
        if word == "b" and not limited_once.is_set():
            limited_once.set()
            return quota_exceeded(0.4)
        return word_responder(request)

    server = FakeLLMServer(responder=limit_b_once, record=False).start()
    try:
        def shouter_with(max_retries: int):
            @by(Model("gpt-4o-mini", base_url=server.openai_url, api_key=KEY, max_retries=max_retries))
            def shout(word: str) -> str:
                """Shout the word."""

            return shout

        patient, impatient = shouter_with(2), shouter_with(0)
        assert patient("a") == "A"  # the bucket's first call (it goes alone)
        worker = threading.Thread(target=patient, args=("b",))  # meets the 429, retried inside the provider
        worker.start()
        assert limited_once.wait(10)
        limited_at = received[-1][0]
        store = ratelimit.open_store("memory")
        bucket = ratelimit.bucket_of(Model("gpt-4o-mini", base_url=server.openai_url, api_key=KEY))
        deadline = time.monotonic() + 10
        while store.paused_for(bucket) == 0 and time.monotonic() < deadline:  # the retry published its pause
            time.sleep(0.001)
        assert impatient("c") == "C"  # same key, another model: held back by the pause the retry published
        worker.join(10)
    finally:
        server.stop()
    later = [(moment, word) for moment, word in received if moment > limited_at]
    assert sorted(word for _, word in later) == ["b", "c"]
    assert all(moment >= limited_at + 0.4 for moment, _ in later)


def test_a_streamed_reply_settles_its_tokens_once_read(limited) -> None:
    from byllm.providers.base import StreamingReply, Usage

    store = ratelimit.MemoryStore()
    limits = ratelimit.Limits(tokens_per_minute=6000)
    ticket = ratelimit.Ticket("b", limits, 100, store)
    assert store.acquire("b", limits, 100) == 0
    reply = StreamingReply.replay(["Hel", "lo"], Usage(5, 5))
    ratelimit.settle(ticket, reply)
    assert store.acquire("b", limits, 100) == pytest.approx(1.0, abs=0.05)  # nothing back before the stream is read
    assert "".join(reply) == "Hello"
    assert store.acquire("b", limits, 100) == pytest.approx(0.1, abs=0.05)  # 90 of the 100 tokens came back
