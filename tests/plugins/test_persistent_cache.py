"""The persistent cache: keys, switches, bad entries, unusable files, the SQLite file across processes."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from jaclang.cli import main as jac
from jaclang.runtimelib.machine import hookimpl
from byllm.lib import Model
from byllm.plugins import cache
from byllm.plugins.cache import open_backend
from byllm.plugins.cache.keys import cache_key, fingerprint
from byllm.plugins.cache.backends import SqliteCache
from byllm.providers.base import CompletionReply, CompletionRequest, ToolSpec, Usage
from byllm.settings import reload_settings

HERE = Path(__file__).parent


def test_identical_call_is_answered_from_the_cache(tmp_path: Path, provider, shout_with) -> None:
    shout = shout_with(Model("test/m", cache=f"sqlite:///{tmp_path}/c.db"))
    assert shout("hello") == "echo HELLO"
    assert shout("hello") == "echo HELLO"
    assert provider.calls == 1
    assert (cache.counters().hits, cache.counters().stores) == (1, 1)
    assert shout("other") == "echo OTHER"
    assert provider.calls == 2


def test_a_hit_is_marked_cached_on_the_call_record(tmp_path: Path, provider, shout_with) -> None:
    llm = Model("test/m", cache=f"sqlite:///{tmp_path}/c.db")
    shout = shout_with(llm)
    shout("a")
    assert not llm.last_call.cached
    shout("a")
    assert llm.last_call.cached and llm.last_call.cost == 0.0


def test_cache_survives_a_new_process(tmp_path: Path, provider, shout_with) -> None:
    url = f"sqlite:///{tmp_path}/c.db"
    shout_with(Model("test/worker", cache=url))("w0-0")
    result = subprocess.run(
        [sys.executable, str(HERE / "cache_worker.py"), "fill", url, "0", "1"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "1"  # "w0-0" came from this process's entry; "shared-0" was new


def test_cache_key_covers_model_parameters_messages_schema_and_tools(provider) -> None:
    base = CompletionRequest(model="m", messages=[{"role": "user", "content": "hi"}], output_schema={"type": "string"})
    variants = [
        CompletionRequest(model="m", messages=[{"role": "user", "content": "hi!"}], output_schema={"type": "string"}),
        CompletionRequest(model="m", messages=base.messages, output_schema={"type": "integer"}),
        CompletionRequest(model="m", messages=base.messages, output_schema={"type": "string"}, params={"temperature": 0.1}),
        CompletionRequest(model="m", messages=base.messages, output_schema={"type": "string"},
                          tools=[ToolSpec("search", "Search the web.", {"type": "object"})]),
        CompletionRequest(model="m2", messages=base.messages, output_schema={"type": "string"}),
    ]
    model = Model("test/m")
    key = cache_key(model, base)
    reordered = CompletionRequest(model="m", messages=[{"content": "hi", "role": "user"}], output_schema={"type": "string"})
    assert key == cache_key(model, reordered)
    assert cache_key(Model("test/other"), base) != key
    assert len({cache_key(model, variant) for variant in variants} | {key}) == len(variants) + 1


def test_credentials_enter_keys_only_as_fingerprints(provider) -> None:
    secret = "sk-test-SECRET-1234567890"
    assert secret not in fingerprint(secret) and fingerprint(secret) == fingerprint(secret)
    first = CompletionRequest(model="m", messages=[], params={"authorization_token": "token-A"})
    second = CompletionRequest(model="m", messages=[], params={"authorization_token": "token-B"})
    assert cache_key(Model("test/m"), first) != cache_key(Model("test/m"), second)  # not blanked to one value


class IdentityProvider:
    """Answers with who it is: its class, base URL, key, headers, and the request's parameters."""

    name = "identity"

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.calls = 0

    def complete(self, request: CompletionRequest) -> CompletionReply:
        self.calls += 1
        who = {"provider": type(self).__name__, **{key: self.config.get(key) for key in ("base_url", "api_key", "headers")}}
        who["params"] = request.params
        return CompletionReply(text=json.dumps(who, sort_keys=True), usage=Usage(1, 1), model=request.model)


class OtherIdentityProvider(IdentityProvider):
    """The same answers from another provider class (another server software)."""

    name = "other-identity"


class IdentityProviderPlugin:
    @staticmethod
    @hookimpl
    def llm_provider(model_name: str, config: dict[str, Any]) -> Any:
        if model_name.startswith("identity/"):
            return IdentityProvider(config)
        if model_name.startswith("other-identity/"):
            return OtherIdentityProvider(config)
        return None


