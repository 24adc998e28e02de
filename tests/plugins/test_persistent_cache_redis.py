"""The Redis cache backend against a real redis-server started by a fixture."""

from __future__ import annotations


import pytest

from byllm.lib import Model, by
from byllm.settings import reload_settings
from byllm.plugins import cache
from byllm.plugins.cache_backend import open_backend
from jaclang.cli import main as jac

from plugin_support import free_port


@pytest.fixture
def redis_client(redis_url: str):
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


def shout_with(llm: Model):
    @by(llm)
    def shout(word: str) -> str:
        """Shout the word."""

    return shout


def test_redis_cache_answers_repeated_calls(redis_url: str, redis_client, provider) -> None:
    shout = shout_with(Model("test/m", cache=redis_url))
    assert shout("a") == "echo A"
    assert shout("a") == "echo A"
    assert provider.calls == 1
    keys = redis_client.keys("byllm:cache:*")
    assert len(keys) == 1
    assert redis_client.ttl(keys[0]) == -1  # no TTL configured: kept


def test_redis_cache_is_shared_by_separate_models(redis_url: str, redis_client, provider, monkeypatch) -> None:
    monkeypatch.setenv("BYLLM_CACHE", redis_url)
    reload_settings()  # settings are read once; a changed variable needs a reload
    shout_with(Model("test/m"))("a")
    shout_with(Model("test/m"))("a")
    assert provider.calls == 1


def test_redis_entries_get_the_configured_ttl(redis_url: str, redis_client, provider, monkeypatch) -> None:
    monkeypatch.setenv("BYLLM_CACHE", redis_url)
    monkeypatch.setenv("BYLLM_CACHE_TTL", "120")
    reload_settings()  # settings are read once; a changed variable needs a reload
    shout_with(Model("test/m"))("a")
    (key,) = redis_client.keys("byllm:cache:*")
    assert 0 < redis_client.pttl(key) <= 120_000


def test_stats_and_clear_touch_only_byllm_keys(redis_url: str, redis_client, provider, capsys) -> None:
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


def test_unreachable_redis_does_not_fail_the_call(provider, caplog) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    shout = shout_with(Model("test/m", cache=url))
    assert shout("a") == "echo A"
    assert cache.counters().errors == 2  # the look-up and the store
    assert "unavailable" in caplog.text
