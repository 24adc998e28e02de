"""The Redis cache backend against a real redis-server started by a fixture; its timeouts and circuit breaker."""

from __future__ import annotations

import logging
import signal
import time

import pytest

from jaclang.cli import main as jac
from byllm.lib import Model
from byllm.plugins import cache
from byllm.plugins.cache import open_backend
from byllm.settings import reload_settings

from plugin_support import free_port


@pytest.fixture
def redis_client(redis_url: str):
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


def test_redis_cache_answers_repeated_calls(redis_url: str, redis_client, provider, shout_with) -> None:
    shout = shout_with(Model("test/m", cache=redis_url))
    assert shout("a") == shout("a") == "echo A"
    assert provider.calls == 1
    (key,) = redis_client.keys("byllm:cache:*")
    assert redis_client.ttl(key) == -1  # no TTL configured: kept


def test_redis_cache_is_shared_by_separate_models(redis_url: str, redis_client, provider, monkeypatch, shout_with) -> None:
    monkeypatch.setenv("BYLLM_CACHE", redis_url)
    reload_settings()
    shout_with(Model("test/m"))("a")
    shout_with(Model("test/m"))("a")
    assert provider.calls == 1


def test_redis_entries_get_the_configured_ttl(redis_url: str, redis_client, provider, monkeypatch, shout_with) -> None:
    monkeypatch.setenv("BYLLM_CACHE", redis_url)
    monkeypatch.setenv("BYLLM_CACHE_TTL", "120")
    reload_settings()
    shout_with(Model("test/m"))("a")
    (key,) = redis_client.keys("byllm:cache:*")
    assert 0 < redis_client.pttl(key) <= 120_000


def test_a_bad_redis_entry_is_dropped_and_asked_again(redis_url: str, redis_client, provider, shout_with) -> None:
    shout = shout_with(Model("test/m", cache=redis_url))
    shout("a")
    (key,) = redis_client.keys("byllm:cache:*")
    redis_client.set(key, b"\xff\xfe not json")
    assert shout("a") == "echo A"
    assert (provider.calls, cache.counters().bad_entries) == (2, 1)
    assert shout("a") == "echo A" and provider.calls == 2


def test_stats_and_clear_touch_only_byllm_keys(redis_url: str, redis_client, provider, shout_with, capsys) -> None:
    redis_client.set("someone-else", "keep me")
    shout = shout_with(Model("test/m", cache=redis_url))
    shout("a")
    shout("b")
    assert jac(["cache", "stats", "--url", redis_url]) == 0
    out = capsys.readouterr().out
    assert "backend    redis" in out and "entries    2" in out
    assert jac(["cache", "clear", "--url", redis_url, "--json"]) == 0
    assert '"removed": 2' in capsys.readouterr().out
    assert redis_client.get("someone-else") == b"keep me"
    assert open_backend(redis_url).stats().entries == 0


def test_unreachable_redis_does_not_fail_the_call(provider, shout_with, caplog) -> None:
    shout = shout_with(Model("test/m", cache=f"redis://127.0.0.1:{free_port()}/0"))
    assert shout("a") == "echo A"
    assert cache.counters().errors == 2  # the look-up and the store
    assert "unavailable" in caplog.text


def test_a_hung_redis_is_skipped_by_the_circuit_breaker(own_redis, provider, shout_with, caplog) -> None:
    process, url = own_redis
    shout = shout_with(Model("test/m", cache=url))
    shout("warm")
    backend = open_backend(url)
    process.send_signal(signal.SIGSTOP)  # accepts connections, never answers
    try:
        with caplog.at_level(logging.WARNING, logger="byllm.plugins.cache"):
            answers = [shout(f"word-{index}") for index in range(10)]
        assert answers == [f"echo WORD-{index}" for index in range(10)]
        # 3 timed-out commands open the circuit; the other 17 look-ups and stores skip Redis at once.
        assert backend.circuit_open and cache.counters().errors == 20
        assert len([record for record in caplog.records if "unavailable" in record.getMessage()]) == 3
    finally:
        process.send_signal(signal.SIGCONT)
    backend.open_until = time.monotonic()  # the cool-down is over: the next command probes
    assert shout("warm") == "echo WARM" and cache.counters().hits == 1
    assert not backend.circuit_open