def test_no_key_variation_gets_another_variations_answer(tmp_path: Path, plugin_manager, shout_with) -> None:
    plugin_manager.register(IdentityProviderPlugin, name="identity")
    variations = [
        Model("identity/m"),
        Model("other-identity/m"),
        Model("identity/m", base_url="http://server-a.example/v1"),
        Model("identity/m", base_url="http://server-b.example/v1"),
        Model("identity/m", base_url="http://user:KEY-ONE@server-a.example/v1"),
        Model("identity/m", api_key="key-one"),
        Model("identity/m", api_key="key-two"),
        Model("identity/m", headers={"X-Tenant": "a"}),
        Model("identity/m", headers={"X-Tenant": "b"}),
        Model("identity/m", headers={"api-key": "azure-one"}),
        Model("identity/m", headers={"api-key": "azure-two"}),
        Model("identity/m", temperature=0.1),
        Model("identity/m", extra_params={"top_k": 3}),
        Model("identity/m", extra_params={"extra_headers": {"X-Route": "eu"}}),
        Model("identity/m", extra_params={"authorization_token": "first"}),
        Model("identity/m", extra_params={"authorization_token": "second"}),
    ]
    url = f"sqlite:///{tmp_path}/c.db"
    wrong = 0
    for _round in range(2):  # the second round is answered from the cache
        for model in variations:
            expected = type(model.provider)(model.settings).complete(CompletionRequest("m", [], params=model.sampling_params())).text
            answer = shout_with(model(cache=url))("same word")
            wrong += answer.replace('"', "") != expected.replace('"', "")
    assert wrong == 0
    assert cache.counters().hits == len(variations)


def test_a_bad_entry_is_dropped_and_asked_again(tmp_path: Path, provider, shout_with, caplog) -> None:
    url = f"sqlite:///{tmp_path}/c.db"
    llm = Model("test/m", cache=url)
    shout = shout_with(llm)
    shout("a")
    backend = open_backend(url)
    (key,) = [row[0] for row in sqlite3.connect(tmp_path / "c.db").execute("SELECT key FROM entries")]
    for bad in ("not json {", "[1, 2]", '{"text": 5, "tool_calls": []}', '{"text": "x", "tool_calls": [{"id": 1}]}',
                '{"text": "x", "tool_calls": [], "usage": [-1, "many"]}', '"just a string"', "[" * 5000):
        backend.set(key, bad)
        with caplog.at_level(logging.WARNING, logger="byllm.plugins.cache"):
            assert shout("a") == "echo A"  # recomputed, then stored again
        assert shout("a") == "echo A"  # and served from the fresh entry
    assert provider.calls == 1 + 7
    assert cache.counters().bad_entries == 7
    assert "dropped a bad entry" in caplog.text


# Root writes to read-only files, so those two cases exist only for other users
# (a monkeypatched read-only test covers root).
DAMAGES = ["not a database", "scrambled pages", "folder"] + (
    ["read-only folder", "read-only file"] if os.geteuid() != 0 else []
)


@pytest.mark.parametrize("damage", DAMAGES)
def test_an_unusable_cache_degrades_to_no_cache_with_one_warning(
    tmp_path: Path, provider, shout_with, caplog, damage: str
) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    target = folder / "c.db"
    if damage == "not a database":
        target.write_bytes(b"this is not sqlite" * 100)
    elif damage == "scrambled pages":
        SqliteCache(target).set("k", "v" * 10_000)
        sqlite3.connect(target).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
        data = bytearray(target.read_bytes())
        data[100:] = os.urandom(len(data) - 100)
        target.write_bytes(bytes(data))
    elif damage == "read-only folder":
        folder.chmod(0o500)
    elif damage == "read-only file":
        SqliteCache(target).set("k", "v")
        target.chmod(0o400)
    else:
        target.mkdir()
    try:
        shout = shout_with(Model("test/m", cache=f"sqlite:///{target}"))
        with caplog.at_level(logging.WARNING, logger="byllm.plugins.cache"):
            assert [shout("a") for _ in range(3)] == ["echo A"] * 3
    finally:
        folder.chmod(0o700)
    assert provider.calls == 3
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and "caching is off for this run" in warnings[0].getMessage()


def test_different_sampling_parameters_do_not_share_entries(tmp_path: Path, provider, shout_with) -> None:
    llm = Model("test/m", cache=f"sqlite:///{tmp_path}/c.db")
    shout_with(llm(temperature=0.0))("a")
    shout_with(llm(temperature=0.9))("a")
    shout_with(llm(temperature=0.0))("a")
    assert provider.calls == 2


def test_cache_is_off_by_default_and_switched_on_by_environment(tmp_path: Path, monkeypatch, provider, shout_with) -> None:
    shout = shout_with(Model("test/m"))
    shout("a")
    shout("a")
    assert provider.calls == 2
    monkeypatch.setenv("BYLLM_CACHE", f"sqlite:///{tmp_path}/env.db")
    reload_settings()  # settings are read once; a changed variable needs a reload
    shout("a")
    shout("a")
    assert provider.calls == 3
    assert (tmp_path / "env.db").exists()


def test_cache_true_uses_the_user_cache_dir(tmp_path: Path, monkeypatch, provider, shout_with) -> None:
    monkeypatch.setenv("BYLLM_CACHE", "on")
    reload_settings()
    shout_with(Model("test/m"))("a")
    assert (tmp_path / "xdg-cache" / "byllm" / "cache.db").exists()


def test_cache_can_be_switched_off_per_call(tmp_path: Path, monkeypatch, provider, shout_with) -> None:
    monkeypatch.setenv("BYLLM_CACHE", f"sqlite:///{tmp_path}/env.db")
    reload_settings()
    llm = Model("test/m")
    shout_with(llm)("a")
    shout_with(llm(cache=False))("a")
    assert provider.calls == 2
    shout_with(llm)("a")
    assert provider.calls == 2


def test_mock_calls_are_not_cached_unless_asked(tmp_path: Path, monkeypatch, shout_with) -> None:
    monkeypatch.setenv("BYLLM_CACHE", f"sqlite:///{tmp_path}/env.db")
    reload_settings()
    scripted = shout_with(Model("mockllm", outputs=["first", "second"]))
    assert [scripted("a"), scripted("a")] == ["first", "second"]
    explicit = shout_with(Model("mockllm", outputs=["only", "unused"], cache=True))
    assert [explicit("a"), explicit("a")] == ["only", "only"]


def test_ttl_expires_entries(tmp_path: Path, monkeypatch, provider, shout_with) -> None:
    clock = [1_000_000.0]
    monkeypatch.setattr("byllm.plugins.cache.backends.time.time", lambda: clock[0])
    url = f"sqlite:///{tmp_path}/c.db"
    shout = shout_with(Model("test/m", cache={"url": url, "ttl": 60}))
    shout("a")
    clock[0] += 59
    shout("a")
    assert provider.calls == 1
    clock[0] += 2
    shout("a")
    assert provider.calls == 2
    assert (open_backend(url).stats().entries, open_backend(url).stats().expired) == (1, 0)
    clock[0] += 61
    assert open_backend(url).stats().expired == 1
    monkeypatch.setenv("BYLLM_CACHE", url)
    reload_settings()
    assert jac(["cache", "clear", "--expired"]) == 0
    assert (open_backend(url).stats().entries, open_backend(url).stats().expired) == (0, 0)


def test_async_calls_use_the_cache(tmp_path: Path, provider, shout_with) -> None:
    shout = shout_with(Model("test/m", cache=f"sqlite:///{tmp_path}/c.db"), is_async=True)

    async def main() -> list[str]:
        return [await shout("a"), await shout("a")]

    assert asyncio.run(main()) == ["echo A", "echo A"]
    assert provider.calls == 1


def test_typed_values_round_trip_through_the_cache(tmp_path: Path, provider) -> None:
    from byllm.lib import by

    provider.answer = lambda request: '{"x": 1, "y": 2}'

    @by(Model("test/m", cache=f"sqlite:///{tmp_path}/c.db"))
    def point(name: str) -> dict[str, int]:
        """A point."""

    assert point("p") == {"x": 1, "y": 2}
    assert point("p") == {"x": 1, "y": 2}
    assert provider.calls == 1


def test_a_lone_surrogate_reply_is_cached(tmp_path: Path, provider, shout_with) -> None:
    provider.answer = lambda request: "half \ud800 a pair"
    shout = shout_with(Model("test/m", cache=f"sqlite:///{tmp_path}/c.db"))
    assert shout("a") == shout("a") == "half \ud800 a pair"
    assert provider.calls == 1


def test_bad_cache_parameter_is_a_clear_configuration_error(provider, shout_with) -> None:
    from byllm.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="cache=42: use True, False, a URL"):
        shout_with(Model("test/m", cache=42))("a")


def test_four_processes_writing_one_sqlite_cache_lose_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    count = 40
    workers = [
        subprocess.Popen([sys.executable, str(HERE / "cache_worker.py"), "fill", url, str(worker), str(count)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for worker in range(4)
    ]
    for worker in workers:
        _out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    connection = sqlite3.connect(tmp_path / "shared.db")
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert connection.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 4 * count + count
    for (value,) in connection.execute("SELECT value FROM entries"):
        assert json.loads(value)["text"].startswith("echo ")
    connection.close()


def test_sigkill_mid_write_leaves_a_cache_that_opens_and_serves(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"
    SqliteCache(path).set("before", "kept")
    writer = subprocess.Popen([sys.executable, str(HERE / "cache_worker.py"), "hammer", str(path)])
    try:
        reader = sqlite3.connect(path, timeout=30)
        deadline = time.monotonic() + 60
        while reader.execute("SELECT COUNT(*) FROM entries WHERE key != 'before'").fetchone()[0] < 20:
            assert writer.poll() is None, "the writer stopped on its own"
            assert time.monotonic() < deadline, "the writer made no progress"
        reader.close()
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
    survivor = SqliteCache(path)
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    written = connection.execute("SELECT key, value FROM entries WHERE key != 'before'").fetchall()
    connection.close()
    assert len(written) >= 20
    for key, value in written:
        index = int(key.rsplit("-", 1)[1])
        assert value.startswith(f"{index}:") and len(value) == len(f"{index}:") + 200_000
    assert survivor.get("before") == "kept"
    survivor.set("after", "works")
    assert survivor.get("after") == "works"


def test_jac_cache_stats_and_clear(tmp_path: Path, monkeypatch, provider, shout_with, capsys) -> None:
    monkeypatch.setenv("BYLLM_CACHE", f"sqlite:///{tmp_path}/c.db")
    reload_settings()
    shout = shout_with(Model("test/m"))
    shout("a")
    shout("b")
    assert jac(["cache", "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert (stats["backend"], stats["location"], stats["entries"]) == ("sqlite", str(tmp_path / "c.db"), 2)
    assert stats["size_bytes"] > 0
    assert jac(["cache", "clear"]) == 0
    assert capsys.readouterr().out.strip() == f"removed 2 cached replies from sqlite:///{tmp_path}/c.db"
    shout("a")
    assert provider.calls == 3


def test_jac_cache_says_where_it_looked_and_how_to_switch_the_cache_on(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert jac(["cache", "stats"]) == 0
    err = capsys.readouterr().err
    assert "BYLLM_CACHE" in err and str(tmp_path / "byllm" / "cache.db") in err


def test_jac_cache_stats_does_not_create_a_missing_file(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("BYLLM_CACHE", f"sqlite:///{tmp_path}/never.db")
    reload_settings()
    assert jac(["cache", "stats"]) == 0
    assert "entries    0" in capsys.readouterr().out
    assert jac(["cache", "clear"]) == 0
    assert "removed 0 cached replies" in capsys.readouterr().out
    assert not (tmp_path / "never.db").exists()


def test_cache_key_needs_the_model(tmp_path: Path, provider) -> None:
    request = CompletionRequest(model="m", messages=[{"role": "user", "content": "hi"}])
    assert cache_key(Model("test/m"), request) == cache_key(Model("test/m"), request)
    assert cache_key(Model("test/m"), request) != cache_key(Model("test/m", api_key="other"), request)


def test_a_read_only_cache_degrades_to_no_cache_with_one_warning(tmp_path: Path, provider, shout_with, monkeypatch, caplog) -> None:
    def refuse(self, key: str, value: str, ttl: float | None = None) -> None:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(SqliteCache, "set", refuse)  # what a read-only file does, even to root
    shout = shout_with(Model("test/m", cache=f"sqlite:///{tmp_path}/c.db"))
    with caplog.at_level(logging.WARNING, logger="byllm.plugins.cache"):
        assert [shout("a") for _ in range(3)] == ["echo A"] * 3
    assert provider.calls == 3
    assert [record.levelno for record in caplog.records].count(logging.WARNING) == 1
